"""The model step's retry policy: retry what may pass, at the pace the API asks for."""

import httpx2
import pytest
from anthropic import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    PermissionDeniedError,
    RateLimitError,
)

from agent.model.client import MAX_MODEL_ATTEMPTS, model_retry_strategy, retry_after_seconds

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/messages")


def status_error(cls: type, status: int, headers: dict[str, str] | None = None) -> Exception:
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST)
    return cls("error", response=response, body=None)


def test_rate_limit_waits_as_long_as_retry_after_says() -> None:
    decision = model_retry_strategy(status_error(RateLimitError, 429, {"retry-after": "7"}), 1)
    assert decision.should_retry and decision.delay_seconds == 7


def test_overloaded_529_honours_retry_after_ms_rounded_up() -> None:
    error = status_error(InternalServerError, 529, {"retry-after-ms": "1500"})
    decision = model_retry_strategy(error, 1)
    assert decision.should_retry and decision.delay_seconds == 2


def test_server_error_without_header_backs_off() -> None:
    decision = model_retry_strategy(status_error(InternalServerError, 500), 2)
    assert decision.should_retry and 1 <= decision.delay_seconds <= 60


def test_connection_errors_are_retried() -> None:
    assert model_retry_strategy(APIConnectionError(request=REQUEST), 1).should_retry


@pytest.mark.parametrize(
    ("cls", "status"),
    [(BadRequestError, 400), (AuthenticationError, 401), (PermissionDeniedError, 403)],
)
def test_refused_requests_fail_fast(cls: type, status: int) -> None:
    assert not model_retry_strategy(status_error(cls, status), 1).should_retry


def test_attempts_are_bounded() -> None:
    error = status_error(RateLimitError, 429, {"retry-after": "1"})
    assert not model_retry_strategy(error, MAX_MODEL_ATTEMPTS).should_retry


def test_our_own_bugs_are_not_retried() -> None:
    assert not model_retry_strategy(KeyError("content"), 1).should_retry


def test_huge_retry_after_is_capped_and_garbage_ignored() -> None:
    response = httpx2.Response(429, headers={"retry-after": "99999"}, request=REQUEST)
    assert retry_after_seconds(response) == 15 * 60
    garbage = httpx2.Response(429, headers={"retry-after": "soon"}, request=REQUEST)
    assert retry_after_seconds(garbage) is None

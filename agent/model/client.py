"""Claude calls: one streamed request per agent turn, with durable (not in-client) retries.

The anthropic client is built with ``max_retries=0``: the LLM step's retry strategy retries
instead, with the delay the API asked for, so a wait costs nothing and retries never stack.
anthropic is imported lazily so the offline model and the Slack ack path never pay for it.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

from aws_durable_execution_sdk_python.config import Duration
from aws_durable_execution_sdk_python.retries import (
    RetryDecision,
    RetryStrategyConfig,
    create_retry_strategy,
)

from agent.config import Settings
from agent.model.offline import OfflineModel
from agent.model.request import ModelClient, ModelRequest

MAX_MODEL_ATTEMPTS = 8
MAX_RETRY_AFTER_SECONDS = 15 * 60
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})

_backoff = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=MAX_MODEL_ATTEMPTS,
        initial_delay=Duration.from_seconds(2),
        max_delay=Duration.from_seconds(60),
        backoff_rate=2.0,
    )
)


class AnthropicModel:
    """Claude through the Anthropic API or Bedrock, streamed (``messages.stream``)."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name

    def complete(self, request: ModelRequest) -> dict[str, Any]:
        """Stream one turn and return the final message as a reply dict."""
        with self._client.messages.stream(
            model=request.model,
            max_tokens=request.max_tokens,
            system=request.system,
            tools=request.tools,
            messages=request.messages,
        ) as stream:
            stream.until_done()
            message = stream.get_final_message()
        return reply_from_message(message)


def reply_from_message(message: Any) -> dict[str, Any]:
    """Keep only what the next turns and the ledger need, as plain JSON."""
    usage = message.usage
    return {
        "model": message.model,
        "stop_reason": message.stop_reason,
        "content": [block.model_dump(mode="json", exclude_none=True) for block in message.content],
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens or 0,
            "cache_creation_1h_input_tokens": _written_for_an_hour(usage),
        },
    }


def _written_for_an_hour(usage: Any) -> int:
    """Tokens written to the 1-hour cache (priced apart), when the API breaks them out."""
    split = getattr(usage, "cache_creation", None)
    return int(getattr(split, "ephemeral_1h_input_tokens", 0) or 0)


def build_model(settings: Settings, *, read_only_tools: frozenset[str]) -> ModelClient:
    """The model client the settings ask for (the offline model calls the read-only tools
    and no side-effecting one but the gated ``post_slack_message``)."""
    if settings.llm_provider == "offline":
        return OfflineModel(read_only_tools)
    import anthropic

    if settings.llm_provider == "bedrock":
        bedrock = anthropic.AnthropicBedrock(aws_region=settings.aws_region, max_retries=0)
        return AnthropicModel(bedrock, "bedrock")
    client = anthropic.Anthropic(
        api_key=settings.anthropic_api_key.value,
        base_url=settings.anthropic_base_url,
        max_retries=0,
    )
    return AnthropicModel(client, "anthropic")


def model_retry_strategy(error: Exception, attempt: int) -> RetryDecision:
    """Retry what may pass (429, 529, 5xx, connection), never a request Claude refused."""
    if attempt >= MAX_MODEL_ATTEMPTS:
        return RetryDecision.no_retry()
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        if status not in RETRYABLE_STATUSES:
            return RetryDecision.no_retry()
        asked = retry_after_seconds(getattr(error, "response", None))
        if asked is not None:
            return RetryDecision.retry(Duration.from_seconds(asked))
        return _backoff(error, attempt)
    if _is_connection_error(error):
        return _backoff(error, attempt)
    return RetryDecision.no_retry()


def _is_connection_error(error: Exception) -> bool:
    # anthropic.APIConnectionError (and APITimeoutError) without importing anthropic here.
    return any(cls.__name__ == "APIConnectionError" for cls in type(error).__mro__)


def retry_after_seconds(response: Any) -> int | None:
    """The wait the API asked for (``retry-after-ms`` or ``retry-after``), capped, >= 1 s."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    seconds: float | None = None
    if (ms := headers.get("retry-after-ms")) is not None:
        seconds = _number(ms, scale=1000)
    if seconds is None and (raw := headers.get("retry-after")) is not None:
        seconds = _number(raw, scale=1)
        if seconds is None:
            seconds = _seconds_until_http_date(raw)
    if seconds is None:
        return None
    return int(min(max(seconds, 1), MAX_RETRY_AFTER_SECONDS) + 0.999)


def _seconds_until_http_date(raw: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(raw).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def _number(raw: str, *, scale: int) -> float | None:
    try:
        return float(raw) / scale
    except (TypeError, ValueError):
        return None

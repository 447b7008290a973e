"""``http_job``: any service with a start and a status endpoint, and only where it may go."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.jobs import FakeJobService
from tests.scenarios.claude_scripts import by_turn, calls, draft, tool_results, tool_use
from tests.scenarios.conftest import HarnessFactory


@pytest.fixture
def service() -> Iterator[FakeJobService]:
    with FakeJobService(checks_to_finish=3) as fake:
        yield fake


def test_a_job_is_started_once_polled_until_done_and_its_result_read(
    make_harness: HarnessFactory, service: FakeJobService
) -> None:
    start = tool_use("t1", "http_job", start_url=f"{service.url}/jobs", body={"report": "q4"})
    harness = make_harness(by_turn(calls(start), draft("Done.")), http_job_allow=("127.0.0.1",))
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    assert harness.output(arn)["status"] == "delivered"

    (job,) = service.jobs
    assert job.body == {"report": "q4"} and job.checks == 3
    assert len(job.headers["idempotency-key"]) == 40  # the same on every attempt of this call
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert "is_error" not in result and '"rows": 42' in result["content"]


def test_a_job_the_service_reports_failed_is_a_tool_error(
    make_harness: HarnessFactory, service: FakeJobService
) -> None:
    service.outcome = {"status": "failed", "error": "disk full"}
    start = tool_use("t1", "http_job", start_url=f"{service.url}/jobs")
    harness = make_harness(by_turn(calls(start), draft("No.")), http_job_allow=("127.0.0.1",))
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert result["is_error"] is True and "http_job failed: disk full" in result["content"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "169.254.169.254", "10.0.0.7"])
def test_private_and_loopback_addresses_are_refused_unless_allowed(
    make_harness: HarnessFactory, service: FakeJobService, host: str
) -> None:
    url = service.url.replace("127.0.0.1", host)
    harness = make_harness(
        by_turn(calls(tool_use("t1", "http_job", start_url=f"{url}/jobs")), draft("No."))
    )
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert result["is_error"] is True
    assert (
        "does not let tools call" in result["content"]
        and "SIGNOFF_HTTP_JOB_ALLOW" in result["content"]
    )
    assert service.jobs == []  # nothing reached the service


def test_a_url_that_is_not_http_is_refused(make_harness: HarnessFactory) -> None:
    start = tool_use("t1", "http_job", start_url="file:///etc/passwd")
    harness = make_harness(by_turn(calls(start), draft("No.")))
    arn = harness.start()
    harness.decide(harness.approval(arn, "approve-0-0"), "approve")
    harness.decide(harness.approval(arn, "review-1"), "approve")
    result = tool_results(harness.claude_requests()[1])["t1"]
    assert result["is_error"] is True and "is not an http(s) URL" in result["content"]

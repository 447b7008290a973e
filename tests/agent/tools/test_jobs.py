"""Long-running tools' pure parts: polling delays, reading a completion body, progress lines."""

import pytest

from agent.control.completions import JobReport
from agent.messages import RunProgress, ToolProgress, progress_message
from agent.tools.jobs import Done, Polling, Webhook


def never(*_: object) -> Done:
    return Done(None)


def test_checks_back_off_to_the_cap_and_stop_at_the_last_attempt() -> None:
    polling = Polling(check=never, initial_delay_seconds=30, backoff_rate=2, max_delay_seconds=100)
    pending = {"status": "pending"}
    assert [polling.next_delay(pending, n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    assert polling.next_delay({"status": "done"}, 1) is None
    assert Polling(check=never, max_attempts=3).next_delay(pending, 3) is None


@pytest.mark.parametrize(
    "config",
    [
        {"initial_delay_seconds": 0},
        {"initial_delay_seconds": 600, "max_delay_seconds": 60},
        {"backoff_rate": 0.5},
        {"max_attempts": 0},
    ],
)
def test_a_polling_config_that_cannot_work_is_refused(config: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="polling needs"):
        Polling(check=never, **config)  # type: ignore[arg-type]


def test_a_webhook_needs_a_positive_timeout() -> None:
    with pytest.raises(ValueError, match="positive"):
        Webhook(timeout_seconds=0)


@pytest.mark.parametrize(
    ("body", "report"),
    [
        ({"status": "succeeded", "result": {"n": 1}}, JobReport(True, {"n": 1})),
        ({"rows": 7}, JobReport(True, {"rows": 7})),
        ({}, JobReport(True, None)),
        ({"status": "FAILED", "error": "disk full"}, JobReport(False, error="disk full")),
        ({"status": "cancelled", "message": "by ops"}, JobReport(False, error="by ops")),
        ({"status": "error"}, JobReport(False, error="the job reported 'error'")),
    ],
)
def test_completion_bodies_are_read_leniently(body: dict[str, object], report: JobReport) -> None:
    assert JobReport.from_body(body) == report


def test_a_waiting_job_shows_its_next_check_in_the_progress_message() -> None:
    progress = RunProgress(
        run_id="run-1",
        task="export yesterday's logs",
        requester="U1",
        turn=2,
        max_turns=20,
        phase="running_tools",
        tools=(ToolProgress("export_log_group", "waiting_job", "running · check 3 · next 10:42"),),
    )
    shown = str(progress_message(progress, status_hint="/agent status run-1").blocks)
    assert ":hourglass: `export_log_group` waiting: running · check 3 · next 10:42" in shown

"""Jobs that call back: the completion URL resumes the run once, and says why when it cannot."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import BaseModel

from agent.tools import ToolRegistry, default_registry
from agent.tools.context import ToolContext
from agent.tools.jobs import Webhook
from localdev.stack import waiting_callbacks
from tests.api.conftest import ApiClient, ApiFactory
from tests.fakes.jobs import FakeJobService
from tests.scenarios.claude_scripts import CHANNEL, by_turn, calls, draft, tool_results, tool_use
from tests.slack_app.conftest import wait_for

PUBLIC_URL = "https://signoff.example.test"


class RenderArgs(BaseModel):
    video: str


def registry_with(urls: dict[str, str], **webhook: Any) -> ToolRegistry:
    """A ``render`` tool that hands its completion URL to a (recorded) render farm."""
    registry = default_registry()

    @registry.tool(args=RenderArgs, completion=Webhook(timeout_seconds=60, **webhook))
    def render(ctx: ToolContext, args: RenderArgs) -> dict[str, Any]:
        """Render a video; the farm calls back when done."""
        assert ctx.completion_url is not None
        urls[args.video] = ctx.completion_url
        return {"queued": args.video}

    return registry


def one_render(make_api: ApiFactory, *, draft_text: str) -> tuple[ApiClient, str]:
    """A run whose first turn renders one video, waiting on it: its completion URL."""
    urls: dict[str, str] = {}
    api = make_api(
        by_turn(calls(tool_use("t1", "render", video="intro")), draft(draft_text)),
        tools=registry_with(urls),
        public_url=PUBLIC_URL,
    )
    started(api, urls, "intro")
    return api, urls["intro"]


def started(api: ApiClient, urls: dict[str, str], *videos: str) -> dict[str, str]:
    """Start a run and wait until each video's job handed out its completion path."""
    api.call("POST", "/runs", {"task": "render", "requester": "UREQ", "channel": CHANNEL})
    wait_for(lambda: all(v in urls for v in videos), "the jobs to start")
    return {video: urlsplit(urls[video]).path for video in videos}


def finish(api: ApiClient) -> dict[str, Any]:
    """Approve the draft of the run's second turn; Claude's second request."""
    run = the_run(api)
    api.stack.agent.decide(api.stack.card(run, "review-1"), "approve")
    assert api.stack.output(run)["status"] == "delivered"
    return api.stack.agent.claude_requests()[1]


def the_run(api: ApiClient) -> dict[str, Any]:
    """The one run of the test, once it has its execution."""
    store = api.stack.agent.deps.store
    runs = wait_for(
        lambda: [
            run
            for run in store.list_runs(requester="UREQ", status=None, limit=5, cursor=None)[0]
            if run.get("execution_arn")
        ],
        "the run",
    )
    return dict(runs[0])


def test_a_completion_resumes_the_run_once_and_claude_reads_the_result(
    make_api: ApiFactory,
) -> None:
    api, url = one_render(make_api, draft_text="Rendered.")
    path = urlsplit(url).path
    assert url.startswith(f"{PUBLIC_URL}/callbacks/jb_")

    done = {"status": "succeeded", "result": {"url": "s3://renders/intro.mp4"}}
    status, body = api.call("POST", path, done, token=None)  # the URL is its own credential
    assert (status, body["state"]) == (200, "completed")
    result = tool_results(finish(api))["t1"]
    assert "is_error" not in result and "s3://renders/intro.mp4" in result["content"]

    status, again = api.call("POST", path, done, token=None)
    assert status == 409 and "already completed" in again["error"]
    status, forged = api.call("POST", path[:-4] + "abcd", done, token=None)
    assert status == 404 and "no job" in forged["error"]
    status, unknown = api.call("POST", "/callbacks/jb_0.nothing", done, token=None)
    assert status == 404 and unknown["error"] == forged["error"]  # reveals nothing more


def test_a_failure_body_goes_back_to_claude_as_a_tool_error(make_api: ApiFactory) -> None:
    api, url = one_render(make_api, draft_text="It failed.")
    path = urlsplit(url).path
    status, body = api.call(
        "POST", path, {"status": "failed", "error": "codec missing"}, token=None
    )
    assert (status, body["state"]) == (200, "failed")
    result = tool_results(finish(api))["t1"]
    assert result["is_error"] is True and "render failed: codec missing" in result["content"]


def test_heartbeats_keep_a_job_alive_and_a_silent_one_times_out(make_api: ApiFactory) -> None:
    urls: dict[str, str] = {}
    turn = calls(tool_use("t1", "render", video="kept"), tool_use("t2", "render", video="silent"))
    api = make_api(
        by_turn(turn, draft("One of two.")),
        tools=registry_with(urls, heartbeat_seconds=2),
        public_url=PUBLIC_URL,
    )
    paths = started(api, urls, "kept", "silent")
    # Heartbeats every half second for longer than the 2 s heartbeat timeout.
    for _ in range(8):
        status, _ = api.call("POST", paths["kept"] + "/heartbeat", token=None)
        assert status == 200
        time.sleep(0.5)
    status, _ = api.call("POST", paths["kept"], {"result": "kept.mp4"}, token=None)
    assert status == 200
    results = tool_results(finish(api))
    assert "is_error" not in results["t1"] and "kept.mp4" in results["t1"]["content"]
    assert (
        results["t2"]["is_error"] is True
        and "stopped sending heartbeats" in results["t2"]["content"]
    )

    status, late = api.call("POST", paths["silent"], {"result": "too late"}, token=None)
    assert status == 410 and "stopped waiting" in late["error"]
    status, _ = api.call("POST", paths["silent"] + "/heartbeat", token=None)
    assert status == 410


def test_concurrent_completions_of_one_job_resume_the_run_once(make_api: ApiFactory) -> None:
    api, url = one_render(make_api, draft_text="Rendered.")
    path = urlsplit(url).path
    answers: list[int] = []

    def complete(n: int) -> None:
        container = api.container()  # concurrent requests land on different containers
        answers.append(container.call("POST", path, {"result": f"take {n}"}, token=None)[0])

    threads = [threading.Thread(target=complete, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] + [409] * 7
    assert "take" in tool_results(finish(api))["t1"]["content"]


def test_http_job_can_let_the_service_call_back(make_api: ApiFactory) -> None:
    with FakeJobService() as service:
        start = tool_use(
            "t1", "http_job", start_url=f"{service.url}/jobs", completion="callback", body={"n": 1}
        )
        api = make_api(
            by_turn(calls(start), draft("Done.")),
            public_url=PUBLIC_URL,
            http_job_allow=("127.0.0.1",),
        )
        api.call("POST", "/runs", {"task": "run it", "requester": "UREQ", "channel": CHANNEL})
        run = the_run(api)
        api.stack.agent.decide(api.stack.card(run, "approve-0-0"), "approve")
        (job,) = wait_for(lambda: service.jobs, "the service to get the start")
        assert job.body["n"] == 1 and job.body["callback_url"].startswith(
            f"{PUBLIC_URL}/callbacks/"
        )
        path = urlsplit(job.body["callback_url"]).path
        status, _ = api.call(
            "POST", path, {"status": "succeeded", "result": {"rows": 7}}, token=None
        )
        assert status == 200
        api.stack.agent.decide(api.stack.card(run, "review-1"), "approve")
        assert api.stack.output(run)["status"] == "delivered"
        result = tool_results(api.stack.agent.claude_requests()[1])["t1"]
        assert '"rows": 7' in result["content"]


def test_a_webhook_start_the_service_took_but_failed_to_answer_is_not_repeated(
    make_api: ApiFactory,
) -> None:
    with FakeJobService(start_status=502) as service:
        start = tool_use("t1", "http_job", start_url=f"{service.url}/jobs", completion="callback")
        api = make_api(
            by_turn(calls(start), draft("It did not start.")),
            public_url=PUBLIC_URL,
            http_job_allow=("127.0.0.1",),
        )
        api.call("POST", "/runs", {"task": "run it", "requester": "UREQ", "channel": CHANNEL})
        run = the_run(api)
        api.stack.agent.decide(api.stack.card(run, "approve-0-0"), "approve")
        api.stack.agent.decide(api.stack.card(run, "review-1"), "approve")
        assert api.stack.output(run)["status"] == "delivered"

        assert len(service.jobs) == 1  # started once: the failed answer is reported, not retried
        result = tool_results(api.stack.agent.claude_requests()[1])["t1"]
        assert result["is_error"] is True
        assert "http_job did not start" in result["content"] and "502" in result["content"]
        # The URL the service was handed says the run stopped waiting for it.
        path = urlsplit(service.jobs[0].body["callback_url"]).path
        status, late = api.call("POST", path, {"status": "succeeded"}, token=None)
        assert status == 410 and "stopped waiting" in late["error"]


def test_a_restart_of_the_local_stack_finds_each_waiting_job_and_when_it_times_out(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, url = one_render(make_api, draft_text="Rendered.")
    path = urlsplit(url).path
    monkeypatch.setenv("SIGNOFF_TABLE", api.stack.agent.deps.settings.table_name)
    (waiting,) = waiting_callbacks()  # what `signoff dev` re-arms when it starts again
    assert waiting.execution_arn == the_run(api)["execution_arn"]
    assert 50 < (waiting.expires_at - datetime.now(UTC)).total_seconds() <= 60
    assert waiting.still_waiting()
    api.call("POST", path, {"result": "done"}, token=None)
    assert not waiting.still_waiting()  # a timer armed before the completion does nothing
    assert list(waiting_callbacks()) == []


def test_a_bare_post_to_the_completion_url_means_done(make_api: ApiFactory) -> None:
    api, url = one_render(make_api, draft_text="Rendered.")
    path = urlsplit(url).path
    status, body = api.call("POST", path, token=None)
    assert (status, body["state"]) == (200, "completed")
    result = tool_results(finish(api))["t1"]
    assert "is_error" not in result and result["content"] == "render finished"

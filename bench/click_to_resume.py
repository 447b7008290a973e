"""From a reviewer's click to the resumed run's answer, on the whole local stack.

``signoff dev`` runs as a subprocess (the Slack function behind its API Gateway front, the
durable local runner, dynalite, S3 on disk, the offline model) with its Slack Web API
(``SLACK_API_URL``) pointed at a fake Slack in this process, so each Web API call is seen
the moment it arrives. Each sample: a signed ``/agent`` command starts a run, its approval
card arrives, then a signed Approve click is sent.

- ``click_to_resume_ms``: from sending the click to the arrival of the ``chat.postMessage``
  that delivers the approved answer in the thread: the resumed run's ``deliver`` step, the
  first Web API write that only the resumed run makes (its earlier write, locking the card,
  is also made by the Slack app on the click, so it cannot be told apart). Median of 20.
- ``click_ack_ms``: until the click's HTTP answer (Slack allows 3000 ms).
- ``click_to_lock_ms``: until the first ``chat.update`` of the card (whoever makes it).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agent.approvals.cards import ACTION_APPROVE
from bench.harness import log
from bench.results import merge_results
from localdev.dynalite import free_port
from tests.fakes.slack import FakeSlack
from tests.slack_app.slack_requests import SIGNING_SECRET, button_click, slash_command

REPO = Path(__file__).resolve().parent.parent
SAMPLES = 20
REQUESTER, APPROVER, CHANNEL = "UALICE", "UBOB", "CBENCH"
START_TIMEOUT = 120.0
WAIT = 30.0
STACK_PREFIXES = ("AWS_", "ANTHROPIC_", "SLACK_", "SIGNOFF_", "AGENT_")
STACK_NAMES = ("LLM_PROVIDER", "APPROVERS", "ALLOW_SELF_APPROVAL", "SLASH_COMMAND")

Arrival = tuple[float, str, dict[str, Any]]


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each Web API call arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[Arrival] = []

    def handle(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        arrived = time.perf_counter()
        answer = super().handle(method, args, token)
        with self._lock:
            self.arrivals.append((arrived, method, args))
        return answer

    def first(self, after: float, match: Callable[[str, dict[str, Any]], bool]) -> Arrival:
        """The first call after ``after`` that ``match`` accepts, waiting for it."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self._lock:
                found = [a for a in self.arrivals if a[0] >= after and match(a[1], a[2])]
            if found:
                return found[0]
            time.sleep(0.002)
        raise TimeoutError("the expected Slack Web API call never came")


def stack_env(slack: FakeSlack) -> dict[str, str]:
    """This machine's environment, less anything pointing elsewhere, plus the fake Slack."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(STACK_PREFIXES) and name not in STACK_NAMES
    }
    return env | {
        "PYTHONUNBUFFERED": "1",
        "LLM_PROVIDER": "offline",
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "APPROVERS": APPROVER,
    }


@contextlib.contextmanager
def dev_stack(env: dict[str, str]) -> Iterator[str]:
    """``signoff dev`` on a free port with a throwaway data dir; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data, open(Path(data) / "dev.log", "w") as out:
        command = [sys.executable, "-m", "localdev.cli", "dev", "--port", str(port)]
        command += ["--data-dir", str(Path(data) / "signoff")]
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("signoff dev exited at start")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"signoff dev was not healthy in {START_TIMEOUT}s")


def post_event(url: str, event: dict[str, Any]) -> int:
    """Send a signed Slack request (an API Gateway event's body and headers) as Slack does."""
    request = urllib.request.Request(
        f"{url}/slack/events", data=event["body"].encode(), headers=event["headers"]
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def is_card(method: str, args: dict[str, Any]) -> bool:
    return method == "chat.postMessage" and any(
        element.get("action_id") == ACTION_APPROVE
        for block in args.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    )


def start_run(url: str, slack: TimedSlack, index: int) -> tuple[str, str]:
    """Start a run with ``/agent``; its card's approval id and ts, once posted."""
    sent = time.perf_counter()
    response_url = slack.response_url(CHANNEL, REQUESTER)
    command = slash_command(
        f"draft hello number {index} to the team",
        user=REQUESTER,
        channel=CHANNEL,
        trigger_id=f"bench-{index}-{time.time_ns()}",
        response_url=response_url,
    )
    post_event(url, command)
    _, _, card = slack.first(sent, is_card)
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    approve = next(e for e in actions["elements"] if e["action_id"] == ACTION_APPROVE)
    ts = stored_ts(slack, card)
    return str(approve["value"]), ts


def stored_ts(slack: TimedSlack, card: dict[str, Any]) -> str:
    """The ts Slack gave the card (the fake keeps it in its channel state)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for message in reversed(slack.workspace.channels.get(CHANNEL, [])):
            if message.get("blocks") == card["blocks"]:
                return str(message["ts"])
        time.sleep(0.002)
    raise TimeoutError("the card was not stored")


def click(url: str, slack: TimedSlack, approval_id: str, ts: str) -> dict[str, float]:
    """Approve one card; milliseconds to the ack, the card's lock and the delivered answer."""
    event = button_click(ACTION_APPROVE, approval_id, user=APPROVER, channel=CHANNEL, message_ts=ts)
    sent = time.perf_counter()
    post_event(url, event)
    acked = time.perf_counter()
    locked, _, _ = slack.first(sent, lambda m, a: m == "chat.update" and a.get("ts") == ts)
    delivered, _, _ = slack.first(
        sent, lambda m, a: m == "chat.postMessage" and metadata_key(a).endswith("-final")
    )
    return {
        "ack": (acked - sent) * 1000,
        "lock": (locked - sent) * 1000,
        "resume": (delivered - sent) * 1000,
    }


def metadata_of(args: dict[str, Any]) -> dict[str, Any]:
    """A posted message's metadata (form-encoded calls send it as a JSON string)."""
    metadata = args.get("metadata") or {}
    return dict(json.loads(metadata) if isinstance(metadata, str) else metadata)


def metadata_key(args: dict[str, Any]) -> str:
    """The key a post carries in its metadata (agent.storage.slack_messages)."""
    return str((metadata_of(args).get("event_payload") or {}).get("key", ""))


def main() -> None:
    slack = TimedSlack()
    with slack, dev_stack(stack_env(slack)) as url:
        log(f"click_to_resume: {SAMPLES} runs on signoff dev, each approved by a signed click")
        cards = [start_run(url, slack, index) for index in range(SAMPLES)]
        samples = [click(url, slack, approval_id, ts) for approval_id, ts in cards]
    metrics = {
        "click_to_resume_ms": round(statistics.median(s["resume"] for s in samples), 1),
        "click_ack_ms": round(statistics.median(s["ack"] for s in samples), 1),
        "click_to_lock_ms": round(statistics.median(s["lock"] for s in samples), 1),
    }
    merge_results(metrics)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()

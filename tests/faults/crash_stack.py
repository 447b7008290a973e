"""``signoff dev`` killed with SIGKILL and started again, with its Slack and Claude in this process.

The fakes outlive every kill, so what the stack did before a crash stays visible: each Slack
message it posted (and the metadata key it posted under), each Claude request. The stack is
driven as Slack drives it: signed slash commands and button clicks on ``/slack/events``.

Every run of the crash suite follows one script, keyed by its task: a first turn that reads
the run's channel and asks to post in it (the post is side-effecting, so it waits for an
approval card), then a draft that waits for a review card, then the delivered answer.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.approvals.cards import ACTION_APPROVE
from slack_app.listeners import run_id_for
from tests.fakes.claude import FakeClaude, Reply
from tests.fakes.slack import FakeSlack
from tests.localdev.conftest import REPO, START_TIMEOUT, DevProcess, clean_env
from tests.localdev.test_dev_stack import processes_using
from tests.scenarios.claude_scripts import assistant_turns, calls, draft, tool_use
from tests.slack_app.slack_requests import SIGNING_SECRET, TEAM, button_click, slash_command

REQUESTER, APPROVER = "UALICE", "UBOB"
LEASE_SECONDS = 2  # how long a crashed decider's claim holds a card
WAIT = 60.0  # bound on any one wait: a whole run, across restarts, on a busy 2-core machine
TOOL_POST = "signoff_tool_post"  # the metadata event type of post_slack_message's posts
_TASK = re.compile(r"crash run (\d+)")


@dataclass(frozen=True)
class Run:
    """One run of the script: its task names its own channel, so holds can pick it out."""

    number: int

    @property
    def task(self) -> str:
        return f"crash run {self.number:02d}"

    @property
    def channel(self) -> str:
        return f"CRUN{self.number:02d}"

    @property
    def trigger_id(self) -> str:
        return f"trigger-{self.number:02d}"

    @property
    def run_id(self) -> str:
        return run_id_for(TEAM, self.trigger_id)

    @property
    def heads_up(self) -> str:
        """What the approved tool call posts in the run's channel."""
        return f"Heads-up from {self.task}"

    @property
    def answer(self) -> str:
        """The draft the reviewer approves: the run's result."""
        return f"{self.task}: the team knows."


def script(body: dict[str, Any]) -> Reply:
    """Claude for every run: the same turns for the same conversation, retries included."""
    named = _TASK.search(body["messages"][0]["content"][0]["text"])
    assert named, "every task of the crash suite names its run"
    run = Run(int(named.group(1)))
    if assistant_turns(body) == 0:
        return calls(
            tool_use(f"toolu_{run.number:02d}_read", "read_slack_history", channel=run.channel),
            tool_use(
                f"toolu_{run.number:02d}_post",
                "post_slack_message",
                channel=run.channel,
                text=run.heads_up,
            ),
        )
    return draft(run.answer)


def is_turn(run: Run, turn: int) -> Callable[[dict[str, Any]], bool]:
    """Matches the Claude request of ``run``'s turn ``turn`` (for ``FakeClaude.hold_stream``)."""

    def matches(body: dict[str, Any]) -> bool:
        first = body["messages"][0]["content"][0]["text"]
        return run.task in first and assistant_turns(body) == turn

    return matches


def metadata_key(message: dict[str, Any]) -> str:
    return str(((message.get("metadata") or {}).get("event_payload") or {}).get("key", ""))


def metadata_type(message: dict[str, Any]) -> str:
    return str((message.get("metadata") or {}).get("event_type", ""))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


class CrashStack(DevProcess):
    """``signoff dev`` pointed at ``slack`` and ``claude``, killed and restarted on one data dir."""

    def __init__(self, data_dir: Path, slack: FakeSlack, claude: FakeClaude) -> None:
        super().__init__(data_dir)
        self.slack = slack
        self.claude = claude

    def environment(self) -> dict[str, str]:
        """The fakes' endpoints and credentials, a short claim lease, and cached bytecode.

        The stack starts many times: its imports are compiled once into a cache beside the
        data dir (neither the venv nor the repo is written) instead of on every start.
        """
        env = {k: v for k, v in clean_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
        return {
            **env,
            "PYTHONPYCACHEPREFIX": str(self.data_dir.parent / "bytecode"),
            "SLACK_API_URL": self.slack.api_url,
            "SLACK_BOT_TOKEN": "xoxb-crash-suite",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "APPROVERS": APPROVER,
            "ANTHROPIC_API_KEY": "sk-crash-suite",
            "ANTHROPIC_BASE_URL": self.claude.base_url,
            "SIGNOFF_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        }

    def start(self) -> CrashStack:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localdev.cli", "dev", *self.arguments()],
            cwd=REPO,
            env=self.environment(),
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"signoff dev did not come up:\n{self.output()[-5000:]}")
            time.sleep(0.1)
        return self

    def arguments(self) -> list[str]:
        return ["--port", str(self.port), "--data-dir", str(self.data_dir)]

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or stopped in order."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def dynamodb_url(self) -> str:
        """The table's endpoint, from the banner of the running process."""
        found = re.findall(r"DynamoDB\s+(http://\S+)", self.output())
        assert found, self.output()[-2000:]
        return str(found[-1])

    # Slack, as Slack calls the stack ---------------------------------------------------------
    def slack_request(self, event: dict[str, Any]) -> int | None:
        """Deliver a signed Slack request; None when the stack was not there to answer."""
        request = urllib.request.Request(
            f"{self.url}/slack/events",
            data=event["body"].encode(),
            headers=event["headers"],
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return None

    def command(self, run: Run) -> None:
        """``/agent <task>`` from the requester in the run's channel."""
        url = self.slack.response_url(run.channel, REQUESTER)
        event = slash_command(
            run.task,
            user=REQUESTER,
            channel=run.channel,
            trigger_id=run.trigger_id,
            response_url=url,
        )
        assert self.slack_request(event) == 200, self.output()[-3000:]

    def approve(self, card: dict[str, Any], channel: str) -> int | None:
        """The approver presses Approve on ``card``."""
        value = next(b["value"] for b in buttons(card) if b["action_id"] == ACTION_APPROVE)
        event = button_click(
            ACTION_APPROVE, value, user=APPROVER, channel=channel, message_ts=card["ts"]
        )
        return self.slack_request(event)

    def run_view(self, run: Run) -> dict[str, Any] | None:
        """``GET /runs/{id}``, or None while the stack is down or the run unknown."""
        try:
            status, body = self.api("GET", f"/runs/{run.run_id}")
        except OSError:
            return None
        return dict(body) if status == 200 else None


# What the runs left in Slack ---------------------------------------------------------------
def thread(slack: FakeSlack, run: Run) -> list[dict[str, Any]]:
    """The run's thread (root first), found by the root's metadata key."""
    root = next(
        (m for m in slack.messages(run.channel) if metadata_key(m) == f"{run.run_id}-root"), None
    )
    return [] if root is None else slack.thread(run.channel, root["ts"])


def cards(slack: FakeSlack, run: Run) -> list[dict[str, Any]]:
    """The run's approval cards, open or locked, oldest first."""
    return [m for m in thread(slack, run) if metadata_key(m).startswith("ap_")]


def open_cards(slack: FakeSlack, run: Run) -> list[dict[str, Any]]:
    return [card for card in cards(slack, run) if buttons(card)]


def delivered(slack: FakeSlack, run: Run) -> list[str]:
    """The texts of the run's delivered answers in its thread."""
    return [m["text"] for m in thread(slack, run) if metadata_key(m) == f"{run.run_id}-final"]


def tool_posts(slack: FakeSlack, run: Run) -> list[str]:
    """What post_slack_message posted in the run's channel."""
    return [m["text"] for m in slack.messages(run.channel) if metadata_type(m) == TOOL_POST]


def posts_per_key(slack: FakeSlack) -> Counter[str]:
    """How many chat.postMessage calls took effect under each metadata key."""
    return Counter(metadata_key(call.args) for call in slack.calls_to("chat.postMessage"))


def messages_per_key(slack: FakeSlack) -> Counter[str]:
    """How many messages in the workspace carry each metadata key."""
    with slack.workspace.lock:
        every = [m for messages in slack.channels.values() for m in messages]
    return Counter(metadata_key(m) for m in every if metadata_key(m))


@dataclass
class Approver:
    """A reviewer watching Slack: presses Approve on each open card of the runs it watches.

    Runs in a thread across kills; a click the stack was not up to take, or one that did not
    count (the card still open a while later, say behind a crashed decider's claim), is
    pressed again, as a person would.
    """

    stack: CrashStack
    runs: list[Run] = field(default_factory=list)
    again_after: float = LEASE_SECONDS + 1.0
    _pressed: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, *runs: Run) -> None:
        with self._lock:
            self.runs.extend(runs)

    def __enter__(self) -> Approver:
        self._thread = threading.Thread(target=self._loop, name="approver", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                watched = list(self.runs)
            for run in watched:
                for card in open_cards(self.stack.slack, run):
                    self._press(card, run)

    def _press(self, card: dict[str, Any], run: Run) -> None:
        pressed = self._pressed.get(card["ts"])
        if pressed is not None and time.monotonic() - pressed < self.again_after:
            return
        self._pressed[card["ts"]] = time.monotonic()
        self.stack.approve(card, run.channel)


def wait_until(
    probe: Callable[[], Any], what: str, stack: CrashStack, timeout: float = WAIT
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` and the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(
        f"timed out waiting for {what}; signoff dev said:\n{stack.output()[-6000:]}"
    )


def no_process_holds(path: Path) -> bool:
    """Nothing a killed stack started (dynalite) still runs with ``path`` on its command line."""
    return not processes_using(path)


def outcome(stack: CrashStack, run: Run) -> dict[str, Any]:
    """What a user sees of a finished run, with the run's own names taken out.

    The same for every run of the script that went as an uninterrupted one did.
    """
    view = stack.run_view(run) or {}

    def plain(text: str) -> str:
        return text.replace(run.task, "<task>").replace(run.run_id, "<run>")

    return {
        "status": view.get("status"),
        "result": plain(view.get("result") or ""),
        "pending": view.get("pending_approvals"),
        "decisions": [(d["decision"], d["decider"]["id"]) for d in view.get("decisions", [])],
        "delivered": [plain(text) for text in delivered(stack.slack, run)],
        "tool_posts": [plain(text) for text in tool_posts(stack.slack, run)],
        "cards": [(plain(card["text"]), bool(buttons(card))) for card in cards(stack.slack, run)],
    }


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, default=str)

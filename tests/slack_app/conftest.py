"""The Slack app's Lambda handler in front of the real agent, as in AWS but on loopback.

Signed requests go to the Slack handler; its lazy listeners and run starts go through boto3 to
a local Lambda endpoint, which runs the lazy invocation and starts the durable agent on the
SDK's runner; the Slack Web API is the fake; the table is dynalite.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from agent.approvals.gate import approval_id_for
from agent.config import Secret
from agent.models import ApprovalRecord
from localdev.lambda_host import LambdaContext, LocalLambda
from slack_app.app import build_app
from slack_app.config import SlackSettings
from slack_app.lambda_handler import LambdaHandler, make_lambda_handler
from slack_app.listeners import run_id_for
from tests.fakes.aws import Dynalite, MotoS3
from tests.fakes.claude import FakeClaude
from tests.fakes.slack import FakeSlack
from tests.scenarios.harness import AgentHarness, agent_harness
from tests.slack_app.slack_requests import SIGNING_SECRET, TEAM, slash_command

SLACK_FUNCTION = "signoff-slack"
AGENT_FUNCTION = "signoff-agent"


@dataclass
class SlackStack:
    agent: AgentHarness
    slack: FakeSlack
    handler: LambdaHandler

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        """One Lambda invocation of the Slack function, as API Gateway makes it."""
        return self.handler(event, LambdaContext.for_function(SLACK_FUNCTION, "us-east-1"))

    def command(
        self, text: str, *, user: str, channel: str, trigger_id: str = "trig-c"
    ) -> dict[str, Any]:
        """A slash command whose response_url answers land in the fake's ephemerals."""
        url = self.slack.response_url(channel, user)
        return self.send(
            slash_command(text, user=user, channel=channel, trigger_id=trigger_id, response_url=url)
        )

    def run_of(self, trigger_id: str) -> dict[str, Any]:
        run_id = run_id_for(TEAM, trigger_id)
        return wait_for(
            lambda: (r := self.agent.deps.store.get_run(run_id)) and r.get("execution_arn") and r,
            f"run {run_id}",
        )

    def card(self, run: dict[str, Any], gate: str) -> ApprovalRecord:
        return self.agent.approval(run["execution_arn"], gate)

    def record(self, run: dict[str, Any], gate: str) -> ApprovalRecord | None:
        return self.agent.deps.store.get_approval(approval_id_for(run["execution_arn"], gate))

    def output(self, run: dict[str, Any]) -> dict[str, Any]:
        return self.agent.output(run["execution_arn"])

    def ephemerals_to(self, user: str) -> list[str]:
        return [e["text"] for e in self.slack.ephemerals if e["user"] == user]

    def answered(self, user: str, act: Callable[[], Any]) -> str:
        """What ``user`` is told after ``act`` (a click's answer may come from its lazy
        listener, a moment after the ack)."""
        before = len(self.ephemerals_to(user))
        act()
        wait_for(lambda: len(self.ephemerals_to(user)) > before, f"an answer to {user}")
        return self.ephemerals_to(user)[-1]


def wait_for(probe: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


StackFactory = Callable[..., SlackStack]


@pytest.fixture
def make_stack(
    dynalite: Dynalite, moto_s3: MotoS3, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StackFactory]:
    exits: list[Callable[[], None]] = []

    def make(script: Callable[[dict[str, Any]], Any], **agent_overrides: Any) -> SlackStack:
        claude = FakeClaude(script).__enter__()
        exits.append(lambda: claude.__exit__(None, None, None))
        context = agent_harness(
            dynalite_url=dynalite.endpoint_url,
            s3_url=moto_s3.endpoint_url,
            slack_url=fake_slack.api_url,
            claude_url=claude.base_url,
            monkeypatch=monkeypatch,
            **agent_overrides,
        )
        harness = context.__enter__()
        harness.claude = claude
        exits.append(lambda: context.__exit__(None, None, None))
        settings = SlackSettings(
            signing_secret=Secret(value=SIGNING_SECRET),
            bot_token=Secret(value="xoxb-test-token"),
            api_url=fake_slack.api_url,
            approvers=harness.deps.settings.approvers,
            table_name=harness.deps.settings.table_name,
            agent_function=f"{AGENT_FUNCTION}:live",
        )
        stack: dict[str, Any] = {}
        local = LocalLambda(
            harness.runner._executor,  # the runner has no public accessor for its executor
            durable_function=AGENT_FUNCTION,
            functions={SLACK_FUNCTION: lambda event, ctx: stack["handler"](event, ctx)},
        )
        thread = threading.Thread(target=local.serve_forever, daemon=True)
        thread.start()
        exits.append(lambda: (local.shutdown(), local.server_close()))
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", local.url)
        stack["handler"] = make_lambda_handler(build_app(settings))
        return SlackStack(agent=harness, slack=fake_slack, handler=stack["handler"])

    yield make
    for exit_ in reversed(exits):
        exit_()


def body_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None

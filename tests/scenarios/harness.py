"""Runs the real durable handler under the SDK's in-process runner, against HTTP fakes.

The anthropic client, slack_sdk's WebClient and boto3 are the real ones: Claude and Slack are
fake servers on loopback, DynamoDB is dynalite, S3 is moto's server. A scenario plays the
reviewer by reading the approval record (as the Slack app does) and sending the callback.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import boto3
from aws_durable_execution_sdk_python_testing.runner import (
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
)

from agent.approvals.gate import approval_id_for
from agent.approvals.rules import FixedPolicy, Policy, PolicyReader
from agent.config import Secret, Settings
from agent.deps import AgentDeps
from agent.handler import build_handler
from agent.models import ApprovalRecord
from agent.storage.store import create_table
from agent.tools import ToolRegistry, default_registry

REQUESTER = "UREQUESTER"
APPROVER = "UAPPROVER"
CHANNEL = "CGENERAL"


def settings_for_fakes(
    *, claude_url: str | None, slack_url: str, table: str, bucket: str, **overrides: Any
) -> Settings:
    """Settings as a deployment would have them, pointed at the fakes."""
    base = Settings(
        llm_provider="anthropic" if claude_url else "offline",
        anthropic_api_key=Secret(value="sk-test-key" if claude_url else ""),
        anthropic_base_url=claude_url,
        slack_bot_token=Secret(value="xoxb-test-token"),
        slack_api_url=slack_url,
        approvers=(APPROVER,),
        table_name=table,
        bucket=bucket,
        approval_timeout_seconds=600,
    )
    return replace(base, **overrides)


@dataclass
class AgentHarness:
    """One handler under the in-process durable runner."""

    runner: DurableFunctionTestRunner
    deps: AgentDeps
    claude: Any = None

    def claude_requests(self) -> list[dict[str, Any]]:
        """Every request body the fake Claude received, in order."""
        return list(self.claude.requests)

    def claude_headers(self) -> list[dict[str, str]]:
        return list(self.claude.headers)

    def start(
        self, task: str = "Summarise #general and draft the status update", **event: Any
    ) -> str:
        payload = {
            "task": task,
            "requester": REQUESTER,
            "channel": CHANNEL,
            "thread_ts": None,
            "source": "slack",
            **event,
        }
        return self.runner.run_async(input=json.dumps(payload), execution_timeout=120)

    def result(self, arn: str, timeout: int = 60) -> DurableFunctionTestResult:
        """The run's result once it has ended.

        Read from the runner's store rather than with ``runner.wait_for_result``: that waits
        on a one-shot event the runner drops after the first wait, so a second look (or a run
        whose clock skipped days) can come back empty-handed.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = self.runner._store.load(arn)  # the runner has no public accessor
            if execution.is_complete:
                return DurableFunctionTestResult.create(execution=execution)
            time.sleep(0.02)
        raise AssertionError(f"run {arn} did not end within {timeout}s")

    def output(self, arn: str) -> dict[str, Any]:
        result = self.result(arn)
        assert result.result is not None, f"run ended {result.status} with {result.error}"
        return dict(json.loads(result.result))

    def approval(
        self, arn: str, gate_name: str, *, timeout: float = 30, posted: bool = True
    ) -> ApprovalRecord:
        """Wait until the gate is open (and its card posted, for runs in Slack)."""
        approval_id = approval_id_for(arn, gate_name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.deps.store.get_approval(approval_id)
            if (
                record is not None
                and record.state == "pending"
                and (record.message_ts or not posted)
            ):
                return record
            time.sleep(0.05)
        raise AssertionError(f"no card was posted for gate {gate_name!r} within {timeout}s")

    def decide(self, record: ApprovalRecord, decision: str, **fields: Any) -> None:
        """Send a decision as the Slack app would: the callback id comes from the table."""
        callback_id = self.deps.store.get_callback_id(record.approval_id)
        assert callback_id is not None
        payload = {
            "decision": decision,
            "decider": {"id": APPROVER, "name": "Ada Approver"},
            "at": "2026-11-23T10:00:00+00:00",
            **fields,
        }
        self.runner.send_callback_success(callback_id, json.dumps(payload).encode())


@contextmanager
def agent_harness(
    *,
    dynalite_url: str,
    s3_url: str,
    slack_url: str,
    claude_url: str | None,
    monkeypatch: Any,
    tools: ToolRegistry | None = None,
    skip_time: bool = True,
    policy: Policy | PolicyReader | None = None,
    **overrides: Any,
) -> Iterator[AgentHarness]:
    """A fresh table and bucket, deps built as in Lambda, and the runner around the handler.

    ``skip_time=False`` keeps durable waits on the real clock, so a run can be seen waiting.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynalite_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)
    table, bucket = f"runs-{uuid.uuid4().hex[:8]}", f"blobs-{uuid.uuid4().hex[:8]}"
    create_table(boto3.client("dynamodb"), table)
    boto3.client("s3").create_bucket(Bucket=bucket)
    settings = settings_for_fakes(
        claude_url=claude_url, slack_url=slack_url, table=table, bucket=bucket, **overrides
    )
    deps = AgentDeps.from_settings(settings, tools=tools or default_registry())
    if policy is not None:
        deps = replace(deps, policy=FixedPolicy(policy) if isinstance(policy, Policy) else policy)
    with DurableFunctionTestRunner(
        handler=build_handler(lambda: deps), poll_interval=0.05, skip_time=skip_time
    ) as runner:
        yield AgentHarness(runner=runner, deps=deps)


def checkpoint_sizes(harness: AgentHarness, arn: str) -> dict[str, int]:
    """Bytes of every payload the run checkpointed, by operation name.

    The local runner accepts payloads AWS would refuse (over 256 KB), so tests measure them.
    """
    execution = harness.runner._store.load(arn)  # the runner has no public accessor
    sizes: dict[str, int] = {}
    for operation in execution.operations:
        payloads = [
            details.result
            for details in (
                operation.step_details,
                operation.context_details,
                operation.callback_details,
            )
            if details is not None and details.result
        ]
        name = operation.name or operation.operation_id
        sizes[name] = max([len(p.encode()) for p in payloads] or [0])
    return sizes

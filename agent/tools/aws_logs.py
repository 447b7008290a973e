"""``export_log_group``: export a CloudWatch Logs group to S3 and wait until it is done.

CloudWatch Logs runs an export as a task (``CreateExportTask``) that takes minutes to hours;
the call polls ``DescribeExportTasks`` (every 30 s at first, backing off to 5 minutes) until
the task is COMPLETED, at no compute cost in between. The bucket must let the CloudWatch Logs
service write to it (see the README). An export moves data out of the account, so a reviewer
approves each call, and the deployment names the buckets it may write to and the log groups
it may export (``SIGNOFF_EXPORT_BUCKETS``, ``SIGNOFF_EXPORT_LOG_GROUPS``): any other is
refused with an error Claude reads, and the role's IAM grants match the same lists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.approvals.policy import REQUIRE
from agent.config import (
    ENV_EXPORT_BUCKETS,
    ENV_EXPORT_LOG_GROUPS,
    LOG_GROUP_NAME,
    S3_BUCKET_NAME,
    Settings,
)
from agent.errors import ToolInputError
from agent.tools.context import ToolContext
from agent.tools.jobs import Done, Failed, JobHandle, JobStatus, Pending, Polling
from agent.tools.registry import ToolRegistry

RUNNING = frozenset({"PENDING", "RUNNING"})


class ExportArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    log_group: str = Field(pattern=LOG_GROUP_NAME.pattern, description="The log group's name")
    from_time: datetime = Field(alias="from", description="Start of the range (ISO 8601)")
    to_time: datetime = Field(alias="to", description="End of the range (ISO 8601)")
    bucket: str = Field(pattern=S3_BUCKET_NAME.pattern, description="The S3 bucket to export to")
    prefix: str = Field(
        default="exported-logs", max_length=512, description="Key prefix in the bucket"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ExportArgs:
        if self.to_time <= self.from_time:
            raise ValueError("'to' must be after 'from'")
        return self


def register(registry: ToolRegistry) -> None:
    """Add ``export_log_group`` to a registry."""

    @registry.tool(
        args=ExportArgs,
        approval=REQUIRE,
        side_effect=True,
        completion=Polling(
            check=check_export,
            initial_delay_seconds=30,
            backoff_rate=1.5,
            max_delay_seconds=300,
            max_attempts=200,
        ),
    )
    def export_log_group(ctx: ToolContext, args: ExportArgs) -> JobHandle:
        """Export a CloudWatch Logs log group's events between two times to an S3 bucket, and
        wait until the export has finished (it can take hours). A reviewer approves each
        export. Only the buckets and log groups this deployment names are allowed."""
        refusal = export_refusal(ctx.settings, args)
        if refusal is not None:
            raise ToolInputError(refusal)
        logs = ctx.aws("logs")
        name = f"signoff-{ctx.idempotency_key[:24]}"
        if ctx.attempt > 1 and (earlier := _task_named(logs, name)) is not None:
            return {"task_id": earlier, "bucket": args.bucket, "prefix": args.prefix}
        created = logs.create_export_task(
            taskName=name,
            logGroupName=args.log_group,
            fromTime=_millis(args.from_time),
            to=_millis(args.to_time),
            destination=args.bucket,
            destinationPrefix=args.prefix,
        )
        return {"task_id": created["taskId"], "bucket": args.bucket, "prefix": args.prefix}


def export_refusal(settings: Settings, args: ExportArgs) -> str | None:
    """Why this deployment does not allow the export, or None when it does."""
    buckets, groups = settings.export_buckets, settings.export_log_groups
    if not buckets or not groups:
        return (
            "exporting logs is not set up in this deployment: it names no buckets to write "
            f"to ({ENV_EXPORT_BUCKETS}) or no log groups to export ({ENV_EXPORT_LOG_GROUPS})"
        )
    if args.bucket not in buckets:
        return f"bucket {args.bucket!r} is not allowed; export to one of: {', '.join(buckets)}"
    if not log_group_allowed(args.log_group, groups):
        return (
            f"log group {args.log_group!r} is not allowed; this deployment exports only: "
            f"{', '.join(groups)}"
        )
    return None


def log_group_allowed(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether a pattern names the log group (``/aws/lambda/*`` names every one under it)."""
    return any(
        name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern
        for pattern in patterns
    )


def check_export(ctx: ToolContext, handle: JobHandle) -> JobStatus:
    """Where the export task is: PENDING/RUNNING, COMPLETED, or CANCELLED/FAILED."""
    tasks = ctx.aws("logs").describe_export_tasks(taskId=handle["task_id"])["exportTasks"]
    if not tasks:
        return Failed(f"export task {handle['task_id']} no longer exists")
    status = tasks[0].get("status") or {}
    code = str(status.get("code", "PENDING"))
    if code in RUNNING:
        return Pending(code.lower())
    if code == "COMPLETED":
        location = f"s3://{handle['bucket']}/{handle['prefix']}/{handle['task_id']}/"
        return Done({"task_id": handle["task_id"], "status": code, "location": location})
    return Failed(f"export task {code.lower()}: {status.get('message') or 'no reason given'}")


def _task_named(logs: Any, name: str) -> str | None:
    """An export task an earlier attempt of this call created (retries must not add one)."""
    for page in logs.get_paginator("describe_export_tasks").paginate():
        for task in page.get("exportTasks", []):
            if task.get("taskName") == name:
                return str(task["taskId"])
    return None


def _millis(moment: datetime) -> int:
    """Epoch milliseconds; a time without a zone is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)

"""What one run costs to orchestrate on AWS: the price table, with sources, and the sums (pure).

Prices are US East (N. Virginia), x86, on demand, with no free tier. AWS's pricing pages
render their rate cards in the browser, so where the page text itself could not be read the
figure is the one quoted from that page by the transcription named in ``note`` (with the
date it was read). Each price names the page it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

AS_OF = "2026-10 (transcriptions dated 2026-09-20 to 2026-10-07)"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
APIGW_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
S3_PRICING = "https://aws.amazon.com/s3/pricing/"
SFN_PRICING = "https://aws.amazon.com/step-functions/pricing/"
GB = 1024**3
HOURS_PER_MONTH = 730
# The functions' memory (infra/stack.py: the agent and the Slack function have 1024 MB).
AGENT_MEMORY_GB = 1.0
SLACK_MEMORY_GB = 1.0


@dataclass(frozen=True)
class Price:
    """One rate: dollars per ``unit``, where it comes from, and how it was read."""

    usd: float
    unit: str
    source: str
    note: str


PRICES: dict[str, Price] = {
    "durable_operation": Price(
        8.00 / 1e6, "durable operation", LAMBDA_PRICING,
        "$8.00 per million durable operations; as quoted from the page (api-evangelist "
        "aws-lambda pricing harvest, 2026-09-20; a durable-engine cost survey, 2026-10-07)",
    ),
    "durable_data_written": Price(
        0.25, "GB of durable data written", LAMBDA_PRICING,
        "$0.25 per GB written; as quoted from the page (cost survey, 2026-10-07)",
    ),
    "durable_data_retained": Price(
        0.15, "GB-month of durable data retained", LAMBDA_PRICING,
        "$0.15 per GB-month retained; as quoted from the page (cost survey, 2026-10-07)",
    ),
    "lambda_request": Price(
        0.20 / 1e6, "Lambda request", LAMBDA_PRICING, "$0.20 per million requests",
    ),
    "lambda_gb_second": Price(
        0.0000166667, "GB-second (x86)", LAMBDA_PRICING,
        "$0.0000166667 per GB-second, first tier, x86",
    ),
    "apigw_http_request": Price(
        1.00 / 1e6, "HTTP API request", APIGW_PRICING,
        "$1.00 per million (first 300 million a month), metered in 512 KB increments; from "
        "the page's worked example (api-evangelist harvest, 2026-09-20)",
    ),
    "dynamodb_write_unit": Price(
        0.625 / 1e6, "write request unit", DYNAMODB_PRICING,
        "$0.625 per million WRU, Standard table class (checked on the page 2026-10-04)",
    ),
    "dynamodb_read_unit": Price(
        0.125 / 1e6, "read request unit", DYNAMODB_PRICING,
        "$0.125 per million RRU, Standard table class (checked on the page 2026-10-04)",
    ),
    "s3_put": Price(
        0.005 / 1000, "S3 PUT request", S3_PRICING, "$0.005 per 1,000 PUT, S3 Standard",
    ),
    "s3_get": Price(
        0.0004 / 1000, "S3 GET request", S3_PRICING, "$0.0004 per 1,000 GET, S3 Standard",
    ),
    "s3_storage": Price(
        0.023, "GB-month in S3 Standard", S3_PRICING, "$0.023 per GB-month, first 50 TB",
    ),
    "sfn_state_transition": Price(
        0.025 / 1000, "Standard Workflows state transition", SFN_PRICING,
        "$0.025 per 1,000 state transitions ($25 per million)",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class RunUsage:
    """What one run used, measured by running it (see bench.cost), plus the Slack side."""

    durable_operations: int
    checkpoint_bytes: int
    run_hours: float  # from start to end, waits included
    retention_days: int  # how long the history is kept after the run
    agent_invocations: int
    agent_seconds: float  # the durable function's invocations, measured (replays included)
    stream_seconds: float  # time inside model steps streaming from Claude (modelled)
    task_states: int  # the same run as a state machine: its Lambda tasks
    task_seconds: float  # ... and their step bodies, measured
    state_transitions: int
    dynamodb_write_units: float
    dynamodb_read_units: float
    s3_puts: int
    s3_gets: int
    s3_bytes: int
    blob_days: int  # how long blobs live (the bucket's lifecycle)
    api_requests: int  # requests through API Gateway (Slack's /agent and clicks)
    slack_invocations: int
    slack_seconds: float


def _usd(name: str, amount: float) -> float:
    return PRICES[name].usd * amount


def shared_costs(u: RunUsage) -> dict[str, float]:
    """What the run costs whatever orchestrates it: the API, the table, the blobs, Slack."""
    blob_gb_months = u.s3_bytes / GB * u.blob_days * 24 / HOURS_PER_MONTH
    return {
        "api_gateway": _usd("apigw_http_request", u.api_requests),
        "dynamodb": _usd("dynamodb_write_unit", u.dynamodb_write_units)
        + _usd("dynamodb_read_unit", u.dynamodb_read_units),
        "s3": _usd("s3_put", u.s3_puts)
        + _usd("s3_get", u.s3_gets)
        + _usd("s3_storage", blob_gb_months),
        "slack_function": _usd("lambda_request", u.slack_invocations)
        + _usd("lambda_gb_second", u.slack_seconds * SLACK_MEMORY_GB),
    }


def durable_costs(u: RunUsage) -> dict[str, float]:
    """The run on Lambda durable functions, by component."""
    retained_months = (u.run_hours + u.retention_days * 24) / HOURS_PER_MONTH
    agent_gb_seconds = (u.agent_seconds + u.stream_seconds) * AGENT_MEMORY_GB
    return {
        "durable_operations": _usd("durable_operation", u.durable_operations),
        "data_written": _usd("durable_data_written", u.checkpoint_bytes / GB),
        "data_retained": _usd("durable_data_retained", u.checkpoint_bytes / GB * retained_months),
        "agent_requests": _usd("lambda_request", u.agent_invocations),
        "agent_compute": _usd("lambda_gb_second", agent_gb_seconds),
        **shared_costs(u),
    }


def sfn_costs(u: RunUsage) -> dict[str, float]:
    """The same run on Step Functions Standard, each step a Lambda task, by component."""
    task_gb_seconds = (u.task_seconds + u.stream_seconds) * AGENT_MEMORY_GB
    return {
        "state_transitions": _usd("sfn_state_transition", u.state_transitions),
        "task_requests": _usd("lambda_request", u.task_states),
        "task_compute": _usd("lambda_gb_second", task_gb_seconds),
        **shared_costs(u),
    }

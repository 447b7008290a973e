"""IAM statements, one builder per need, each naming exactly the actions the code calls.

Explicit statements instead of CDK's ``grant_*`` helpers: those add actions the code never
calls (``DescribeSecret``, ``dynamodb:DeleteItem``, ``s3:List*``...), and least privilege
here means what ``agent/`` and ``slack_app/`` actually call, checked by tests/infra.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

from infra.settings import BEDROCK_MODEL

# agent.storage.store's sparse indexes (tests/infra checks them against its create_table).
REQUESTER_INDEX = "by_requester"
CHANNEL_INDEX = "by_channel"
PENDING_INDEX = "pending"
AUDIT_INDEX = "audit_by_day"
# The DynamoDB calls agent.storage.store makes for every function (tests/infra reads its
# source to keep this true)...
STORE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
)
# ...and the one only the API makes: listing every run (GET /runs without a requester) is a
# scan of the table. (The local stack's restart also scans, for waiting jobs: never deployed.)
LIST_ACTIONS = ("dynamodb:Scan",)
# The durable checkpoint API the SDK calls from inside the agent.
CHECKPOINT_ACTIONS = ("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState")
# The control plane (agent.control.runs): resume a run with a decision, stop it, read its status.
CONTROL_ACTIONS = (
    "lambda:SendDurableExecutionCallbackSuccess",
    "lambda:StopDurableExecution",
    "lambda:GetDurableExecution",
)
# Completing long-running jobs (agent.control.completions, in the API function only).
JOB_ACTIONS = (
    "lambda:SendDurableExecutionCallbackFailure",
    "lambda:SendDurableExecutionCallbackHeartbeat",
)
# The export_log_group tool (agent.tools.aws_logs); CreateExportTask also needs the caller
# to be allowed to write to the destination bucket.
LOG_EXPORT_ACTIONS = ("logs:CreateExportTask", "logs:DescribeExportTasks")
EXPORT_WRITE_ACTIONS = ("s3:PutObject",)
BEDROCK_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


def execution_arns(function: lambda_.IFunction) -> str:
    """Every durable execution of every version: ``function:NAME:*``.

    Durable APIs authorise against the execution ARN (``function:NAME:7/durable-execution/..``),
    so the unqualified function ARN would never match; aliases do not apply either.
    """
    return f"{function.function_arn}:*"


def store_access(table: dynamodb.ITableV2) -> iam.PolicyStatement:
    """Read and write runs and approvals, and query the table's indexes."""
    return iam.PolicyStatement(
        actions=list(STORE_ACTIONS),
        resources=[
            table.table_arn,
            f"{table.table_arn}/index/{REQUESTER_INDEX}",
            f"{table.table_arn}/index/{CHANNEL_INDEX}",
            f"{table.table_arn}/index/{PENDING_INDEX}",
            f"{table.table_arn}/index/{AUDIT_INDEX}",
        ],
    )


def run_listing(table: dynamodb.ITableV2) -> iam.PolicyStatement:
    """Scan the table itself (no index) for a page of every run: the API function only."""
    return iam.PolicyStatement(actions=list(LIST_ACTIONS), resources=[table.table_arn])


def blob_access(bucket: s3.IBucket) -> iam.PolicyStatement:
    """agent.storage.blobs: put and get objects, nothing at the bucket level."""
    return iam.PolicyStatement(
        actions=["s3:GetObject", "s3:PutObject"], resources=[bucket.arn_for_objects("*")]
    )


def secret_read(*secrets: secretsmanager.ISecret) -> iam.PolicyStatement:
    """Read these secrets' values (at cold start, then cached)."""
    return iam.PolicyStatement(
        actions=["secretsmanager:GetSecretValue"], resources=[s.secret_arn for s in secrets]
    )


def durable_checkpoints(agent: lambda_.IFunction) -> iam.PolicyStatement:
    """What the durable SDK needs in the agent, scoped to the agent's own executions."""
    return iam.PolicyStatement(actions=list(CHECKPOINT_ACTIONS), resources=[execution_arns(agent)])


def durable_control(agent: lambda_.IFunction) -> iam.PolicyStatement:
    """Decide, cancel and read runs of this agent only."""
    return iam.PolicyStatement(actions=list(CONTROL_ACTIONS), resources=[execution_arns(agent)])


def job_completion(agent: lambda_.IFunction) -> iam.PolicyStatement:
    """Report a job's failure or heartbeat into this agent's runs (success is a control
    action already)."""
    return iam.PolicyStatement(actions=list(JOB_ACTIONS), resources=[execution_arns(agent)])


def log_exports(
    stack: Stack, *, log_groups: tuple[str, ...], buckets: tuple[str, ...]
) -> list[iam.PolicyStatement]:
    """Export only the log groups the stack names (a prefix ending in * names every group
    under it), into only the buckets it names, and read how exports are going;
    DescribeExportTasks takes no resource but ``*``."""
    groups = [
        stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for pattern in log_groups
        # A log group's ARN may end in ":*"; a prefix's "*" already covers it.
        for name in ((pattern,) if pattern.endswith("*") else (pattern, f"{pattern}:*"))
    ]
    objects = [f"arn:{stack.partition}:s3:::{bucket}/*" for bucket in buckets]
    return [
        iam.PolicyStatement(actions=["logs:CreateExportTask"], resources=groups),
        iam.PolicyStatement(actions=["logs:DescribeExportTasks"], resources=["*"]),
        iam.PolicyStatement(actions=list(EXPORT_WRITE_ACTIONS), resources=objects),
    ]


def start_runs(alias: lambda_.IAlias) -> iam.PolicyStatement:
    """Start runs through the alias: durable functions are only ever invoked qualified."""
    return iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[alias.function_arn])


def invoke_self(stack: Stack, function_name: str) -> iam.PolicyStatement:
    """Bolt's lazy listeners invoke the function's own (unqualified) ARN asynchronously.

    Built from the fixed name, not ``function.function_arn``: the function depends on its
    role's policy, so a policy referring back to the function would be a circular dependency.
    API Gateway invokes the unqualified function, so that is the ARN Bolt sees and re-invokes.
    """
    arn = stack.format_arn(
        service="lambda",
        resource="function",
        resource_name=function_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[arn])


def bedrock_invoke(stack: Stack, model_id: str) -> list[iam.PolicyStatement]:
    """Invoke one model: directly, or through one cross-region inference profile.

    A profile (``us.anthropic...``) routes each request to a region of its geography, so the
    foundation model is allowed in any region, but only when reached through that profile.
    """
    match = BEDROCK_MODEL.match(model_id)
    if match is None:
        raise ValueError(f"not a Bedrock model id: {model_id!r}")
    if match["geo"] is None:
        model = stack.format_arn(
            service="bedrock", account="", resource="foundation-model", resource_name=model_id
        )
        return [iam.PolicyStatement(actions=list(BEDROCK_ACTIONS), resources=[model])]
    profile = stack.format_arn(
        service="bedrock", resource="inference-profile", resource_name=model_id
    )
    any_region_model = stack.format_arn(
        service="bedrock",
        region="*",
        account="",
        resource="foundation-model",
        resource_name=match["model"],
    )
    return [
        iam.PolicyStatement(actions=list(BEDROCK_ACTIONS), resources=[profile]),
        iam.PolicyStatement(
            actions=list(BEDROCK_ACTIONS),
            resources=[any_region_model],
            conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile}},
        ),
    ]

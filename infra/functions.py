"""One way to make a signoff Lambda function: its bundle, its own role and its own log group.

Each function gets a role of its own with no managed policies: the AWS managed ones allow
``logs:*`` writes (and, for durable functions, checkpoints) on ``*``; here logs go to the
function's log group only and every other permission is added by the stack, by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundles import LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, BundleSpec
from infra.settings import LOG_RETENTION_DAYS

RUNTIME: lambda_.Runtime = getattr(
    lambda_.Runtime, "PYTHON_" + LAMBDA_PYTHON_VERSION.replace(".", "_")
)
ARCHITECTURE = (
    lambda_.Architecture.X86_64
    if LAMBDA_PLATFORM.endswith("x86_64")
    else lambda_.Architecture.ARM_64
)


@dataclass(frozen=True, kw_only=True)
class FunctionSpec:
    """What differs between the three functions."""

    bundle: BundleSpec
    description: str
    memory_mb: int
    timeout: Duration
    environment: Mapping[str, str]
    function_name: str | None = None
    durable_config: lambda_.DurableConfig | None = None
    current_version_options: lambda_.VersionOptions | None = None


@dataclass(frozen=True)
class FunctionParts:
    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup


def python_function(
    scope: Construct, id: str, spec: FunctionSpec, *, bundle_dir: Path, log_retention_days: int
) -> FunctionParts:
    """The function, its role (logs only) and its log group (retention set)."""
    log_group = logs.LogGroup(
        scope,
        f"{id}Logs",
        retention=logs.RetentionDays[LOG_RETENTION_DAYS[log_retention_days]],
    )
    role = iam.Role(
        scope,
        f"{id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"signoff {spec.bundle.name} function: only what its code calls",
    )
    function = lambda_.Function(
        scope,
        id,
        code=lambda_.Code.from_asset(str(bundle_path(bundle_dir, spec.bundle))),
        handler=spec.bundle.handler,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        description=spec.description,
        memory_size=spec.memory_mb,
        timeout=spec.timeout,
        environment=dict(spec.environment),
        function_name=spec.function_name,
        durable_config=spec.durable_config,
        current_version_options=spec.current_version_options,
        role=role,
        log_group=log_group,
        logging_format=lambda_.LoggingFormat.JSON,
        application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
        system_log_level_v2=lambda_.SystemLogLevel.WARN,
    )
    log_group.grant_write(role)
    return FunctionParts(function=function, role=role, log_group=log_group)


def bundle_path(bundle_dir: Path, bundle: BundleSpec) -> Path:
    """The built bundle, or a clear error: ``Code.from_asset`` would only say 'not found'."""
    path = bundle_dir / bundle.name
    if not (path / (bundle.entry_module.replace(".", "/") + ".py")).is_file():
        raise FileNotFoundError(
            f"no {bundle.name} bundle at {path} (with {bundle.entry_module}): "
            "run `make bundles`, or pass -c bundle_dir=DIR"
        )
    return path

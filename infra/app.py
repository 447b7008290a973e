"""The CDK app: ``python -m infra.app`` synthesizes ``cdk.out`` with no CLI and no account.

    python -m infra.app [-c key=value ...] [--outdir cdk.out]
    cdk deploy --app "python -m infra.app" [-c key=value ...]

Context keys are the fields of ``infra.settings.StackSettings``. cdk-nag's AwsSolutions pack
runs at synth: any finding not acknowledged in ``infra.nag`` fails it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.nag import acknowledge_findings
from infra.settings import SettingsError, StackSettings
from infra.stack import SignoffStack

STACK_NAME = "signoff"
# The `cdk init` flags (aws-cdk-lib 2.275) that change what this stack synthesizes.
FEATURE_FLAGS: dict[str, Any] = {
    # Template findings (a circular dependency, say) fail synth instead of warning.
    "@aws-cdk/core:validateAgainstDefaultRules": True,
    "@aws-cdk/core:checkSecretUsage": True,
    "@aws-cdk/core:enablePartitionLiterals": True,
    "@aws-cdk/core:target-partitions": ["aws", "aws-cn"],
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-s3:createDefaultLoggingPolicy": True,
    "@aws-cdk/aws-s3:publicAccessBlockedByDefault": True,
    "@aws-cdk/aws-kms:aliasNameRef": True,
    "@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope": True,
    "@aws-cdk/aws-dynamodb:resourcePolicyPerReplica": True,
    "@aws-cdk/aws-dynamodb:retainTableReplica": True,
    "@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard": True,
    "@aws-cdk/core:explicitStackTags": True,
}


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None
) -> tuple[cdk.App, SignoffStack]:
    """The app with its one stack and cdk-nag registered (nothing is synthesized yet)."""
    app = cdk.App(context={**FEATURE_FLAGS, **(context or {})}, outdir=outdir)
    settings = StackSettings.from_context(app.node.try_get_context)
    stack = SignoffStack(
        app,
        STACK_NAME,
        settings=settings,
        description="signoff: Claude agents that pause for a person's sign-off in Slack",
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    cdk.Tags.of(stack).add("project", "signoff")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    acknowledge_findings(stack)
    return app, stack


def main(argv: Sequence[str] | None = None) -> int:
    """Synthesize; the CDK CLI passes context and the output directory through the env."""
    parser = argparse.ArgumentParser(description="Synthesize the signoff stack.")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--outdir", default=os.environ.get("CDK_OUTDIR", "cdk.out"))
    args = parser.parse_args(argv)
    context = dict(_pair(item) for item in args.context)
    try:
        app, _ = build_app(context, outdir=args.outdir)
    except SettingsError as err:  # a bad -c value: say which, no traceback
        print(f"synth failed: {err}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as err:  # cdk-nag or template validation: the report says which
        print(f"synth failed: {err}", file=sys.stderr)
        return 1
    return 0


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(f"context must be KEY=VALUE, got {item!r}")
    return key, value


if __name__ == "__main__":
    raise SystemExit(main())

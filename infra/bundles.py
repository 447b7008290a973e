"""What goes into each Lambda bundle: shared by the stack and ``infra/build_bundles.py``.

Pure Python on purpose (no aws_cdk import): the build script reads it without starting node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BundleName = Literal["agent", "slack", "api"]

# The Lambda runtime the bundles are built for; the stack's Runtime must match (a test checks).
# 3.13, not 3.14: bundles are byte-compiled and import-checked by a local CPython of the same
# minor version (pyc files only load on the version that wrote them), and 3.13 is the newest
# this toolchain has. Moving up is this line plus a matching interpreter.
LAMBDA_PYTHON_VERSION = "3.13"
# Wheels for this platform tag; the stack's Architecture must match (a test checks).
LAMBDA_PLATFORM = "manylinux2014_x86_64"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE_ROOT = REPO_ROOT / "build" / "bundles"
# Copied whole into every bundle (they are small): prompts/ sits beside agent/ because
# agent.model.prompts finds it at ``<agent>/../prompts``.
PROJECT_PACKAGES = ("agent", "api", "slack_app", "prompts")
# Files at the project root copied into every bundle's root when present: the approval policy
# (agent.approvals.policy_source looks for it beside the agent package).
POLICY_FILE = "signoff.toml"
PROJECT_FILES = (POLICY_FILE,)


@dataclass(frozen=True, kw_only=True)
class BundleSpec:
    """One function's code: its handler and the locked packages it leaves out."""

    name: BundleName
    handler: str
    # Pruned with ``uv export --prune``: the package and whatever only it needed.
    prune: tuple[str, ...] = ()

    @property
    def entry_module(self) -> str:
        """The module Lambda imports first (``agent.handler`` for ``agent.handler.handler``)."""
        return self.handler.rsplit(".", 1)[0]


BUNDLES: dict[BundleName, BundleSpec] = {
    # The agent posts to Slack with slack_sdk alone; Bolt is the Slack function's.
    "agent": BundleSpec(name="agent", handler="agent.handler.handler", prune=("slack-bolt",)),
    # The Slack ack path must stay fast on a cold start: it never imports anthropic, so the
    # bundle does not carry it (tests/infra checks the import graph still agrees).
    "slack": BundleSpec(
        name="slack", handler="slack_app.lambda_handler.handler", prune=("anthropic",)
    ),
    # The HTTP API is control plane only (start, read, decide, cancel): no model calls.
    "api": BundleSpec(name="api", handler="api.handler.handler", prune=("anthropic", "slack-bolt")),
}

"""One synth per configuration per session: a synth costs seconds (node, jsii, cdk-nag).

The stack is pointed at stub bundles (a handler module each) made here, so no test needs
the real bundles; ``app.synth()`` runs cdk-nag, which raises on any unacknowledged finding.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii prints a page-wide banner for node 20 (deprecated, then end-of-life) on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from infra.app import build_app
from infra.bundles import BUNDLES
from infra.nag import logical_id
from infra.stack import SignoffStack

BEDROCK_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
EXPORT_BUCKETS = "audit-exports"
EXPORT_LOG_GROUPS = "/aws/lambda/* /ecs/checkout"
STUB_POLICY = "[gates.default]\nrequired = 1\n"
POLICY_FILE_NAME = "signoff.toml"


@dataclass(frozen=True)
class Synthesized:
    """A synthesized stack: the construct tree, its template, both ways of reading it."""

    stack: SignoffStack
    template: Template
    json: dict[str, Any]
    directory: Path  # the cloud assembly (cdk.out), with each function's staged asset

    def lid(self, construct: Any) -> str:
        """The logical id of ``construct`` (its default child when it is an L2)."""
        return logical_id(construct)

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {
            key: value for key, value in self.json["Resources"].items() if value["Type"] == type_
        }


def write_stub_bundles(root: Path, policy: str = STUB_POLICY) -> Path:
    """``<root>/{agent,slack,api}`` each holding just its handler module, and the approval
    policy at its root as ``make bundles`` puts it there when the project has one."""
    for spec in BUNDLES.values():
        module = root / spec.name / (spec.entry_module.replace(".", "/") + ".py")
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text("def handler(event, context):\n    return None\n")
        (root / spec.name / POLICY_FILE_NAME).write_text(policy)
    return root


@pytest.fixture(scope="session")
def stub_bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_stub_bundles(tmp_path_factory.mktemp("bundles"))


def _synth(tmp: Path, bundles: Path, context: dict[str, Any]) -> Synthesized:
    app, stack = build_app({"bundle_dir": str(bundles), **context}, outdir=str(tmp))
    assembly = app.synth()  # raises RuntimeError("ValidationFailed...") on a cdk-nag finding
    template_path = Path(assembly.directory) / stack.template_file
    data = json.loads(template_path.read_text())
    return Synthesized(
        stack=stack,
        template=Template.from_json(data),
        json=data,
        directory=Path(assembly.directory),
    )


SynthFactory = Callable[[dict[str, Any]], Synthesized]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, stub_bundles: Path) -> SynthFactory:
    """Synthesize with extra context (each distinct context once per session)."""
    cache: dict[str, Synthesized] = {}

    def make(context: dict[str, Any]) -> Synthesized:
        key = json.dumps(context, sort_keys=True)
        if key not in cache:
            cache[key] = _synth(tmp_path_factory.mktemp("cdk.out"), stub_bundles, context)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def default(synth: SynthFactory) -> Synthesized:
    """The stack as `make synth` builds it: every setting at its default."""
    return synth({})


@pytest.fixture(scope="session")
def bedrock(synth: SynthFactory) -> Synthesized:
    """Bedrock through a cross-region profile, longer runs than the default, log exports."""
    return synth(
        {
            "llm_provider": "bedrock",
            "bedrock_model": BEDROCK_PROFILE,
            "execution_timeout_days": "30",
            "retention_days": "30",
            "approval_timeout_hours": "240",
            "approvers": "U111 S222",
            "alarm_email": "oncall@example.com",
            "run_budget_usd": "2.5",
            "cost_alarm_usd_per_hour": "40",
            "export_buckets": EXPORT_BUCKETS,
            "export_log_groups": EXPORT_LOG_GROUPS,
        }
    )

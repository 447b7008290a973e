"""What each Lambda bundle carries, checked on the locked requirements (offline, from uv.lock)
and on the build's own guard, without downloading wheels."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.build_bundles import (
    BuildError,
    check_contents,
    copy_sources,
    export_requirements,
    find_toolchain,
    sources_hash,
)
from infra.bundles import BUNDLES, PROJECT_PACKAGES, REPO_ROOT


def _locked_packages(name: str) -> set[str]:
    requirements = export_requirements(find_toolchain().uv, BUNDLES[name])
    return {
        match.group(1).lower()
        for match in re.finditer(r"^([A-Za-z0-9_.-]+)==", requirements, flags=re.MULTILINE)
    }


def test_only_the_agent_bundle_carries_anthropic() -> None:
    assert "anthropic" in _locked_packages("agent")
    assert "anthropic" not in _locked_packages("slack")
    assert "anthropic" not in _locked_packages("api")


def test_only_the_slack_bundle_carries_bolt() -> None:
    assert "slack-bolt" in _locked_packages("slack")
    assert "slack-bolt" not in _locked_packages("agent")
    assert "slack-bolt" not in _locked_packages("api")


def test_no_bundle_carries_test_or_deploy_tools() -> None:
    for name in BUNDLES:
        packages = _locked_packages(name)
        assert not packages & {"pytest", "aws-cdk-lib", "cdk-nag", "moto", "mypy", "ruff"}, name
        assert {"boto3", "slack-sdk", "aws-lambda-powertools"} <= packages, name


@pytest.mark.parametrize("name", ["slack", "api"])
def test_what_a_pruned_bundle_never_imports(name: str) -> None:
    """The pruned packages must not be imported by the bundle's handler module at all."""
    spec = BUNDLES[name]
    blocked = ", ".join(repr(p.replace("-", "_")) for p in spec.prune)
    code = (
        "import sys\n"
        f"for blocked in ({blocked},):\n"
        "    sys.modules[blocked] = None  # any import of it raises ImportError\n"
        f"import {spec.entry_module}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_build_refuses_a_bundle_holding_a_pruned_package(tmp_path: Path) -> None:
    spec = BUNDLES["slack"]
    (tmp_path / "slack_app").mkdir()
    (tmp_path / "slack_app" / "lambda_handler.py").write_text("handler = None\n")
    check_contents(spec, tmp_path)  # clean: no error
    (tmp_path / "anthropic-0.99.0.dist-info").mkdir()
    with pytest.raises(BuildError, match="must not contain 'anthropic'"):
        check_contents(spec, tmp_path)


def _project(root: Path) -> Path:
    for package in PROJECT_PACKAGES:
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text('"""stub"""\n')
    return root


def test_a_bundle_carries_the_projects_signoff_toml_at_its_root(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    policy = root / "signoff.toml"
    policy.write_text("[gates.default]\nrequired = 1\n")
    bundle = tmp_path / "bundle"
    copy_sources(bundle, root)
    assert (bundle / "signoff.toml").read_text() == policy.read_text()

    before = sources_hash(root)
    policy.write_text("[gates.default]\nrequired = 2\n")
    assert sources_hash(root) != before  # an edited policy makes the bundle out of date

    policy.unlink()
    copy_sources(bundle, root)
    assert not (bundle / "signoff.toml").exists()  # nor does a removed one stay behind


def test_the_code_in_a_bundle_finds_the_policy_at_the_bundles_root(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    copy_sources(bundle)
    (bundle / "signoff.toml").write_text("[gates.draft]\nrequired = 1\n")
    code = (
        f"import sys; sys.path.insert(0, {str(bundle)!r})\n"
        "from agent.approvals.policy_source import PolicySource\n"
        "from agent.approvals.rules import environment_policy\n"
        "base = environment_policy(approvers=(), deadline_seconds=60, allow_self_approval=False)\n"
        "print(PolicySource.locate(None, base=base, tools={}).current().source)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(bundle / "signoff.toml")

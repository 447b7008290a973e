"""Each Lambda function reads and checks its settings in its init phase: a bad one stops
the cold start with a message naming it, instead of failing every request after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LEAKY_NAMES, LEAKY_PREFIXES

REPO = Path(__file__).resolve().parent.parent
HANDLERS = ("agent.handler", "slack_app.lambda_handler", "api.handler")


def cold_start(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the handler module as Lambda's runtime does (its variables set), in a process
    of its own."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(LEAKY_PREFIXES) and name not in LEAKY_NAMES
    }
    lambda_runtime = {
        "AWS_LAMBDA_FUNCTION_NAME": "signoff-test",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",  # never called: init only builds clients
        "AWS_DEFAULT_REGION": "us-east-1",
        "SLACK_SIGNING_SECRET": "signing-secret",
        "SLACK_BOT_TOKEN": "xoxb-test",
    }
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=REPO,
        env={**clean, **lambda_runtime, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("module", HANDLERS)
def test_a_bad_setting_fails_the_cold_start_naming_it(module: str) -> None:
    started = cold_start(module, APPROVERS="UBOB bob")
    assert started.returncode != 0
    assert "ConfigError: APPROVERS holds Slack user" in started.stderr, started.stderr[-2000:]
    assert "'bob'" in started.stderr


@pytest.mark.parametrize("module", HANDLERS)
def test_good_settings_start_cold_without_calling_anything(module: str) -> None:
    started = cold_start(module, APPROVERS="UBOB")
    assert started.returncode == 0, started.stderr[-2000:]


@pytest.mark.parametrize("module", HANDLERS)
def test_a_bad_policy_file_fails_the_cold_start_naming_table_and_key(
    module: str, tmp_path: Path
) -> None:
    policy = tmp_path / "signoff.toml"
    policy.write_text("[gates.tools.post_slack_message]\nrequired = 0\n")
    started = cold_start(module, APPROVERS="UBOB", SIGNOFF_POLICY=str(policy))
    assert started.returncode != 0
    assert "PolicyError: " in started.stderr, started.stderr[-2000:]
    assert (
        f"{policy}: [gates.tools.post_slack_message] required: must be at least 1 (got 0)"
        in started.stderr
    )


@pytest.mark.parametrize("module", HANDLERS)
def test_the_example_policy_starts_every_function(module: str) -> None:
    example = str(REPO / "signoff.toml.example")
    started = cold_start(module, SIGNOFF_POLICY=example, DEMO_MCP_TOKEN="demo-token")
    assert started.returncode == 0, started.stderr[-2000:]

"""``signoff dev`` is healthy only when it is: a bad setting stops it at start, naming the
setting, and ``/healthz`` checks each part it names (a dead dynalite is a 503, not a 200)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from localdev.dynalite import free_port
from tests.localdev.conftest import REPO, DevProcess, clean_env
from tests.slack_app.conftest import wait_for


def test_a_bad_setting_stops_signoff_dev_at_start_naming_it(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "localdev.cli", "dev", "--port", str(free_port())]
    command += ["--data-dir", str(tmp_path / "data")]
    started = subprocess.run(
        command,
        cwd=REPO,
        env={**clean_env(), "APPROVERS": "UBOB bob"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 1
    assert "signoff dev could not start: APPROVERS holds Slack user" in started.stderr
    assert "'bob'" in started.stderr
    assert "signoff dev is up" not in started.stdout


def test_a_bad_policy_file_stops_signoff_dev_at_start_naming_every_problem(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "signoff.toml"
    policy.write_text('[gates.default]\non_timeout = "approve"\n[gates.tools.nope]\n')
    command = [sys.executable, "-m", "localdev.cli", "dev", "--port", str(free_port())]
    command += ["--data-dir", str(tmp_path / "data")]
    started = subprocess.run(
        command,
        cwd=REPO,
        env={**clean_env(), "SIGNOFF_POLICY": str(policy)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 1
    assert "signoff dev could not start: " in started.stderr
    assert f"{policy}: [gates.tools.nope]: there is no tool 'nope'" in started.stderr
    assert f"{policy}: [gates.default] on_timeout: silence never approves" in started.stderr
    assert "signoff dev is up" not in started.stdout


def dynalite_of(dev: DevProcess) -> int:
    """The pid of the dynalite the stack started (its child process)."""
    assert dev.process is not None
    tasks = Path(f"/proc/{dev.process.pid}/task")
    children = {int(pid) for task in tasks.iterdir() for pid in _read(task / "children").split()}
    (pid,) = [p for p in children if "dynalite" in _read(Path(f"/proc/{p}/cmdline"))]
    return pid


def _read(path: Path) -> str:
    """A /proc file, or nothing when its thread or process ended meanwhile."""
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def test_healthz_is_503_naming_dynamodb_once_dynalite_is_dead(tmp_path: Path) -> None:
    dev = DevProcess(tmp_path / "data").start()
    try:
        status, report = dev.request("GET", "/healthz")
        assert status == 200 and report["parts"]["dynamodb"] == "ok"

        os.kill(dynalite_of(dev), signal.SIGKILL)

        def once_reaped() -> tuple[int, Any] | None:
            answer = dev.request("GET", "/healthz")
            return answer if answer[1]["parts"]["dynamodb"].startswith("dynalite") else None

        status, report = wait_for(once_reaped, "healthz to say dynalite exited")
        assert status == 503 and report["ready"] is False
        assert report["parts"]["dynamodb"].startswith("dynalite exited")
        assert report["parts"]["s3"] == "ok" and report["parts"]["lambda"] == "ok"
        assert report["error"].startswith("dynamodb: dynalite exited")
    finally:
        dev.stop()

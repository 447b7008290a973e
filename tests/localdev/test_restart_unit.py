"""What lets ``signoff dev`` start again after SIGKILL: queued async invocations, and a
dynalite that dies with its parent and whose store a new start waits for."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from localdev.dynalite import DynaliteError, store_is_locked, wait_until_store_is_free
from localdev.lambda_host import EventQueue, LocalLambda
from tests.localdev.conftest import REPO
from tests.slack_app.conftest import wait_for


def test_an_async_invocation_is_kept_until_its_handler_returns(tmp_path: Path) -> None:
    queue = EventQueue(tmp_path / "invocations")
    inside, finish = threading.Event(), threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        inside.set()
        finish.wait(10)

    host = LocalLambda(
        executor=None,  # no durable function in these tests
        durable_function="agent",
        functions={"slack": handler},
        events=queue,
    )
    try:
        assert host.invoke_plain("slack", b'{"n": 1}', "Event")[0] == 202
        assert inside.wait(10)
        assert [(q.function, q.event) for q in queue.pending()] == [("slack", {"n": 1})]
        finish.set()
        assert wait_for(lambda: not queue.pending(), "the invocation to be forgotten", 10)
    finally:
        host.server_close()


def test_a_new_start_delivers_what_a_killed_one_left_and_drops_half_written_ones(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "invocations"
    left = EventQueue(directory)
    first = left.put("slack", {"n": 1})
    left.put("gone", {"n": 2})  # a function this start does not serve
    third = left.put("slack", {"n": 3})
    (directory / "123-half.partial").write_text('{"function": "sl')
    delivered: dict[int, str] = {}

    def handler(event: dict[str, Any], context: Any) -> None:
        delivered[event["n"]] = context.aws_request_id

    host = LocalLambda(
        executor=None,
        durable_function="agent",
        functions={"slack": handler},
        events=EventQueue(directory),
    )
    try:
        assert host.redeliver() == 3
        assert wait_for(lambda: len(delivered) == 2, "both deliveries", 10)
        # delivered again under the same request id, as Lambda retries an async invocation
        assert delivered == {1: first.request_id, 3: third.request_id}
        assert wait_for(lambda: not list(directory.iterdir()), "an empty queue", 10)
    finally:
        host.server_close()


def test_dynalite_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    code = (
        "import sys, time; from localdev.dynalite import Dynalite; "
        "d = Dynalite(); print(d._process.pid, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    dynalite = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    assert wait_for(lambda: not Path(f"/proc/{dynalite}").exists(), "dynalite to die", 10)


def test_a_start_waits_for_the_store_then_names_who_holds_it(tmp_path: Path) -> None:
    store = tmp_path / "dynamodb"
    store.mkdir()
    (store / "LOCK").touch()
    code = (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
        "fcntl.lockf(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(store / "LOCK")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert store_is_locked(store)
        with pytest.raises(DynaliteError, match="in use by another process"):
            wait_until_store_is_free(store, timeout=0.3)
        threading.Timer(0.3, holder.kill).start()
        wait_until_store_is_free(store, timeout=30)  # the holder dies while we wait
    finally:
        holder.kill()
        holder.wait()
    assert not store_is_locked(store)

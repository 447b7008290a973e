"""``signoff audit`` against the HTTP API served over real HTTP: print, verify, export."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from agent.storage.audit import audit_pk, seq_key
from api.handler import serve
from localdev import audit_cli
from localdev.apigw import ApiGateway
from localdev.cli import main
from tests.api.conftest import REVIEWER_TOKEN, ApiClient, ApiFactory
from tests.scenarios.claude_scripts import by_turn, draft
from tests.slack_app.conftest import wait_for


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(make_api: ApiFactory) -> Iterator[tuple[ApiClient, str]]:
    """The API handler behind a real HTTP server on loopback."""
    api = make_api(by_turn(draft("Status: green.")), api_approvers=("reviewer",))
    gateway = ApiGateway(
        [("/", lambda event, ctx: serve(api.resolver, event, ctx))], lambda _: None
    )
    server = make_server("127.0.0.1", 0, gateway, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def finished_run(api: ApiClient) -> str:
    _, accepted = api.call("POST", "/runs", {"task": "status", "requester": "UADA"})
    run_id = str(accepted["run_id"])
    store = api.stack.agent.deps.store
    run = wait_for(lambda: (r := store.get_run(run_id)) and r.get("execution_arn") and r, "run")
    card = api.stack.agent.approval(run["execution_arn"], "review-0", posted=False)
    path = f"/approvals/{card.approval_id}/decision"
    assert api.call("POST", path, {"decision": "approve"}, token=REVIEWER_TOKEN)[0] == 200
    api.stack.output(run)
    return run_id


def test_verify_passes_then_names_the_altered_entry(
    served: tuple[ApiClient, str], capsys: pytest.CaptureFixture[str]
) -> None:
    api, url = served
    run_id = finished_run(api)
    remote = ["--url", url, "--token", REVIEWER_TOKEN]

    printed = io.StringIO()  # the entries (the agent's own logs go to this test's stdout)
    assert audit_cli.main([run_id, "--verify", *remote], out=printed) == 0
    said = capsys.readouterr().err
    kinds = [json.loads(line)["kind"] for line in printed.getvalue().splitlines()]
    assert kinds == ["run_started", "approval_requested", "decided", "delivered", "run_ended"]
    assert "verified: 5 entries" in said

    api.stack.agent.deps.store.table.update_item(
        Key={"pk": audit_pk(run_id), "sk": seq_key(3)},
        UpdateExpression="SET #b.#n = :forged",
        ExpressionAttributeNames={"#b": "by", "#n": "name"},
        ExpressionAttributeValues={":forged": "someone else"},
    )
    assert main(["audit", run_id, "--verify", *remote]) == 1
    assert "NOT VERIFIED: entry 3 (decided" in capsys.readouterr().err

    assert main(["audit", run_id, "--url", url, "--token", "wrong"]) == 1
    assert "401" in capsys.readouterr().err


def test_export_writes_every_page_to_a_file(
    served: tuple[ApiClient, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api, url = served
    run_id = finished_run(api)
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    out = tmp_path / "audit.jsonl"
    remote = ["--url", url, "--token", REVIEWER_TOKEN]
    assert main(["audit", "export", "--since", since, "--out", str(out), *remote]) == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["seq"] for e in exported if e["run_id"] == run_id] == [1, 2, 3, 4, 5]
    assert f"exported {len(exported)} entries" in capsys.readouterr().err
    assert main(["audit", "export", "--since", "2020-01-01", *remote]) == 1  # over a year
    assert "at most 366 days" in capsys.readouterr().err

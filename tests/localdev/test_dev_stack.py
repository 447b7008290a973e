"""``signoff dev`` end to end over HTTP: Slack in, approvals, the HTTP API, a restart."""

from __future__ import annotations

from pathlib import Path

from tests.localdev.conftest import (
    ALICE,
    BOB,
    CAROL,
    WAIT,
    DevProcess,
    buttons,
    text_of,
    wait_for,
)


def final_post(dev: DevProcess, task: str) -> str:
    """The answer the run delivered in its thread (a reply with no buttons, after the card)."""

    def find() -> str | None:
        thread = dev.thread_of(ALICE, task)
        delivered = [m for m in thread[1:] if "· approved" in text_of(m) and not buttons(m)]
        return text_of(delivered[-1]) if delivered else None

    return str(wait_for(find, f"the final post for {task!r}", timeout=WAIT))


def test_health_and_the_local_slack_page_are_served(dev: DevProcess) -> None:
    parts = {"dynamodb": "ok", "s3": "ok", "lambda": "ok"}
    assert dev.request("GET", "/healthz") == (200, {"ready": True, "parts": parts})
    status, _ = dev.request("GET", "/nowhere")
    assert status == 404
    state = dev.state(ALICE)
    assert [p["id"] for p in state["people"]] == [ALICE, BOB, CAROL]
    assert state["command"] == "/agent"


def test_slash_command_to_final_post_with_an_approval_in_the_middle(dev: DevProcess) -> None:
    task = "draft a hello to the team"
    dev.command(ALICE, f"/agent {task}")
    assert wait_for(lambda: f"On it: {task}" in dev.ephemerals(ALICE), "the ack", timeout=WAIT)
    assert f"On it: {task}" not in dev.ephemerals(BOB)  # ephemeral: for the requester only

    card = dev.card(ALICE, task)
    assert buttons(card) == ["Approve", "Edit", "Request changes", "Reject"]
    assert "offline" in text_of(card).lower()  # the offline model says so on its cards

    dev.click(CAROL, card, "Approve")  # not an approver: refused, the run keeps waiting
    refused = wait_for(
        lambda: [
            e for e in dev.state(CAROL)["ephemerals"] if "not one of the approvers" in e["text"]
        ],
        "carol's refusal",
        timeout=WAIT,
    )
    assert [e["thread_ts"] for e in refused] == [card["thread_ts"]]  # beside the card
    assert buttons(dev.card(ALICE, task)) == buttons(card)

    dev.click(ALICE, card, "Approve")  # the requester may not approve their own run
    assert wait_for(
        lambda: [e for e in dev.ephemerals(ALICE) if "you started this run" in e],
        "alice's refusal",
        timeout=WAIT,
    )

    dev.click(BOB, card, "Approve")
    locked = wait_for(
        lambda: next(
            (m for m in dev.thread_of(ALICE, task) if m["ts"] == card["ts"] and not buttons(m)),
            None,
        ),
        "the locked card",
        timeout=WAIT,
    )
    assert "decided by bob" in text_of(locked)
    assert task.capitalize() in final_post(dev, task)


def test_commands_take_people_and_channels_as_typed(dev: DevProcess) -> None:
    dev.command(BOB, "/agent usage @alice 7")
    dev.command(BOB, "/agent usage #ops")
    answers = wait_for(
        lambda: (
            (found := [e for e in dev.ephemerals(BOB) if "Usage in the last" in e])
            and len(found) == 2
            and found
        ),
        "two usage reports",
        timeout=WAIT,
    )
    assert "last 7 days" in answers[0] and f"• <@{ALICE}>:" in answers[0]
    assert "• <#COPS>:" in answers[1]
    assert not [m for m in dev.messages(BOB) if "usage" in m["text"]]  # no run was started


def test_edit_opens_a_modal_for_the_clicker_only_and_its_text_is_delivered(
    dev: DevProcess,
) -> None:
    task = "write the release note"
    dev.command(ALICE, f"/agent {task}")
    card = dev.card(ALICE, task)
    dev.click(BOB, card, "Edit")
    view = wait_for(lambda: dev.state(BOB)["view"], "bob's modal", timeout=WAIT)
    assert dev.state(ALICE)["view"] is None
    field = next(b for b in view["blocks"] if b["type"] == "input")
    assert task.capitalize() in field["element"]["initial_value"]

    edited = "Release 1.2 is out: faster approvals."
    answer = dev.act(
        "submit",
        BOB,
        view_id=view["id"],
        values={field["block_id"]: {field["element"]["action_id"]: edited}},
    )
    assert answer == {"ok": True}
    assert dev.state(BOB)["view"] is None
    assert wait_for(
        lambda: any(edited in text_of(m) for m in dev.thread_of(ALICE, task)),
        "the edited answer in the thread",
        timeout=WAIT,
    )


def test_request_changes_needs_feedback_and_shows_the_field_error(dev: DevProcess) -> None:
    task = "summarise the incident"
    dev.command(ALICE, f"/agent {task}")
    card = dev.card(ALICE, task)
    dev.click(BOB, card, "Request changes")
    view = wait_for(lambda: dev.state(BOB)["view"], "the feedback modal", timeout=WAIT)
    field = next(b for b in view["blocks"] if b["type"] == "input")
    blank = {field["block_id"]: {field["element"]["action_id"]: "   "}}

    answer = dev.act("submit", BOB, view_id=view["id"], values=blank)

    assert answer["ok"] is False
    assert field["block_id"] in answer["errors"]
    assert dev.state(BOB)["view"] is not None  # still open, as in Slack


def test_the_http_api_answers_with_the_local_token_only(dev: DevProcess) -> None:
    status, body = dev.request("POST", "/runs", {"task": "check the build"})
    assert status == 401

    status, body = dev.api("POST", "/runs", {"task": "check the build", "requester": "svc"})
    assert status == 202, body
    run_id = body["run_id"]

    def waiting() -> dict[str, object] | None:
        _, run = dev.api("GET", f"/runs/{run_id}")
        return run if run and run.get("pending_approvals") else None

    run = wait_for(waiting, "the run to wait for approval", timeout=WAIT)
    assert run["status"] == "waiting_for_approval"
    approval_id = run["pending_approvals"][0]["approval_id"]
    path = f"/approvals/{approval_id}/decision"
    status, body = dev.api("POST", path, {"decision": "approve"})
    assert status == 403 and "you started this run" in body["error"]  # the operator started it
    status, body = dev.api("POST", path, {"decision": "approve"}, as_="reviewer_token")
    assert status == 200, body
    done = wait_for(
        lambda: (r := dev.api("GET", f"/runs/{run_id}")[1]) and r["status"] == "delivered" and r,
        "the run to succeed",
        timeout=WAIT,
    )
    assert "Check the build" in done["result"]


def test_usage_and_completion_urls_are_served_on_the_same_port(dev: DevProcess) -> None:
    dev.api("POST", "/runs", {"task": "count me", "requester": "svc-usage"})
    status, body = dev.request("GET", "/usage?requester=svc-usage")
    assert status == 401  # the HTTP API wants the local token
    report = wait_for(
        lambda: (
            (r := dev.api("GET", "/usage?requester=svc-usage")[1]) and r["requester"]["runs"] and r
        ),
        "the run to count",
        timeout=WAIT,
    )
    assert report["requester"]["runs"] == 1 and report["days"] == 30
    # A completion URL is its own credential: no token, and an unknown one is a clear 404.
    status, body = dev.request("POST", "/callbacks/jb_00.not-a-secret", {"result": 1})
    assert status == 404 and body["error"] == "no job has this completion URL"


def test_the_console_shows_one_readable_line_per_event(dev: DevProcess) -> None:
    """Read after the runs above: what a developer watching ``signoff dev`` saw."""
    task = "write the console note"
    dev.command(ALICE, f"/agent {task}")
    dev.click(BOB, dev.card(ALICE, task), "Approve")
    final_post(dev, task)
    lines = wait_for(
        lambda: (out := dev.output()) and "run ended: delivered" in out and out.splitlines(),
        "the run's end on the console",
        timeout=WAIT,
    )
    events = [
        line.split("  ", 2)[2] for line in lines if line.count("  ") >= 2 and "slack-" in line
    ]
    assert "run started: asked by alice (from slack)" in events
    assert any(e.startswith("turn 1: asks for read_slack_history") for e in events)
    assert "tool call read_slack_history: done" in events
    assert "card posted: the answer (waiting for a decision)" in events
    assert "bob approved the answer" in events
    assert "answer delivered in the thread" in events
    assert not [line for line in lines if line.lstrip().startswith("{")]  # no JSON, no EMF
    assert "token will be unused" not in dev.output()  # Bolt has nothing to warn about


def test_a_waiting_run_survives_a_restart_then_is_approved(tmp_path: Path) -> None:
    task = "plan the migration"
    first = DevProcess(tmp_path / "data").start()
    try:
        first.command(ALICE, f"/agent {task}")
        card = first.card(ALICE, task)
    finally:
        assert first.stop() == 0, first.output()
    assert not processes_using(tmp_path / "data")  # Ctrl-C left nothing behind (dynalite)

    second = DevProcess(tmp_path / "data", port=first.port).start()
    try:
        again = second.card(ALICE, task)
        assert again["ts"] == card["ts"]
        second.click(BOB, again, "Approve")
        assert task.capitalize() in final_post(second, task)
    finally:
        assert second.stop() == 0, second.output()


def processes_using(path: Path) -> list[str]:
    """Command lines of live processes that name ``path`` (e.g. dynalite's --path)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in text:
            found.append(text)
    return found

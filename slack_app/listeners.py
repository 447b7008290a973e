"""Bolt listeners: slash command, @mentions, approval buttons and modals.

Each ack path does only what must happen within Slack's 3 s (ack, authorise, open a modal);
starting runs and resuming them happen in lazy listeners (a second Lambda invocation).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from agent import messages
from agent.approvals import cards
from agent.approvals.authz import may_see_usage_of
from agent.approvals.cards import quorum_line
from agent.approvals.decisions import Approve, Decider, Decision, Edit, Reject, Revise
from agent.control import usage
from agent.control.runs import (
    CancelRefused,
    Closed,
    ControlPlane,
    Invalid,
    Refused,
    RunConflict,
    RunNotFound,
    Voted,
)
from agent.models import ApprovalRecord, RunRequest
from agent.mrkdwn import escape, fit_written, mention
from agent.slack_names import channel_id, user_id
from agent.status import OPEN_STATUSES, status_of
from agent.storage.slack_messages import post_or_update
from agent.tools import ToolRegistry
from slack_app import commands, modals
from slack_app.config import SlackSettings

_logger = logging.getLogger(__name__)
ControlFactory = Callable[[], ControlPlane]


def run_id_for(*parts: str) -> str:
    """A run id (the durable execution name) derived from what Slack sends on every retry."""
    return "slack-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def register(
    app: App, settings: SlackSettings, control: ControlFactory, tools: ToolRegistry
) -> None:
    """Attach every listener to ``app``."""
    _register_command(app, settings, control)
    _register_mention(app, control)
    _register_buttons(app, control)
    _register_modals(app, control, tools)


# /agent ------------------------------------------------------------------------------------
def _register_command(app: App, settings: SlackSettings, control: ControlFactory) -> None:
    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        match commands.parse_command(command.get("text", "")):
            case commands.Help():
                ack(commands.usage(settings.slash_command))
            case commands.Start(task=task) if len(task) > commands.MAX_TASK:
                ack(
                    f"That task is too long ({len(task)} characters; "
                    f"the limit is {commands.MAX_TASK})."
                )
            case commands.Start(task=task):
                ack(f"On it: {fit_written(task, 300)}")
            case commands.Cancel(run_id=None):
                ack(f"Which run? `{settings.slash_command} cancel <run>`")
            case _:
                ack()

    def run_command(
        command: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        match commands.parse_command(command.get("text", "")):
            case commands.Start(task=task) if len(task) <= commands.MAX_TASK:
                run_id = run_id_for(body.get("team_id", ""), command["trigger_id"])
                _start(
                    control(),
                    client,
                    respond,
                    run_id,
                    task,
                    command["user_id"],
                    command["channel_id"],
                    None,
                )
            case commands.Status(run_id=run_id):
                respond(_status_text(control(), command["user_id"], run_id, settings.slash_command))
            case commands.Pending():
                respond(_pending_text(control(), command["user_id"]))
            case commands.Usage() as asked:
                user, channel = command["user_id"], command["channel_id"]
                respond(_usage_answer(control(), client, user, channel, asked))
            case commands.Cancel(run_id=str() as run_id):
                try:
                    respond(control().cancel(run_id, command["user_id"]))
                except RunNotFound:
                    respond(f"There is no run `{escape(run_id)}`.")
                except CancelRefused as err:
                    respond(f"{escape(str(err))}.")
            case commands.Revoke(run_id=run_id, tool=tool):
                respond(revoke_text(control(), run_id, tool, command["user_id"]))

    app.command(settings.slash_command)(ack=ack_command, lazy=[run_command])


def _start(
    plane: ControlPlane,
    client: WebClient,
    respond: Respond | None,
    run_id: str,
    task: str,
    user: str,
    channel: str,
    thread_ts: str | None,
) -> None:
    """Open the run's thread (once) and start the durable run (once)."""
    try:
        if thread_ts is None:
            opened = messages.run_opened_message(task=task, requester=user, run_id=run_id)
            thread_ts = post_or_update(
                client, channel=channel, message=opened, key=f"{run_id}-root", maybe_posted=True
            )
        request = RunRequest(
            task=task,
            requester=user,
            channel=channel,
            thread_ts=thread_ts,
            source="slack",
            run_id=run_id,
        )
        plane.start_run(request)
    except SlackApiError as err:
        if respond is not None:
            error = escape(str(err.response.get("error")))
            respond(f"I can't post in this channel ({error}): invite me first.")
    except RunConflict as err:
        if respond is not None:
            respond(escape(str(err)))


def _status_text(plane: ControlPlane, user: str, run_id: str | None, command: str) -> str:
    if run_id is not None:
        run = plane.store.get_run(run_id)
        if run is None:
            return f"There is no run `{escape(run_id)}`."
        return _run_line(run)
    runs = plane.store.runs_of(user, limit=5)
    if not runs:
        return f"You have no runs yet. Start one with `{command} <task>`."
    return "\n".join(_run_line(run) for run in runs)


def _run_line(run: dict[str, Any]) -> str:
    note = f" · {escape(str(run['note']))}" if run.get("note") else ""
    task = fit_written(str(run.get("task", "")), 100)
    turn = int(run.get("turn", 0)) + 1
    shown = status_of(run).replace("_", " ")
    return f"`{run['run_id']}` *{shown}* (turn {turn}) {task}{note}"


def _usage_answer(
    plane: ControlPlane, client: WebClient, user: str, channel: str, asked: commands.Usage
) -> str:
    """The usage report asked for; a person or channel given by name is looked up first."""
    target = asked.target
    if asked.needs_lookup and target is not None:
        name = target
        target = user_id(client, name) if name.startswith("@") else channel_id(client, name)
        if target is None:
            kind = "person" if name.startswith("@") else "channel"
            return f"I can't find a {kind} called {escape(name)}."
    return _usage_text(plane, user, channel, target, asked.days)


def _usage_text(plane: ControlPlane, user: str, channel: str, target: str | None, days: int) -> str:
    """The caller's and this channel's spending, or one user's or channel's."""
    if target is not None:
        groups = [g for g in plane.approvers if g.startswith("S")]
        members = [m for group in groups for m in plane.group_members(group)]
        if not may_see_usage_of(user, target, plane.approvers, members):
            return "Only approvers can see another person's usage."
    start = usage.since(datetime.now(UTC), days)
    lines = [f"*Usage in the last {days} days*"]
    for label, requester, in_channel in _usage_scopes(user, channel, target):
        runs, more = plane.store.runs_since(requester=requester, channel=in_channel, since=start)
        lines.append("• " + usage.usage_line(label, usage.summarise(runs, partial=more)))
    return "\n".join(lines)


def _usage_scopes(
    user: str, channel: str, target: str | None
) -> list[tuple[str, str | None, str | None]]:
    """(label, requester, channel) for each line of a usage report."""
    if target is None:
        return [("You", user, None), (f"<#{channel}>", None, channel)]
    if target.startswith(("C", "G")):
        return [(f"<#{target}>", None, target)]
    return [(mention(target), target, None)]


def _pending_text(plane: ControlPlane, user: str) -> str:
    mine = [r for r in plane.store.runs_of(user, limit=20) if status_of(r) in OPEN_STATUSES]
    waiting = [
        a
        for a in plane.store.pending_approvals()
        if isinstance(plane.check(a.approval_id, user), ApprovalRecord)
    ]
    lines = (
        ["*Your running runs:*", *(_run_line(r) for r in mine)]
        if mine
        else ["You have no running runs."]
    )
    if waiting:
        lines += [
            "*Waiting on you:*",
            *(f"• {escape(a.title)} in run `{a.run_id}`" for a in waiting),
        ]
    else:
        lines.append("Nothing is waiting on you.")
    return "\n".join(lines)


# @mentions ---------------------------------------------------------------------------------
def _register_mention(app: App, control: ControlFactory) -> None:
    def ack_mention(ack: Ack) -> None:
        ack()

    def run_mention(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        task = _task_of_mention(event.get("text", ""), _bot_user(body))
        if not task:
            return
        run_id = run_id_for(body.get("team_id", ""), body.get("event_id") or event["ts"])
        thread_ts = event.get("thread_ts") or event["ts"]
        _start(
            control(),
            client,
            None,
            run_id,
            task[: commands.MAX_TASK],
            event["user"],
            event["channel"],
            thread_ts,
        )

    app.event("app_mention")(ack=ack_mention, lazy=[run_mention])


def revoke_text(plane: ControlPlane, run_id: str, tool: str, user: str) -> str:
    """End a standing approval (from ``/agent revoke`` or the progress message's button)."""
    try:
        return escape(plane.revoke(run_id, tool, user))
    except RunNotFound:
        return f"There is no run `{escape(run_id)}`."
    except CancelRefused as err:
        return f"{escape(str(err))}."


def _bot_user(body: dict[str, Any]) -> str | None:
    """The app's own user id, from the event's authorizations (Slack always sends them)."""
    authorizations = body.get("authorizations") or [{}]
    found = authorizations[0].get("user_id") if isinstance(authorizations[0], dict) else None
    return str(found) if found else None


def _task_of_mention(text: str, bot: str | None) -> str:
    """The words of an @mention without the app's own mention (other mentions stay: "tell
    @bob" keeps bob); when the app's id is unknown, the leading mention is dropped."""
    words = commands.unescape(text).split()
    if bot is None:
        while words and words[0].startswith("<@"):
            words = words[1:]
        return " ".join(words)
    ours = (f"<@{bot}>", f"<@{bot}|")
    return " ".join(word for word in words if not word.startswith(ours))


# Buttons -----------------------------------------------------------------------------------
def _register_buttons(app: App, control: ControlFactory) -> None:
    def ack_approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        # A refusal is answered now; a closed card by the lazy decision, which sees it too.
        _allowed(control(), client, body, tell_closed=False)

    def decide_approve(body: dict[str, Any], client: WebClient) -> None:
        # A refusal was answered in the ack; anything else (a lost race, an expiry) is told now.
        decision = Approve(decider=_decider(body["user"]), at=_now())
        _decide(control(), client, decision, body, tell_refusals=False)

    def opener(build: Callable[[ApprovalRecord], dict[str, Any] | None]) -> Callable[..., None]:
        def open_modal(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            record = _allowed(control(), client, body)
            if record is None:
                return
            view = build(record)
            if view is None:
                _tell(
                    client, body, "This is too long to edit in Slack: use Request changes instead."
                )
                return
            client.views_open(trigger_id=body["trigger_id"], view=view)

        return open_modal

    def decide_standing(body: dict[str, Any], client: WebClient) -> None:
        decision = Approve(decider=_decider(body["user"]), at=_now(), standing=True)
        _decide(control(), client, decision, body, tell_refusals=False)

    def ack_revoke(ack: Ack) -> None:
        ack()

    def revoke_standing(body: dict[str, Any], client: WebClient) -> None:
        run_id, _, tool = str((body.get("actions") or [{}])[0].get("value", "")).partition("|")
        _tell(client, body, revoke_text(control(), run_id, tool, body["user"]["id"]))

    app.action(cards.ACTION_APPROVE)(ack=ack_approve, lazy=[decide_approve])
    app.action(cards.ACTION_APPROVE_STANDING)(ack=ack_approve, lazy=[decide_standing])
    app.action(messages.ACTION_REVOKE)(ack=ack_revoke, lazy=[revoke_standing])
    app.action(cards.ACTION_EDIT)(opener(modals.edit_modal))
    app.action(cards.ACTION_REVISE)(opener(modals.revise_modal))
    app.action(cards.ACTION_REJECT)(opener(modals.reject_modal))


def _allowed(
    plane: ControlPlane, client: WebClient, body: dict[str, Any], *, tell_closed: bool = True
) -> ApprovalRecord | None:
    """The gate the clicked button belongs to, if this user may decide on it now; else the
    clicker is told why (a closed gate only when ``tell_closed``)."""
    approval_id = str((body.get("actions") or [{}])[0].get("value", ""))
    checked = plane.check(approval_id, body["user"]["id"])
    if isinstance(checked, ApprovalRecord):
        return checked
    if isinstance(checked, Refused) or tell_closed:
        _tell(client, body, _explain(checked))
    return None


# Modals ------------------------------------------------------------------------------------
def _register_modals(app: App, control: ControlFactory, tools: ToolRegistry) -> None:
    def ack_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        plane = control()
        checked = plane.check(view.get("private_metadata", ""), body["user"]["id"])
        if not isinstance(checked, ApprovalRecord):
            ack(response_action="errors", errors={modals.FIELD_BLOCK: _explain(checked)})
            return
        read = modals.read_submission(view, checked, tools)
        if isinstance(read, dict):
            ack(response_action="errors", errors=read)
            return
        ack()

    def decide_submission(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        plane = control()
        record = plane.store.get_approval(view.get("private_metadata", ""))
        if record is None:
            return
        read = modals.read_submission(view, record, tools)
        if isinstance(read, dict):
            return
        decision = _decision(read, _decider(body["user"]))
        card = {"channel": {"id": record.channel}, "container": {"thread_ts": record.thread_ts}}
        _decide(plane, client, decision, {**body, **card})

    for callback_id in (modals.EDIT_VIEW, modals.REVISE_VIEW, modals.REJECT_VIEW):
        app.view(callback_id)(ack=ack_submission, lazy=[decide_submission])


def _decision(submission: modals.Submission, decider: Decider) -> Decision:
    value = submission.value
    match submission.kind:
        case "edit" if isinstance(value, dict):
            return Edit(decider=decider, at=_now(), arguments=value)
        case "edit":
            return Edit(decider=decider, at=_now(), text=str(value))
        case "revise":
            return Revise(decider=decider, at=_now(), feedback=str(value))
        case _:
            return Reject(decider=decider, at=_now(), reason=str(value))


def _decide(
    plane: ControlPlane,
    client: WebClient,
    decision: Decision,
    body: dict[str, Any],
    *,
    tell_refusals: bool = True,
) -> None:
    """Resume the run; anyone whose click did not count is told why."""
    approval_id = str((body.get("actions") or [{}])[0].get("value", "")) or body.get(
        "view", {}
    ).get("private_metadata", "")
    outcome = plane.decide(approval_id, decision, claim_owner=claim_of(body))
    if isinstance(outcome, Closed | Invalid | Voted) or (
        isinstance(outcome, Refused) and tell_refusals
    ):
        _tell(client, body, _explain(outcome))


def claim_of(body: dict[str, Any]) -> str | None:
    """The name of a click's claim on a gate. A click's trigger id is the same when Lambda
    delivers the lazy invocation again after a crash, so that delivery may take back the claim
    its first delivery left (and is told its decision counted). The clicker is part of the
    name: no one else's click can pass for it."""
    trigger = body.get("trigger_id")
    return f"click:{trigger}:{body['user']['id']}" if trigger else None


def _explain(outcome: Refused | Closed | Invalid | Voted) -> str:
    match outcome:
        case Voted(record=record, tally=votes, again=again):
            said = "You had approved this already" if again else "Your approval counted"
            more = votes.missing
            return (
                f"{said}: {len(votes.approved_by)} of {votes.required}; "
                f"{more} more {'approval is' if more == 1 else 'approvals are'} needed "
                f"before this runs ({quorum_line(record)})."
            )
        case Refused():
            prefix = "You can't decide on this"
        case Invalid():
            prefix = "That edit can't be used"
        case Closed():
            prefix = "Nothing to do"
    return f"{prefix}: {escape(outcome.reason)}."


def _tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral answer to the person who clicked, in the thread of the card they clicked
    (where Slack shows it next to the card)."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    if not channel:
        _logger.info("no channel to answer %s in: %s", body["user"]["id"], text)
        return
    thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
    where = {"thread_ts": thread_ts} if thread_ts else {}
    client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text, **where)


def _decider(user: dict[str, Any]) -> Decider:
    name = user.get("name") or user.get("username") or user["id"]
    return Decider(id=user["id"], name=str(name))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

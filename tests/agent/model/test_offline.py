"""The offline model: reads first, gated posts the task asks for, readable drafts, revisions.

A conversation is played here as the loop plays it: each reply's tool calls get results (a
channel's history, a post's ts, or a reviewer's refusal in prompts/tool_rejected.md's words)
and a draft may get feedback (prompts/revise_draft.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agent.model.offline import OfflineModel, schema_valid_arguments
from agent.model.prompts import load_prompt
from agent.model.request import ModelRequest
from agent.tools import default_registry

TOOLS = default_registry().schemas()
OPS_HISTORY = [  # newest first, as read_slack_history returns it
    {"ts": "3", "user": "UALICE", "name": "alice", "text": "Migration window is Thursday"},
    {"ts": "2", "user": "UBOB", "name": "bob", "text": "I'll watch <@UCAROL>'s deploy &amp; logs"},
    {"ts": "1", "user": "UCAROL", "name": "carol", "text": "Deploy 1.4 is out on staging"},
    {"ts": "0", "user": "UBOT", "name": "signoff", "bot": True, "text": "<@UALICE> asked: x"},
]
Decide = Callable[[dict[str, Any]], dict[str, Any]]


def request(messages: list[dict[str, Any]]) -> ModelRequest:
    return ModelRequest(model="m", max_tokens=100, system=[], tools=TOOLS, messages=messages)


def task(text: str, channel: str | None = "CGENERAL") -> dict[str, Any]:
    where = f" in <#{channel}>" if channel else ""
    prompt = load_prompt("task", requester="UALICE", where=where, task=text)
    return {"role": "user", "content": [{"type": "text", "text": prompt}]}


def approve(call: dict[str, Any]) -> dict[str, Any]:
    return {"content": json.dumps({"channel": "CX", "ts": "1700000000.000900"})}


def refuse(verb: str, reason: str) -> Decide:
    text = load_prompt(
        "tool_rejected", verb=verb, tool="post_slack_message", by=" (bob)", reason=reason
    )
    return lambda call: {"content": text, "is_error": True}


class Played:
    """A conversation with the model: the replies, the calls made and the results given."""

    def __init__(self, text: str, channel: str | None = "CGENERAL") -> None:
        self.model = OfflineModel()
        self.messages = [task(text, channel)]
        self.replies: list[dict[str, Any]] = []

    def turn(self, decide: Decide = approve) -> dict[str, Any]:
        """One model turn; its tool calls answered (history from OPS_HISTORY, posts by
        ``decide``)."""
        reply = self.model.complete(request(self.messages))
        self.replies.append(reply)
        self.messages.append({"role": "assistant", "content": reply["content"]})
        results = []
        for call in (b for b in reply["content"] if b["type"] == "tool_use"):
            answer = (
                {
                    "content": json.dumps(
                        OPS_HISTORY if call["input"]["channel"] in ("COPS", "#ops") else []
                    )
                }
                if call["name"] == "read_slack_history"
                else decide(call)
            )
            results.append({"type": "tool_result", "tool_use_id": call["id"], **answer})
        if results:
            self.messages.append({"role": "user", "content": results})
        return reply

    def until_draft(self, *decisions: Decide) -> str:
        answers = iter(decisions)
        for _ in range(8):
            reply = self.turn(next(answers, approve))
            if reply["stop_reason"] == "end_turn":
                return str(reply["content"][0]["text"])
        raise AssertionError("the model never wrote a draft")

    def feedback(self, words: str) -> str:
        prompt = load_prompt("revise_draft", feedback=words)
        self.messages.append({"role": "user", "content": [{"type": "text", "text": prompt}]})
        return str(self.turn()["content"][0]["text"])

    def calls(self, name: str) -> list[dict[str, Any]]:
        return [
            block["input"]
            for reply in self.replies
            for block in reply["content"]
            if block["type"] == "tool_use" and block["name"] == name
        ]


def test_it_reads_the_channels_the_task_names_else_the_runs_channel() -> None:
    named = OfflineModel().complete(request([task("summarise <#COPS|ops> and #random")]))
    assert named["stop_reason"] == "tool_use"
    assert [c["input"] for c in named["content"]] == [{"channel": "COPS"}, {"channel": "#random"}]
    unnamed = OfflineModel().complete(request([task("what happened today?")]))
    assert [c["input"] for c in unnamed["content"]] == [{"channel": "CGENERAL"}]


def test_without_any_channel_it_drafts_at_once_and_calls_nothing_else() -> None:
    reply = OfflineModel().complete(request([task("write a haiku", channel=None)]))
    assert reply["stop_reason"] == "end_turn"
    assert reply["content"][0]["text"] == "*Write a haiku*"


def test_a_task_to_post_reads_first_then_asks_to_post_to_the_channel_it_names() -> None:
    played = Played("post a summary of <#COPS|ops> to <#CGENERAL|general>")
    draft = played.until_draft()
    assert played.replies[0]["content"][0]["name"] == "read_slack_history"
    (post,) = played.calls("post_slack_message")
    assert post["channel"] == "CGENERAL"
    assert post["text"].splitlines() == [
        "Latest in #ops:",
        "• carol: Deploy 1.4 is out on staging",
        "• bob: I'll watch @carol's deploy &amp; logs",  # mrkdwn: & stays escaped in a post
        "• alice: Migration window is Thursday",
    ]
    assert "Posted to #general" in draft


def test_several_actions_are_several_gated_calls_in_one_turn() -> None:
    played = Played(
        "announce the release in #ops, then notify <#CGENERAL|general> about the outage"
    )
    played.turn()  # reads
    posts = played.turn()
    assert [b["name"] for b in posts["content"]] == ["post_slack_message"] * 2
    assert [b["input"] for b in posts["content"]] == [
        {"channel": "#ops", "text": "Announcement: the release."},
        {"channel": "CGENERAL", "text": "Heads-up: the outage."},
    ]


def test_a_post_goes_to_the_runs_channel_when_the_task_names_none() -> None:
    played = Played("send a hello to the team")
    played.until_draft()
    assert played.calls("post_slack_message") == [
        {"channel": "CGENERAL", "text": "Hello to the team."}
    ]


def test_a_post_with_nowhere_to_go_is_not_made_and_the_draft_says_why() -> None:
    played = Played("post a hello to the team", channel=None)
    draft = played.until_draft()
    assert played.calls("post_slack_message") == []
    assert "names no channel" in draft


def test_the_draft_says_who_said_what_in_which_channel_in_plain_words() -> None:
    draft = Played("summarise <#COPS|ops>").until_draft()
    assert draft.splitlines() == [
        "*Summarise #ops*",
        "",
        "*In #ops*",
        "• carol: Deploy 1.4 is out on staging",
        "• bob: I'll watch @carol's deploy & logs",
        "• alice: Migration window is Thursday",
    ]
    assert "{" not in draft and "<@" not in draft and "signoff" not in draft  # no JSON, no bots


def test_a_post_the_reviewer_wants_changed_is_made_again_with_the_change() -> None:
    played = Played("post a summary of <#COPS|ops> to <#CGENERAL|general>")
    draft = played.until_draft(approve, refuse("asked for changes to", "make it shorter"))
    first, second = played.calls("post_slack_message")
    assert second["channel"] == first["channel"]
    assert len(second["text"]) < len(first["text"])
    assert "Posted to #general (revised as the reviewer asked)" in draft


def test_a_rejected_post_is_not_tried_again_and_the_draft_says_who_stopped_it() -> None:
    played = Played("announce the offsite in #ops")
    draft = played.until_draft(approve, refuse("rejected", "not before Friday"))
    assert len(played.calls("post_slack_message")) == 1
    assert "Not posted to #ops: bob rejected it: not before Friday" in draft


def test_shorter_feedback_gives_a_shorter_draft() -> None:
    played = Played("summarise <#COPS|ops>")
    first = played.until_draft()
    second = played.feedback("shorter please")
    assert len(second) < len(first)
    assert second.startswith("*Summarise #ops*") and "carol" in second


def test_other_feedback_is_taken_in_and_the_draft_says_what_changed() -> None:
    played = Played("summarise <#COPS|ops>")
    first = played.until_draft()
    added = played.feedback("mention the rollback plan")
    assert added.startswith(first)
    assert "• The rollback plan." in added
    assert added.endswith("_What changed: added “the rollback plan”._")
    removed = played.feedback("remove bob")
    assert "bob:" not in removed and "carol:" in removed
    assert removed.endswith("_What changed: removed what mentioned “bob”._")


def test_it_never_calls_a_long_running_or_other_side_effecting_tool() -> None:
    played = Played("export the logs, pause for an hour, call the build hook, then post it to #ops")
    played.until_draft()
    called = {b["name"] for r in played.replies for b in r["content"] if b["type"] == "tool_use"}
    assert called == {"read_slack_history", "post_slack_message"}


def test_it_is_deterministic() -> None:
    def play() -> list[dict[str, Any]]:
        played = Played("post a summary of <#COPS|ops> to #general")
        played.until_draft()
        played.feedback("shorter")
        return played.replies

    assert play() == play()


def test_schema_valid_arguments_fill_required_fields_only() -> None:
    schema = {
        "properties": {"n": {"type": "integer", "minimum": 3}, "q": {"type": "string"}},
        "required": ["n", "q"],
    }
    assert schema_valid_arguments(schema, {}) == {"n": 3, "q": "example"}
    patterned = {"properties": {"id": {"type": "string", "pattern": "^C"}}, "required": ["id"]}
    assert schema_valid_arguments(patterned, {}) is None


def test_an_mcp_tool_the_task_names_is_called_with_the_title_the_task_quotes() -> None:
    create = {
        "name": "mcp__demo__create_ticket",
        "description": "Open a ticket",
        "input_schema": {
            "type": "object",
            "properties": {"title": {"type": "string"}},
            "required": ["title"],
        },
    }
    asked = ModelRequest(
        model="m",
        max_tokens=100,
        system=[],
        tools=[*TOOLS, create],
        messages=[task('create a ticket "printer jam" for the office')],
    )
    reply = OfflineModel().complete(asked)
    calls = [b for b in reply["content"] if b["type"] == "tool_use"]
    assert [(c["name"], c["input"]) for c in calls if c["name"].startswith("mcp__")] == [
        ("mcp__demo__create_ticket", {"title": "printer jam"})
    ]

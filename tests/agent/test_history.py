"""The conversation rebuilt from the transcript: byte-stable, references resolved."""

import json

from agent.history import build_messages, feedback_entry, inline_only, outcomes_entry
from agent.loop import RunState
from agent.models import RunRequest

REQUEST = RunRequest(task="summarise", requester="U1", channel="C1", source="slack")


def tool_turn(state: RunState) -> None:
    state.add_reply(
        {
            "model": "m",
            "usage": {},
            "content": [
                {"type": "tool_use", "id": "t1", "name": "a", "input": {}},
                {"type": "tool_use", "id": "t2", "name": "b", "input": {}},
            ],
        }
    )
    state.add_outcomes(
        [
            {"tool_use_id": "t1", "name": "a", "status": "ok", "output": {"text": "one"}},
            {"tool_use_id": "t2", "name": "b", "status": "rejected", "output": {"text": "no"}},
        ]
    )


def test_task_message_names_requester_and_channel() -> None:
    messages = build_messages(RunState.start(REQUEST, "r").transcript, inline_only)
    text = messages[0]["content"][0]["text"]
    assert "<@U1>" in text and "<#C1>" in text and "summarise" in text


def test_all_tool_results_of_a_turn_go_back_in_one_user_message() -> None:
    state = RunState.start(REQUEST, "r")
    tool_turn(state)
    messages = build_messages(state.transcript, inline_only)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    results = messages[2]["content"]
    assert [r["tool_use_id"] for r in results] == ["t1", "t2"]
    assert "is_error" not in results[0] and results[1]["is_error"] is True


def test_spilled_outputs_are_resolved_when_the_request_is_built() -> None:
    state = RunState.start(REQUEST, "r")
    state.transcript.append(
        outcomes_entry(
            [{"tool_use_id": "t", "name": "a", "status": "ok", "output": {"blob": "k", "bytes": 9}}]
        )
    )
    messages = build_messages(state.transcript, lambda value: f"full:{value.get('blob')}")
    assert messages[-1]["content"][0]["content"] == "full:k"


def test_history_is_byte_stable_so_each_request_extends_the_last() -> None:
    state = RunState.start(REQUEST, "r")
    tool_turn(state)
    first = json.dumps(build_messages(state.transcript, inline_only))
    state.transcript.append(feedback_entry("shorter please"))
    second = json.dumps(build_messages(state.transcript, inline_only))
    assert second.startswith(first[:-1])
    assert "shorter please" in second

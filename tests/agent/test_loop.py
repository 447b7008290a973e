"""The loop's pure decisions: what a reply asks for, and the run's bookkeeping."""

from agent.loop import (
    OPERATION_LIMIT,
    CallTools,
    ContinueTurn,
    EndRun,
    ReviewDraft,
    RunState,
    ToolCall,
    next_action,
)
from agent.model.pricing import total_tokens
from agent.models import RunRequest

REQUEST = RunRequest(task="draft the update", requester="U1", source="api")


def reply(content: list[dict], stop_reason: str = "end_turn") -> dict:
    return {"content": content, "stop_reason": stop_reason, "usage": {}}


def test_tool_use_blocks_become_tool_calls_in_order() -> None:
    action = next_action(
        reply(
            [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "t1", "name": "a", "input": {"x": 1}},
                {"type": "tool_use", "id": "t2", "name": "b", "input": {}},
            ],
            "tool_use",
        )
    )
    assert action == CallTools((ToolCall("t1", "a", {"x": 1}), ToolCall("t2", "b", {})))


def test_text_answer_is_a_draft_for_review() -> None:
    action = next_action(reply([{"type": "text", "text": "Status: all green."}]))
    assert isinstance(action, ReviewDraft)
    assert action.blocks[0]["text"] == "Status: all green."


def test_tool_call_cut_off_by_max_tokens_ends_the_run_instead_of_running_it() -> None:
    action = next_action(
        reply([{"type": "tool_use", "id": "t1", "name": "a", "input": {}}], "max_tokens")
    )
    assert isinstance(action, EndRun)
    assert "token limit" in action.reason


def test_pause_turn_continues_and_refusal_ends() -> None:
    assert next_action(reply([], "pause_turn")) == ContinueTurn()
    assert isinstance(next_action(reply([], "refusal")), EndRun)


def test_empty_answer_ends_the_run_with_a_reason() -> None:
    assert next_action(reply([{"type": "text", "text": ""}])) == EndRun(
        "Claude answered with no text"
    )


def test_usage_is_kept_per_turn_and_summed() -> None:
    state = RunState.start(REQUEST, "run-1")
    usage = {
        "input_tokens": 100,
        "output_tokens": 20,
        "cache_read_input_tokens": 50,
        "cache_creation_input_tokens": 10,
    }
    state.add_reply({"model": "m", "content": [], "usage": usage})
    state.next_turn()
    state.add_reply({"model": "m", "content": [], "usage": usage})
    assert [turn["turn"] for turn in state.usage] == [0, 1]
    assert total_tokens(state.usage) == {
        "input_tokens": 200,
        "output_tokens": 40,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
        "cache_creation_1h_input_tokens": 0,
    }


def test_operation_budget_stops_before_the_aws_limit() -> None:
    state = RunState.start(REQUEST, "run-1")
    state.count(OPERATION_LIMIT - 150)
    assert not state.near_operation_limit(40)
    assert state.near_operation_limit(60)

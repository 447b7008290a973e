"""The offline model: deterministic, schema-valid tool calls, a draft, revisions."""

from agent.model.offline import OfflineModel, schema_valid_arguments
from agent.model.request import ModelRequest
from agent.tools import default_registry

TOOLS = default_registry().schemas()


def request(messages: list[dict]) -> ModelRequest:
    return ModelRequest(model="m", max_tokens=100, system=[], tools=TOOLS, messages=messages)


def task(text: str) -> dict:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def test_first_turn_calls_only_read_only_tools_with_valid_arguments() -> None:
    reply = OfflineModel().complete(request([task("Task from <@U1> in <#C42>:\n\nsummarise")]))
    assert reply["stop_reason"] == "tool_use"
    (call,) = reply["content"]
    assert call["name"] == "read_slack_history"
    assert call["input"] == {"channel": "C42"}


def test_without_a_channel_it_skips_tools_it_cannot_fill_and_drafts() -> None:
    reply = OfflineModel().complete(request([task("Task from <@U1>:\n\nwrite a haiku")]))
    assert reply["stop_reason"] == "end_turn"
    assert "write a haiku" in reply["content"][0]["text"]


def test_it_is_deterministic() -> None:
    messages = [task("Task from <@U1> in <#C42>:\n\nsummarise")]
    assert OfflineModel().complete(request(messages)) == OfflineModel().complete(request(messages))


def test_schema_valid_arguments_fill_required_fields_only() -> None:
    schema = {
        "properties": {"n": {"type": "integer", "minimum": 3}, "q": {"type": "string"}},
        "required": ["n", "q"],
    }
    assert schema_valid_arguments(schema, {}) == {"n": 3, "q": "example"}
    patterned = {"properties": {"id": {"type": "string", "pattern": "^C"}}, "required": ["id"]}
    assert schema_valid_arguments(patterned, {}) is None

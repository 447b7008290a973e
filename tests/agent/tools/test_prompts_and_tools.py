"""Prompt files and the tool registry."""

import pytest
from pydantic import BaseModel

from agent.errors import ToolInputError
from agent.model.prompts import PromptError, load_prompt, prompts_version
from agent.tools import REQUIRE, ApprovalPolicy, ToolRegistry, default_registry


def test_prompts_fail_on_missing_or_unused_placeholders() -> None:
    assert "shorter" in load_prompt("revise_draft", feedback="shorter")
    with pytest.raises(PromptError, match="needs"):
        load_prompt("revise_draft")
    with pytest.raises(PromptError, match="no placeholder"):
        load_prompt("revise_draft", feedback="x", extra="y")
    assert len(prompts_version()) == 12


class NoArgs(BaseModel):
    pass


class Amount(BaseModel):
    amount: int


def test_adding_a_tool_is_one_decorated_function() -> None:
    registry = ToolRegistry()

    @registry.tool(args=NoArgs)
    def ping(ctx: object, args: NoArgs) -> str:
        """Answer pong."""
        return "pong"

    assert registry.schemas() == [
        {
            "name": "ping",
            "description": "Answer pong.",
            "input_schema": {"type": "object", "properties": {}},
        }
    ]


def test_side_effecting_tools_must_have_an_approval_policy() -> None:
    registry = ToolRegistry()
    with pytest.raises(ValueError, match="needs an approval policy"):

        @registry.tool(args=NoArgs, side_effect=True)
        def launch(ctx: object, args: NoArgs) -> None:
            """Launch."""


def test_predicate_narrows_when_approval_is_needed() -> None:
    policy = ApprovalPolicy(mode="require", when=lambda args: args["amount"] > 100)
    assert policy.needs_approval({"amount": 500})
    assert not policy.needs_approval({"amount": 5})
    assert REQUIRE.needs_approval({})
    assert not ApprovalPolicy(mode="deny").needs_approval({})


def test_bad_arguments_name_the_field_for_claude() -> None:
    tool = default_registry().get("post_slack_message")
    assert tool is not None and tool.side_effect and tool.approval.mode == "require"
    with pytest.raises(ToolInputError, match="channel"):
        tool.parse_args({"text": "hi"})


BUILTINS = ["read_slack_history", "post_slack_message", "http_job", "export_log_group", "pause"]


def test_builtins_and_what_each_needs() -> None:
    registry = default_registry()
    assert [t.name for t in registry.all()] == BUILTINS
    read = registry.get("read_slack_history")
    assert read is not None and read.read_only and read.approval.mode == "auto"
    for name in ("http_job", "export_log_group"):  # start work elsewhere: a reviewer says yes
        job = registry.get(name)
        assert job is not None and job.long_running and job.approval.mode == "require"
    pause = registry.get("pause")
    assert pause is not None and pause.long_running and pause.approval.mode == "auto"

"""The approval policy file: what it resolves to, every problem it can have (each named by
file, table and key, all at once), and how a running process sees it change."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.approvals.policy import ApprovalPolicy
from agent.approvals.policy_file import PolicyError, load_policy, parse_policy
from agent.approvals.policy_source import PolicySource
from agent.approvals.rules import Escalation, Policy, environment_policy
from agent.errors import ConfigError
from agent.tools import default_registry

REPO = Path(__file__).resolve().parents[3]
BASE = environment_policy(approvers=("UENV",), deadline_seconds=3 * 3600, allow_self_approval=True)
TOOLS = default_registry().approvals()
DURATION = 'must be a duration such as "90s", "15m", "4h" or "2d"'
IDS = "holds Slack user (U…, W…) or user group (S…) ids"


def parse(text: str, *, code: dict[str, ApprovalPolicy] | None = None) -> Policy:
    return parse_policy(
        text.encode(), source="signoff.toml", base=BASE, tool_names=TOOLS, code=code or TOOLS
    )


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        parse(text)
    assert str(raised.value).splitlines() == list(raised.value.problems)
    return list(raised.value.problems)


def test_the_example_validates_against_the_built_in_tools() -> None:
    policy = load_policy(REPO / "signoff.toml.example", base=BASE, tool_names=TOOLS, code=TOOLS)
    post = policy.tools["post_slack_message"]
    assert post.when == 'args.channel != "C0SANDBOX"'
    assert post.rule.required == 2 and post.rule.deadline_seconds == 8 * 3600
    # escalate.after is its own; to and channel come from [gates.default.escalate]
    assert post.rule.escalate == Escalation(
        after_seconds=4 * 3600, to=("S0789IJKL",), channel="C0OPS0001"
    )
    assert policy.draft.on_timeout == "end_run"
    assert policy.budget.escalate is None  # `to = []` turned the inherited one off
    assert policy.default.remind_seconds == (4 * 3600, 24 * 3600)


def test_a_tables_unset_keys_come_from_default_then_from_the_environment() -> None:
    policy = parse(
        """
        [gates.default]
        approvers = ["U1", "U2", "S1"]
        remind = ["1h"]

        [gates.draft]
        required = 2

        [gates.tools.post_slack_message]
        deadline = "2d"
        """
    )
    assert policy.default.approvers == ("U1", "U2", "S1")
    assert policy.default.deadline_seconds == 3 * 3600  # from the environment
    assert policy.default.allow_self_approval is True  # from the environment
    assert policy.draft.approvers == ("U1", "U2", "S1") and policy.draft.required == 2
    assert policy.draft.remind_seconds == (3600,)
    assert policy.draft.on_timeout == "end_run"  # the environment's draft gate ends the run
    assert policy.budget.approvers == ("U1", "U2", "S1") and policy.budget.table == "gates.default"
    tool = policy.tools["post_slack_message"]
    assert tool.rule.table == "gates.tools.post_slack_message" and tool.when is None
    assert tool.rule.approvers == ("U1", "U2", "S1") and tool.rule.deadline_seconds == 2 * 86400
    assert policy.tools.keys() == {"post_slack_message"}


def test_a_tool_table_sits_on_what_the_tools_code_says() -> None:
    code = {
        **TOOLS,
        "http_job": ApprovalPolicy(mode="require", approvers=("UCODE",), timeout_seconds=600),
    }
    policy = parse('[gates.tools.http_job]\nrequired = 1\nremind = ["5m"]', code=code)
    rule = policy.tools["http_job"].rule
    assert rule.approvers == ("UCODE",) and rule.deadline_seconds == 600
    assert rule.remind_seconds == (300,)


def test_the_digest_is_the_files_and_the_source_its_path(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b"[gates.default]\nrequired = 1\n")
    policy = load_policy(path, base=BASE, tool_names=TOOLS)
    assert policy.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert policy.source == str(path)
    assert Policy.from_json(policy.to_json()) == policy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[gates.defualt]", "[gates] defualt: unknown key (did you mean 'default'?)"),
        ("[proxy]\nx = 1", "[(top level)] proxy: unknown key (known: gates, mcp)"),
        (
            "[gates.default]\naprovers = []",
            "[gates.default] aprovers: unknown key (did you mean 'approvers'?)",
        ),
        (
            "[gates.default.escalate]\nafter = '1h'\nto = ['U1']\nwho = 1",
            "[gates.default.escalate] who: unknown key",
        ),
        (
            "[gates.tools.post_slack_message]\nrequired = 0",
            "[gates.tools.post_slack_message] required: must be at least 1 (got 0)",
        ),
        (
            "[gates.draft]\nrequired = '2'",
            "[gates.draft] required: must be a whole number (got '2')",
        ),
        (
            "[gates.draft]\nrequired = true",
            "[gates.draft] required: must be a whole number (got True)",
        ),
        (
            "[gates.budget]\nallow_self_approval = 'yes'",
            "[gates.budget] allow_self_approval: must be true or false (got 'yes')",
        ),
        (
            "[gates.default]\napprovers = 'U1'",
            "[gates.default] approvers: must be a list of Slack ids (got 'U1')",
        ),
        (
            "[gates.default]\napprovers = ['U1', 'bob']",
            f"[gates.default] approvers: {IDS}, got 'bob'",
        ),
        (
            "[gates.default]\napprovers = ['C0123']",
            f"[gates.default] approvers: {IDS}, got 'C0123'",
        ),
        (
            "[gates.default.escalate]\nafter = '1h'\nto = ['U1']\nchannel = 'U1'",
            "[gates.default.escalate] channel: must be a Slack channel id (C… or G…), got 'U1'",
        ),
        (
            "[gates.default]\ndeadline = '2 days'",
            f"[gates.default] deadline: {DURATION} (got '2 days')",
        ),
        (
            "[gates.default]\ndeadline = 3600",
            f"[gates.default] deadline: {DURATION} (got 3600)",
        ),
        (
            "[gates.default]\ndeadline = '0s'",
            f"[gates.default] deadline: {DURATION} (got '0s')",
        ),
        (
            "[gates.default]\ndeadline = '1h30m'",
            f"[gates.default] deadline: {DURATION} (got '1h30m')",
        ),
        (
            "[gates.default]\nremind = ['1w']",
            f"[gates.default] remind: {DURATION} (got '1w')",
        ),
        (
            "[gates.default]\ndeadline = '366d'",
            "[gates.default] deadline: must be at most 365d, a durable wait's limit (got '366d')",
        ),
        (
            "[gates.default]\non_timeout = 'approve'",
            '[gates.default] on_timeout: silence never approves: use "reject" or "end_run"',
        ),
        (
            "[gates.default]\non_timeout = 'ignore'",
            '[gates.default] on_timeout: must be "reject" or "end_run" (got \'ignore\')',
        ),
        (
            "[gates.default]\nwhen = 'true'",
            "[gates.default] when: only a tool's table ([gates.tools.<name>]) has one",
        ),
        (
            "[gates.tools.post_slack_message]\nwhen = 'args.channel =='",
            "[gates.tools.post_slack_message] when: does not compile: column 16: Syntax error",
        ),
        (
            "[gates.tools.post_slack_message]\nwhen = 'arg.channel == \"C1\"'",
            "[gates.tools.post_slack_message] when: does not compile: unknown name 'arg'",
        ),
        (
            "[gates.tools.post_slack_message]\nwhen = true",
            "[gates.tools.post_slack_message] when: must be a CEL expression in a string "
            "(got True)",
        ),
        (
            "[gates.tools.deploy_prod]\nrequired = 2",
            "[gates.tools.deploy_prod]: there is no tool 'deploy_prod' (the tools: "
            "export_log_group, http_job, pause, post_slack_message, read_slack_history)",
        ),
        (
            "[gates.default]\ndeadline = '4h'\nremind = ['1h', '4h']",
            "[gates.default] remind: a reminder must come before the deadline (4h), got 4h",
        ),
        (
            "[gates.default]\nremind = ['2h', '1h']",
            "[gates.default] remind: each reminder must come after the one before "
            "(got ['2h', '1h'])",
        ),
        (
            "[gates.default]\nremind = [" + ", ".join(f"'{n}m'" for n in range(1, 12)) + "]",
            "[gates.default] remind: at most 10 reminders (got 11)",
        ),
        (
            "[gates.default.escalate]\nafter = '3h'\nto = ['S1']",
            "[gates.default.escalate] after: must be before the deadline (3h), got 3h",
        ),
        (
            "[gates.default.escalate]\nto = ['S1']",
            "[gates.default.escalate] after: is needed with to: when the escalation happens",
        ),
        (
            "[gates.default.escalate]\nafter = '1h'",
            "[gates.default.escalate] to: is needed: who may decide then",
        ),
        (
            "[gates.default]\napprovers = ['U1', 'U2']\nrequired = 3",
            "[gates.default] required: 3 approvals can never be met: approvers and escalate.to "
            "list 2 people and no user group",
        ),
        ("[gates]\ndraft = 1", "[gates] draft: must be a table ([gates.draft])"),
        (
            "[gates.default]\nescalate = 'S1'",
            "[gates.default] escalate: must be a table ([gates.default.escalate])",
        ),
        ("gates = [1]", "[(top level)] gates: must be a table"),
        (
            "[gates.default]\nsticky = true",
            "[gates.default] sticky: only a tool's table ([gates.tools.<name>]) has one",
        ),
        (
            "[gates.tools.post_slack_message]\nsticky = 'yes'",
            "[gates.tools.post_slack_message] sticky: must be true or false (got 'yes')",
        ),
        (
            "[gates.tools.post_slack_message]\nsticky = true\napprovers = ['U1', 'U2']\n"
            "required = 2",
            "[gates.tools.post_slack_message] sticky: a standing approval is one person's: "
            "it needs required = 1 (got 2)",
        ),
        ("[gates.default\nrequired = 1", "signoff.toml: not a valid TOML file: "),
    ],
)
def test_each_problem_names_the_file_the_table_and_the_key(text: str, expected: str) -> None:
    found = problems(text)
    prefix = "" if expected.startswith("signoff.toml") else "signoff.toml: "
    assert any(line.startswith(prefix + expected) for line in found), found


def test_a_tool_may_be_allowed_for_the_rest_of_a_run() -> None:
    policy = parse("[gates.tools.post_slack_message]\nsticky = true")
    assert policy.tools["post_slack_message"].sticky
    assert (
        not parse("[gates.tools.post_slack_message]\nrequired = 1")
        .tools["post_slack_message"]
        .sticky
    )


def test_a_quorum_a_group_or_an_escalation_could_meet_is_accepted() -> None:
    parse("[gates.default]\napprovers = ['U1', 'S1']\nrequired = 3")
    parse("[gates.default]\napprovers = []\nrequired = 3")  # anyone in the channel
    parse(
        "[gates.default]\napprovers = ['U1']\nrequired = 2\n"
        "[gates.default.escalate]\nafter = '1h'\nto = ['U2']"
    )


def test_every_problem_is_reported_at_once_one_per_line() -> None:
    found = problems(
        """
        [gates.default]
        required = 0
        deadline = "soon"
        [gates.draft]
        on_timeout = "approve"
        [gates.tools.post_slack_message]
        when = "args.channel =="
        [gates.tools.nope]
        """
    )
    assert [line.split(":")[1].strip() for line in found] == [
        "[gates.tools.nope]",
        "[gates.default] required",
        "[gates.default] deadline",
        "[gates.draft] on_timeout",
        "[gates.tools.post_slack_message] when",
    ]


def test_an_inherited_problem_is_reported_once_at_the_table_that_sets_it() -> None:
    found = problems("[gates.default]\nremind = ['5h']\n[gates.tools.http_job]\nrequired = 1")
    assert found == [
        "signoff.toml: [gates.default] remind: a reminder must come before the deadline (3h), "
        "got 5h"
    ]
    found = problems("[gates.default]\nremind = ['1h']\n[gates.draft]\ndeadline = '30m'")
    assert found == [
        "signoff.toml: [gates.draft] remind: a reminder must come before the deadline (30m), got 1h"
    ]


def test_a_policy_error_is_a_config_error_so_processes_refuse_to_start() -> None:
    assert issubclass(PolicyError, ConfigError)


# PolicySource ------------------------------------------------------------------------------


def test_without_a_file_the_environment_is_the_policy(tmp_path: Path) -> None:
    source = PolicySource.locate(None, base=BASE, tools=TOOLS, root=tmp_path)
    assert source.path is None and source.current() == BASE


def test_the_projects_signoff_toml_is_found_and_a_configured_path_wins(tmp_path: Path) -> None:
    (tmp_path / "signoff.toml").write_text("[gates.default]\nrequired = 1\n")
    found = PolicySource.locate(None, base=BASE, tools=TOOLS, root=tmp_path)
    assert found.path == tmp_path / "signoff.toml"
    assert found.current().source == str(tmp_path / "signoff.toml")
    other = tmp_path / "elsewhere.toml"
    other.write_text("[gates.draft]\nrequired = 1\n")
    configured = PolicySource.locate(str(other), base=BASE, tools=TOOLS, root=tmp_path)
    assert configured.current().source == str(other)


def test_a_configured_file_that_is_missing_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"gone\.toml: cannot read the policy file"):
        PolicySource.locate(str(tmp_path / "gone.toml"), base=BASE, tools=TOOLS)


def test_a_bad_file_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "signoff.toml").write_text("[gates.default]\nrequired = 0\n")
    with pytest.raises(PolicyError, match=r"\[gates.default\] required: must be at least 1"):
        PolicySource.locate(None, base=BASE, tools=TOOLS, root=tmp_path)


def test_a_hot_edit_is_seen_by_current(tmp_path: Path) -> None:
    path = tmp_path / "signoff.toml"
    path.write_text("[gates.default]\nrequired = 1\n")
    source = PolicySource.locate(str(path), base=BASE, tools=TOOLS)
    before = source.current()
    path.write_text("[gates.default]\nrequired = 1\napprovers = ['U1', 'U2']\n")
    after = source.current()
    assert before.default.approvers == ("UENV",) and after.default.approvers == ("U1", "U2")
    assert after.digest == hashlib.sha256(path.read_bytes()).hexdigest() != before.digest
    assert source.current() is after  # unchanged bytes: not parsed again


def test_a_bad_hot_edit_makes_current_raise_until_it_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "signoff.toml"
    path.write_text("[gates.default]\napprovers = ['U1']\n")
    source = PolicySource.locate(str(path), base=BASE, tools=TOOLS)
    path.write_text("[gates.default]\napprovers = ['U1']\non_timeout = 'approve'\n")
    for _ in range(2):  # never the older, looser policy
        with pytest.raises(PolicyError, match="on_timeout: silence never approves"):
            source.current()
    path.unlink()
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        source.current()
    path.write_text("[gates.default]\napprovers = ['U2']\n")
    assert source.current().default.approvers == ("U2",)

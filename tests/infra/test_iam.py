"""Every IAM statement in the stack, action by action and resource by resource.

Statements are rendered to readable strings (``<Table.Arn>/index/pending``) and compared
whole, so any added action or resource fails here until it is added on purpose. The action
lists are also checked against the calls the code makes (agent/storage/store.py,
agent/storage/blobs.py, agent/control/runs.py, api/handler.py), so the grants and the code
cannot drift apart silently.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from infra.bundles import REPO_ROOT
from infra.permissions import (
    CONTROL_ACTIONS,
    EXPORT_WRITE_ACTIONS,
    JOB_ACTIONS,
    LIST_ACTIONS,
    LOG_EXPORT_ACTIONS,
    STORE_ACTIONS,
)
from tests.infra.conftest import BEDROCK_PROFILE, EXPORT_BUCKETS, EXPORT_LOG_GROUPS, Synthesized

Statement = tuple[frozenset[str], frozenset[str], str]


def render(value: Any) -> str:
    """An intrinsic as text: ``{"Fn::GetAtt": ["X", "Arn"]}`` -> ``<X.Arn>``."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part) for part in parts)
    raise AssertionError(f"unexpected intrinsic {value!r}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_by_role(synth: Synthesized) -> dict[str, set[Statement]]:
    """Role logical id -> the statements of every policy attached to it."""
    found: dict[str, set[Statement]] = {}
    for policy in synth.resources("AWS::IAM::Policy").values():
        props = policy["Properties"]
        for statement in props["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            rendered = (
                frozenset(_listed(statement["Action"])),
                frozenset(render(r) for r in _listed(statement["Resource"])),
                repr(statement.get("Condition", {})),
            )
            for role in props["Roles"]:
                found.setdefault(role["Ref"], set()).add(rendered)
    return found


def _flatten(statements: set[Statement]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) triples: independent of how CDK merges statements."""
    return {(a, r, c) for actions, resources, c in statements for a in actions for r in resources}


def grants(*pairs: tuple[tuple[str, ...], tuple[str, ...]]) -> set[tuple[str, str, str]]:
    return {(a, r, "{}") for actions, resources in pairs for a in actions for r in resources}


def _expected(synth: Synthesized) -> dict[str, set[tuple[str, str, str]]]:
    stack, lid = synth.stack, synth.lid
    table = f"<{lid(stack.table)}.Arn>"
    table_resources = (
        table,
        f"{table}/index/by_requester",
        f"{table}/index/by_channel",
        f"{table}/index/pending",
        f"{table}/index/audit_by_day",
    )
    executions = (f"<{lid(stack.agent.function)}.Arn>:*",)
    alias = (f"<{lid(stack.alias)}>",)
    logs = ("logs:CreateLogStream", "logs:PutLogEvents")

    def secret(*names: str) -> tuple[str, ...]:
        return tuple(f"<{lid(stack.secrets[name])}>" for name in names)

    control = grants(
        (STORE_ACTIONS, table_resources),
        (("lambda:InvokeFunction",), alias),
        (CONTROL_ACTIONS, executions),
    )
    self_arn = (
        "arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:signoff-slack",
    )
    return {
        lid(stack.agent.role): grants(
            (logs, (f"<{lid(stack.agent.log_group)}.Arn>",)),
            (STORE_ACTIONS, table_resources),
            (("s3:GetObject", "s3:PutObject"), (f"<{lid(stack.bucket)}.Arn>/*",)),
            (("secretsmanager:GetSecretValue",), secret("SLACK_BOT_TOKEN", "ANTHROPIC_API_KEY")),
            (("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"), executions),
        ),
        lid(stack.slack.role): control
        | grants(
            (logs, (f"<{lid(stack.slack.log_group)}.Arn>",)),
            (("secretsmanager:GetSecretValue",), secret("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")),
            (("lambda:InvokeFunction",), self_arn),
        ),
        lid(stack.api.role): control
        | grants(
            (logs, (f"<{lid(stack.api.log_group)}.Arn>",)),
            (("secretsmanager:GetSecretValue",), secret("SLACK_BOT_TOKEN")),
            (JOB_ACTIONS, executions),
            (LIST_ACTIONS, (table,)),
        ),
    }


def test_every_statement_of_every_role_is_exactly_what_its_code_needs(
    default: Synthesized,
) -> None:
    actual = {role: _flatten(s) for role, s in statements_by_role(default).items()}
    expected = _expected(default)
    assert set(actual) == set(expected), "policies attached to unexpected roles"
    for role, wanted in expected.items():
        assert actual[role] == wanted, (
            f"{role}: extra {actual[role] - wanted}, missing {wanted - actual[role]}"
        )


def test_roles_have_no_managed_or_inline_policies(default: Synthesized) -> None:
    roles = default.resources("AWS::IAM::Role")
    assert len(roles) == 3
    for role in roles.values():
        props = role["Properties"]
        assert "ManagedPolicyArns" not in props
        assert "Policies" not in props
        (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_log_exports_reach_only_the_log_groups_and_buckets_the_stack_names(
    bedrock: Synthesized,
) -> None:
    """Without export settings (the default stack above) the agent has no export grant."""
    agent = _flatten(statements_by_role(bedrock)[bedrock.lid(bedrock.stack.agent.role)])
    groups = "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
    assert {(a, r) for a, r, _ in agent if a.startswith("logs:") and "Export" in a} == {
        ("logs:CreateExportTask", groups + "/aws/lambda/*"),
        ("logs:CreateExportTask", groups + "/ecs/checkout"),
        ("logs:CreateExportTask", groups + "/ecs/checkout:*"),
        ("logs:DescribeExportTasks", "*"),
    }
    assert EXPORT_LOG_GROUPS == "/aws/lambda/* /ecs/checkout"
    blobs = f"<{bedrock.lid(bedrock.stack.bucket)}.Arn>/*"
    writes = {(a, r) for a, r, _ in agent if a in EXPORT_WRITE_ACTIONS and r != blobs}
    assert writes == {("s3:PutObject", f"arn:<AWS::Partition>:s3:::{EXPORT_BUCKETS}/*")}
    env = bedrock.json["Resources"][bedrock.lid(bedrock.stack.agent.function)]["Properties"]
    variables = env["Environment"]["Variables"]
    assert variables["SIGNOFF_EXPORT_BUCKETS"] == EXPORT_BUCKETS
    assert variables["SIGNOFF_EXPORT_LOG_GROUPS"] == "/aws/lambda/*,/ecs/checkout"


def test_no_statement_allows_a_bare_star(default: Synthesized) -> None:
    for statements in statements_by_role(default).values():
        for actions, resources, _ in statements:
            # DescribeExportTasks has no resource type: "*" is its only resource, alone.
            if "*" in resources:
                assert (actions, resources) == ({"logs:DescribeExportTasks"}, {"*"})
            assert not any(action.endswith(":*") or action == "*" for action in actions)


def test_durable_grants_use_execution_arns_never_the_plain_function_arn(
    default: Synthesized,
) -> None:
    function_arn = f"<{default.lid(default.stack.agent.function)}.Arn>"
    for statements in statements_by_role(default).values():
        for actions, resources, _ in statements:
            if any("DurableExecution" in action for action in actions):
                assert resources == {function_arn + ":*"}


def test_the_agent_function_does_not_wait_on_its_own_checkpoint_policy(
    default: Synthesized,
) -> None:
    # The policy naming the agent's ARN must not be one the function depends on (a cycle).
    agent = default.json["Resources"][default.lid(default.stack.agent.function)]
    checkpoint_policy = default.lid(default.stack.node.find_child("AgentCheckpointPolicy"))
    assert checkpoint_policy not in agent.get("DependsOn", [])


def test_bedrock_is_scoped_to_the_chosen_model_through_its_profile(
    bedrock: Synthesized,
) -> None:
    agent_role = bedrock.lid(bedrock.stack.agent.role)
    bedrock_statements = {
        s for s in statements_by_role(bedrock)[agent_role] if any("bedrock" in a for a in s[0])
    }
    actions = frozenset({"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"})
    model = BEDROCK_PROFILE.split(".", 1)[1]
    profile = (
        "arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:inference-profile/"
        + BEDROCK_PROFILE
    )
    assert {(s[0], s[1]) for s in bedrock_statements} == {
        (actions, frozenset({profile})),
        (actions, frozenset({f"arn:<AWS::Partition>:bedrock:*::foundation-model/{model}"})),
    }
    conditioned = next(s for s in bedrock_statements if "foundation-model" in next(iter(s[1])))
    assert "bedrock:InferenceProfileArn" in conditioned[2]


def test_no_bedrock_access_unless_chosen(default: Synthesized) -> None:
    for statements in statements_by_role(default).values():
        assert not any(a.startswith("bedrock:") for s in statements for a in s[0])


# The grants against the code ------------------------------------------------------------------
def _method_calls(path: Path, receiver: str) -> set[str]:
    """Names of methods called on ``<...>.<receiver>`` (``self.table.put_item`` -> put_item)."""
    calls = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == receiver
        ):
            calls.add(node.func.attr)
    return calls


def _iam_action(service: str, method: str) -> str:
    camel = "".join(part.title() for part in method.split("_"))
    return f"{service}:{'InvokeFunction' if method == 'invoke' else camel}"


def test_store_actions_are_the_dynamodb_calls_agent_store_makes() -> None:
    calls = _method_calls(REPO_ROOT / "agent" / "storage" / "store.py", "table")
    assert {_iam_action("dynamodb", c) for c in calls} == {*STORE_ACTIONS, *LIST_ACTIONS}


def _scanning_methods() -> set[str]:
    """The Store methods whose body scans the table."""
    tree = ast.parse((REPO_ROOT / "agent" / "storage" / "store.py").read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "scan"
            for call in ast.walk(node)
        )
    }


def test_only_the_api_scans_and_only_its_role_may(default: Synthesized) -> None:
    scanning = _scanning_methods()
    assert scanning == {"list_runs", "waiting_jobs"}
    deployed = [
        path
        for package in ("agent", "slack_app", "api")
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
    ]
    callers = {
        str(path.relative_to(REPO_ROOT))
        for path in deployed
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in scanning
    }
    assert callers == {"api/handler.py"}  # waiting_jobs: the local stack's restart only
    scanners = {
        role: {r for a, r, _ in _flatten(statements) if a == "dynamodb:Scan"}
        for role, statements in statements_by_role(default).items()
    }
    table = f"<{default.lid(default.stack.table)}.Arn>"
    api_role = default.lid(default.stack.api.role)
    assert {role: resources for role, resources in scanners.items() if resources} == {
        api_role: {table}
    }


def test_blob_actions_are_the_s3_calls_agent_blobs_makes() -> None:
    calls = _method_calls(REPO_ROOT / "agent" / "storage" / "blobs.py", "s3")
    assert {_iam_action("s3", c) for c in calls} == {"s3:GetObject", "s3:PutObject"}


def test_control_actions_cover_every_lambda_call_of_the_control_plane() -> None:
    calls = set()
    for module in ("agent/control/runs.py", "api/handler.py", "agent/control/completions.py"):
        calls |= _method_calls(REPO_ROOT / module, "lambda_client")
    called = {_iam_action("lambda", c) for c in calls}
    assert called <= {*CONTROL_ACTIONS, *JOB_ACTIONS, "lambda:InvokeFunction"}
    assert "lambda:InvokeFunction" in called  # starting runs goes through the alias grant
    assert set(JOB_ACTIONS) <= called


def test_log_export_actions_are_the_calls_the_export_tool_makes() -> None:
    source = (REPO_ROOT / "agent" / "tools" / "aws_logs.py").read_text()
    calls = set(re.findall(r"\b([a-z]+_export_tasks?)\b", source))  # incl. a paginator's name
    assert {_iam_action("logs", c) for c in calls} == set(LOG_EXPORT_ACTIONS)

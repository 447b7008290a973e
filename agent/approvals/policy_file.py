"""The approval policy file (``signoff.toml``): read with ``tomllib``, checked in full, resolved
into a ``Policy``.

Inheritance: a key a gate's table leaves out comes from ``[gates.default]``; a key that table
leaves out too comes from ``base`` (the environment's policy) for that kind of gate. A tool's
table sits on top of what the tool's code says (``Tool.approval``), which sits on top of the
default. ``[gates.<table>.escalate]`` inherits key by key the same way; ``to = []`` turns an
inherited escalation off.

Every problem is collected, then all of them are raised at once in one ``PolicyError``, one
per line, each naming the file, the table and the key, so one edit fixes them all.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

from agent.approvals.conditions import compile_condition
from agent.approvals.policy import ApprovalPolicy
from agent.approvals.rules import Escalation, GateRule, Policy, ToolRule
from agent.config import APPROVER_ID
from agent.errors import ConfigError
from agent.models import OnTimeout

KINDS = ("default", "draft", "budget")
RULE_KEYS = (
    "approvers", "required", "remind", "deadline", "on_timeout", "allow_self_approval", "escalate",
)  # fmt: skip
ESCALATE_KEYS = ("after", "to", "channel")
TOOL_KEYS = ("when", "sticky")
ON_TIMEOUT: tuple[OnTimeout, ...] = ("reject", "end_run")
# Each reminder is two durable operations (a wait and its step): a bounded ladder.
MAX_REMINDERS = 10
# A durable callback waits at most a year (the execution's own limit).
MAX_DEADLINE_SECONDS = 365 * 24 * 3600
DURATION = re.compile(r"([0-9]{1,9})([smhd])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 24 * 3600}
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,31}")
MCP_TABLE = "mcp"
MCP_PREFIX = "mcp__"  # a remote MCP server's tools: mcp__<server>__<tool>
DURATION_HINT = 'a duration such as "90s", "15m", "4h" or "2d"'

Layer = dict[str, Any]  # the keys one table sets, already converted (GateRule field names)


class PolicyError(ConfigError):
    """The policy file does not validate: ``problems`` holds each one (also the message, one
    per line). A ``ConfigError``, so a process that meets it refuses to start."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def load_policy(
    path: Path | str,
    *,
    base: Policy,
    tool_names: Iterable[str],
    code: Mapping[str, ApprovalPolicy] | None = None,
    mcp_servers: Iterable[str] = (),
) -> Policy:
    """Read and check the file at ``path``; ``PolicyError`` lists every problem in it."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise PolicyError([f"{path}: cannot read the policy file ({err.strerror})"]) from None
    return parse_policy(
        data, source=str(path), base=base, tool_names=tool_names, code=code, mcp_servers=mcp_servers
    )


def parse_policy(
    data: bytes,
    *,
    source: str,
    base: Policy,
    tool_names: Iterable[str],
    code: Mapping[str, ApprovalPolicy] | None = None,
    mcp_servers: Iterable[str] = (),
) -> Policy:
    """The policy in ``data`` (a file's bytes; ``source`` names it in every message).
    ``mcp_servers``: the ``[mcp.servers]`` read at start, whose tools
    (``mcp__<server>__<tool>``, listed only when a run starts) a tool's table may name."""
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise PolicyError([f"{source}: not a valid TOML file: {err}"]) from None
    reader = _Reader(source, frozenset(mcp_servers))
    tables = reader.gate_tables(document, frozenset(tool_names))
    layers = {table: reader.layer(table, raw) for table, raw in tables.items()}
    policy = _resolve(source, hashlib.sha256(data).hexdigest(), base, layers, code or {})
    reader.check_resolved(policy, layers)
    if reader.problems:
        raise PolicyError(reader.problems)
    return policy


def _resolve(
    source: str,
    digest: str,
    base: Policy,
    layers: Mapping[str, Layer],
    code: Mapping[str, ApprovalPolicy],
) -> Policy:
    default_layer = layers.get("gates.default", {})
    default = _apply(base.default, default_layer, "gates.default", layers)

    def kind(name: str) -> GateRule:
        rule = _apply(getattr(base, name), default_layer, "gates.default", layers)
        return _apply(rule, layers.get(f"gates.{name}", {}), f"gates.{name}", layers)

    resolved = Policy(
        source=source, digest=digest, default=default, draft=kind("draft"), budget=kind("budget")
    )
    tools: dict[str, ToolRule] = {}
    for table, layer in layers.items():
        name = table.removeprefix("gates.tools.")
        if name == table:
            continue
        rule = resolved.for_code_tool(name, code[name]) if name in code else default
        tools[name] = ToolRule(
            rule=_apply(rule, layer, table, layers),
            when=layer.get("when"),
            sticky=bool(layer.get("sticky", False)),
        )
    return replace(resolved, tools=tools)


def _apply(rule: GateRule, layer: Layer, table: str, layers: Mapping[str, Layer]) -> GateRule:
    """``rule`` with the keys ``layer`` sets; named after the table when the file has it."""
    fields = {k: v for k, v in layer.items() if k not in ("escalate", "when", "sticky")}
    if table in layers:
        fields["table"] = table
    if "escalate" in layer:
        fields["escalate"] = _escalation(rule.escalate, layer["escalate"])
    return replace(rule, **fields)


def _escalation(inherited: Escalation | None, keys: Layer) -> Escalation | None:
    merged: Layer = {"after_seconds": 0, "to": (), "channel": None}
    if inherited is not None:
        merged |= {"after_seconds": inherited.after_seconds, "to": inherited.to}
        merged["channel"] = inherited.channel
    merged |= keys
    return Escalation(**merged) if merged["to"] else None


class _Reader:
    """Turns the file's tables into layers, noting every problem on the way."""

    def __init__(self, source: str, mcp_servers: frozenset[str] = frozenset()) -> None:
        self.source = source
        self.mcp_servers = mcp_servers
        self.problems: list[str] = []

    def problem(self, table: str, key: str | None, message: str) -> None:
        where = f"[{table}] {key}" if key else f"[{table}]"
        line = f"{self.source}: {where}: {message}"
        if line not in self.problems:
            self.problems.append(line)

    def gate_tables(self, document: Mapping[str, Any], tools: frozenset[str]) -> dict[str, Any]:
        """``gates.default``, ``gates.draft``, ``gates.budget`` and ``gates.tools.<name>``:
        each table the file has, with its raw keys."""
        for key in document:
            if key not in ("gates", MCP_TABLE):  # [mcp] is read at start (agent.tools.mcp)
                self.unknown("(top level)", key, ("gates", MCP_TABLE))
        gates = self.table_at(document, "gates", "(top level)")
        mcp = document.get(MCP_TABLE)
        listed = mcp.get("servers") if isinstance(mcp, dict) else None
        self.mcp_servers |= frozenset(listed) if isinstance(listed, dict) else frozenset()
        found: dict[str, Any] = {}
        for key, value in gates.items():
            if key == "tools":
                continue
            if key not in KINDS:
                self.unknown("gates", key, (*KINDS, "tools"))
            elif isinstance(value, dict):
                found[f"gates.{key}"] = value
            else:
                self.problem("gates", key, f"must be a table ([gates.{key}])")
        for name, value in self.table_at(gates, "tools", "gates").items():
            table = f"gates.tools.{name}"
            if not isinstance(value, dict):
                self.problem("gates.tools", name, f"must be a table ([{table}])")
            elif name.startswith(MCP_PREFIX):
                server = name.removeprefix(MCP_PREFIX).partition("__")[0]
                if server in self.mcp_servers and "__" in name.removeprefix(MCP_PREFIX):
                    found[table] = value
                else:
                    known = ", ".join(sorted(self.mcp_servers)) or "none"
                    self.problem(
                        table,
                        None,
                        f"there is no MCP server {server!r} in [mcp.servers] (the servers: "
                        f"{known}); MCP tools are named mcp__<server>__<tool>",
                    )
            elif name not in tools:
                known = ", ".join(sorted(tools)) or "none"
                self.problem(table, None, f"there is no tool {name!r} (the tools: {known})")
            else:
                found[table] = value
        return found

    def table_at(self, parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = parent.get(key, {})
        if isinstance(value, dict):
            return value
        self.problem(where, key, "must be a table")
        return {}

    def unknown(self, table: str, key: str, known: Sequence[str]) -> None:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
        self.problem(table, key, f"unknown key{hint}")

    def layer(self, table: str, raw: Mapping[str, Any]) -> Layer:
        """The keys ``table`` sets, converted and checked one by one."""
        is_tool = table.startswith("gates.tools.")
        layer: Layer = {}
        for key, value in raw.items():
            if key in TOOL_KEYS and not is_tool:
                self.problem(table, key, "only a tool's table ([gates.tools.<name>]) has one")
            elif key == "when":
                self.when(table, value, layer)
            elif key == "sticky":
                if isinstance(value, bool):
                    layer["sticky"] = value
                else:
                    self.problem(table, key, f"must be true or false (got {value!r})")
            elif key == "escalate":
                if isinstance(value, dict):
                    layer["escalate"] = self.escalate(f"{table}.escalate", value)
                else:
                    self.problem(table, key, f"must be a table ([{table}.escalate])")
            elif key in RULE_KEYS:
                self.rule_key(table, key, value, layer)
            else:
                self.unknown(table, key, (*RULE_KEYS, *TOOL_KEYS) if is_tool else RULE_KEYS)
        return layer

    def rule_key(self, table: str, key: str, value: Any, layer: Layer) -> None:
        if key == "approvers":
            layer["approvers"] = self.ids(table, key, value)
        elif key == "required":
            if not isinstance(value, int) or isinstance(value, bool):
                self.problem(table, key, f"must be a whole number (got {value!r})")
            elif value < 1:
                self.problem(table, key, f"must be at least 1 (got {value})")
            else:
                layer["required"] = value
        elif key == "remind":
            layer["remind_seconds"] = self.reminders(table, value)
        elif key == "deadline":
            deadline = self.duration(table, key, value)
            if deadline is not None and deadline > MAX_DEADLINE_SECONDS:
                self.problem(
                    table, key, f"must be at most 365d, a durable wait's limit (got {value!r})"
                )
            elif deadline is not None:
                layer["deadline_seconds"] = deadline
        elif key == "on_timeout":
            if value == "approve":
                self.problem(table, key, 'silence never approves: use "reject" or "end_run"')
            elif value not in ON_TIMEOUT:
                self.problem(table, key, f'must be "reject" or "end_run" (got {value!r})')
            else:
                layer["on_timeout"] = cast(OnTimeout, value)
        elif isinstance(value, bool):  # allow_self_approval
            layer["allow_self_approval"] = value
        else:
            self.problem(table, key, f"must be true or false (got {value!r})")

    def escalate(self, table: str, raw: Mapping[str, Any]) -> Layer:
        keys: Layer = {}
        for key, value in raw.items():
            if key == "after":
                after = self.duration(table, key, value)
                if after is not None:
                    keys["after_seconds"] = after
            elif key == "to":
                keys["to"] = self.ids(table, key, value)
            elif key == "channel":
                if isinstance(value, str) and CHANNEL_ID.fullmatch(value):
                    keys["channel"] = value
                else:
                    self.problem(
                        table, key, f"must be a Slack channel id (C… or G…), got {value!r}"
                    )
            else:
                self.unknown(table, key, ESCALATE_KEYS)
        return keys

    def when(self, table: str, value: Any, layer: Layer) -> None:
        if not isinstance(value, str):
            self.problem(table, "when", f"must be a CEL expression in a string (got {value!r})")
            return
        try:
            compile_condition(value)
        except ValueError as err:
            self.problem(table, "when", f"does not compile: {err}")
            return
        layer["when"] = value

    def ids(self, table: str, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.problem(table, key, f"must be a list of Slack ids (got {value!r})")
            return ()
        wrong = [v for v in value if not (isinstance(v, str) and APPROVER_ID.fullmatch(v))]
        for item in wrong:
            self.problem(
                table, key, f"holds Slack user (U…, W…) or user group (S…) ids, got {item!r}"
            )
        return tuple(dict.fromkeys(v for v in value if v not in wrong))

    def duration(self, table: str, key: str, value: Any) -> int | None:
        match = DURATION.fullmatch(value) if isinstance(value, str) else None
        seconds = int(match[1]) * UNIT_SECONDS[match[2]] if match else 0
        if seconds < 1:
            self.problem(table, key, f"must be {DURATION_HINT} (got {value!r})")
            return None
        return seconds

    def reminders(self, table: str, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list):
            self.problem(table, "remind", f"must be a list of durations (got {value!r})")
            return ()
        if len(value) > MAX_REMINDERS:
            self.problem(table, "remind", f"at most {MAX_REMINDERS} reminders (got {len(value)})")
        found = [self.duration(table, "remind", item) for item in value]
        seconds = tuple(s for s in found if s is not None)
        if any(later <= earlier for earlier, later in pairwise(seconds)):
            self.problem(
                table, "remind", f"each reminder must come after the one before (got {value})"
            )
        return seconds

    def check_resolved(self, policy: Policy, layers: Mapping[str, Layer]) -> None:
        """What only the resolved rules can tell: reminders and escalation inside the
        deadline, and a quorum that can be met. A problem ``[gates.default]`` already has is
        not repeated for every table that inherits it."""
        rules = policy.rules()
        for tool in policy.tools.values():
            if tool.sticky and tool.rule.required > 1:
                got = tool.rule.required
                needs = f"a standing approval is one person's: it needs required = 1 (got {got})"
                self.problem(tool.rule.table, "sticky", needs)
        reported: set[tuple[str, str, str]] = set()
        for rule in rules:
            if rule.table not in layers:
                continue
            escalate = layers[rule.table].get("escalate")
            if escalate is not None and rule.escalate is None and "to" not in escalate:
                self.problem(f"{rule.table}.escalate", "to", "is needed: who may decide then")
            for suffix, key, message in _rule_problems(rule):
                if (suffix, key, message) not in reported:
                    reported.add((suffix, key, message))
                    self.problem(rule.table + suffix, key, message)


def _rule_problems(rule: GateRule) -> Iterable[tuple[str, str, str]]:
    """(table suffix, key, message) for each problem of a resolved rule."""
    deadline = _shown(rule.deadline_seconds)
    late = [s for s in rule.remind_seconds if s >= rule.deadline_seconds]
    if late:
        shown = ", ".join(_shown(s) for s in late)
        yield "", "remind", f"a reminder must come before the deadline ({deadline}), got {shown}"
    escalate = rule.escalate
    if escalate and not escalate.after_seconds:
        yield ".escalate", "after", "is needed with to: when the escalation happens"
    elif escalate and escalate.after_seconds >= rule.deadline_seconds:
        after = _shown(escalate.after_seconds)
        yield ".escalate", "after", f"must be before the deadline ({deadline}), got {after}"
    listed = set(rule.approvers + (escalate.to if escalate else ()))
    no_group = not any(principal.startswith("S") for principal in listed)
    if rule.approvers and no_group and rule.required > len(listed):
        yield (
            "",
            "required",
            f"{rule.required} approvals can never be met: approvers and escalate.to list "
            f"{len(listed)} people and no user group",
        )


def _shown(seconds: int) -> str:
    """Seconds as the file writes them: the largest unit that divides them."""
    for unit in ("d", "h", "m"):
        if seconds % UNIT_SECONDS[unit] == 0:
            return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"

"""What ``/agent <text>`` asks for (pure), and the short texts the app answers with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Status:
    run_id: str | None


@dataclass(frozen=True)
class Pending:
    pass


@dataclass(frozen=True)
class Cancel:
    run_id: str | None


@dataclass(frozen=True)
class Start:
    task: str


Command = Help | Status | Pending | Cancel | Start
MAX_TASK = 8000


def parse_command(text: str) -> Command:
    """``help``, ``status [run]``, ``pending``, ``cancel <run>``, or a task to start."""
    words = text.strip().split()
    if not words or words[0].lower() == "help":
        return Help()
    verb, rest = words[0].lower(), words[1:]
    if verb == "status" and len(rest) <= 1:
        return Status(rest[0] if rest else None)
    if verb == "pending" and not rest:
        return Pending()
    if verb == "cancel" and len(rest) <= 1:
        return Cancel(rest[0] if rest else None)
    return Start(text.strip())


def usage(command: str) -> str:
    """The help text."""
    return "\n".join(
        [
            f"*{command} <task>*: start a run; progress and approvals appear in its thread.",
            f"*{command} status [run]*: your latest runs, or one run.",
            f"*{command} pending*: your running runs and the approvals waiting on you.",
            f"*{command} cancel <run>*: stop a run (its requester or an approver).",
        ]
    )

"""The ``signoff`` command: ``signoff dev`` runs the whole stack on this machine.

    signoff dev [--host ADDRESS] [--port 3000] [--data-dir .signoff] [--socket-mode] [--demo-mcp]
                [--json-logs] [--metrics]
    signoff audit <run> [--verify] | signoff audit export --since <date>   (localdev.audit_cli)

Runs in the foreground; Ctrl-C (or SIGTERM) stops everything it started. The console shows
one line per event (``localdev.console``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from agent.config import ConfigError, chosen_provider
from localdev import audit_cli, console
from localdev.dynalite import DynaliteError
from localdev.local_slack import PEOPLE
from localdev.slack_workspace import BOT_USER
from localdev.stack import DevOptions, DevStack


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["audit"]:
        return audit_cli.main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command != "dev":
        _parser().print_help()
        return 2
    if args.socket_mode and not os.environ.get("SLACK_APP_TOKEN"):
        print(
            "--socket-mode needs SLACK_APP_TOKEN (an xapp- token with connections:write), "
            "and SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET from the same app",
            file=sys.stderr,
        )
        return 2
    names = {p.id: p.name for p in PEOPLE} | {BOT_USER: "signoff"}
    console.configure(json_logs=args.json_logs, names=names)
    options = DevOptions(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        socket_mode=args.socket_mode,
        metrics=args.metrics,
        demo_mcp=args.demo_mcp,
    )
    stack = DevStack(options)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
        print(_banner(stack), flush=True)
        stack.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    except (OSError, DynaliteError, ConfigError) as err:
        print(f"signoff dev could not start: {err}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signoff", description="signoff's local tools")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("audit", help="print, verify or export audit logs (signoff audit -h)")
    dev = commands.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface: "
        "anyone who can reach it may use the local Slack page as any of its people)",
    )
    dev.add_argument("--port", type=int, default=3000, help="the one port everything is on")
    dev.add_argument(
        "--data-dir", type=Path, default=Path(".signoff"), help="runs, table, blobs, Slack state"
    )
    dev.add_argument(
        "--socket-mode",
        action="store_true",
        help="also run the Slack app over Socket Mode against a real workspace",
    )
    dev.add_argument(
        "--json-logs",
        action="store_true",
        help="print the JSON log lines Lambda writes instead of one readable line per event",
    )
    dev.add_argument(
        "--demo-mcp",
        action="store_true",
        help="also run a demo MCP server (port + 1) whose tools the agent may call",
    )
    dev.add_argument(
        "--metrics",
        action="store_true",
        help="also print the CloudWatch metric records (EMF JSON) the handlers write",
    )
    return parser


def _banner(stack: DevStack) -> str:
    url = stack.public_url
    provider = chosen_provider(os.environ)
    lines = [
        "",
        "signoff dev is up.",
        f"  Slack Request URL  {url}/slack/events",
        f"  HTTP API           {url}/runs   (Authorization: Bearer {stack.api_token})",
        f"  API reviewer       Bearer {stack.reviewer_token}   (decides runs the operator starts)",
        f"  health             {url}/healthz",
        f"  DynamoDB           {stack.dynamodb_url}   (table {os.environ['SIGNOFF_TABLE']})",
        f"  model              {provider}",
        f"  approval policy    {stack.policy_file or 'the environment (no signoff.toml)'}",
        f"  data               {stack.data_dir}",
    ]
    if stack.local_slack_enabled:
        lines.insert(2, f"  local Slack        {url}/   (open it in a browser)")
    if stack.options.demo_mcp:
        lines.append(f"  demo MCP server    {stack.demo_mcp_url}   (list_tickets, create_ticket)")
        lines.append(
            '  try                /agent list the open tickets and create a ticket "printer jam"'
        )
    if stack.options.socket_mode:
        lines.append("  Socket Mode        connected to your workspace")
    if stack.options.host not in ("127.0.0.1", "localhost", "::1"):
        lines.append(
            f"  warning: listening on {stack.options.host}: anyone who can reach this port "
            "can use the local Slack page as any of its people"
        )
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

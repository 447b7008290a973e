"""``signoff audit``: read a run's audit log from a stack's HTTP API, verify it, export a range.

    signoff audit <run> [--verify] [--url URL] [--token TOKEN]
    signoff audit export --since <date> [--until <date>] [--out FILE] [--url URL] [--token TOKEN]

``--url`` defaults to the local ``signoff dev`` (http://127.0.0.1:3000) and ``--token`` to
``SIGNOFF_API_TOKEN``, else the operator token ``signoff dev`` keeps in its data dir (the one
its banner prints). Verification is ``agent.storage.audit_chain.verify``, the same the tests
use: ``--verify`` exits 1 naming the first entry that does not match.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import TextIO
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from agent.storage.audit_chain import verify

DEFAULT_URL = "http://127.0.0.1:3000"
NEXT_CURSOR_HEADER = "x-next-cursor"  # api.audit's


class AuditCliError(Exception):
    """The API refused or could not be reached; the message says what it answered."""


def main(argv: Sequence[str], out: TextIO = sys.stdout) -> int:
    """Run ``signoff audit …`` (``argv`` after ``audit``); the exit status."""
    exporting = bool(argv) and argv[0] == "export"
    parser = _export_parser() if exporting else _run_parser()
    args = parser.parse_args(argv[1:] if exporting else argv)
    token = args.token or os.environ.get("SIGNOFF_API_TOKEN") or _dev_token(args.data_dir)
    if not token:
        print("no API token: pass --token or set SIGNOFF_API_TOKEN", file=sys.stderr)
        return 2
    client = Api(base_url=args.url.rstrip("/"), token=token)
    try:
        return _export(client, args, out) if exporting else _show(client, args, out)
    except AuditCliError as err:
        print(f"signoff audit: {err}", file=sys.stderr)
        return 1


@dataclass(frozen=True)
class Answer:
    text: str
    headers: Message


@dataclass(frozen=True)
class Api:
    """GETs against a stack's HTTP API with a bearer token (the standard library's client)."""

    base_url: str
    token: str

    def get(self, path: str) -> Answer:
        request = Request(self.base_url + path, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urlopen(request, timeout=30) as response:
                return Answer(response.read().decode("utf-8"), response.headers)
        except HTTPError as err:
            raise AuditCliError(f"{err.code} from {path.split('?')[0]}: {_reason(err)}") from None
        except (URLError, OSError) as err:
            raise AuditCliError(f"could not reach {self.base_url}: {err}") from None


def _reason(err: HTTPError) -> str:
    body = err.read().decode("utf-8", "replace")
    try:
        return str(json.loads(body).get("error", body))
    except (ValueError, AttributeError):
        return body


def _show(client: Api, args: argparse.Namespace, out: TextIO) -> int:
    answer = client.get(f"/runs/{quote(args.run, safe='')}/audit")
    entries = [json.loads(line) for line in answer.text.splitlines() if line]
    for entry in entries:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    if not args.verify:
        return 0
    verdict = verify(entries)
    if verdict.ok:
        print(f"verified: {verdict.entries} entries, the chain is unbroken", file=sys.stderr)
        return 0
    print(f"NOT VERIFIED: {verdict.problem}", file=sys.stderr)
    return 1


def _export(client: Api, args: argparse.Namespace, out: TextIO) -> int:
    query: dict[str, str] = {"since": args.since}
    if args.until:
        query["until"] = args.until
    target = args.out.open("w", encoding="utf-8") if args.out else out
    count = 0
    try:
        while True:
            response = client.get("/audit?" + urlencode(query))
            target.write(response.text)
            count += len(response.text.splitlines())
            following = response.headers.get(NEXT_CURSOR_HEADER)
            if not following:
                break
            query["cursor"] = following
    finally:
        if args.out:
            target.close()
    print(f"exported {count} entries", file=sys.stderr)
    return 0


def _dev_token(data_dir: Path) -> str | None:
    """The operator token ``signoff dev`` made for ``data_dir`` (None: no such stack)."""
    try:
        saved = json.loads((data_dir / "secrets.json").read_text())
    except (OSError, ValueError):
        return None
    token = saved.get("api_token")
    return str(token) if token else None


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the HTTP API (default {DEFAULT_URL})")
    parser.add_argument("--token", help="a bearer token (default: SIGNOFF_API_TOKEN, else dev's)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".signoff"),
        help="signoff dev's data dir, for its operator token (default .signoff)",
    )
    return parser


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signoff audit", description="print a run's audit log (JSON Lines)"
    )
    parser.add_argument("run", help="the run's id")
    parser.add_argument(
        "--verify", action="store_true", help="check the hash chain; exit 1 naming a bad entry"
    )
    return _common(parser)


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signoff audit export", description="every run's audit entries in a time range"
    )
    parser.add_argument("--since", required=True, help="2026-08-01, or an ISO 8601 time")
    parser.add_argument("--until", help="exclusive end (default: now)")
    parser.add_argument("--out", type=Path, help="write the JSON Lines here (default: stdout)")
    return _common(parser)

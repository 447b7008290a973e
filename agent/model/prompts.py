"""Prompts live in ``prompts/`` as text files; this module loads and fills them.

``load_prompt`` fails on a missing or an unused placeholder, so a prompt edit cannot drift
from the code silently. Per-run data goes into messages, never into the system prompt, so the
system prompt stays a byte-stable, cacheable prefix. ``PROMPTS_VERSION`` (a hash of every
prompt file) is recorded with each run, so a result can be traced to the prompts it used.
"""

from __future__ import annotations

import hashlib
import string
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


class PromptError(ValueError):
    """A prompt file is missing, or its placeholders do not match the values given."""


@cache
def _template(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise PromptError(f"no prompt named {name!r} in {PROMPTS_DIR}") from None


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def load_prompt(name: str, **values: str) -> str:
    """The prompt ``prompts/<name>.md`` with its placeholders filled, exactly."""
    template = _template(name)
    wanted = placeholders(template)
    if missing := wanted - values.keys():
        raise PromptError(f"prompt {name!r} needs {sorted(missing)}")
    if unused := values.keys() - wanted:
        raise PromptError(f"prompt {name!r} has no placeholder for {sorted(unused)}")
    return template.format(**values)


@cache
def prompts_version() -> str:
    """A short content hash of every prompt file."""
    digest = hashlib.sha256()
    for path in sorted(PROMPTS_DIR.glob("*.md")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]

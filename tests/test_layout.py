"""The layout keeps its promises: one purpose per folder, and dependencies that point one way.

Read from the source with ``ast`` (every import, also those inside functions), so a new
module that imports the wrong way fails here, naming the import, before it tangles the code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "api", "slack_app", "localdev", "infra")
# Folders of agent/ from the bottom up: each may import the ones before it, never after.
AGENT_LAYERS = ("agent.storage", "agent.model", "agent.approvals", "agent.tools", "agent.control")
# The durable run's orchestration: what Lambda invokes and the loop; nothing below imports it.
ORCHESTRATION = ("agent.handler", "agent.loop", "agent.run_steps")
FRONT_DOORS = ("api", "slack_app")
# infra reads the names its settings share with the code (env vars, metrics), nothing else.
SHARED_NAMES = ("agent.config", "agent.secrets", "agent.telemetry")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = project_modules()


def imports_of(module: str) -> Iterator[str]:
    """Every project module ``module`` imports, wherever the import stands."""
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name in MODULES and name != module:
                yield name


def in_folder(module: str, folder: str) -> bool:
    return module == folder or module.startswith(folder + ".")


def folder_of(module: str) -> str | None:
    return next((f for f in AGENT_LAYERS if in_folder(module, f)), None)


def test_every_folder_says_what_it_is_for() -> None:
    for package in (ROOT / p for p in PACKAGES):
        for folder in [package, *(d for d in package.rglob("*") if d.is_dir())]:
            if not any(folder.glob("*.py")):
                continue
            init = folder / "__init__.py"
            assert init.exists(), f"{folder.relative_to(ROOT)} has no __init__.py"
            assert ast.get_docstring(ast.parse(init.read_text())), f"{init} has no docstring"


def test_no_module_imports_itself_back() -> None:
    graph = {module: set(imports_of(module)) for module in MODULES}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            module, path = stack.pop()
            for target in graph[module]:
                if target == start:
                    cycles.append(" -> ".join([*path, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles))[:10])


@pytest.mark.parametrize("module", [m for m in MODULES if folder_of(m)])
def test_agent_folders_import_only_the_folders_below_them(module: str) -> None:
    own = AGENT_LAYERS.index(folder_of(module) or "")
    for target in imports_of(module):
        target_folder = folder_of(target)
        if target_folder is not None:
            assert AGENT_LAYERS.index(target_folder) <= own, f"{module} imports {target}"
        assert target not in ORCHESTRATION, f"{module} imports the orchestration: {target}"


@pytest.mark.parametrize("module", [m for m in MODULES if in_folder(m, "agent")])
def test_agent_never_imports_a_front_door_or_bolt(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                top = name.split(".")[0]
                assert top not in (*FRONT_DOORS, "slack_bolt", "localdev", "infra"), (
                    f"{module} imports {name}"
                )


def test_infra_names_handlers_without_importing_them() -> None:
    for module in (m for m in MODULES if in_folder(m, "infra")):
        for target in imports_of(module):
            allowed = in_folder(target, "infra") or target in SHARED_NAMES
            assert allowed, f"{module} imports {target}"

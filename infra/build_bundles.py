"""Build the Lambda bundles without Docker: ``build/bundles/{agent,slack,api}``.

    python -m infra.build_bundles [--out DIR] [--only slack] [--force]

Each bundle is the locked third-party packages (``uv export`` from uv.lock, installed with
``pip --target`` for the Lambda platform) plus the project packages and, when the project has
one, the approval policy ``signoff.toml`` at the bundle's root. It is rebuilt only when
its inputs change: a stamp keeps the hash of the exported requirements and the hash of the
sources, so a source-only change just recopies the packages (seconds, not a reinstall).

The output is deterministic (no timestamps in .pyc files, no pip-generated scripts), so an
unchanged bundle keeps its CDK asset hash and does not publish a new agent version.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infra.bundles import (
    BUNDLES,
    DEFAULT_BUNDLE_ROOT,
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON_VERSION,
    PROJECT_FILES,
    PROJECT_PACKAGES,
    REPO_ROOT,
    BundleName,
    BundleSpec,
)

SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
Action = Literal["skipped", "sources", "full"]


class BuildError(Exception):
    """A bundle could not be built; the message says which and why."""


@dataclass(frozen=True)
class Toolchain:
    """The programs a build runs: uv (export), pip (install) and the runtime's Python."""

    uv: str
    pip: tuple[str, ...]
    runtime_python: str | None


@dataclass(frozen=True)
class Result:
    name: BundleName
    action: Action
    path: Path


def main(argv: Sequence[str] | None = None) -> int:
    """Build every bundle asked for; print one line per bundle."""
    args = _parser().parse_args(argv)
    tools = find_toolchain(args.python)
    if tools.runtime_python is None:
        print(
            f"warning: no CPython {LAMBDA_PYTHON_VERSION} found: bundles are not byte-compiled "
            "or import-checked (pass --python)",
            file=sys.stderr,
        )
    names: list[BundleName] = args.only or list(BUNDLES)
    try:
        for name in names:
            result = build_bundle(BUNDLES[name], args.out, tools, force=args.force)
            print(f"{result.name}: {result.action} -> {result.path}")
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_BUNDLE_ROOT, help="bundle root")
    parser.add_argument("--only", action="append", choices=sorted(BUNDLES), help="one bundle")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument(
        "--python",
        default=os.environ.get("SIGNOFF_BUNDLE_PYTHON"),
        help=f"a CPython {LAMBDA_PYTHON_VERSION} to byte-compile and import-check with",
    )
    return parser


def build_bundle(spec: BundleSpec, out: Path, tools: Toolchain, *, force: bool = False) -> Result:
    """Make ``out/<name>`` current: skip, recopy the sources, or rebuild it whole."""
    target = out / spec.name
    requirements = export_requirements(tools.uv, spec)
    wanted = {"deps": deps_hash(requirements, tools), "sources": sources_hash()}
    stamp = out / f".{spec.name}.stamp.json"
    current = _read_stamp(stamp) if target.is_dir() and not force else {}
    if current == wanted:
        return Result(spec.name, "skipped", target)
    stamp.unlink(missing_ok=True)  # a build that dies half-way must not look current
    action: Action = "sources" if current.get("deps") == wanted["deps"] else "full"
    if action == "full":
        _install_fresh(spec, target, requirements, tools)
    else:
        copy_sources(target)
    if tools.runtime_python is not None:
        byte_compile(tools.runtime_python, target)
        check_import(tools.runtime_python, spec, target)
    check_contents(spec, target)
    stamp.write_text(json.dumps(wanted, indent=2) + "\n")
    return Result(spec.name, action, target)


def export_requirements(uv: str, spec: BundleSpec) -> str:
    """The bundle's pinned, hashed requirements from uv.lock (runtime dependencies only)."""
    command = [
        uv, "export", "--frozen", "--no-dev", "--no-group", "infra", "--no-emit-project",
        "--format", "requirements-txt",
        *(arg for package in spec.prune for arg in ("--prune", package)),
    ]  # fmt: skip
    return _run(command, f"uv export for {spec.name}").stdout


def deps_hash(requirements: str, tools: Toolchain) -> str:
    """What decides the installed packages: the requirements, the target, the compiler."""
    compiler = Path(tools.runtime_python).name if tools.runtime_python else "none"
    key = f"{LAMBDA_PYTHON_VERSION}\n{LAMBDA_PLATFORM}\n{compiler}\n{requirements}"
    return hashlib.sha256(key.encode()).hexdigest()


def sources_hash(root: Path = REPO_ROOT) -> str:
    """One hash over every project file a bundle carries (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(_project_files(root)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _project_files(root: Path) -> Iterable[Path]:
    yield from (root / name for name in PROJECT_FILES if (root / name).is_file())
    for package in PROJECT_PACKAGES:
        for path in (root / package).rglob("*"):
            relative = path.relative_to(root)
            if path.is_file() and not _skipped(relative):
                yield path


def _skipped(relative: Path) -> bool:
    return bool(SKIPPED_DIRS.intersection(relative.parts)) or relative.suffix in SKIPPED_SUFFIXES


def _install_fresh(spec: BundleSpec, target: Path, requirements: str, tools: Toolchain) -> None:
    """Install into a scratch directory, then swap it in, so a failure leaves no half bundle."""
    scratch = target.with_name(f".{spec.name}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    requirements_file = target.with_name(f".{spec.name}.requirements.txt")
    requirements_file.write_text(requirements)
    pip_install(tools.pip, requirements_file, scratch)
    # pip writes console scripts with this machine's interpreter path in them: not for Lambda.
    shutil.rmtree(scratch / "bin", ignore_errors=True)
    copy_sources(scratch)
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)


def pip_install(pip: Sequence[str], requirements_file: Path, target: Path) -> None:
    """Wheels for the Lambda platform and Python, hash-checked (uv export emits the hashes)."""
    command = [
        *pip, "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target),
        "--platform", LAMBDA_PLATFORM, "--implementation", "cp",
        "--python-version", LAMBDA_PYTHON_VERSION, "--only-binary=:all:",
        "--requirement", str(requirements_file),
    ]  # fmt: skip
    _run(command, f"pip install into {target}")


def copy_sources(target: Path, root: Path = REPO_ROOT) -> None:
    """Replace the project packages and root files (``signoff.toml``, when the project has
    one) in ``target`` with fresh copies (no caches); a root file since removed goes too."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        (target / name).unlink(missing_ok=True)
        if (root / name).is_file():
            shutil.copyfile(root / name, target / name)
    for package in PROJECT_PACKAGES:
        shutil.rmtree(target / package, ignore_errors=True)
        shutil.copytree(
            root / package,
            target / package,
            ignore=shutil.ignore_patterns(*SKIPPED_DIRS, *(f"*{s}" for s in SKIPPED_SUFFIXES)),
        )


def byte_compile(python: str, target: Path) -> None:
    """Precompile with the runtime's Python: /var/task is read-only, so Lambda cannot cache.

    ``unchecked-hash`` pycs hold no source timestamps, so the bundle (and its asset hash)
    stays the same from build to build.
    """
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache)
    command = [
        python, "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash", str(target),
    ]  # fmt: skip
    _run(command, f"byte-compiling {target}", env={"PYTHONHASHSEED": "0"})


def check_import(python: str, spec: BundleSpec, target: Path) -> None:
    """Import the handler's module from the bundle alone, as Lambda would."""
    code = f"import sys; sys.path[:0] = [{str(target)!r}]; import {spec.entry_module}"
    _run([python, "-I", "-c", code], f"importing {spec.entry_module} from the {spec.name} bundle")


def check_contents(spec: BundleSpec, target: Path) -> None:
    """The handler is there and pruned packages are not (uv or pip could bring them back)."""
    module_file = target / (spec.entry_module.replace(".", "/") + ".py")
    if not module_file.is_file():
        raise BuildError(f"{spec.name} bundle has no {module_file.relative_to(target)}")
    for package in spec.prune:
        normalized = package.replace("-", "_").lower()
        if (target / normalized).exists() or list(target.glob(f"{normalized}-*.dist-info")):
            raise BuildError(f"{spec.name} bundle must not contain {package!r}")


def find_toolchain(python: str | None = None) -> Toolchain:
    """uv from ``.tools`` (what ``make deps`` installs) or PATH; pip beside it or in this venv."""
    uv = _first_existing([REPO_ROOT / ".tools" / "bin" / "uv"]) or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv not found: run `make deps` or put uv on PATH")
    tools_python = REPO_ROOT / ".tools" / "bin" / "python"
    pip_python = str(tools_python) if _has_pip(str(tools_python)) else sys.executable
    return Toolchain(uv=uv, pip=(pip_python, "-m", "pip"), runtime_python=find_python(python))


def find_python(explicit: str | None = None) -> str | None:
    """A working CPython of the Lambda runtime's minor version, or None."""
    version = LAMBDA_PYTHON_VERSION
    candidates = [
        explicit,
        shutil.which(f"python{version}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}"))),
    ]
    for candidate in filter(None, candidates):
        if _python_version(candidate) == version:
            return candidate
    if explicit:
        raise SystemExit(f"{explicit} is not a working CPython {version}")
    return None


def _python_version(python: str) -> str | None:
    probe = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    except OSError:
        return None
    name, _, version = done.stdout.strip().partition(" ")
    return version if done.returncode == 0 and name == "cpython" else None


def _has_pip(python: str) -> bool:
    if not Path(python).exists():
        return False
    done = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False)
    return done.returncode == 0


def _first_existing(paths: Iterable[Path]) -> str | None:
    return next((str(path) for path in paths if path.exists()), None)


def _read_stamp(stamp: Path) -> dict[str, str]:
    try:
        loaded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _run(
    command: Sequence[str], what: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, env=full_env, check=False
    )
    if done.returncode != 0:
        raise BuildError(f"{what} failed ({done.returncode}):\n{done.stderr.strip()[-4000:]}")
    return done


if __name__ == "__main__":
    raise SystemExit(main())

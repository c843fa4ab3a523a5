"""The core is pure, and the package imports without its optional extras.

The imports are checked in a fresh interpreter (``-S -E``: no site hooks, no environment, so
nothing else has imported anything yet).  ``time`` is built in and loaded by every interpreter
at startup, so for it (and as a second line for the rest) the core's source is also scanned
for import statements.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import statekeeper

SRC = Path(statekeeper.__file__).resolve().parent.parent
CORE = SRC / "statekeeper" / "core"
FORBIDDEN = ("asyncio", "threading", "time", "random", "uuid", "sqlite3", "socket")
OPTIONAL = ("hypothesis", "yaml")


def _run(code: str) -> dict[str, list[str]]:
    prologue = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(SRC)!r})\n"
        "before = set(sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-E", "-c", prologue + code],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_core_imports_nothing_impure() -> None:
    # statekeeper/__init__.py imports the machines (asyncio) and clocks (threading); load the
    # core under a bare parent package so that only the core's own imports run.
    found = _run(
        "import types\n"
        "package = types.ModuleType('statekeeper')\n"
        f"package.__path__ = [{str(SRC / 'statekeeper')!r}]\n"
        "sys.modules['statekeeper'] = package\n"
        "import statekeeper.core\n"
        f"names = {FORBIDDEN + OPTIONAL!r}\n"
        "new = set(sys.modules) - before\n"
        "print(json.dumps({'new': sorted(n for n in names if n in new),\n"
        "                  'preloaded': sorted(n for n in names if n in before),\n"
        "                  'core': sorted(m for m in new if m.startswith('statekeeper.core'))}))\n"
    )
    assert found["new"] == []
    assert set(found["preloaded"]) <= {"time"}, found["preloaded"]  # built into the interpreter
    assert "statekeeper.core.step" in found["core"]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.update(a.value.split(".")[0] for a in node.args[:1]
                         if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_source_imports_nothing_impure(path: Path) -> None:
    assert _imported_modules(path) & set(FORBIDDEN + OPTIONAL) == set()


def test_the_source_scan_sees_imports() -> None:
    sample = Path(__file__)
    assert {"ast", "json", "subprocess", "sys", "pytest", "statekeeper"} <= _imported_modules(sample)


def test_statekeeper_imports_without_optional_extras() -> None:
    # Make the extras unimportable (as if not installed), then import the package.
    found = _run(
        f"for name in {OPTIONAL!r}:\n"
        "    sys.modules[name] = None\n"
        "import statekeeper, statekeeper.core, statekeeper.machine, statekeeper.testing\n"
        "statekeeper.Machine(statekeeper.Chart('c', states={'a': statekeeper.Final()}),\n"
        "                    session='s').configuration\n"
        f"print(json.dumps({{'imported': sorted(n for n in {OPTIONAL!r}\n"
        "                                   if sys.modules.get(n) is not None)}))\n"
    )
    assert found["imported"] == []


def test_importing_core_through_the_package_is_pure() -> None:
    found = _run(
        "import statekeeper.core\n"
        f"print(json.dumps({{'new': sorted(n for n in {FORBIDDEN!r}\n"
        "                              if n in set(sys.modules) - before)}))\n"
    )
    assert found["new"] == []

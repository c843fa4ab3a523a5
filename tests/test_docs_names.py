"""Every name the README's and the docs' code takes from ``statekeeper`` can be imported.

A new user copies a snippet: each ``from statekeeper import X`` in it must work, and so must
each class a ``python`` block calls without importing it (the README's policy example uses
``Retry`` and ``Effect`` as if ``from statekeeper import *`` had run).  The result type every
client method returns is public too.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import re
from pathlib import Path

import pytest

import statekeeper

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
_BLOCK = re.compile(r"^```(python|pycon)\n(.*?)^```", re.M | re.S)


def _blocks(path: Path) -> list[tuple[str, str]]:
    found = []
    for kind, body in _BLOCK.findall(path.read_text("utf-8")):
        if kind == "pycon":  # the source lines of a session, prompts removed
            body = "\n".join(line[4:] for line in body.splitlines()
                             if line.startswith((">>> ", "... ")) or line in (">>>", "..."))
        found.append((kind, body))
    return found


def _imports(tree: ast.AST) -> list[tuple[str, str]]:
    return [(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            and node.module.split(".")[0] == "statekeeper" for alias in node.names]


def _called_but_unbound(tree: ast.AST, bound: set[str]) -> set[str]:
    """Capitalised names a block calls without importing or assigning them.

    ``bound`` holds the names bound so far (earlier blocks of a file run in one namespace,
    as doctest runs them); this block's are added to it.
    """
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
    return {node.func.id for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id[:1].isupper() and node.func.id not in bound}


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_name_the_docs_import_exists(path: Path) -> None:
    bound = set(dir(builtins))
    for _, body in _blocks(path):
        tree = ast.parse(body)
        for module, name in _imports(tree):
            found = importlib.import_module(module)
            if not hasattr(found, name):  # a submodule: ``from statekeeper.examples import order``
                importlib.import_module(f"{module}.{name}")
        for name in _called_but_unbound(tree, bound):
            assert name in statekeeper.__all__, (
                f"{path.name}: a snippet calls {name}() without importing it; "
                f"`from statekeeper import {name}` must work")


def test_policies_and_the_result_type_are_public() -> None:
    from statekeeper import (  # noqa: F401 - importing them is the test
        Breaker,
        BreakerState,
        Bulkhead,
        InstanceState,
        RateLimit,
        RetriesExhausted,
        Retry,
        Timeout,
    )
    from statekeeper.resilience import Retry as Same

    assert Retry is Same
    assert InstanceState.__module__ == "statekeeper.runtime.state"

"""The W3C SCXML conformance documents (IRP, converted to Python) run through statekeeper.

The documents live outside the repository (``../shared/scxml-w3c``, or the folder named by
``STATEKEEPER_W3C_DIR``) and are never copied in.  Without them the suite is skipped loudly,
except under ``CI=true``, where a missing suite is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pytest

from statekeeper.testing.w3c import find_documents, run_document

pytestmark = pytest.mark.w3c

#: Documents expected to fail, one reason each (strict: an unexpected pass fails the run).
XFAIL: dict[str, str] = {
    "test201": "Basic HTTP Event I/O processor is out of scope",
    "test509": "Basic HTTP Event I/O processor is out of scope",
    "test510": "Basic HTTP Event I/O processor is out of scope",
    "test513": "Basic HTTP Event I/O processor is out of scope",
    "test518": "Basic HTTP Event I/O processor is out of scope",
    "test519": "Basic HTTP Event I/O processor is out of scope",
    "test520": "Basic HTTP Event I/O processor is out of scope",
    "test522": "Basic HTTP Event I/O processor is out of scope",
    "test531": "Basic HTTP Event I/O processor is out of scope",
    "test532": "Basic HTTP Event I/O processor is out of scope",
    "test534": "Basic HTTP Event I/O processor is out of scope",
    "test567": "Basic HTTP Event I/O processor is out of scope",
    "test577": "Basic HTTP Event I/O processor is out of scope",
}
_FOLDERS = ("mandatory", "optional")


def _suite_dir() -> Path | None:
    """The folder holding ``mandatory/`` and ``optional/``, if it can be found."""
    configured = os.environ.get("STATEKEEPER_W3C_DIR")
    repo = Path(__file__).resolve().parents[3]
    candidates = [Path(configured)] if configured else [repo.parent / "shared" / "scxml-w3c"]
    for base in candidates:
        for folder in (base, base / "python-statemachine"):
            if all((folder / name).is_dir() for name in _FOLDERS):
                return folder
    return None


SUITE = _suite_dir()
MISSING = (
    "W3C SCXML conformance documents not found: expected ../shared/scxml-w3c/python-statemachine"
    "/{mandatory,optional} next to the repository, or STATEKEEPER_W3C_DIR pointing at them. "
    "THE CONFORMANCE SUITE DID NOT RUN."
)


def _params() -> list[object]:
    if SUITE is None:
        return []
    params: list[object] = []
    for folder in _FOLDERS:
        for path in find_documents([SUITE / folder]):
            marks: tuple[pytest.MarkDecorator, ...] = ()
            if path.stem in XFAIL:
                marks = (pytest.mark.xfail(reason=XFAIL[path.stem], strict=True),)
            params.append(pytest.param(path, id=f"{folder}/{path.stem}", marks=marks))
    return params


def test_the_conformance_documents_are_present() -> None:
    if SUITE is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    assert len(find_documents([SUITE / "mandatory"])) == 160


@pytest.mark.parametrize("engine", ["sync", "async"])
@pytest.mark.parametrize("document", _params())
def test_document_reaches_pass(document: Path, engine: Literal["sync", "async"]) -> None:
    result = run_document(document, engine=engine)
    assert result.passed, result.line

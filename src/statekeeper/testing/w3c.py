"""Run the W3C SCXML conformance documents (IRP) against statekeeper.

Each ``test*.scxml`` document is read (trusted: the suite's expressions are Python), run on a
:class:`~statekeeper.VirtualClock` that jumps from one due timer to the next, and passes when
the machine reaches the top-level final state ``pass``.  Child documents (``*sub*.scxml``) are
only loaded by the tests that invoke them.

Usage::

    python -m statekeeper.testing.w3c ../shared/scxml-w3c/python-statemachine/mandatory
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from statekeeper.clock import VirtualClock
from statekeeper.core.compile import CompiledChart, compile_chart
from statekeeper.core.errors import ChartError
from statekeeper.core.model import Chart
from statekeeper.core.nodes import ROOT_ID
from statekeeper.io.scxml import load_scxml, read_scxml
from statekeeper.machine import AsyncMachine, Machine
from statekeeper.machine._base import BaseMachine

__all__ = ["ERRATA", "W3CResult", "find_documents", "main", "run_all", "run_document"]

Engine = Literal["sync", "async"]

#: Virtual seconds a document may run; the suite's longest timer is 20 s (a guard).
TIME_LIMIT = 600.0

#: Corrections to documents whose conversion to Python broke the W3C original, applied in
#: memory (the documents are never copied or edited): name -> (wrong, right, why).  The last
#: occurrence of ``wrong`` is replaced; a document that no longer contains it fails loudly.
ERRATA: dict[str, tuple[str, str, str]] = {
    "test240.scxml": (
        'target="subFinal1"', 'target="subFinal2"',
        "the second child's failure transition targets subFinal1, a state that child does not "
        "declare (the W3C original, txml/test240.txml, targets subFinal2)",
    ),
}


@dataclass(frozen=True, slots=True)
class W3CResult:
    """The outcome of one conformance document.

    Attributes:
        path: the document.
        passed: it reached the top-level final state ``pass``.
        reason: why not, in a few words (empty when it passed).
        configuration: the machine's configuration at the end (empty if it never started).
        logs: the ``<log>`` lines it produced, as ``(label, value)``.

    """

    path: Path
    passed: bool
    reason: str = ""
    configuration: tuple[str, ...] = ()
    logs: tuple[tuple[str | None, Any], ...] = field(default=(), repr=False)
    erratum: str = ""

    @property
    def line(self) -> str:
        """``test144.scxml pass`` or ``test150.scxml fail: <reason>``."""
        if not self.passed:
            return f"{self.path.name} fail: {self.reason}"
        return f"{self.path.name} pass" + (" (erratum applied)" if self.erratum else "")


def find_documents(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every ``test*.scxml`` under ``paths`` (files are taken as given), children excluded."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(p for p in sorted(path.glob("test*.scxml"), key=_test_order)
                         if "sub" not in p.stem)
        else:
            found.append(path)
    return found


def _test_order(path: Path) -> tuple[int, str]:
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return (int(digits) if digits else 0, path.stem)


def run_document(path: str | os.PathLike[str], *, time_limit: float = TIME_LIMIT,
                 engine: Engine = "sync") -> W3CResult:
    """Run one document to completion on a virtual clock and say whether it passed.

    ``engine`` picks :class:`~statekeeper.Machine` (``"sync"``) or its asyncio twin
    (``"async"``, run inside ``asyncio.run``); both must give the same answer.
    """
    document = Path(path)
    logs: list[tuple[str | None, Any]] = []
    erratum = ERRATA.get(document.name, ("", "", ""))[2]
    try:
        chart = _load(document)
        machine: BaseMachine
        if engine == "async":
            machine = asyncio.run(_run_async(chart, document, logs, time_limit))
        else:
            clock = VirtualClock()
            machine = Machine(chart, clock=clock, invoke_loader=_ChildLoader(document.parent),
                              on_log=lambda label, value: logs.append((label, value)))
            _run_clock(machine, clock, time_limit)
    except Exception as exc:  # noqa: BLE001 - a runner reports every failure as a result
        return W3CResult(document, False, f"{type(exc).__name__}: {exc}", (), tuple(logs))
    result = _judge(document, chart, machine, tuple(logs))
    return replace(result, erratum=erratum) if erratum else result


async def _run_async(chart: CompiledChart, document: Path, logs: list[tuple[str | None, Any]],
                     time_limit: float) -> AsyncMachine:
    clock = VirtualClock()
    machine = AsyncMachine(chart, clock=clock, invoke_loader=_ChildLoader(document.parent),
                           on_log=lambda label, value: logs.append((label, value)))
    await asyncio.sleep(0)
    _run_clock(machine, clock, time_limit)
    await asyncio.sleep(0)
    return machine


def _load(document: Path) -> CompiledChart:
    """Read a document, with its erratum applied if it has one."""
    if document.name not in ERRATA:
        return load_scxml(document, trusted=True, checks="ignore")
    wrong, right, _ = ERRATA[document.name]
    text = document.read_bytes().decode("utf-8-sig")
    head, found, tail = text.rpartition(wrong)
    if not found:
        raise ChartError(f"erratum for {document.name} no longer applies: {wrong!r} not found")
    chart = read_scxml(head + right + tail, trusted=True, base_dir=document.parent)
    return compile_chart(chart, trusted=True, checks="ignore")


def _run_clock(machine: BaseMachine, clock: VirtualClock, time_limit: float) -> None:
    """Jump to each due timer in turn until the machine is done or nothing is pending."""
    while not machine.done:
        due = clock.next_due()
        if due is None or due > time_limit:
            return
        clock.advance(max(0.0, due - clock.now()))


def _judge(document: Path, chart: CompiledChart, machine: BaseMachine,
           logs: tuple[tuple[str | None, Any], ...]) -> W3CResult:
    config = machine.configuration
    node = chart.nodes.get("pass")
    top_level = node is not None and node.parent is not None and node.parent.id == ROOT_ID
    if machine.done and "pass" in config and top_level:
        return W3CResult(document, True, "", config, logs)
    if machine.done:
        finals = [s for s in config if chart.nodes[s].parent is chart.root]
        reason = f"reached final state {finals[0] if finals else config!r}"
    else:
        reason = f"stopped in {list(config)} with no timer pending"
    return W3CResult(document, False, reason, config, logs)


class _ChildLoader:
    """Loads the chart of an ``<invoke type="scxml">``: a ``file:`` src or inline content."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def __call__(self, src: Any, content: Any) -> CompiledChart:
        if isinstance(content, CompiledChart):
            return content
        if isinstance(content, Chart):
            chart = content
        elif isinstance(content, ET.Element):
            chart = read_scxml(ET.tostring(content, encoding="unicode"), trusted=True,
                               base_dir=self.base_dir)
        elif isinstance(content, str) and content.strip():
            chart = read_scxml(content, trusted=True, base_dir=self.base_dir)
        elif isinstance(src, str) and src:
            name = src[len("file:"):] if src.startswith("file:") else src
            chart = read_scxml(self.base_dir / name, trusted=True)
        else:
            raise ChartError(f"cannot load an invoked chart from src={src!r}, content={content!r}")
        return compile_chart(chart, trusted=True, checks="ignore")


def run_all(paths: Sequence[str | os.PathLike[str]],
            engine: Engine = "sync") -> Iterator[W3CResult]:
    """Run every document found under ``paths``, in test-number order."""
    for document in find_documents(paths):
        yield run_document(document, engine=engine)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print one line per document and a summary; 1 if anything failed."""
    parser = argparse.ArgumentParser(prog="python -m statekeeper.testing.w3c",
                                     description="Run W3C SCXML conformance documents.")
    parser.add_argument("paths", nargs="+", help="folders of test*.scxml documents, or files")
    parser.add_argument("--async", dest="engine", action="store_const", const="async",
                        default="sync", help="run on AsyncMachine instead of Machine")
    args = parser.parse_args(argv)
    passed = failed = 0
    for result in run_all(args.paths, args.engine):
        print(result.line, flush=True)
        passed, failed = passed + result.passed, failed + (not result.passed)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())

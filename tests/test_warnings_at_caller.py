"""Warnings point at the caller's line, not into the library.

A ``ChartWarning`` is about the caller's chart; shown as coming from
``statekeeper/core/validate.py`` it tells them nothing about which of their calls made it.
Whatever path compiles the chart (``compile_chart``, a machine built from a plain chart,
``Client.register``, ``load_scxml``), the warning's ``filename`` is the caller's file.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statekeeper import AsyncMachine, Chart, ChartWarning, Client, Machine, State, compile_chart
from statekeeper.io.scxml import load_scxml

TRAP = Chart("trap", initial="a", states={"a": State(on={"go": "b"}), "b": State()})
SCXML = """<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">
  <state id="a"><transition event="go" target="b"/></state>
  <state id="b"/>
</scxml>"""


def _register(chart: Chart) -> Any:
    with Client("memory://", worker=False) as client:
        return client.register(chart)


def _async_machine(chart: Chart) -> Any:
    async def main() -> Any:
        return AsyncMachine(chart)
    return asyncio.run(main())


@pytest.mark.parametrize("make", [compile_chart, Machine, _register, _async_machine],
                         ids=["compile_chart", "Machine", "Client.register", "AsyncMachine"])
def test_a_chart_warning_names_the_callers_file(make: Callable[[Chart], Any]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make(TRAP)
    chart_warnings = [w for w in caught if issubclass(w.category, ChartWarning)]
    assert chart_warnings, "the trap state must warn"
    for warning in chart_warnings:
        assert warning.filename == __file__, (warning.filename, str(warning.message))


def test_a_chart_warning_of_a_file_names_the_callers_file(tmp_path: Path) -> None:
    path = tmp_path / "trap.scxml"
    path.write_text(SCXML, "utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_scxml(path)
    assert [w.filename for w in caught if issubclass(w.category, ChartWarning)] == [__file__]

"""The cells of ``bench durable`` on the data-driven chart: transitions and starts.

Which library runs in which cell, on which file: statekeeper at ``synchronous=FULL`` (its
default), xstate-statemachine forced to FULL and as shipped (NORMAL), each with 1 and 16
senders.  DBOS has no statechart to run this chart on (its toggle-table cells count
checkpointed workflow steps), so it has no cell here; the notes say so.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from .durable_chart_runs import (
    ChartRun,
    run_sk_chart,
    run_sk_starts,
    run_xstate_chart,
    run_xstate_starts,
)
from .durable_report import SK, DurableResults
from .durable_rounds import Measurement, peer_installed
from .durable_statekeeper import fresh_path

__all__ = ["SENDER_COUNTS", "XSTATE_ROWS", "chart_measurements"]

#: The sender counts of every chart cell (the names are part of the JSON format).
SENDER_COUNTS = {"1_sender": 1, "16_senders": 16}
#: xstate-statemachine's rows: JSON key -> whether its connections are forced to FULL.
XSTATE_ROWS = {"xstate_statemachine_full": True, "xstate_statemachine_normal": False}
DBOS_NOTE = ("DBOS: no cell on the data-driven chart (it runs workflows, not statecharts; "
             "its steps/s are in the toggle table)")


def _sk_chart(directory: Path, *, settings: Any, senders: int) -> ChartRun:
    return run_sk_chart(fresh_path(directory, f"chart-sk-{senders}.db"),
                        instances=settings.chart_instances, senders=senders,
                        rounds=settings.chart_rounds)


def _x_chart(directory: Path, *, settings: Any, senders: int, full: bool) -> ChartRun:
    level = "full" if full else "normal"
    return run_xstate_chart(fresh_path(directory, f"chart-x-{level}-{senders}.db"), full=full,
                            instances=settings.chart_instances, senders=senders,
                            rounds=settings.chart_rounds)


def _sk_starts(directory: Path, *, settings: Any, senders: int) -> ChartRun:
    return run_sk_starts(fresh_path(directory, f"starts-sk-{senders}.db"),
                         count=settings.starts, senders=senders)


def _x_starts(directory: Path, *, settings: Any, senders: int, full: bool) -> ChartRun:
    level = "full" if full else "normal"
    return run_xstate_starts(fresh_path(directory, f"starts-x-{level}-{senders}.db"),
                             full=full, count=settings.peer_starts, senders=senders)


def chart_measurements(settings: Any, only: tuple[str, ...],
                       results: DurableResults) -> list[Measurement]:
    """Every selected cell of the ``chart`` and ``starts`` tables, in the order a round runs."""
    found: list[Measurement] = []
    xstate = any(p in only for p in ("chart", "starts")) and \
        peer_installed("xstate-statemachine", results)
    for table, unit, ours, theirs in (("chart", "transitions/s", _sk_chart, _x_chart),
                                      ("starts", "starts/s", _sk_starts, _x_starts)):
        if table not in only:
            continue
        if table == "chart" and DBOS_NOTE not in results.notes:
            results.notes.append(DBOS_NOTE)
        for col, senders in SENDER_COUNTS.items():
            found.append(Measurement(SK, col, f"statekeeper {table}, {senders} sender(s)", unit,
                                     "FULL", partial(ours, settings=settings, senders=senders),
                                     table))
            if not xstate:
                continue
            for row, full in XSTATE_ROWS.items():
                level = "FULL" if full else "NORMAL"
                found.append(Measurement(
                    row, col, f"xstate-statemachine {table} {level}, {senders} sender(s)", unit,
                    level, partial(theirs, settings=settings, senders=senders, full=full),
                    table))
    return found

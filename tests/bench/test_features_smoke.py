"""``bench features`` on a tiny size: every variant runs, checks its feature worked, and reports."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from statekeeper.bench.__main__ import main
from statekeeper.bench.durable_chart_runs import run_sk_chart
from statekeeper.bench.features import VARIANTS, _logs


def test_bench_features_runs_every_variant(tmp_path: Path) -> None:
    out, table = tmp_path / "features.json", tmp_path / "features.md"
    assert main(["features", "--quick", "--json", str(out), "--markdown", str(table)]) == 0
    figures = json.loads(out.read_text())
    ran = set(figures["variants"]) | set(figures["skipped"])
    assert ran == {v.name for v in VARIANTS}
    assert {"plain", "logs", "metrics", "authorization"} <= set(figures["variants"])
    plain = figures["variants"]["plain"]
    assert plain["cost"] == 0.0 and plain["runs"][0]["synchronous"] == "FULL"
    for name, row in figures["variants"].items():
        assert row["per_s"] > 0 and row["cpu_us"] > 0
        assert f"| {name}: " in table.read_text()
    # the logger's settings are put back: the benchmark leaves no handler behind
    assert logging.getLogger("statekeeper").handlers == []


def test_the_logs_variant_fails_when_nothing_was_logged(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no record reached the file"), _logs(tmp_path / "x.db"):
        pass  # no client ran: the file is empty, and the check says so


def test_the_logs_variant_fails_when_a_record_is_missing(tmp_path: Path) -> None:
    dropped: list[str] = []

    def drop_one(record: logging.LogRecord) -> bool:
        if dropped or getattr(record, "event", None) != "add":
            return True
        dropped.append(record.getMessage())
        return False

    transitions = logging.getLogger("statekeeper.transitions")
    transitions.addFilter(drop_one)
    database = tmp_path / "logs.db"
    try:
        with pytest.raises(RuntimeError, match="the file holds"), _logs(database) as extra:
            run_sk_chart(database, instances=32, senders=4, rounds=2, warmup_rounds=1,
                         extra=extra)
    finally:
        transitions.removeFilter(drop_one)
    assert len(dropped) == 1


def test_the_logs_variant_passes_with_every_record(tmp_path: Path) -> None:
    database = tmp_path / "logs.db"
    with _logs(database) as extra:
        run = run_sk_chart(database, instances=32, senders=4, rounds=2, warmup_rounds=1,
                           extra=extra)
    assert run.units == 64 and not (tmp_path / "transitions.jsonl").exists()

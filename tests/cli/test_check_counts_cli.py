"""``statekeeper check`` recounts the kept instance counts; ``--repair`` rebuilds them.

A real SQLite file and a real PostgreSQL schema, written by a real client, their count
tables corrupted behind the store's back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Chart, State
from statekeeper.cli.main import main
from statekeeper.client import Client

FLIP = Chart("flip", version=1, initial="off", states={
    "off": State(on={"go": "on"}), "on": State(on={"go": "off"})})


def _flips(url: str) -> None:
    with Client(url, worker=False) as client:
        client.register(FLIP)
        for iid in ("f-1", "f-2", "f-3"):
            client.start("flip", iid)
        client.send("f-1", "go")


def _check(db: str, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, list[str]]:
    status = main(["check", "--db", db, *more])
    return status, capsys.readouterr().out.splitlines()


def _reported_then_repaired(db: str, shown: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    status, out = _check(db, capsys)
    assert status == 1
    assert out == [
        "instances of 'flip' v1 in state 'off': 7 kept, 2 counted "
        "(statekeeper check --repair rebuilds the counts)",
        f"{shown}: 1 problem(s)"]
    assert _check(db, capsys)[0] == 1  # a check alone changes nothing
    status, out = _check(db, capsys, "--repair")
    assert status == 1  # something was wrong: said, and mended
    assert out[0] == ("instances of 'flip' v1 in state 'off': 7 kept, 2 counted "
                      "(repaired: the kept counts were rebuilt from the instances)")
    assert _check(db, capsys) == (0, [f"{shown}: ok"])
    with Client(db, worker=False) as client:  # the store counts on from the rebuilt numbers
        client.register(FLIP)
        client.send("f-2", "go")
        assert {k: n for k, n in client.store.state_counts().items() if n} == {
            ("flip", "1", "off"): 1, ("flip", "1", "on"): 2}
    assert _check(db, capsys) == (0, [f"{shown}: ok"])


def test_a_corrupted_count_in_a_sqlite_file(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flips.db"
    _flips(str(path))
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE configuration_counts SET count = 7 "
                    "WHERE configuration = '[\"off\"]'")
    raw.close()
    _reported_then_repaired(str(path), str(path), capsys)


@pytest.mark.postgres
def test_a_corrupted_count_in_a_postgres_schema(pg_url: str, raw_pg: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _flips(pg_url)
    with raw_pg.cursor() as cur:
        cur.execute("INSERT INTO state_counts (chart, version, state, shard, count) "
                    "VALUES ('flip', '1', 'off', 99, 5)")
    _reported_then_repaired(pg_url, pg_url, capsys)

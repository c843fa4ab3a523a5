"""``statekeeper check``: the store's integrity check from the command line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, State
from statekeeper.cli.main import main
from statekeeper.client import Client

FLIP = Chart("flip", version=1, initial="off", states={
    "off": State(on={"go": "on"}), "on": State(on={"go": "off"})})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "flips.db"
    with Client(path, worker=False) as client:
        client.register(FLIP)
        for iid in ("f-1", "f-2"):
            client.start("flip", iid)
            client.send(iid, "go")
    return path


def test_a_sound_store_passes(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"{db}: ok"
    assert "checking" in captured.err  # progress on stderr


def test_corrupted_rows_are_listed_and_fail(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE instances SET snapshot = 'not json' WHERE id = 'f-1'")
        raw.execute("DELETE FROM transitions WHERE instance = 'f-2' AND seq = 1")
    raw.close()
    assert main(["check", "--db", str(db)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any("f-1" in line and "instances" in line for line in out), out
    assert any("gaps in seq" in line and "f-2" in line for line in out), out
    assert out[-1] == f"{db}: 2 problem(s)"


def test_a_missing_database_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(tmp_path / "none.db")]) == 1
    assert "no such database file" in capsys.readouterr().err

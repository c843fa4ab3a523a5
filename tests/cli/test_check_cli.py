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
    with Client(db, worker=False) as client:
        client.register(FLIP)
        client.send("f-2", "go")
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE instances SET snapshot = 'not json' WHERE id = 'f-1'")
        # a row missing from the middle (a log missing its first rows is a pruned one)
        raw.execute("DELETE FROM transitions WHERE instance = 'f-2' AND seq = 2")
    raw.close()
    assert main(["check", "--db", str(db)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any("f-1" in line and "instances" in line for line in out), out
    assert any("gaps in seq" in line and "f-2" in line for line in out), out
    assert out[-1] == f"{db}: 2 problem(s)"


def test_a_missing_database_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--db", str(tmp_path / "none.db")]) == 1
    assert "no such database file" in capsys.readouterr().err


PANEL = Chart("panel", version=1, initial="idle", states={
    "idle": State(on={"go": "busy"}), "busy": State(on={"go": "idle"})})


@pytest.mark.parametrize(("damage", "said"), [
    ("UPDATE timers SET event = 'not json'", "timers"),
    ("UPDATE instances SET configuration = '[\"nowhere\"]', snapshot = json_set(snapshot, "
     "'$.configuration', json('[\"nowhere\"]')) WHERE id = 'f-1'", "does not have"),
    ("UPDATE instances SET configuration = '[\"off\", \"on\"]' WHERE id = 'f-1'",
     "top-level"),
    ("UPDATE instances SET configuration = '[\"on\"]', snapshot = json_set(snapshot, "
     "'$.configuration', json('[\"off\"]')) WHERE id = 'f-1'", "snapshot"),
    ("UPDATE instances SET hash = 'abc123' WHERE id = 'f-1'", "hash"),
    ("UPDATE instances SET snapshot = json_set(snapshot, '$.counter', -4) WHERE id = 'f-1'",
     "negative"),
    ("UPDATE instances SET snapshot = replace(snapshot, '\"data\":{}', '\"data\":{\"x\":NaN}') "
     "WHERE id = 'f-1'", "NaN"),
    ("UPDATE instances SET rev = 1 WHERE id = 'f-1'", "rewound"),
    ("UPDATE instances SET rev = 9 WHERE id = 'f-1'", "ahead"),
    ("UPDATE timers SET due = 1e999", "not a finite"),  # never due: a timer that never fires
    ("UPDATE timers SET due = -1e999", "not a finite"),
])
def test_every_inconsistency_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      damage: str, said: str) -> None:
    from statekeeper import VirtualClock

    path = tmp_path / "flips.db"
    chart = tmp_path / "flip.json"
    chart.write_text('{"name": "flip", "version": 1, "initial": "off", "states": {'
                     '"off": {"on": {"go": "on"}}, "on": {"on": {"go": "off"}}}}')
    with Client(path, clock=VirtualClock(), worker=False) as client:
        client.register(FLIP)
        client.start("flip", "f-1")
        client.send("f-1", "go")
        client.send("f-1", "go")
        client.start("flip", "f-2")
    if "timers" in damage:
        with Client(path, clock=VirtualClock(), worker=False) as client:
            client.register(PANEL)
            client.start("panel", "p-1")
        raw = sqlite3.connect(path)
        with raw:
            raw.execute("INSERT INTO timers (instance, timer_id, due, event, target, policy) "
                        "VALUES ('p-1', 't', 5, '{}', NULL, 'default')")
        raw.close()
    assert main(["check", "--db", str(path), "--chart", str(chart)]) == 0
    capsys.readouterr()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(damage)
    raw.close()
    assert main(["check", "--db", str(path), "--chart", str(chart)]) == 1
    out = capsys.readouterr().out.splitlines()
    problems = out[:-1]
    assert problems and all(said.lower() in " ".join(problems).lower() for _ in [0]), out
    assert all("f-1" in line or "p-1" in line for line in problems), out
    assert out[-1].endswith("problem(s)")

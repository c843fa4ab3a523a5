"""``statekeeper instances`` and ``statekeeper history`` on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, Final, State, VirtualClock
from statekeeper.cli.main import main
from statekeeper.client import Client

DOOR = Chart("door", version=1, initial="closed", states={
    "closed": State(on={"open": "opened", "lock": "locked"}),
    "opened": State(on={"close": "closed"}),
    "locked": Final(),
})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "doors.db"
    with Client(path, clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        client.start("door", "d-1", labels={"floor": "1"})
        client.start("door", "d-2", labels={"floor": "2"})
        client.start("door", "d-3", labels={"floor": "1"})
        client.send("d-1", "open", actor="ann")
        client.send("d-3", "lock")
        with pytest.raises(Exception, match="not accepted"):
            client.send("d-2", "close")
    return path


def test_instances_lists_and_filters(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instances", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out[:-1]] == ["d-1", "d-2", "d-3"]
    assert out[0].split("\t")[1:4] == ["door v1", "active", "opened"]
    assert out[-1] == "3 instance(s)"
    assert main(["instances", "--db", str(db), "--state", "closed"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("d-2\t")
    assert main(["instances", "--db", str(db), "--label", "floor=1", "--status", "done"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "d-3\tdoor v1\tdone\tlocked\trev 2\tfloor=1", "1 instance(s)"]
    assert main(["instances", "--db", str(db), "--chart", "door", "--limit", "1",
                 "--after", "d-1", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["id"], row["configuration"], row["labels"]) == ("d-2", ["closed"], {"floor": "2"})


def _table(lines: list[str]) -> list[list[str]]:
    """The cells of a printed table's rows (header left out), split on runs of spaces."""
    return [line.split() for line in lines[1:]]


def test_history_shows_the_audit_log(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", str(db), "d-3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "d-3: chart door v1, done, in locked (rev 2)"
    assert out[1].split()[:4] == ["SEQ", "AT", "(UTC)", "EVENT"]
    rows = _table(out[1:4])
    assert [r[:1] + r[3:7] for r in rows] == [
        ["1", "statekeeper.start", "applied", "(start)", "closed"],
        ["2", "lock", "applied", "closed", "locked"]]
    assert out[4] == "2 row(s)"
    assert main(["history", "--db", str(db), "d-2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[3].split()[:1] + out[3].split()[3:5] == ["2", "close", "rejected"]
    assert "no transition accepts the event" in out[3]
    assert main(["history", "--db", str(db), "d-1", "--after", "1", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["seq"], row["event"], row["actor"], row["target"]) == (2, "open", "ann", ["opened"])


@pytest.mark.parametrize("argv", [["instances"], ["history", "d-1"]])
def test_a_missing_database_is_an_error_not_a_new_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    missing = tmp_path / "none.db"
    assert main([argv[0], "--db", str(missing), *argv[1:]]) == 1
    assert "no such database file" in capsys.readouterr().err
    assert not missing.exists()


def test_an_unknown_instance_and_a_foreign_file_are_errors(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", str(db), "d-9"]) == 1
    assert "d-9" in capsys.readouterr().err
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    assert main(["instances", "--db", str(foreign)]) == 1
    assert "not a statekeeper database" in capsys.readouterr().err
    check = sqlite3.connect(foreign)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "left as it was"
    check.close()
    assert main(["instances", "--db", str(db), "--label", "floor"]) == 1
    assert "write it as KEY=VALUE" in capsys.readouterr().err


def test_the_store_is_only_read(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = db.read_bytes()
    assert main(["instances", "--db", str(db)]) == 0
    assert main(["history", "--db", str(db), "d-1"]) == 0
    capsys.readouterr()
    assert db.read_bytes() == before


@pytest.mark.parametrize(("argv", "message"), [
    (["instances", "--limit", "0"], "--limit must be at least 1"),
    (["history", "d-1", "--limit", "0"], "--limit must be at least 1"),
    (["history", "d-1", "--after", "-1"], "--after must be 0 or more"),
])
def test_wrong_numbers_are_clear_errors(db: Path, capsys: pytest.CaptureFixture[str],
                                        argv: list[str], message: str) -> None:
    assert main([argv[0], "--db", str(db), *argv[1:]]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", [["instances"], ["history", "d-1"], ["check"]])
def test_a_file_that_is_not_a_database_is_refused_untouched(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"these are not the pages of a database\n" * 200)
    before = junk.read_bytes()
    assert main([command[0], "--db", str(junk), *command[1:]]) == 1
    assert "not a statekeeper database" in capsys.readouterr().err
    assert junk.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"], "no WAL or journal left"

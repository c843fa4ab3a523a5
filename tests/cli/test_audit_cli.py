"""``statekeeper audit``, ``statekeeper audit prune`` and ``statekeeper history``'s times.

On a real SQLite file written by a client whose virtual clock put every step a known time
apart, so the times each state lasted are exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statekeeper import Chart, State, VirtualClock
from statekeeper.cli._table import duration, time_argument
from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.core.errors import EventNotAccepted

DOOR = Chart("door", version=1, initial="closed", states={
    "closed": State(on={"open": "opened", "lock": "locked"}),
    "opened": State(on={"close": "closed"}),
    "locked": State(on={"unlock": "closed"}),
})
START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "doors.db"
    clock = VirtualClock(START)
    with Client(path, clock=clock, worker=False) as client:
        client.register(DOOR)
        client.start("door", "d-1")
        client.start("door", "d-2")
        clock.advance(90)
        client.send("d-1", "open", actor="ann")
        clock.advance(30)
        with pytest.raises(EventNotAccepted):
            client.send("d-1", "lock", actor="bob")
        clock.advance(3600)
        client.send("d-1", "close", actor="ann")
        client.send("d-2", "lock", actor="bob")
        clock.advance(86400 + 7200)
        client.send("d-2", "unlock", actor="ann")
    return path


def _cells(lines: list[str]) -> list[list[str]]:
    return [line.split() for line in lines]


def test_audit_prints_a_table_by_filter(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["AT", "(UTC)", "INSTANCE", "SEQ", "EVENT", "OUTCOME", "FROM",
                              "TO", "ACTOR"]
    assert out[1].split()[:5] == ["2023-11-14", "22:13:20.000", "d-1", "1",
                                  "statekeeper.start"]
    assert out[-1] == "7 row(s)"
    assert main(["audit", "--db", str(db), "--actor", "bob"]) == 0
    rows = _cells(capsys.readouterr().out.splitlines()[1:-1])
    assert [r[2:8] for r in rows] == [["d-1", "3", "lock", "rejected", "opened", "opened"],
                                      ["d-2", "2", "lock", "applied", "closed", "locked"]]
    assert main(["audit", "--db", str(db), "--outcome", "rejected", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["instance"], row["seq"], row["actor"], row["reason"]) == (
        "d-1", 3, "bob", "no transition accepts the event")
    assert main(["audit", "--db", str(db), "--state", "locked", "--chart", "door",
                 "--since", "2023-11-14T23:00", "--until", str(START + 86400 * 2)]) == 0
    rows = _cells(capsys.readouterr().out.splitlines()[1:-1])
    assert [(r[2], r[3]) for r in rows] == [("d-2", "2"), ("d-2", "3")]


def test_audit_pages_with_the_cursor_it_prints(db: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[tuple[str, str]] = []
    argv = ["audit", "--db", str(db), "--limit", "3", "--json"]
    while True:
        assert main(argv) == 0
        captured = capsys.readouterr()
        seen += [(r["instance"], str(r["seq"])) for r in map(json.loads,
                                                              captured.out.splitlines())]
        if "more:" not in captured.err:
            break
        argv = [*argv[:6], "--after", captured.err.split("--after ")[1].strip()]
    assert len(seen) == len(set(seen)) == 7


def test_history_shows_how_long_each_state_lasted(db: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", str(db), "d-1"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = _cells(out[2:6])
    # seq, then the time in the states each row left (the rejected one: time so far)
    assert [(r[0], r[-1] if r[0] == "1" else r[7:9]) for r in rows][1:] == [
        ("2", ["1m", "30s"]), ("3", ["30.000s", "bob"]), ("4", ["1h", "00m"])]
    summary = out[out.index("time in each state") + 2:]
    # d-1 is closed again, and active: closed counts its 90 s, then on to now
    assert summary[0].startswith("closed") and summary[0].endswith("(current, to now)")
    assert _cells(summary)[1] == ["opened", "1h", "00m"]
    assert main(["history", "--db", str(db), "d-2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["in_source"] for r in rows] == [None, 3720.0, 93600.0]


def test_prune_archives_then_deletes(db: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "audit.jsonl"
    assert main(["audit", "prune", "--db", str(db), "--older-than", "30d",
                 "--archive", str(archive)]) == 0
    assert "archived 5 row(s)" in capsys.readouterr().out
    assert len(archive.read_text("utf-8").splitlines()) == 5
    assert main(["audit", "--db", str(db), "--json"]) == 0
    kept = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["instance"], r["seq"]) for r in kept] == [("d-1", 4), ("d-2", 3)]
    assert main(["audit", "--db", str(db), "prune", "--older-than", "30d",  # --db before
                 "--archive", str(archive)]) == 0
    assert "archived 0 row(s)" in capsys.readouterr().out
    assert main(["history", "--db", str(db), "d-1"]) == 0  # a pruned log still reads
    assert "4  " in capsys.readouterr().out
    assert main(["check", "--db", str(db)]) == 0  # and is sound


@pytest.mark.parametrize(("argv", "message"), [
    (["audit", "prune", "--older-than", "a while", "--archive", "x.jsonl"], "--older-than"),
    (["audit", "prune", "--older-than", "30d", "--archive", "{tmp}/no/x.jsonl"],
     "nothing was deleted"),
    (["audit", "--since", "last tuesday"], "--since 'last tuesday'"),
    (["audit", "--after", "page-2"], "is not a cursor"),
    (["audit", "--limit", "0"], "--limit must be at least 1"),
])
def test_mistakes_are_named_and_change_nothing(db: Path, tmp_path: Path, argv: list[str],
                                               message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    before = db.read_bytes()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([*argv, "--db", str(db)]) == 1
    assert message in capsys.readouterr().err
    assert db.read_bytes() == before


def test_audit_without_a_store_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit"]) == 1
    assert "--db is required" in capsys.readouterr().err


def test_times_and_durations_read_as_people_write_them() -> None:
    assert time_argument("--since", "2023-11-14T22:13:20") == START
    assert time_argument("--since", "2023-11-14T23:13:20+01:00") == START
    assert time_argument("--since", str(START)) == START
    assert time_argument("--since", "2h", now=START) == START - 7200
    assert [duration(s) for s in (None, 0.015, 1.25, 90, 3720, 93600)] == [
        "-", "15ms", "1.250s", "1m 30s", "1h 02m", "1d 02h"]

"""``statekeeper shadow-report``: the divergence table from the store, every process's."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from statekeeper import Assign, Chart, Migration, State, Transition
from statekeeper.cli.main import main
from statekeeper.client import Client


def lamp(version: int, planted: bool = True) -> Chart:
    flip: object = "on"
    if version == 2 and planted:  # the planted divergence: from "off", v2 counts its flips
        flip = Transition("on", actions=[Assign("flips", value=1)])
    return Chart("lamp", version=version, initial="off", data={"flips": 0}, states={
        "off": State(on={"flip": flip}), "on": State(on={"flip": "off"})})


def shadow_run(url: str, instances: list[str], planted: bool = True) -> None:
    """One process's shadow: each instance starts on v1 and flips once."""
    with Client(url, worker=False) as client:
        client.register(lamp(1))
        client.register(lamp(2, planted))
        client.register_migration(Migration("lamp", 1, 2))
        client.shadow("lamp", 1, 2)
        for iid in instances:
            client.start("lamp", iid, version=1)
            client.send(iid, "flip")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lamps.db'}"


def test_the_report_covers_every_process(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    shadow_run(db, ["hall"])
    shadow_run(db, ["porch", "attic"])  # another process, later
    assert main(["shadow-report", "lamp", "--db", db]) == 1  # some diverged
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "shadow of 'lamp' v1 on v2"
    assert out[2].split() == ["off", "flip", "3", "3", "data", "3"]
    assert out[3] == "latest 3 divergence(s):"
    assert [line.split()[0] for line in out[4:]] == ["hall", "porch", "attic"]

    assert main(["shadow-report", "lamp", "--db", db, "--json"]) == 1
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row == {"from_version": "1", "to_version": "2", "state": "off", "event": "flip",
                   "compared": 3, "diverged": 3, "kinds": {"data": 3}}

    assert main(["shadow-report", "lamp", "--db", db, "--clear"]) == 0
    assert "3 comparison(s) of 'lamp' forgotten" in capsys.readouterr().out
    assert main(["shadow-report", "lamp", "--db", db]) == 0
    assert "no shadow of 'lamp'" in capsys.readouterr().out


def test_no_divergence_exits_0(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    shadow_run(db, ["hall", "porch"], planted=False)
    assert main(["shadow-report", "lamp", "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split() for line in out[2:]] == [["off", "flip", "2", "0"]]


def test_an_older_schema_is_refused_with_the_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    with Client(f"sqlite:///{path}", worker=False):
        pass
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE shadow_log")
    raw.execute("DELETE FROM schema_version WHERE version = 8")
    raw.commit()
    raw.close()
    assert main(["shadow-report", "lamp", "--db", str(path)]) == 1
    assert "no such table: shadow_log" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["shadow-report", "lamp", "--db", str(path), "--latest", "x"])
    assert usage.value.code == 2

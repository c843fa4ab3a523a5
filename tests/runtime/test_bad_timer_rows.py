"""A malformed timer or outbox row is set aside as a dead letter; every other instance goes on.

Before, one timer row whose event was not JSON failed every timer scan (each poll), so no timer
of any instance fired again; one malformed outbox row rolled back every claim, so no effect of
any instance ran again.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, Effect, State, VirtualClock
from statekeeper.cli.main import main
from statekeeper.client import Client

LAMP = Chart("lamp", version=1, initial="on", states={
    "on": State(after={"5m": "off"}), "off": State(on={"up": "on"})})


def _tamper(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql)
    conn.close()


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("damage", [
    "UPDATE timers SET event = 'not json' WHERE instance = 'l-2'",
    "UPDATE timers SET due = 'soon' WHERE instance = 'l-2'",
    "UPDATE timers SET event = '[1, 2]' WHERE instance = 'l-2'",
])
def test_a_malformed_timer_row_is_set_aside_and_the_others_fire(
        tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "lamps.db"
    clock = VirtualClock()
    with Client(path, clock=clock, worker=False) as client:
        client.register(LAMP)
        for iid in ("l-1", "l-2", "l-3"):
            client.start("lamp", iid)
    _tamper(path, damage)
    with Client(path, clock=clock, worker=False) as client:
        client.register(LAMP)
        clock.advance(600)
        with caplog.at_level(logging.WARNING, logger="statekeeper"):
            client.worker.run_until_idle()
            client.worker.run_until_idle()  # a second scan neither fails nor logs again
        assert client.get("l-1").configuration == ("off",)
        assert client.get("l-3").configuration == ("off",)
        assert client.get("l-2").configuration == ("on",)
        letters = client.dead_letters()
        assert [(d.kind, d.instance, d.payload["table"]) for d in letters] == [
            ("row", "l-2", "timers")]
        assert "timers" in letters[0].errors[0]
        warned = [r for r in caplog.records if r.levelno == logging.WARNING
                  and "l-2" in r.getMessage()]
        assert len(warned) == 1, [r.getMessage() for r in caplog.records]
        assert _count(path, "timers") == 0
        # discarding the letter drops the row for good
        client.discard_dead_letter(letters[0].id)
        assert client.dead_letters() == []


def test_a_set_aside_row_is_listed_and_replayed_as_it_was(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    path = tmp_path / "lamps.db"
    clock = VirtualClock()
    with Client(path, clock=clock, worker=False) as client:
        client.register(LAMP)
        client.start("lamp", "l-1")
    _tamper(path, "UPDATE timers SET event = '{\"nam'")
    with Client(path, clock=clock, worker=False) as client:
        client.register(LAMP)
        clock.advance(600)
        client.worker.run_until_idle()
        (letter,) = client.dead_letters()
    assert main(["dead-letters", "--db", str(path), "list"]) == 0
    assert "l-1" in capsys.readouterr().out
    with Client(path, clock=clock, worker=False) as client:
        client.register(LAMP)
        client.replay_dead_letter(letter.id)  # back as it was: still malformed, set aside again
        client.worker.run_until_idle()
        (again,) = client.dead_letters()
        assert again.payload == letter.payload
        assert client.get("l-1").configuration == ("on",)


EFFECTS = Chart("mail", version=1, initial="sending", states={
    "sending": State(entry=[Effect("send")], on={"done.effect.send": "sent"}),
    "sent": State(on={"again": "sending"})})


def test_a_malformed_outbox_row_is_set_aside_and_the_other_effects_run(tmp_path: Path) -> None:
    path = tmp_path / "mail.db"
    clock = VirtualClock()
    sent: list[str] = []
    with Client(path, clock=clock, worker=False) as client:
        client.register(EFFECTS, effects={"send": lambda *_, **__: sent.append("x")})
        for iid in ("m-1", "m-2", "m-3"):
            client.start("mail", iid)
    _tamper(path, "UPDATE outbox SET args = 'not json' WHERE instance = 'm-2'")
    with Client(path, clock=clock, worker=False) as client:
        client.register(EFFECTS, effects={"send": lambda *_, **__: sent.append("x")})
        client.worker.run_until_idle()
        assert [client.get(i).configuration for i in ("m-1", "m-2", "m-3")] == [
            ("sent",), ("sending",), ("sent",)]
        (letter,) = client.dead_letters()
        assert (letter.kind, letter.instance, letter.payload["table"]) == ("row", "m-2", "outbox")
        assert "args" in letter.errors[0]
    assert len(sent) == 2

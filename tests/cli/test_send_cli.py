"""``statekeeper send`` and ``dead-letters replay``: events from the command line, authorized.

Real SQLite files written by a real client; the application is a real module (the operated
food-delivery example, and ``authz_app`` here), loaded with ``--module`` as the worker does.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from statekeeper import VirtualClock
from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.examples import food_delivery_ops as ops
from statekeeper.examples.food_delivery import PaymentAPI

HERE = Path(__file__).parent
APP = ["--module", "statekeeper.examples.food_delivery_ops"]
LUIGI = ["--principal", "luigi", "--role", "restaurant", "--attribute", "restaurant=trattoria"]


def _order_in(store: str | Path, tmp_path: Path) -> None:
    """An order o-1 of alice's, paid and offered to the restaurant ``trattoria``."""
    with Client(store, clock=VirtualClock(ops.START_AT), worker=False) as client:
        ops.register(client, PaymentAPI(tmp_path / "payments.jsonl", 0))
        client.start(ops.CHART, "o-1", data={"customer": "alice", "restaurant": "trattoria",
                                             "couriers": ["ana"], "order_id": "o-1"},
                     principal=ops.ALICE)
        client.worker.run_until_idle()
        assert client.get("o-1").state == "OfferedToRestaurant"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file holding :func:`_order_in`'s order."""
    monkeypatch.setenv(ops.LEDGER_ENV, str(tmp_path / "payments.jsonl"))
    path = tmp_path / "orders.db"
    _order_in(path, tmp_path)
    return str(path)


def _log(db: str) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT event, outcome, actor FROM transitions "
                                 "WHERE instance = 'o-1' ORDER BY seq"))


def test_send_is_authorized_like_the_application(db: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "--db", db, "o-1", "accept", *APP, "--principal", "mario",
                 "--role", "restaurant", "--attribute", "restaurant=pizzeria"]) == 1
    err = capsys.readouterr().err
    assert ("error: principal 'mario' may not send 'accept' to instance 'o-1': no rule allows "
            "it (roles: restaurant); nothing was applied") in err
    assert main(["send", "--db", db, "o-1", "accept", *APP]) == 1  # nobody: refused too
    assert "an anonymous caller may not send 'accept'" in capsys.readouterr().err
    assert main(["send", "--db", db, "o-1", "accept", *APP, *LUIGI]) == 0
    assert capsys.readouterr().out.startswith(
        "o-1: FindingCourier (active, rev 5, outcome applied) after 'accept' from luigi")
    assert _log(db)[-3:] == [("accept", "denied", "mario"), ("accept", "denied", None),
                             ("accept", "applied", "luigi")]


def test_send_an_event_the_state_does_not_take(db: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # allowed (luigi's restaurant), but an order offered to the restaurant is not cooking yet
    assert main(["send", "--db", db, "o-1", "food_ready", *APP, *LUIGI]) == 1
    assert "food_ready" in capsys.readouterr().err
    assert _log(db)[-1] == ("food_ready", "rejected", "luigi")


def test_send_with_data_a_key_and_json_output(db: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "--db", db, "o-1", "accept", *APP, *LUIGI, "--json",
                 "--idempotency-key", "k-1"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["configuration"][-1] == "FindingCourier"
    # the restaurant may not read the whole order: the answer holds only its public fields
    assert set(first["data"]) <= {"order_id", "restaurant", "total"}
    assert "courier" not in first["data"]
    assert main(["send", "--db", db, "o-1", "courier_accepted", *APP, "--principal", "ana",
                 "--role", "courier", "--data", '{"courier": "ana"}']) == 0
    assert "CourierAssigned" in capsys.readouterr().out
    assert main(["send", "--db", db, "o-1", "accept", *APP, *LUIGI, "--json",
                 "--idempotency-key", "k-1"]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "duplicate"


@pytest.mark.postgres
def test_send_on_postgresql(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(ops.LEDGER_ENV, str(tmp_path / "payments.jsonl"))
    _order_in(pg_url, tmp_path)
    assert main(["send", "--db", pg_url, "o-1", "accept", *APP, "--principal", "bob",
                 "--role", "customer"]) == 1
    assert main(["send", "--db", pg_url, "o-1", "accept", *APP, *LUIGI]) == 0
    assert "o-1: FindingCourier" in capsys.readouterr().out
    with Client(pg_url, worker=False) as client:
        rows = [(r.event, r.outcome, r.actor) for r in client.history("o-1")][-2:]
    assert rows == [("accept", "denied", "bob"), ("accept", "applied", "luigi")]


@pytest.mark.parametrize(("argv", "status", "message"), [
    (["o-1", "accept"], 1, "give the application: --module PKG.MOD"),
    (["o-1", "accept", *APP, "--data", "{courier"], 2, "--data is not JSON"),
    (["o-1", "accept", *APP, "--role", "restaurant"], 2, "describe a --principal NAME"),
    (["o-1", "accept", *APP, "--principal", "x", "--attribute", "tenant"], 2,
     "--attribute takes KEY=VALUE"),
    (["o-1", "accept", *APP, "--principal", " "], 1, "--principal: Principal id takes"),
    (["o-9", "accept", *APP, *LUIGI], 1, "o-9"),
    (["o-1", "accept", "--module", "no_such_module_here"], 1, "could not be imported"),
])
def test_send_bad_input(db: str, capsys: pytest.CaptureFixture[str], argv: list[str],
                        status: int, message: str) -> None:
    before = _log(db)
    assert main(["send", "--db", db, *argv]) == status
    assert message in capsys.readouterr().err
    assert _log(db) == before


# -- replaying a dead letter's event ---------------------------------------------------------

@pytest.fixture
def dead_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """A SQLite file holding a timer's event that could not be stored: (file, letter id)."""
    monkeypatch.syspath_prepend(str(HERE))
    from authz_app import STAMP, broken_stamp

    path = tmp_path / "stamps.db"
    with Client(path, clock=VirtualClock(), worker=False) as client:
        client.register(STAMP, functions={"stamp": broken_stamp})
        client.start("stamp", "s-1")
        client.send("s-1", "go")
        client.clock.advance(2)  # type: ignore[attr-defined]
        client.worker.run_until_idle()
        (letter,) = client.dead_letters("s-1")
    assert letter.kind == "event" and letter.id is not None
    return str(path), letter.id


def _letters(db: str) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    return int(count)


def test_replaying_an_event_needs_the_application(dead_event: tuple[str, int],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db, letter = dead_event
    assert main(["dead-letters", "--db", db, "replay", str(letter)]) == 1
    assert "give --module PKG.MOD" in capsys.readouterr().err
    assert _letters(db) == 1


def test_replaying_an_event_is_authorized(dead_event: tuple[str, int],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    db, letter = dead_event
    replay = ["dead-letters", "--db", db, "replay", str(letter), "--module", "authz_app"]
    assert main([*replay, "--principal", "gus", "--role", "guest"]) == 1
    assert "principal 'gus' may not send 'statekeeper.after" in capsys.readouterr().err
    assert main([*replay, "--actor", "someone"]) == 1  # no principal: anonymous, refused
    assert "an anonymous caller" in capsys.readouterr().err
    assert main([*replay, "--principal", "olga", "--role", "ops", "--actor", "ann"]) == 1
    assert "actor='ann' is not the principal 'olga'" in capsys.readouterr().err
    assert _letters(db) == 1
    assert main([*replay, "--principal", "olga", "--role", "ops"]) == 0
    assert f"dead letter {letter} replayed by olga" in capsys.readouterr().out
    assert _letters(db) == 0
    with sqlite3.connect(db) as conn:
        rows = list(conn.execute("SELECT outcome, actor FROM transitions WHERE instance = "
                                 "'s-1' ORDER BY seq"))
    assert rows[-3:] == [("denied", "gus"), ("denied", "someone"), ("applied", "olga")]

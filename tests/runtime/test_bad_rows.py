"""A corrupted or foreign instance row in the SQLite file is refused through the client, never repaired."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, Final, IntegrityError, SnapshotMismatch, State, VirtualClock
from statekeeper.client import Client
from statekeeper.core.events import Event
from statekeeper.runtime.requests import DeliverEvent

DOOR = Chart("door", version=1, initial="closed", states={
    "closed": State(on={"open": "opened"}),
    "opened": State(on={"close": "closed", "remove": "gone"}),
    "gone": Final(),
})


def _started(path: Path) -> None:
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        client.start("door", "d-1")


def _tamper(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql, params)


def _snapshot(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        (text,) = conn.execute("SELECT snapshot FROM instances WHERE id = 'd-1'").fetchone()
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.parametrize("damage", ["not json", "truncated", "wrong state"])
def test_a_corrupted_snapshot_is_refused_and_left_as_it_is(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "doors.db"
    _started(path)
    good = _snapshot(path)
    if damage == "not json":
        bad = "{this is not json"
    elif damage == "truncated":
        bad = json.dumps(good)[:20]
    else:
        bad = json.dumps({**good, "configuration": ["nowhere"]})
    _tamper(path, "UPDATE instances SET snapshot = ? WHERE id = 'd-1'", bad)
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        with pytest.raises(IntegrityError, match="d-1"):
            client.send("d-1", "open")
    with sqlite3.connect(path) as conn:
        (after,) = conn.execute("SELECT snapshot FROM instances WHERE id = 'd-1'").fetchone()
        (rows,) = conn.execute("SELECT count(*) FROM transitions WHERE instance = 'd-1'").fetchone()
    assert after == bad and rows == 1


def test_a_configuration_naming_no_state_of_its_chart_is_refused_every_time(
        tmp_path: Path) -> None:
    """The row agrees with itself, but its chart has no such state: checked when it is read."""
    path = tmp_path / "doors.db"
    _started(path)
    _tamper(path, "UPDATE instances SET configuration = '[\"nowhere\"]' WHERE id = 'd-1'")
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        for _ in range(2):  # a refused row is not kept in the engine's cache either
            with pytest.raises(IntegrityError, match=r"d-1.*unknown states"):
                client.send("d-1", "open")
    with sqlite3.connect(path) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM transitions WHERE instance = 'd-1'").fetchone()
    assert rows == 1


def test_an_instance_of_another_chart_structure_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "doors.db"
    _started(path)
    changed = Chart("door", version=1, initial="closed", states={
        "closed": State(on={"open": "opened", "kick": "opened"}),
        "opened": State(on={"close": "closed", "remove": "gone"}),
        "gone": Final(),
    })
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(changed)
        with pytest.raises(SnapshotMismatch, match="register the chart it started with"):
            client.send("d-1", "open")
        assert client.get("d-1").configuration == ("closed",)


def test_a_group_read_ahead_together_fails_only_the_request_of_a_corrupted_row(
        tmp_path: Path) -> None:
    # The engine reads a group's instances (and idempotency keys) in one read before planning
    # it; a corrupted row among them must still fail only its own request.
    path = tmp_path / "doors.db"
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        for n in range(4):
            client.start("door", f"d-{n}")
        client.send("d-3", "open", idempotency_key="k-3")
    _tamper(path, "UPDATE instances SET snapshot = '{broken' WHERE id = 'd-1'")
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        group = [DeliverEvent(f"d-{n}", Event("open"),
                              idempotency_key=f"k-{n}") for n in range(4)]
        client.engine.post_many(list(group))  # one queue item: one group
        answers = [request.future for request in group]
        assert [answers[n].result().state for n in (0, 2)] == ["opened", "opened"]
        with pytest.raises(IntegrityError, match="d-1"):
            answers[1].result()
        assert answers[3].result().outcome == "duplicate"  # k-3 was seen: read ahead too
        assert client.get("d-3").state == "opened"


def test_a_rewound_revision_is_named_not_blamed_on_another_writer(tmp_path: Path) -> None:
    """A row whose rev is behind its own log: every step would collide with a logged seq."""
    from statekeeper.storage import RevisionBehindLog

    path = tmp_path / "doors.db"
    _started(path)
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        client.send("d-1", "open")
        client.send("d-1", "close")
    _tamper(path, "UPDATE instances SET rev = 1 WHERE id = 'd-1'")
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        with pytest.raises(RevisionBehindLog) as caught:
            client.send("d-1", "open")
    message = str(caught.value)
    assert "d-1" in message and "rev 1" in message and "seq 3" in message
    assert "statekeeper check" in message and "another writer" not in message
    assert isinstance(caught.value, IntegrityError)
    with sqlite3.connect(path) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM transitions WHERE instance = 'd-1'").fetchone()
    assert rows == 3


@pytest.mark.parametrize("damage", ["UPDATE mailbox SET result = '{broken'",
                                    "UPDATE mailbox SET at = 'yesterday'"])
def test_a_corrupted_mailbox_row_fails_only_sends_with_its_key(tmp_path: Path,
                                                                damage: str) -> None:
    """An idempotency key's remembered answer that cannot be read is named, never forgotten.

    Setting it aside would forget that the key was used, and a retried send would apply a
    second time; so only sends with that key fail, every other key and instance goes on, and
    ``statekeeper check`` lists the row.
    """
    from statekeeper.cli.main import main

    path = tmp_path / "doors.db"
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        client.start("door", "d-1")
        client.start("door", "d-2")
        client.send("d-1", "open", idempotency_key="k-1")
    _tamper(path, damage + " WHERE instance = 'd-1' AND key = 'k-1'")
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        for _ in range(2):
            with pytest.raises(IntegrityError, match=r"d-1"):
                client.send("d-1", "open", idempotency_key="k-1")
        assert client.send("d-1", "close", idempotency_key="k-2").state == "closed"
        assert client.send("d-2", "open", idempotency_key="k-1").state == "opened"
    with sqlite3.connect(path) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM transitions WHERE instance = 'd-1'").fetchone()
    assert rows == 3  # start, open, close: the refused key applied nothing
    assert main(["check", "--db", str(path)]) == 1


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_row_holding_non_standard_json_is_refused_on_read(tmp_path: Path,
                                                            constant: str) -> None:
    """Python's json reads ``NaN`` happily; no statekeeper writes it, so a row holding it was
    edited by hand or by another tool, and is refused like any corrupted row."""
    path = tmp_path / "doors.db"
    _started(path)
    good = json.dumps(_snapshot(path))
    bad = good.replace('"data": {}', f'"data": {{"x": {constant}}}')
    assert bad != good
    _tamper(path, "UPDATE instances SET snapshot = ? WHERE id = 'd-1'", bad)
    with Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        with pytest.raises(IntegrityError, match=r"d-1.*" + constant.lstrip("-")):
            client.send("d-1", "open")
        with pytest.raises(IntegrityError, match="d-1"):
            client.get("d-1")

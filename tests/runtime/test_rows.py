"""Instance rows keep the snapshot without what their columns hold, and refuse disagreement."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields, replace
from pathlib import Path

import pytest

from statekeeper import Chart, IntegrityError, State, VirtualClock
from statekeeper.client import Client
from statekeeper.core.errors import SnapshotError
from statekeeper.core.snapshot import Snapshot
from statekeeper.runtime.planner import _same_row
from statekeeper.runtime.rows import snapshot_from_row, snapshot_to_row

LAMP = Chart("lamp", version=3, initial="off", states={
    "off": State(on={"flip": "on"}),
    "on": State(on={"flip": "off"}),
})


def _client(path: Path) -> Client:
    client = Client(f"sqlite:///{path}", clock=VirtualClock(), worker=False)
    client.register(LAMP)
    return client


def _row_text(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        (text,) = conn.execute("SELECT snapshot FROM instances WHERE id = 'l-1'").fetchone()
    return json.loads(text)  # type: ignore[no-any-return]


def test_the_row_holds_what_its_columns_do_not(tmp_path: Path) -> None:
    path = tmp_path / "lamps.db"
    with _client(path) as client:
        client.start("lamp", "l-1", data={"watts": 40})
        client.send("l-1", "flip")
        record = client.store.load("l-1")
    stored = _row_text(path)
    assert not {"format", "chart", "hash", "session", "configuration"} & set(stored)
    assert stored["data"] == {"watts": 40} and stored["version"] == 3
    whole = snapshot_from_row(record)
    assert (whole.chart, whole.version, whole.session, whole.configuration) == (
        "lamp", 3, "l-1", ("on",))
    assert snapshot_to_row(whole) == record.snapshot


def test_a_row_with_the_whole_snapshot_reads_the_same(tmp_path: Path) -> None:
    # Rows written before the row form held every field: they keep working.
    path = tmp_path / "lamps.db"
    with _client(path) as client:
        client.start("lamp", "l-1")
        whole = snapshot_from_row(client.store.load("l-1"))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE instances SET snapshot = ? WHERE id = 'l-1'",
                     (json.dumps(whole.to_dict()),))
    with _client(path) as client:
        assert client.send("l-1", "flip").configuration == ("on",)
        assert client.send("l-1", "flip").configuration == ("off",)


@pytest.mark.parametrize(("key", "value"), [
    ("chart", "heater"), ("hash", "0" * 64), ("session", "l-2"), ("configuration", ["on"]),
    ("format", "someone.else/1"), ("version", 4),
])
def test_a_row_that_disagrees_with_itself_is_refused(tmp_path: Path, key: str,
                                                     value: object) -> None:
    path = tmp_path / "lamps.db"
    with _client(path) as client:
        client.start("lamp", "l-1")
    bad = json.dumps({**_row_text(path), key: value})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE instances SET snapshot = ? WHERE id = 'l-1'", (bad,))
    with _client(path) as client:
        with pytest.raises(IntegrityError, match="l-1"):
            client.send("l-1", "flip")
        with pytest.raises(SnapshotError, match=key):
            snapshot_from_row(client.store.load("l-1"))
    with sqlite3.connect(path) as conn:  # refused, never repaired
        (after,) = conn.execute("SELECT snapshot FROM instances WHERE id = 'l-1'").fetchone()
    assert after == bad


def test_a_row_snapshot_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    with _client(tmp_path / "lamps.db") as client:
        record = client.start("lamp", "l-1") and client.store.load("l-1")
        with pytest.raises(SnapshotError, match="JSON object"):
            snapshot_from_row(replace(record, snapshot=[1, 2]))  # type: ignore[arg-type]


#: snapshot fields the instance row keeps in columns of its own
IN_COLUMNS = {"chart", "hash", "session", "configuration"}


def test_the_row_form_keeps_every_other_snapshot_field() -> None:
    # A field added to Snapshot must reach the row (or be a column), or it would be lost.
    snapshot = Snapshot("lamp", 3, "h", "l-1", ("off",))
    assert set(snapshot_to_row(snapshot)) | IN_COLUMNS == {f.name for f in fields(Snapshot)}


def test_a_row_is_reused_only_when_every_row_field_is_the_same() -> None:
    # The planner keeps a row's encoded text when _same_row says nothing in it changed: every
    # field of the row form must take part in that test.
    snapshot = Snapshot("lamp", 3, "h", "l-1", ("off",), data={"n": 1})
    assert _same_row(snapshot, replace(snapshot, configuration=("on",)))
    for name in set(snapshot_to_row(snapshot)):
        changed = replace(snapshot, **{name: object()})
        assert not _same_row(snapshot, changed), name

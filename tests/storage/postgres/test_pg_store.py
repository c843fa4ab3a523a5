"""What only the PostgreSQL store has to say: values it cannot hold, lost connections, rows set
aside, and a schema it cannot use.  The behaviour it shares with every store is the contract
suite's (``tests/storage/test_contract.py`` runs it on PostgreSQL too)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from contract import advance, created, effect, step, timer, transition

from statekeeper import UnstorableValue
from statekeeper.storage import (
    DeadLetterRecord,
    MailboxRecord,
    SchemaTooNew,
    StoreError,
    StoreUnavailable,
)
from statekeeper.storage.postgres import SCHEMA_VERSION, PostgresStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(pg_url)
    store.migrate()
    yield store
    store.close()


@pytest.mark.parametrize(("where", "build"), [
    ("snapshot $.data.note", lambda c: replace(c, instance=replace(
        c.instance, snapshot={"data": {"note": "a\x00b"}}))),
    ("labels $.k", lambda c: replace(c, instance=replace(c.instance, labels={"k": "\x00"}))),
    ("snapshot $.data (a key)", lambda c: replace(c, instance=replace(
        c.instance, snapshot={"data": {"\x00": 1}}))),
    ("transition event", lambda c: replace(c, transitions=[transition("b", 2, event="go\x00")])),
    ("transition data $[1]", lambda c: replace(c, transitions=[transition("b", 2,
                                                                         data=[1, "\x00"])])),
    ("effect args $.x", lambda c: replace(c, effects=[effect("b", "b:fx", args={"x": "\x00"})])),
    ("timer event $.name", lambda c: replace(c, timers_set=[
        replace(timer("b", "t", 5.0), event={"name": "\x00"})])),
    ("mailbox result $.r", lambda c: replace(c, mailbox=MailboxRecord(
        "b", "k", "go", {"r": "\x00"}, 1.0))),
    ("dead letter payload $.p", lambda c: replace(c, dead_letters=[DeadLetterRecord(
        "event", "b", "k", {"p": "\x00"}, [], 1.0)])),
    # not PostgreSQL's alone: text no UTF-8 store holds (before, a raw UnicodeEncodeError)
    ("labels $.k", lambda c: replace(c, instance=replace(c.instance, labels={"k": "\ud800"}))),
    ("chart", lambda c: replace(c, instance=replace(c.instance, chart="x\udfff"))),
])
def test_nul_is_refused_by_name_and_nothing_is_stored(pg: PostgresStore, where: str,
                                                      build: Any) -> None:
    # jsonb cannot hold U+0000 in a string, nor text columns at all; SQLite can.  Before, the
    # driver's DataError (or the server's "unsupported Unicode escape") escaped as a StoreError
    # that did not say where, or as a raw psycopg error.
    good = advance(created(pg, "a"))
    bad = build(advance(created(pg, "b")))
    with pytest.raises(UnstorableValue, match=r"U\+0000|lone surrogate") as info:
        pg.apply([good, bad])
    assert info.value.path == f"instance 'b' {where}"
    assert isinstance(info.value, ValueError)
    assert (pg.load("a").rev, pg.load("b").rev) == (1, 1)
    assert pg.effects() == [] and pg.timers("b") == [] and pg.dead_letters() == []


def test_a_backslash_u0000_in_text_is_stored_as_written(pg: PostgresStore) -> None:
    # the six characters \u0000 are text like any other: only the character U+0000 is refused
    text = "\\u0000"
    rec = step(pg, created(pg, "a", labels={"k": text}).id,
               transitions=[transition("a", 2, event=text, data={text: text})])
    assert rec.labels == {"k": text}
    assert pg.history("a")[1].event == text and pg.history("a")[1].data == {text: text}


def test_a_lost_connection_is_store_unavailable_and_the_next_call_works(
        pg_url: str, pg_schema: str, raw_pg: Any) -> None:
    name = f"lost_{pg_schema}"  # only this test's connections are cut: the server is shared
    pg = PostgresStore(f"{pg_url}&application_name={name}&pool_min=2")
    pg.migrate()
    created(pg, "o-1")
    cut = raw_pg.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE application_name = %s", (name,)).fetchone()[0]
    assert cut >= 1
    outcomes = []
    for _ in range(3):  # the pool's connections were cut: each call fails once, then works
        try:
            outcomes.append(pg.load("o-1").rev)
        except StoreUnavailable as exc:
            assert "psycopg" not in type(exc).__module__
            outcomes.append(str(exc))
    assert outcomes[-1] == 1, outcomes
    assert any("lost" in str(o) or "ended the connection" in str(o) for o in outcomes)
    assert pg.integrity_check() == []
    pg.close()


def test_an_unmigrated_schema_says_migrate(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        with pytest.raises(StoreError, match=r"no statekeeper tables.*migrate\(\)"):
            store.load("o-1")
    finally:
        store.close()


def test_a_schema_from_a_newer_statekeeper_is_refused_on_open(pg: PostgresStore,
                                                              raw_pg: Any) -> None:
    raw_pg.execute("INSERT INTO schema_version (version, name) VALUES (%s, 'future')",
                   (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew, match="newer statekeeper"):
        PostgresStore(pg.settings)


def test_a_malformed_timer_row_is_set_aside_and_restored(pg: PostgresStore, raw_pg: Any,
                                                         caplog: Any) -> None:
    created(pg, "o-1")
    created(pg, "o-2")
    step(pg, "o-1", timers_set=[timer("o-1", "t", 5.0)])
    step(pg, "o-2", timers_set=[timer("o-2", "t", 6.0)])
    raw_pg.execute("""UPDATE timers SET event = '"not an object"' WHERE instance = 'o-1'""")
    assert [t.instance for t in pg.due_timers(10.0)] == ["o-2"]
    [letter] = pg.dead_letters()
    assert (letter.kind, letter.instance, letter.key) == ("row", "o-1", "t")
    assert "not a JSON object" in letter.errors[0]
    assert "set aside as dead letter" in caplog.text
    assert [t.instance for t in pg.due_timers(10.0)] == ["o-2"]  # once is enough
    assert letter.id is not None and pg.restore_row(letter.id) is True
    assert pg.dead_letters() == []
    row = raw_pg.execute("SELECT due, event::text, set_rev FROM timers "
                         "WHERE instance = 'o-1'").fetchone()
    assert row == (5.0, '"not an object"', 2)  # back exactly as it was


def test_a_malformed_outbox_row_is_set_aside_in_the_claim(pg: PostgresStore,
                                                          raw_pg: Any) -> None:
    created(pg, "o-1")
    step(pg, "o-1", effects=[effect("o-1", "o-1:a"), effect("o-1", "o-1:b")])
    raw_pg.execute("UPDATE outbox SET errors = '{}' WHERE key = 'o-1:a'")
    assert [e.key for e in pg.claim_effects("w", now=1.0, lease=10.0)] == ["o-1:b"]
    [letter] = pg.dead_letters()
    assert (letter.kind, letter.key) == ("row", "o-1:a")
    raw_pg.execute("INSERT INTO outbox SELECT * FROM jsonb_populate_record(NULL::outbox, "
                   "%s::jsonb)", (json.dumps(letter.payload["row"]),))
    with pytest.raises(StoreError, match="cannot be put back"):
        pg.restore_row(letter.id or 0)
    assert pg.dead_letter(letter.id or 0) == letter  # nothing lost


@pytest.mark.slow  # PostgreSQL finds a deadlock after deadlock_timeout (1 s by default)
def test_a_group_aborted_by_a_deadlock_is_run_again(pg_url: str, pg_schema: str,
                                                     raw_pg: Any) -> None:
    # Another writer holds d-1 and will want d-0; the group takes d-0, then waits for d-1.
    # PostgreSQL aborts one of the two.  If it is the group's transaction, the store runs it
    # again (before, the abort escaped as an error); either way the group lands whole.
    name = f"deadlock_{pg_schema}"
    pg = PostgresStore(f"{pg_url}&application_name={name}")
    pg.migrate()
    for iid in ("d-0", "d-1"):
        created(pg, iid)
    group = [advance(pg.load("d-0")), advance(pg.load("d-1"))]
    group.append(advance(replace(group[0].instance, rev=2)))  # two of d-0: written in order
    results: list[Any] = []
    raw_pg.execute("BEGIN")
    raw_pg.execute("SELECT 1 FROM instances WHERE id = 'd-1' FOR UPDATE")
    writer = threading.Thread(target=lambda: results.append(_apply(pg, group)))
    writer.start()
    while not raw_pg.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                             "%s AND wait_event_type = 'Lock'", (name,)).fetchone()[0]:
        pass  # until the group waits for d-1 (each look is a round trip, not a spin)
    try:
        raw_pg.execute("UPDATE instances SET updated_at = updated_at WHERE id = 'd-0'")
        raw_pg.execute("COMMIT")
    except Exception:  # noqa: BLE001 - the other writer was the one aborted: fine too
        raw_pg.execute("ROLLBACK")
    writer.join(timeout=60)
    pg.close()
    assert results == [[]]


def _apply(store: PostgresStore, group: list[Any]) -> Any:
    try:
        return store.apply(group)
    except StoreError as exc:
        return exc


_FLOATS = [1e16, 1e20, 1.5e300, -2.5e+17, 1.7976931348623157e308, 0.1, 1e-7, 5e-324, -0.0]


@pytest.mark.parametrize("value", _FLOATS)
def test_a_float_reads_back_as_that_float(pg: PostgresStore, value: float) -> None:
    # jsonb keeps numbers as decimals and writes 1.5e+300 back as 15 and 299 zeros, which
    # JSON reads as an int (and not the same number).  Before, such a float in the data came
    # back as an int: 1e+20 as 100000000000000000000, 1.5e+300 as another number.
    got = created(pg, "f", snapshot={"data": {"x": value, "s": "1e+20 in a string"}},
                  labels={"k": "2e+20"})
    iid = got.id
    step(pg, iid, effects=[effect(iid, "f:fx", args=[value, {"v": value}])],
         timers_set=[replace(timer(iid, "t", 5.0), event={"name": "t", "data": value})])
    assert got.snapshot["data"]["x"] == value and type(got.snapshot["data"]["x"]) is float
    assert got.snapshot["data"]["s"] == "1e+20 in a string" and got.labels == {"k": "2e+20"}
    [fx] = pg.effects(iid)
    assert fx.args == [value, {"v": value}] and {type(fx.args[0]), type(fx.args[1]["v"])} == {
        float}
    [tm] = pg.timers(iid)
    assert tm.event["data"] == value and type(tm.event["data"]) is float
    assert pg.put_policy_state("p", {"v": value}, expected_version=None, now=0.0)
    state = pg.policy_state("p")
    assert state is not None and state.value == {"v": value} and type(state.value["v"]) is float

"""The SQLite group writer's instance updates: one ``UPDATE ... FROM (VALUES ...)`` per chunk.

A group of plain steps updates its instance rows with one statement (``update_active_instances``),
or, on a SQLite older than 3.33, row by row (``update_active_instance``).  Both must leave the
same rows, counts and entry times, and a stale ``rev`` anywhere in the group must still be
found and lose alone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from contract import advance, created, seed_effects, transition

from statekeeper.storage import EffectFinish
from statekeeper.storage.sqlite import SQLiteStore, _batch


@pytest.fixture(params=[True, False], ids=["update-from", "row-by-row"])
def store(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> SQLiteStore:
    if request.param and not _batch.UPDATE_FROM:
        pytest.skip("this SQLite has no UPDATE ... FROM")
    monkeypatch.setattr(_batch, "UPDATE_FROM", request.param)
    opened = SQLiteStore(tmp_path / "groups.db")
    opened.migrate()
    request.addfinalizer(opened.close)
    return opened


def _state(store: SQLiteStore, ids: list[str]) -> list[tuple[object, ...]]:
    rows = store._db.read(lambda cur: cur.execute(
        "SELECT id, rev, configuration, snapshot, updated_at, entered_at FROM instances "
        "ORDER BY id").fetchall())
    counts = store._db.read(lambda cur: cur.execute(
        "SELECT configuration, count FROM configuration_counts WHERE count != 0 "
        "ORDER BY configuration").fetchall())
    return [tuple(r) for r in rows if r[0] in ids] + [tuple(c) for c in counts]


@pytest.mark.parametrize("size", [2, 3, 64, 65, 130])
def test_a_group_of_plain_steps_lands_whole(store: SQLiteStore, size: int) -> None:
    ids = [f"i-{n:03d}" for n in range(size)]
    records = [created(store, i) for i in ids]
    assert store.apply([advance(r, at=2.0) for r in records]) == []
    for i in ids:
        loaded = store.load(i)
        assert (loaded.rev, loaded.configuration, loaded.snapshot) == (2, ("s2",), {"data": {"n": 2}})
        assert [t.seq for t in store.history(i)] == [1, 2]
    # entered_at moved with the configuration; the counts followed every row
    assert {row[5] for row in _state(store, ids)[:size]} == {2.0}
    assert _state(store, ids)[size:] == [('["s2"]', size)]


def test_a_step_that_keeps_its_configuration_keeps_its_entry_time(store: SQLiteStore) -> None:
    a, b = created(store, "a"), created(store, "b")
    assert store.apply([advance(a, at=2.0), advance(b, at=2.0)]) == []
    a, b = store.load("a"), store.load("b")
    same = advance(a, at=3.0)  # a data change only: the configuration stays s2
    same.instance = replace(same.instance, configuration=a.configuration)
    assert store.apply([same, advance(b, at=3.0)]) == []
    entered = {row[0]: row[5] for row in _state(store, ["a", "b"])[:2]}
    assert entered == {"a": 2.0, "b": 3.0}
    assert store.load("a").snapshot == {"data": {"n": 3}}


def test_a_stale_rev_in_a_group_loses_alone(store: SQLiteStore) -> None:
    records = [created(store, i) for i in ("a", "b", "c")]
    stale = advance(records[1])
    assert store.apply([advance(records[1])]) == []  # another writer got there first
    group = [advance(records[0]), stale, advance(records[2])]
    assert store.apply(group) == [stale]
    assert [store.load(i).rev for i in ("a", "b", "c")] == [2, 2, 2]
    assert [len(store.history(i)) for i in ("a", "b", "c")] == [2, 2, 2]


def test_a_stale_rev_is_refused_by_the_update_itself(store: SQLiteStore) -> None:
    """Without a transition row, only the update's own rev check can refuse the commit."""
    records = [created(store, i) for i in ("a", "b")]
    stale = advance(records[1], transitions=[])
    assert store.apply([advance(records[1])]) == []
    assert store.apply([advance(records[0], transitions=[]), stale]) == [stale]
    assert store.load("b").snapshot == {"data": {"n": 2}} and store.load("b").rev == 2


def test_a_group_writes_each_commits_rows_in_the_narrowest_statement(
        store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain, keyed (an outcome's, a firing's) and full rows in one group: every column kept,
    each commit's rows together and in order."""
    kinds = {"p": {}, "k": {"idempotency_key": "key-k"}, "a": {"actor": "ann"},
             "r": {"reason": "why", "idempotency_key": "key-r"}, "t": {"trace_id": "t-1"}}
    records = {name: created(store, name) for name in kinds}
    used: list[str] = []
    write_rows = _batch.write_rows

    def spy(cur: object, query: str, rows: list[tuple[object, ...]]) -> int:
        used.append(query)
        return write_rows(cur, query, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(_batch, "write_rows", spy)
    group = [advance(rec, transitions=[
        transition(name, 2, **kinds[name]), transition(name, 3, **kinds[name])])
        for name, rec in records.items()]
    for commit in group:
        commit.instance = replace(commit.instance, rev=3)
    assert store.apply(group) == []
    assert sorted(q for q in used if q.startswith("insert_transition")) == [
        "insert_transition", "insert_transition_keyed", "insert_transition_plain"]
    for name, fields in kinds.items():
        rows = store.history(name)
        assert [r.seq for r in rows] == [1, 2, 3]
        for row in rows[1:]:
            assert {f: getattr(row, f) for f in ("actor", "trace_id", "reason",
                                                 "idempotency_key")} == {
                f: fields.get(f) for f in ("actor", "trace_id", "reason", "idempotency_key")}
    ids = store._db.read(lambda cur: cur.execute(
        "SELECT instance, seq FROM transitions WHERE seq > 1 ORDER BY id").fetchall())
    for name in kinds:  # one instance's rows in order of seq
        assert [seq for iid, seq in ids if iid == name] == [2, 3]


def _outbox(store: SQLiteStore) -> dict[str, tuple[object, ...]]:
    rows = store._db.read(lambda cur: cur.execute(
        "SELECT key, status, lease_owner, lease_until, last_error, errors FROM outbox"
    ).fetchall())
    return {r[0]: tuple(r[1:]) for r in rows}


def test_a_group_closes_its_effects_rows_as_one_by_one(store: SQLiteStore) -> None:
    """Outcomes closed by their lease holder without an error (one statement), with an error,
    without an owner: the rows end as ``finish_effect`` leaves them, one at a time."""
    keys = seed_effects(store, 5, 1)
    store.claim_effects("w1", now=1.0, lease=30.0)
    finishes = [EffectFinish(keys[0], "done", owner="w1"),
                EffectFinish(keys[1], "done", owner="w1"),
                EffectFinish(keys[2], "failed", "boom", owner="w1"),
                EffectFinish(keys[3], "done"),
                EffectFinish(keys[4], "dead", "gone", owner="w1")]
    group = [advance(store.load(f"e-{n:03d}"), effect_finished=finish)
             for n, finish in enumerate(finishes)]
    assert store.apply(group) == []
    rows = _outbox(store)
    assert [rows[k][:3] for k in keys] == [
        ("done", None, None), ("done", None, None), ("failed", None, None),
        ("done", None, None), ("dead", None, None)]
    assert [rows[k][3:] for k in keys] == [
        (None, "[]"), (None, "[]"), ("boom", '["boom"]'), (None, "[]"), ("gone", '["gone"]')]


def test_an_effect_closed_elsewhere_loses_alone_in_a_group(store: SQLiteStore) -> None:
    keys = seed_effects(store, 3, 1)
    store.claim_effects("w1", now=1.0, lease=30.0)
    late = advance(store.load("e-001"), effect_finished=EffectFinish(keys[1], "done",
                                                                     owner="w1"))
    assert store.apply([advance(store.load("e-001"), effect_finished=EffectFinish(
        keys[1], "done", owner="w1"))]) == []  # answered first, by another commit
    late.expected_rev, late.instance = 3, replace(late.instance, rev=4)
    late.transitions = [transition("e-001", 4)]
    group = [advance(store.load("e-000"), effect_finished=EffectFinish(keys[0], "done",
                                                                       owner="w1")),
             late,
             advance(store.load("e-002"), effect_finished=EffectFinish(keys[2], "done",
                                                                       owner="w1"))]
    assert store.apply(group) == [late]
    assert [_outbox(store)[k][0] for k in keys] == ["done", "done", "done"]
    # the late outcome's rev was current: only its closed outbox row made it lose
    assert [store.load(i).rev for i in ("e-000", "e-001", "e-002")] == [3, 3, 3]
    assert [t.seq for t in store.history("e-001")] == [1, 2, 3]

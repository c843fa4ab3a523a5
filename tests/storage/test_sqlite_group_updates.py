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
from contract import advance, created

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

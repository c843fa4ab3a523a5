"""The store contract, continued: groups of commits that change what a plain step keeps.

SQLite writes a group of plain steps with statements that do not touch the chart and status
columns (see ``update_active_instance`` in ``queries.sql``).  A commit that does change them
(an instance finishing, reopened, or renamed) must land exactly as well, whatever else shares
its group, and a stale one must still be refused.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from contract import advance, created, transition

from statekeeper.storage import MailboxRecord, Store


class GroupStoreContract:
    """Run once per backend by ``test_contract.py``."""

    def test_a_group_mixing_plain_steps_and_an_instance_finishing(self, store: Store) -> None:
        a, b, c = (created(store, i) for i in ("a", "b", "c"))
        done = advance(b)
        done.instance = replace(done.instance, status="done")
        assert store.apply([advance(a), done, advance(c)]) == []
        assert [store.load(i).status for i in ("a", "b", "c")] == ["active", "done", "active"]
        assert [store.load(i).rev for i in ("a", "b", "c")] == [2, 2, 2]

    def test_a_finished_instance_made_active_again_in_a_group(self, store: Store) -> None:
        a, b = created(store, "a"), created(store, "b", status="done")
        reopened = advance(b)
        reopened.instance = replace(reopened.instance, status="active")
        assert store.apply([advance(a), reopened]) == []
        assert (store.load("b").status, store.load("b").rev) == ("active", 2)
        assert [t.seq for t in store.history("b")] == [1, 2]

    def test_chart_version_and_labels_change_in_a_group(self, store: Store) -> None:
        a, b = created(store, "a"), created(store, "b")
        moved = advance(b)
        moved.instance = replace(moved.instance, chart="order-v2", version="2", hash="h2",
                                 labels={"tier": "gold"})
        assert store.apply([advance(a), moved]) == []
        got = store.load("b")
        assert (got.chart, got.version, got.hash, got.labels) == (
            "order-v2", "2", "h2", {"tier": "gold"})
        assert store.query(chart="order-v2") and store.query(chart="order-v2")[0].id == "b"

    def test_a_stale_plain_step_in_a_group_is_returned(self, store: Store) -> None:
        a, b = created(store, "a"), created(store, "b")
        assert store.apply([advance(b)]) == []  # someone else moved b on
        stale = advance(b)
        assert store.apply([advance(a), stale]) == [stale]
        assert (store.load("a").rev, store.load("b").rev) == (2, 2)
        assert [t.seq for t in store.history("b")] == [1, 2]

    @pytest.mark.parametrize("size", [1, 2, 63, 64, 65, 150])
    def test_groups_of_any_size_write_every_row_in_order(self, store: Store, size: int) -> None:
        ids = [f"g-{i:03d}" for i in range(size)]
        for iid in ids:
            created(store, iid)
        group = [advance(store.load(iid), mailbox=MailboxRecord(iid, "k", "go", {"i": n}, 1.0))
                 for n, iid in enumerate(ids)]
        assert store.apply(group) == []
        again = [advance(store.load(iid)) for iid in ids[: size // 2]]  # second steps of half
        assert store.apply(again) == []
        for n, iid in enumerate(ids):
            steps = 3 if n < size // 2 else 2
            assert [t.seq for t in store.history(iid)] == list(range(1, steps + 1))
            assert store.load(iid).rev == steps
            assert store.mailbox(iid, "k") == MailboxRecord(iid, "k", "go", {"i": n}, 1.0)

    @pytest.mark.parametrize("who", [(), ("b",), ("a", "b", "c")])
    def test_a_group_keeps_each_rows_actor_trace_reason_and_key(self, store: Store,
                                                                 who: tuple[str, ...]) -> None:
        # SQLite leaves the four columns out of a group in which all of them are None; a group
        # in which any row has one writes them all.  Either way each row reads back as written.
        ids = ("a", "b", "c")
        for iid in ids:
            created(store, iid)
        extra = {"actor": "ops", "trace_id": "t-1", "reason": "why", "idempotency_key": "k-1"}
        group = [advance(store.load(i), transitions=[transition(
            i, 2, **(extra if i in who else {}))]) for i in ids]
        assert store.apply(group) == []
        for iid in ids:
            row = store.history(iid)[-1]
            got = {k: getattr(row, k) for k in extra}
            assert got == (extra if iid in who else dict.fromkeys(extra))

    def test_a_collision_inside_a_large_group_loses_only_its_commit(self, store: Store) -> None:
        ids = [f"g-{i:03d}" for i in range(70)]
        for iid in ids:
            created(store, iid)
        racing = advance(store.load("g-040"))
        racing.transitions = [transition("g-040", 1)]  # seq 1 exists: someone wrote it first
        group = [advance(store.load(i)) if i != "g-040" else racing for i in ids]
        assert store.apply(group) == [racing]
        assert [store.load(i).rev for i in ids] == [1 if i == "g-040" else 2 for i in ids]
        assert len(store.history("g-039")) == 2 and len(store.history("g-040")) == 1

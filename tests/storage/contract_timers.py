"""The store contract, continued: timers read by a process that serves only some charts.

Run once per backend by ``test_contract.py``, like :class:`contract.StoreContract`.
"""

from __future__ import annotations

import pytest
from contract import created, step, timer

from statekeeper.storage import Store


class TimerStoreContract:
    """Due timers filtered by the charts of their instances."""

    def test_due_timers_of_some_charts_only(self, store: Store) -> None:
        # Many timers of a chart this process does not serve fall due first: they must not
        # fill the limit in place of the ones it can fire (nor come back on every scan).
        for n in range(5):
            created(store, f"x-{n}", chart="other")
            step(store, f"x-{n}", timers_set=[timer(f"x-{n}", "t", 1.0 + n)])
        created(store, "o-1")
        step(store, "o-1", timers_set=[timer("o-1", "late", 20.0), timer("o-1", "t", 10.0)])
        assert [t.instance for t in store.due_timers(20.0, limit=3)] == ["x-0", "x-1", "x-2"]
        mine = store.due_timers(20.0, limit=1, charts=["order"])
        assert [(t.instance, t.timer_id, t.due) for t in mine] == [("o-1", "t", 10.0)]
        assert [t.timer_id for t in store.due_timers(20.0, charts=("order", "else"))] == [
            "t", "late"]
        assert [t.instance for t in store.due_timers(2.0, charts=["order", "other"])] == [
            "x-0", "x-1"]
        assert store.due_timers(20.0, charts=[]) == []
        assert len(store.due_timers(20.0)) == 7  # None: every chart

    def test_charts_are_a_list_of_names(self, store: Store) -> None:
        for bad in ("order", [1], {"order"}):
            with pytest.raises(TypeError, match="list of chart names"):
                store.due_timers(1.0, charts=bad)  # type: ignore[arg-type]

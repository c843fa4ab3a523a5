"""The store contract, continued: the shadow log (what shadows compared, across processes)."""

from __future__ import annotations

from typing import Any

import pytest

from statekeeper.storage import Store
from statekeeper.storage.records import ShadowRecord


def record(chart: str = "lamp", n: int = 0, **changes: Any) -> ShadowRecord:
    fields: dict[str, Any] = {
        "chart": chart, "from_version": "1", "to_version": "2", "instance": f"i-{n}",
        "state": "off", "event": "flip", "kinds": ["data"] if n % 2 else [],
        "expected": ("on",), "got": ("on",), "at": 10.0 + n}
    fields.update(changes)
    return ShadowRecord(**fields)


class ShadowStoreContract:
    """Run once per backend by ``test_contract.py``."""

    def test_records_come_back_by_chart_in_order_a_page_at_a_time(
            self, store: Store, second_handle: Store) -> None:
        store.add_shadow_records([record(n=n) for n in range(5)] + [record("door", 9)])
        second_handle.add_shadow_records([record(n=5, state="on,dim", got=())])
        found = store.shadow_records("lamp")
        assert [r.instance for r in found] == [f"i-{n}" for n in range(6)]
        first = found[1]
        assert (first.kinds, first.expected, first.got, first.at) == (["data"], ("on",),
                                                                     ("on",), 11.0)
        assert found[5].state == "on,dim" and found[5].got == ()
        ids = [r.id for r in found]
        assert all(isinstance(i, int) for i in ids) and ids == sorted(ids)
        page = store.shadow_records("lamp", after=ids[2], limit=2)
        assert [r.instance for r in page] == ["i-3", "i-4"]
        assert [r.chart for r in second_handle.shadow_records("door")] == ["door"]
        assert store.integrity_check() == []
        assert store.delete_shadow_records("lamp") == 6
        assert store.shadow_records("lamp") == []
        assert len(store.shadow_records("door")) == 1

    @pytest.mark.parametrize("bad", [
        {"kinds": "data"}, {"expected": [1]}, {"instance": None}, {"at": float("nan")}])
    def test_a_bad_record_is_refused_and_nothing_written(self, store: Store,
                                                         bad: dict[str, Any]) -> None:
        with pytest.raises((TypeError, ValueError)):
            store.add_shadow_records([record(n=1), record(n=2, **bad)])
        assert store.shadow_records("lamp") == []

    @pytest.mark.parametrize(("after", "limit"), [(-1, 10), (0, 0), ("0", 10), (0, 1.5)])
    def test_bad_page_arguments_are_refused_alike(self, store: Store, after: Any,
                                                  limit: Any) -> None:
        with pytest.raises(ValueError):
            store.shadow_records("lamp", after=after, limit=limit)

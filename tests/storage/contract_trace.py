"""The store contract, continued: the trace context kept with outbox and timer rows.

Run once per backend by ``test_contract.py``, like :class:`contract.StoreContract`.  Why a
store must keep it: an effect claimed by another process, or a timer fired days later, reads
its row and nothing else, and its span continues the trace the row names.
"""

from __future__ import annotations

from contract import created, effect, step, timer

from statekeeper.storage import Store

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
OTHER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"


class TraceStoreContract:
    """``traceparent`` round-trips on every read of outbox and timer rows."""

    def test_outbox_rows_keep_their_traceparent(self, store: Store) -> None:
        created(store, "o-1")
        step(store, "o-1", effects=[effect("o-1", "k-1", traceparent=PARENT),
                                    effect("o-1", "k-2")])
        assert {e.key: e.traceparent for e in store.effects("o-1")} == {"k-1": PARENT,
                                                                        "k-2": None}
        claimed = store.claim_effects("w-1", 0.0, 30.0, limit=10)
        assert {e.key: e.traceparent for e in claimed} == {"k-1": PARENT, "k-2": None}

    def test_timer_rows_keep_their_traceparent_and_a_rearm_replaces_it(
            self, store: Store) -> None:
        created(store, "o-1")
        step(store, "o-1", timers_set=[timer("o-1", "t", 5.0, traceparent=PARENT),
                                       timer("o-1", "u", 6.0)])
        assert [(t.timer_id, t.traceparent) for t in store.due_timers(10.0)] == [
            ("t", PARENT), ("u", None)]
        assert [t.traceparent for t in store.timers("o-1")] == [PARENT, None]
        step(store, "o-1", timers_set=[timer("o-1", "t", 7.0, traceparent=OTHER)])
        assert [(t.timer_id, t.traceparent) for t in store.due_timers(10.0)] == [
            ("u", None), ("t", OTHER)]

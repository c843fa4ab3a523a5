"""The storage contract: the behaviour every ``Store`` backend must have, written once.

``test_contract.py`` runs :class:`StoreContract` against every backend through the ``store``
fixture (``conftest.py``), so the in-memory store that runtime unit tests use is held to the
same rules as SQLite (and, later, PostgreSQL).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from statekeeper.storage import (
    Commit,
    DeadLetterRecord,
    EffectFinish,
    EffectRecord,
    EffectRelease,
    InstanceRecord,
    MailboxRecord,
    Store,
    StoreError,
    TimerRecord,
    TransitionRecord,
    UnknownInstance,
)

# -- builders -----------------------------------------------------------------------------------


def make(iid: str = "o-1", **fields: Any) -> InstanceRecord:
    values: dict[str, Any] = {
        "chart": "order", "version": "1", "hash": "h1", "snapshot": {"data": {"n": 0}},
        "configuration": ("placed",), "labels": {}, "created_at": 0.0, "updated_at": 0.0}
    values.update(fields)
    return InstanceRecord(id=iid, **values)


def transition(iid: str, seq: int, **fields: Any) -> TransitionRecord:
    values: dict[str, Any] = {"event": "go", "source": ("a",), "target": ("b",),
                              "chart_version": "1", "outcome": "applied", "at": float(seq)}
    values.update(fields)
    return TransitionRecord(instance=iid, seq=seq, **values)


def created(store: Store, iid: str = "o-1", **fields: Any) -> InstanceRecord:
    """Create ``iid`` (with its first transition row, seq 1) and return it as stored."""
    commit = Commit(make(iid, **fields), None, transitions=[transition(iid, 1, event="init")])
    assert store.apply([commit]) == []
    return store.load(iid)


def advance(rec: InstanceRecord, *, at: float = 1.0, **fields: Any) -> Commit:
    """The next step of ``rec``: a new configuration and transition row ``seq = rev + 1``."""
    target = (f"s{rec.rev + 1}",)
    new = replace(rec, configuration=target, snapshot={"data": {"n": rec.rev + 1}}, updated_at=at)
    fields.setdefault("transitions", [transition(rec.id, rec.rev + 1, source=rec.configuration,
                                                 target=target, at=at)])
    return Commit(new, rec.rev, **fields)


def effect(iid: str, key: str, **fields: Any) -> EffectRecord:
    values: dict[str, Any] = {"name": "charge", "args": {"amount": 42}}
    values.update(fields)
    return EffectRecord(key=key, instance=iid, **values)


def timer(iid: str, timer_id: str, due: float, **fields: Any) -> TimerRecord:
    return TimerRecord(instance=iid, timer_id=timer_id, due=due,
                       event={"name": f"timeout.{timer_id}"}, **fields)


def step(store: Store, iid: str, **fields: Any) -> InstanceRecord:
    """Commit the next step of ``iid`` (asserting it applies) and return the new row."""
    assert store.apply([advance(store.load(iid), **fields)]) == []
    return store.load(iid)


def seed_effects(store: Store, instances: int, per_instance: int,
                 available_at: float = 0.0) -> list[str]:
    keys = []
    for i in range(instances):
        iid = f"e-{i:03d}"
        mine = [f"{iid}:{n:03d}" for n in range(per_instance)]
        created(store, iid)
        step(store, iid, effects=[effect(iid, k, available_at=available_at) for k in mine])
        keys += mine
    return keys


def seed_timers(store: Store) -> None:
    """Two instances with four pending timers: due 10 (twice), 30 and 50."""
    created(store, "o-1")
    created(store, "o-2")
    step(store, "o-1", timers_set=[timer("o-1", "b", 30.0), timer("o-1", "z", 10.0),
                                   timer("o-1", "c", 50.0, policy="skip")])
    step(store, "o-2", timers_set=[timer("o-2", "a", 10.0, target="o-1")])


class StoreContract:
    """Behaviour every Store must have; ``test_contract.py`` runs it once per backend."""

    # -- instances ------------------------------------------------------------------------------

    def test_create_then_load_round_trips_every_field(self, store: Store) -> None:
        rec = make("o-1", chart="order", version="2", hash="abc", status="active",
                   snapshot={"data": {"total": 42, "items": ["a"]}, "ok": True, "x": None},
                   configuration=("root", "placed"), labels={"region": "eu"},
                   created_at=5.0, updated_at=6.5)
        assert store.apply([Commit(rec, None)]) == []
        assert store.load("o-1") == replace(rec, rev=1)

    def test_sequences_may_be_lists_and_come_back_as_tuples(self, store: Store) -> None:
        rec = make("o-1", configuration=["root", "placed"])
        store.apply([Commit(rec, None, transitions=[
            transition("o-1", 1, source=[], target=["root", "placed"])])])
        assert store.load("o-1").configuration == ("root", "placed")
        assert store.history("o-1")[0].target == ("root", "placed")

    def test_load_many_reads_the_instances_that_exist(self, store: Store) -> None:
        a, b = created(store, "a"), created(store, "b", labels={"k": "v"})
        assert store.load_many(["b", "nope", "a", "b"]) == {"a": a, "b": b}
        assert store.load_many([]) == {}
        for bad in ("a", ["a", 1], None):
            with pytest.raises(TypeError, match="instance ids are a list of strings"):
                store.load_many(bad)  # type: ignore[arg-type]
        ids = [f"i-{n}" for n in range(1200)]  # more than SQLite binds in one statement
        store.apply([Commit(make(i), None, transitions=[transition(i, 1)]) for i in ids])
        assert sorted(store.load_many(ids)) == sorted(ids)

    def test_mailboxes_reads_the_keys_seen(self, store: Store) -> None:
        created(store, "a")
        created(store, "b")
        step(store, "a", mailbox=MailboxRecord("a", "k1", "go", {"n": 1}, 1.0))
        step(store, "b", mailbox=MailboxRecord("b", "k1", "go", {"n": 2}, 1.0))
        seen = store.mailboxes([("a", "k1"), ("a", "k2"), ("b", "k1"), ("c", "k1")])
        assert seen == {("a", "k1"): store.mailbox("a", "k1"),
                        ("b", "k1"): store.mailbox("b", "k1")}
        assert seen[("b", "k1")].result == {"n": 2}
        assert store.mailboxes([]) == {}
        for bad in ([("a",)], [("a", 1)], "ak", [["a", "k1"]]):
            with pytest.raises(TypeError, match=r"\(instance, key\) string pairs"):
                store.mailboxes(bad)  # type: ignore[arg-type]

    def test_unknown_instance(self, store: Store) -> None:
        with pytest.raises(UnknownInstance) as caught:
            store.load("nope")
        assert isinstance(caught.value, KeyError)
        assert caught.value.instance_id == "nope"
        with pytest.raises(UnknownInstance):
            store.history("nope")

    def test_records_are_copies_in_and_out(self, store: Store) -> None:
        snapshot: dict[str, Any] = {"data": {"items": [1]}, "pair": (1, 2)}
        rec = make("o-1", snapshot=snapshot, labels={"k": "v"})
        store.apply([Commit(rec, None)])
        snapshot["data"]["items"].append(2)
        rec.labels["k"] = "changed"
        loaded = store.load("o-1")
        # payloads come back as JSON gives them (a tuple is a list), on every backend
        assert loaded.snapshot == {"data": {"items": [1]}, "pair": [1, 2]}
        assert loaded.labels == {"k": "v"}
        loaded.snapshot["data"]["items"].append(3)
        assert store.load("o-1").snapshot["data"]["items"] == [1]

    def test_each_commit_bumps_rev_and_keeps_created_at(self, store: Store) -> None:
        rec = created(store, "o-1", created_at=5.0)
        assert rec.rev == 1
        commit = advance(rec, at=9.0)
        commit.instance = replace(commit.instance, rev=99, created_at=999.0)  # store decides
        assert store.apply([commit]) == []
        now = store.load("o-1")
        assert (now.rev, now.created_at, now.updated_at) == (2, 5.0, 9.0)
        assert now.configuration == ("s2",)

    def test_creating_an_existing_id_is_a_conflict(self, store: Store) -> None:
        created(store, "o-1")
        again = Commit(make("o-1", chart="other"), None, transitions=[transition("o-1", 2)])
        assert store.apply([again]) == [again]
        assert store.load("o-1").chart == "order"
        assert [t.seq for t in store.history("o-1")] == [1]

    def test_a_group_of_starts_lands_whole_or_loses_only_a_taken_id(self, store: Store) -> None:
        # a burst of starts is one group commit; mixed with steps of existing instances
        busy = created(store, "o-1")
        starts = [Commit(make(f"n-{n}"), None, transitions=[transition(f"n-{n}", 1)])
                  for n in range(3)]
        assert store.apply([*starts, advance(busy)]) == []
        assert [store.load(f"n-{n}").rev for n in range(3)] == [1, 1, 1]
        assert store.load("o-1").rev == 2
        taken = Commit(make("n-1", chart="other"), None, transitions=[transition("n-1", 1)])
        fresh = Commit(make("n-9"), None, transitions=[transition("n-9", 1)])
        assert store.apply([fresh, taken]) == [taken]
        assert store.load("n-1").chart == "order" and store.load("n-9").rev == 1
        assert [t.seq for t in store.history("n-1")] == [1]

    def test_a_stale_rev_is_returned_while_the_rest_of_the_group_lands(self, store: Store) -> None:
        a, b, c = (created(store, i) for i in ("a", "b", "c"))
        step(store, "b")  # someone else moved b on: rev 2
        stale = advance(b, effects=[effect("b", "b:fx")], timers_set=[timer("b", "t", 5.0)])
        group = [advance(a), stale, advance(c)]
        assert store.apply(group) == [stale]
        assert (store.load("a").rev, store.load("b").rev, store.load("c").rev) == (2, 2, 2)
        assert store.effects("b") == [] and store.timers("b") == []
        assert [t.seq for t in store.history("a")] == [1, 2]

    def test_updating_a_missing_instance_is_a_conflict(self, store: Store) -> None:
        ghost = Commit(make("ghost"), 3)
        assert store.apply([ghost]) == [ghost]
        with pytest.raises(UnknownInstance):
            store.load("ghost")

    def test_commits_of_one_group_apply_in_order(self, store: Store) -> None:
        rec = created(store, "o-1")
        first = advance(rec)
        second = advance(replace(first.instance, rev=2))
        assert store.apply([first, second]) == []
        assert store.load("o-1").rev == 3
        assert [t.seq for t in store.history("o-1")] == [1, 2, 3]

    def test_a_commit_built_on_a_lost_one_is_lost_too(self, store: Store) -> None:
        # Regression (found by tests/runtime/test_faults.py): another writer committed rev 2
        # first; the group's second commit expects rev 2 too, but was built on the group's own
        # first commit, which lost.  Landing it would mix two histories.
        rec = created(store, "o-1")
        step(store, "o-1")  # the other writer: rev 2
        first = advance(rec, timers_set=[timer("o-1", "t", 5.0)])
        second = advance(replace(first.instance, rev=2))
        assert store.apply([first, second]) == [first, second]
        assert store.load("o-1").rev == 2
        assert [t.seq for t in store.history("o-1")] == [1, 2]
        assert store.timers("o-1") == []

    def test_empty_group(self, store: Store) -> None:
        assert store.apply([]) == []

    # -- atomicity: a commit's rows appear if and only if its instance update did -------------

    def _everything(self, rec: InstanceRecord) -> Commit:
        iid = rec.id
        return advance(
            rec, effects=[effect(iid, f"{iid}:charge")], timers_set=[timer(iid, "new", 9.0)],
            timers_cancelled=["keep"], mailbox=MailboxRecord(iid, "req-1", "go", {"ok": 1}, 1.0),
            dead_letters=[DeadLetterRecord("event", iid, "k", {"e": 1}, ["boom"], 1.0)])

    def test_a_conflicting_commit_writes_none_of_its_rows(self, store: Store) -> None:
        rec = step(store, created(store, "o-1").id, timers_set=[timer("o-1", "keep", 3.0)])
        step(store, "o-1")
        assert store.apply([self._everything(rec)]) != []
        assert [t.seq for t in store.history("o-1")] == [1, 2, 3]
        assert store.effects() == [] and store.dead_letters() == []
        assert [t.timer_id for t in store.timers("o-1")] == ["keep"]
        assert store.mailbox("o-1", "req-1") is None

    def test_an_applied_commit_writes_all_of_its_rows(self, store: Store) -> None:
        rec = step(store, created(store, "o-1").id, timers_set=[timer("o-1", "keep", 3.0)])
        assert store.apply([self._everything(rec)]) == []
        assert [t.seq for t in store.history("o-1")] == [1, 2, 3]
        assert [e.key for e in store.effects()] == ["o-1:charge"]
        assert [t.timer_id for t in store.timers("o-1")] == ["new"]
        assert store.mailbox("o-1", "req-1") is not None
        assert [d.key for d in store.dead_letters()] == ["k"]

    @pytest.mark.parametrize("race", ["seq", "effect_key", "mailbox", "timer_gone",
                                      "effect_closed"])
    def test_races_the_rev_check_cannot_see_are_conflicts(self, store: Store, race: str) -> None:
        for iid in ("a", "b", "c"):
            created(store, iid)
        step(store, "b", effects=[effect("b", "b:fx")],
             mailbox=MailboxRecord("b", "req-1", "go", {}, 1.0))
        b = step(store, "b", effect_finished=EffectFinish("b:fx", "done"))
        racing = advance(b, timers_set=[timer("b", "t", 9.0)], effects=[effect("b", "b:new")])
        if race == "seq":
            racing.transitions = [transition("b", 2)]
        elif race == "effect_key":
            racing.effects.append(effect("b", "b:fx"))
        elif race == "mailbox":
            racing.mailbox = MailboxRecord("b", "req-1", "go", {"second": True}, 2.0)
        elif race == "timer_gone":
            racing.timer_fired = "never-set"
        else:
            racing.effect_finished = EffectFinish("b:fx", "failed", error="late")
        group = [advance(store.load("a")), racing, advance(store.load("c"))]
        assert store.apply(group) == [racing]
        assert store.load("b") == b
        assert store.timers("b") == [] and [e.key for e in store.effects("b")] == ["b:fx"]
        assert store.effects("b")[0].status == "done"
        assert store.mailbox("b", "req-1") == MailboxRecord("b", "req-1", "go", {}, 1.0)
        assert (store.load("a").rev, store.load("c").rev) == (2, 2)

    @pytest.mark.parametrize("flaw", ["status", "foreign_row", "not_json", "label_type",
                                      "state_id"])
    def test_a_malformed_commit_raises_and_writes_nothing(self, store: Store, flaw: str) -> None:
        good = advance(created(store, "a"))
        bad = advance(created(store, "b"))
        if flaw == "status":
            bad.instance = replace(bad.instance, status="paused")  # type: ignore[arg-type]
        elif flaw == "foreign_row":
            bad.effects = [effect("a", "a:fx")]
        elif flaw == "not_json":
            bad.instance = replace(bad.instance, snapshot={"s": {1, 2}})
        elif flaw == "label_type":
            bad.instance = replace(bad.instance, labels={"n": 1})  # type: ignore[dict-item]
        else:
            bad.instance = replace(bad.instance, configuration=("ok", 7))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"malformed commit|not one JSON can hold"):
            store.apply([good, bad])
        assert (store.load("a").rev, store.load("b").rev) == (1, 1)

    # -- the audit log and the mailbox ------------------------------------------------------------

    def test_history_is_in_seq_order(self, store: Store) -> None:
        created(store, "o-1")
        for _ in range(3):
            step(store, "o-1")
        rows = store.history("o-1")
        assert [t.seq for t in rows] == [1, 2, 3, 4]
        assert all(t.id is not None for t in rows)
        assert [t.id for t in rows] == sorted(t.id for t in rows if t.id is not None)
        assert [t.seq for t in store.history("o-1", limit=2)] == [1, 2]

    def test_history_after_a_seq(self, store: Store) -> None:
        created(store, "o-1")
        for _ in range(4):
            step(store, "o-1")
        assert [t.seq for t in store.history("o-1", after=2)] == [3, 4, 5]
        assert [t.seq for t in store.history("o-1", after=2, limit=2)] == [3, 4]
        assert [t.seq for t in store.history("o-1", after=0)] == [1, 2, 3, 4, 5]
        assert store.history("o-1", after=5) == []
        with pytest.raises(UnknownInstance):
            store.history("nobody", after=1)
        for wrong in ("2", 2.5, True, None):
            with pytest.raises(TypeError, match="after"):
                store.history("o-1", after=wrong)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="after"):
            store.history("o-1", after=-1)
        with pytest.raises(ValueError, match="limit"):
            store.history("o-1", limit=0)
        assert [t.seq for t in store.history("o-1")] == [1, 2, 3, 4, 5], "nothing was lost"

    def test_transition_rows_round_trip(self, store: Store) -> None:
        rec = created(store, "o-1")
        row = transition("o-1", 2, event="pay", source=("placed",), target=("paid",),
                         outcome="rejected", at=7.5, data={"amount": 3}, actor="alice",
                         trace_id="00-abc-01", reason="not accepted", idempotency_key="req-9",
                         microsteps=[{"exit": ["placed"]}])
        store.apply([advance(rec, transitions=[row])])
        assert store.history("o-1")[1] == replace(row, id=store.history("o-1")[1].id)

    def test_history_of_an_instance_without_rows(self, store: Store) -> None:
        store.apply([Commit(make("quiet"), None)])
        assert store.history("quiet") == []

    def test_mailbox_records_the_first_result_per_instance(self, store: Store) -> None:
        created(store, "o-1")
        created(store, "o-2")
        first = MailboxRecord("o-1", "req-7", "submit", {"state": ["offered"]}, 2.0)
        step(store, "o-1", mailbox=first)
        assert store.mailbox("o-1", "req-7") == first
        assert store.mailbox("o-1", "req-8") is None
        assert store.mailbox("o-2", "req-7") is None
        again = advance(store.load("o-1"), mailbox=replace(first, result={"state": ["x"]}))
        assert store.apply([again]) == [again]
        assert store.mailbox("o-1", "req-7") == first
        step(store, "o-2", mailbox=replace(first, instance="o-2"))  # keys are per instance

    # -- timers ----------------------------------------------------------------------------------

    def test_timers_due_together_come_in_the_order_they_were_set(self, store: Store) -> None:
        # not by id: an in-memory machine fires them in the order they were sent (SCXML queues
        # the events of equal delays in sending order), and so must every runtime
        created(store, "o-1")
        step(store, "o-1", timers_set=[timer("o-1", "z", 10.0), timer("o-1", "m", 10.0)])
        step(store, "o-1", timers_set=[timer("o-1", "a", 10.0), timer("o-1", "early", 5.0)])
        step(store, "o-1", timers_set=[timer("o-1", "m", 10.0)])  # re-armed: now the newest
        assert [t.timer_id for t in store.due_timers(10.0)] == ["early", "z", "a", "m"]
        assert [t.timer_id for t in store.timers("o-1")] == ["early", "z", "a", "m"]

    def test_due_timers_earliest_first(self, store: Store) -> None:
        assert store.next_timer_due() is None
        seed_timers(store)
        due = [(t.due, t.instance, t.timer_id) for t in store.due_timers(30.0)]
        assert due == [(10.0, "o-1", "z"), (10.0, "o-2", "a"), (30.0, "o-1", "b")]
        assert len(store.due_timers(30.0, limit=2)) == 2
        assert store.due_timers(9.99) == []
        assert store.next_timer_due() == 10.0
        assert [t.timer_id for t in store.timers("o-1")] == ["z", "b", "c"]
        assert store.timers("o-2") == [timer("o-2", "a", 10.0, target="o-1")]
        assert store.timers("o-1")[2].policy == "skip"

    def test_next_timer_due_after_a_time_skips_what_is_already_due(self, store: Store) -> None:
        # the worker's timer scan asks this for when to scan next, the timers due now being
        # already on their way to the engine
        assert store.next_timer_due(after=0.0) is None
        seed_timers(store)
        assert store.next_timer_due(after=5.0) == 10.0
        assert store.next_timer_due(after=10.0) == 30.0  # strictly after
        assert store.next_timer_due(after=30.5) == 50.0
        assert store.next_timer_due(after=50.0) is None
        assert store.next_timer_due(after=None) == 10.0
        for bad in ("10", True, float("nan")):
            with pytest.raises(TypeError, match="a time in seconds"):
                store.next_timer_due(after=bad)  # type: ignore[arg-type]
        assert store.next_timer_due(after=30) == 50.0  # an int is a time too

    def test_a_fired_timer_is_deleted_by_its_commit_once(self, store: Store) -> None:
        seed_timers(store)
        rec = step(store, "o-1", timer_fired="z")
        assert [t.timer_id for t in store.timers("o-1")] == ["b", "c"]
        twice = advance(rec, timer_fired="z")
        assert store.apply([twice]) == [twice]
        assert store.next_timer_due() == 10.0  # o-2's timer is untouched

    def test_a_group_of_timer_firings_lands_whole_or_loses_only_a_gone_timer(
            self, store: Store) -> None:
        # the worker hands a scan's due timers to the engine together: one group commit
        ids = [f"t-{n}" for n in range(5)]
        for iid in ids:
            created(store, iid)
            step(store, iid, timers_set=[timer(iid, "after", 10.0), timer(iid, "later", 20.0)])
        fire = [advance(store.load(iid), timer_fired="after",
                        mailbox=MailboxRecord(iid, f"timer:{iid}", "timeout.after", {}, 10.0),
                        timers_cancelled=["later"], timers_set=[timer(iid, "after", 30.0)])
                for iid in ids[:3]]
        assert store.apply(fire) == []
        for iid in ids[:3]:
            assert [(t.timer_id, t.due) for t in store.timers(iid)] == [("after", 30.0)]
            assert store.mailbox(iid, f"timer:{iid}") is not None
            assert store.load(iid).rev == 3
        gone = advance(store.load(ids[0]), timer_fired="later")  # cancelled above
        rest = [advance(store.load(iid), timer_fired="after") for iid in ids[3:]]
        assert store.apply([rest[0], gone, rest[1]]) == [gone]
        assert store.load(ids[0]).rev == 3 and store.timers(ids[0])[0].due == 30.0
        assert [store.timers(iid) for iid in ids[3:]] == [[timer(iid, "later", 20.0)]
                                                          for iid in ids[3:]]
        assert [store.load(iid).rev for iid in ids[3:]] == [3, 3]

    def test_a_group_closing_effects_lands_whole_or_loses_only_a_closed_one(
            self, store: Store) -> None:
        ids = [f"e-{n}" for n in range(4)]
        for iid in ids:
            created(store, iid)
            step(store, iid, effects=[effect(iid, f"{iid}:fx")])
        close = [advance(store.load(iid), effect_finished=EffectFinish(f"{iid}:fx", "done"))
                 for iid in ids[:2]]
        close.append(advance(store.load(ids[2]), effect_released=EffectRelease(
            f"{ids[2]}:fx", available_at=50.0, error="busy")))
        assert store.apply(close) == []
        assert [store.effects(iid)[0].status for iid in ids] == [
            "done", "done", "pending", "pending"]
        assert store.effects(ids[2])[0].available_at == 50.0
        again = advance(store.load(ids[0]), effect_finished=EffectFinish(f"{ids[0]}:fx", "failed",
                                                                         error="late"))
        last = advance(store.load(ids[3]), effect_finished=EffectFinish(f"{ids[3]}:fx", "done"))
        assert store.apply([again, last]) == [again]
        assert [store.effects(iid)[0].status for iid in (ids[0], ids[3])] == ["done", "done"]

    def test_cancel_and_rearm(self, store: Store) -> None:
        seed_timers(store)
        step(store, "o-1", timers_cancelled=["b", "never-set"])
        assert [t.timer_id for t in store.timers("o-1")] == ["z", "c"]
        step(store, "o-1", timers_cancelled=["z"], timers_set=[timer("o-1", "z", 99.0)])
        assert [(t.timer_id, t.due) for t in store.timers("o-1")] == [("c", 50.0), ("z", 99.0)]

    def test_a_closed_store_refuses_calls(self, store: Store) -> None:
        created(store, "o-1")
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.load("o-1")

"""Audit queries and prunes agree with a plain model on generated logs (Hypothesis).

The model is the log as a list, filtered and sorted the obvious way.  Whatever the log (times
shared by many rows, rare and common actors, rejected rows) and the filters, the memory and
SQLite stores return the model's rows in the model's order, paging by the cursor walks exactly
the unpaged result, and a prune deletes (and archives) exactly the beginning of each log that
is old, never an instance's last row, never leaving a gap.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from contract import advance, created, transition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statekeeper.runtime.retention import prune_log
from statekeeper.storage import MemoryStore, SQLiteStore, Store
from statekeeper.storage.audit import AuditFilter

STATES = ("a", "b", "c")
#: one step: instance, time (few values: many ties), event, actor, outcome, target state
steps = st.lists(st.tuples(
    st.sampled_from(["i-1", "i-2", "j-1"]), st.sampled_from([1.0, 2.0, 3.0, 4.0]),
    st.sampled_from(["go", "stop"]), st.sampled_from([None, "ann", "bob"]),
    st.sampled_from(["applied", "applied", "rejected", "ignored"]), st.sampled_from(STATES)),
    max_size=20)
filters = st.fixed_dictionaries({}, optional={
    "instance": st.sampled_from(["i-1", "j-1", "x"]),
    "chart": st.sampled_from(["order", "drip"]),
    "actor": st.sampled_from(["ann", "bob"]),
    "event": st.sampled_from(["go", "stop", "statekeeper.start"]),
    "state": st.sampled_from(STATES),
    "outcome": st.sampled_from(["applied", "rejected", "ignored"]),
    "since": st.sampled_from([0.0, 2.0, 3.5]),
    "until": st.sampled_from([1.0, 3.0, 9.0]),
})


def _fill(store: Store, log: list[tuple[Any, ...]]) -> None:
    store.migrate()
    for iid in ("i-1", "i-2", "j-1"):
        created(store, iid, chart="drip" if iid.startswith("j") else "order",
                configuration=("a",))
    for iid, at, event, actor, outcome, target in log:
        rec = store.load(iid)
        moved = target if outcome == "applied" else rec.configuration[0]
        row = transition(iid, rec.rev + 1, event=event, at=at, actor=actor, outcome=outcome,
                         source=rec.configuration, target=(moved,))
        commit = advance(rec, at=at, transitions=[row])
        commit.instance = replace(commit.instance, configuration=(moved,))
        assert store.apply([commit]) == []


def _model(store: Store, query: dict[str, Any]) -> list[tuple[str, int]]:
    charts = {iid: store.load(iid).chart for iid in ("i-1", "i-2", "j-1")}
    rows = [r for iid in charts for r in store.history(iid)]
    rows.sort(key=lambda r: (r.at, r.id))
    keep = []
    for r in rows:
        checks = {"instance": r.instance, "chart": charts[r.instance], "actor": r.actor,
                  "event": r.event, "outcome": r.outcome}
        if any(query[k] != v for k, v in checks.items() if k in query):
            continue
        if "state" in query and query["state"] not in (*r.source, *r.target):
            continue
        if not query.get("since", -1.0) <= r.at < query.get("until", 99.0):
            continue
        keep.append((r.instance, r.seq))
    return keep


def _paged(store: Store, filters: AuditFilter, limit: int) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    after = None
    while page := store.audit(filters, limit=limit, after=after):
        found += [(r.instance, r.seq) for r in page]
        after = (page[-1].at, page[-1].id or 0)
    return found


def _prune_like_the_model(store: Store, before: float, archive: Path) -> None:
    """A prune deletes, of each log, the old rows from its first on, up to one that is not
    old (times need not rise with ``seq``), never an instance's last row; and archives them."""
    doomed: list[tuple[str, int]] = []
    last = {}
    for iid in ("i-1", "i-2", "j-1"):
        log = store.history(iid)
        last[iid] = log[-1].seq
        for row in log[:-1]:
            if row.at >= before:
                break
            doomed.append((iid, row.seq))
    report = prune_log(store, before, archive)
    archived = [json.loads(line) for line in archive.read_text("utf-8").splitlines()]
    assert sorted((x["instance"], x["seq"]) for x in archived) == sorted(doomed)
    assert report.archived == report.deleted == len(doomed)
    assert store.integrity_check() == []
    left = [(r.instance, r.seq) for r in store.audit(AuditFilter())]
    assert set(left).isdisjoint(doomed)
    assert set(last.items()) <= set(left)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=steps, queries=st.lists(filters, min_size=1, max_size=5),
       limit=st.integers(1, 4), before=st.sampled_from([0.5, 2.0, 3.0, 10.0]))
def test_every_store_answers_as_the_model(log: list[tuple[Any, ...]],
                                          queries: list[dict[str, Any]], limit: int,
                                          before: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[Store] = [MemoryStore(), SQLiteStore(Path(tmp) / "a.db")]
        try:
            for store in stores:
                _fill(store, log)
                for query in queries:
                    expected = _model(store, query)
                    filters = AuditFilter(**query)
                    assert [(r.instance, r.seq) for r in store.audit(filters)] == expected
                    assert _paged(store, filters, limit) == expected
                _prune_like_the_model(store, before, Path(tmp) / f"{type(store).__name__}.jsonl")
        finally:
            for store in stores:
                store.close()

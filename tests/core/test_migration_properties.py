"""Hypothesis: over generated charts and state maps, a migrated instance is always legal.

Two unrelated generated charts play the old and the new version; the old one is run through
an event sequence; a state map is drawn that maps every reachable old state the new chart
lacks (and some others) to a random new state or to ``None``.  Whatever is drawn, mapping the
snapshot either gives a snapshot the new chart accepts in full (``Snapshot.validate``: a legal
configuration, history inside its parent, timers of its own), or is refused with a
:class:`MigrationError` that names the instance; never anything else.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from statekeeper import Migration, MigrationError
from statekeeper.core._migrate_map import migrate_snapshot
from statekeeper.core.compile import AFTER_PREFIX
from statekeeper.core.migration import check_migration
from statekeeper.core.nodes import HISTORY, ROOT_ID
from statekeeper.core.validate import _reachable
from statekeeper.testing.reference import run_pure
from statekeeper.testing.strategies import (
    GeneratedChart,
    charts,
    event_sequences,
    suite_settings,
)


@st.composite
def migrations(draw: st.DrawFn) -> tuple[Any, Any, Any, Migration]:
    generated = draw(charts(max_states=9))
    other = draw(charts(max_states=9))
    old = generated.compile()
    new = GeneratedChart(replace(other.chart, version=2), other.guards, other.functions).compile()
    items = draw(event_sequences(generated, max_size=12))
    snapshot = run_pure(old, items).records[-1].snapshot if items else run_pure(old, []).start
    targets = [n for n in new.nodes if n != ROOT_ID and new.nodes[n].kind != HISTORY]
    states: dict[str, str | None] = {}
    for node in sorted(_reachable(old.root), key=lambda n: n.order):
        if node.kind == HISTORY:
            continue
        if node.id not in new.nodes or draw(st.integers(0, 3)) == 0:
            states[node.id] = draw(st.sampled_from([*targets, None]))
    policy = draw(st.sampled_from(["keep", "rearm", "cancel"]))
    history = draw(st.sampled_from(["map", "drop"]))
    migration = Migration("generated", 1, 2, states=states, timers=policy, history=history)
    return old, new, snapshot, migration


@suite_settings(max_examples=150)
@given(migrations())
def test_a_migrated_instance_is_always_a_legal_state_of_the_new_chart(
        case: tuple[Any, Any, Any, Migration]) -> None:
    old, new, snapshot, migration = case
    check_migration(migration, old, new)  # complete by construction: accepted
    try:
        moved = migrate_snapshot(migration, old, new, snapshot, now=50.0)
    except MigrationError as exc:
        assert repr(snapshot.session) in str(exc)
        return
    after = moved.snapshot
    after.validate(new)
    assert (after.chart, after.version, after.hash) == (new.name, new.version, new.hash)
    for sid in snapshot.configuration:  # every mapped state is where the map said
        target = migration.target(sid)
        if target is not None:
            assert target in after.configuration
    for tid in after.timers:
        if tid.startswith(AFTER_PREFIX):  # an after timer belongs to an active state
            assert tid[len(AFTER_PREFIX):].rpartition(".")[0] in after.configuration
    if migration.timers == "cancel":
        assert after.timers == {}
    assert set(moved.timers_cancelled) == set(snapshot.timers) - set(after.timers)

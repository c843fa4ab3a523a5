"""The state-agreement check: a library is only timed if it computes the same states.

Timing a machine that does something different from statekeeper's would compare unlike work,
so before any timing the same event stream is run through every library and the active leaf
states after each event are compared, first with the reference model in :mod:`.shapes` and
then with statekeeper's own trace.  A disagreement is described precisely (which event, what
was expected, what the library had) so it can be fixed rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .adapters.base import Adapter
from .shapes import SHAPES

__all__ = ["Trace", "check_agreement", "first_difference", "reference_trace", "trace"]

Trace = list[frozenset[str]]


def trace(adapter: Adapter, factory: Any, events: Sequence[str]) -> Trace:
    """Return the active leaves of a new instance, then after each event of ``events``."""
    instance = adapter.new_instance(factory)
    send = adapter.bind(instance)
    leaves = adapter.leaves
    states = [leaves(instance)]
    for event in events:
        send(event)
        states.append(leaves(instance))
    return states


def reference_trace(shape: str, events: Sequence[str]) -> Trace:
    """Return the trace the reference model of ``shape`` predicts for ``events``."""
    model = SHAPES[shape]
    current = model.initial
    states = [current]
    for event in events:
        current = model.step(current, event)
        states.append(current)
    return states


def first_difference(expected: Trace, got: Trace, events: Sequence[str]) -> str | None:
    """Return ``None`` if the traces agree, else where and how they first differ."""
    for i, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            where = "initially" if i == 0 else f"after event #{i} {events[i - 1]!r}"
            return f"{where}: expected {sorted(want)}, got {sorted(have)}"
    if len(expected) != len(got):
        return f"trace has {len(got)} entries, expected {len(expected)}"
    return None


def check_agreement(
    adapter: Adapter,
    shape: str,
    factory: Any,
    events: Sequence[str],
    baseline: Trace | None = None,
    baseline_name: str = "statekeeper",
) -> tuple[Trace, str | None]:
    """Run ``events`` through ``adapter`` and compare with the model and with ``baseline``.

    Returns:
        The library's trace and ``None`` if it agrees, else a description of the mismatch.

    """
    got = trace(adapter, factory, events)
    problem = first_difference(reference_trace(shape, events), got, events)
    if problem is not None:
        return got, f"disagrees with the reference model {problem}"
    if baseline is not None:
        problem = first_difference(baseline, got, events)
        if problem is not None:
            return got, f"disagrees with {baseline_name} {problem}"
    return got, None

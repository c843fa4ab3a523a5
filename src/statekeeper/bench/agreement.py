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
from .data_shapes import DATA_SHAPES, Send
from .shapes import SHAPES

__all__ = [
    "Final",
    "Trace",
    "check_agreement",
    "check_data_agreement",
    "final_of",
    "final_problem",
    "first_difference",
    "reference_trace",
    "trace",
]

#: What an instance ended in: its active leaves and (for data-driven shapes) its data.
Final = tuple[frozenset[str], dict[str, int]]

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


def final_of(adapter: Adapter, shape: str, instance: Any) -> Final:
    """Return the leaves and, for a data-driven ``shape``, the data of ``instance``."""
    leaves = adapter.leaves(instance)
    model = DATA_SHAPES.get(shape)
    return leaves, ({} if model is None else adapter.data(instance, list(model.data)))


def final_problem(expected: Final, got: Final) -> str | None:
    """Return ``None`` if ``got`` is ``expected``, else what differs, state and data."""
    if got == expected:
        return None
    parts = []
    if got[0] != expected[0]:
        parts.append(f"state {sorted(got[0])}, expected {sorted(expected[0])}")
    wrong = {key: (got[1].get(key), want) for key, want in expected[1].items()
             if got[1].get(key) != want}  # fmt: skip
    if wrong:
        parts.append("data " + ", ".join(f"{k}={have!r} (expected {want!r})"
                                         for k, (have, want) in wrong.items()))  # fmt: skip
    return "; ".join(parts)


def check_data_agreement(adapter: Adapter, shape: str, factory: Any,
                         stream: Sequence[Send]) -> str | None:
    """Run a data-driven ``stream`` and compare leaves and data with the model after each event.

    Returns:
        ``None`` if the library agrees throughout, else the first difference.

    """
    model = DATA_SHAPES[shape]
    instance = adapter.new_instance(factory)
    send = adapter.bind_data(instance)
    expected: Final = (model.initial, dict(model.data))
    problem = final_problem(expected, final_of(adapter, shape, instance))
    if problem is not None:
        return f"disagrees with the reference model initially: {problem}"
    for i, (event, payload) in enumerate(stream, 1):
        send(event, payload)
        expected = model.step(expected[0], expected[1], event, payload)
        problem = final_problem(expected, final_of(adapter, shape, instance))
        if problem is not None:
            return f"disagrees with the reference model after event #{i} {event}{payload}: {problem}"
    return None

"""Measurements: ns per event, microseconds per new instance and bytes per live instance.

All three follow the same rules for every library so the ratios mean something: the code under
test is warmed up first, the garbage collector is paused while the clock runs (a collection
landing in one library's run and not another's would be noise, not a property of the library)
and restored afterwards, each repeat starts from a fresh instance, and the best repeat is
reported (the run least disturbed by the rest of the machine).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .adapters.base import Adapter

__all__ = ["gc_paused", "measure_bytes", "percentile", "time_create", "time_dispatch"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collect, then keep the cyclic garbage collector off until the block ends."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def time_dispatch(
    adapter: Adapter,
    factory: Any,
    events: Sequence[str],
    repeats: int,
    *,
    warmup: int = 1000,
    min_repeats: int = 2,
    budget_s: float = 5.0,
    final: frozenset[str] | None = None,
) -> float:
    """Best-of-``repeats`` nanoseconds per event for running ``events`` through a new instance.

    Stops after ``min_repeats`` once the repeats have taken ``budget_s`` seconds, so the slow
    libraries do not make a full run take many minutes; fast ones always get every repeat.
    With ``final``, each timed instance must end in those leaves, which proves the timed loop
    really processed the whole stream (and did not, say, only queue it).

    Raises:
        RuntimeError: a timed instance did not end in ``final``.

    """
    adapter.run(adapter.new_instance(factory), events[:warmup])
    best = float("inf")
    spent = 0
    clock = time.perf_counter_ns
    for i in range(max(repeats, 1)):
        instance = adapter.new_instance(factory)
        with gc_paused():
            start = clock()
            adapter.run(instance, events)
            elapsed = clock() - start
        if final is not None and (leaves := adapter.leaves(instance)) != final:
            raise RuntimeError(f"timed run ended in {sorted(leaves)}, expected {sorted(final)}")
        best = min(best, elapsed)
        spent += elapsed
        if i + 1 >= min_repeats and spent > budget_s * 1e9:
            break
    return best / len(events)


def time_create(
    adapter: Adapter,
    factory: Any,
    batch: int,
    repeats: int,
    *,
    budget_s: float = 5.0,
) -> float:
    """Best-of-``repeats`` microseconds per instance, creating ``batch`` live instances a repeat."""
    make = adapter.creator(factory)
    adapter.release(factory, [make() for _ in range(10)])  # warm-up
    best = float("inf")
    spent = 0
    clock = time.perf_counter_ns
    for i in range(max(repeats, 1)):
        with gc_paused():
            start = clock()
            instances = [make() for _ in range(batch)]
            elapsed = clock() - start
        adapter.release(factory, instances)
        del instances
        best = min(best, elapsed)
        spent += elapsed
        if i >= 1 and spent > budget_s * 1e9:
            break
    return best / batch / 1000.0


def measure_bytes(adapter: Adapter, factory: Any, count: int) -> float:
    """Traced bytes per instance with ``count`` instances alive (after one warm-up instance).

    The list that keeps them alive is allocated before tracing starts, so only the instances
    (and whatever the library allocates per instance elsewhere, e.g. registries) are counted.
    """
    make = adapter.creator(factory)
    warm = [make()]
    slots: list[Any] = [None] * count
    owns_tracing = not tracemalloc.is_tracing()
    with gc_paused():
        if owns_tracing:
            tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(count):
                slots[i] = make()
            gc.collect()  # drop construction garbage; the instances themselves stay alive
            after = tracemalloc.get_traced_memory()[0]
        finally:
            if owns_tracing:
                tracemalloc.stop()
    adapter.release(factory, warm + slots)
    return (after - before) / count


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = -(-len(sorted_values) * int(pct * 1000) // 100_000)  # ceil, in integers
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]

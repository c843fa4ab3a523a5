"""Measurements: time per event, microseconds per new instance and bytes per live instance.

The same rules hold for every library so the ratios mean something: the code under test is
warmed up first (by the agreement check), the garbage collector is paused while the clock runs
(a collection landing in one library's run and not another's would be noise, not a property of
the library) and restored afterwards, and each repetition starts from a fresh instance.
Dispatch is timed as CPU time of the running thread beside wall time, over repetitions that
run every library in turn (round-robin), and the median is reported: on a shared machine a
burst of load then lands on every library's samples alike instead of on one library's run.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .adapters.base import Adapter
from .agreement import Final, final_of, final_problem
from .data_shapes import DATA_SHAPES

__all__ = [
    "Cell",
    "FinalMismatch",
    "gc_paused",
    "measure_bytes",
    "per_event_us",
    "percentile",
    "time_create",
    "time_interleaved",
    "time_once",
]


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


@dataclass
class Cell:
    """One library on one shape: what to run, what it must end in, and the samples taken.

    ``run`` sends the whole ``stream`` to a new instance (the adapter's timed loop for static
    or data-driven streams); ``expected`` is the reference model's final leaves and data for
    that stream, checked after every timed repetition.
    """

    library: str
    shape: str
    adapter: Adapter
    factory: Any
    stream: Sequence[Any]
    expected: Final
    wall_ns: list[int] = field(default_factory=list)
    cpu_ns: list[int] = field(default_factory=list)

    def run(self, instance: Any) -> None:
        """Send the stream: by name for static shapes, with payloads for data-driven ones."""
        if self.shape in DATA_SHAPES:
            self.adapter.run_data(instance, self.stream)
        else:
            self.adapter.run(instance, self.stream)


class FinalMismatch(RuntimeError):
    """A timed instance did not end in the reference model's state and data."""


def time_once(cell: Cell) -> None:
    """Time one repetition of ``cell`` (wall and CPU of this thread) and check where it ended.

    The instance is made before the clocks start; the collector is paused while they run.

    Raises:
        FinalMismatch: the instance's final state or data differ from the reference model's.

    """
    instance = cell.adapter.new_instance(cell.factory)
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    with gc_paused():
        wall0, cpu0 = wall(), cpu()
        cell.run(instance)
        cpu1, wall1 = cpu(), wall()
    problem = final_problem(cell.expected, final_of(cell.adapter, cell.shape, instance))
    if problem is not None:
        raise FinalMismatch(f"{cell.library} {cell.shape}: timed run ended wrong: {problem}")
    cell.wall_ns.append(wall1 - wall0)
    cell.cpu_ns.append(cpu1 - cpu0)


def time_interleaved(cells: Sequence[Cell], repeats: int,
                     progress: Callable[[str], None] | None = None) -> None:
    """Time every cell ``repeats`` times, round-robin, so machine noise hits all alike.

    Each round runs every cell once; the order rotates by one cell each round so no library
    always runs right after the same neighbour.
    """
    for round_no in range(repeats):
        if progress is not None:
            progress(f"round {round_no + 1}/{repeats}: {len(cells)} cells")
        shift = round_no % max(len(cells), 1)
        for cell in [*cells[shift:], *cells[:shift]]:
            time_once(cell)


def per_event_us(samples: Sequence[int], events: int) -> float:
    """The median of ``samples`` (ns for the whole stream) in microseconds per event."""
    return statistics.median(samples) / events / 1000.0


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

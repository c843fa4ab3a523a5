"""Python's garbage collections timed during a benchmark, and whether they made the tail.

Why: the timers benchmark's p99 lateness could be a growing backlog or pauses; a full
collection (generation 2) holds the GIL for tens of milliseconds while nothing commits.
:class:`GcPauses` times every collection through :data:`gc.callbacks`; :meth:`GcPauses.report`
says how many of each generation ran in a window, their total and longest pause, and which
share of the latest fires had a full collection inside their wait (from due time to fire).
"""

from __future__ import annotations

import bisect
import gc
import time
from types import TracebackType
from typing import Any

__all__ = ["GcPauses"]


class GcPauses:
    """Records (generation, wall-clock start, seconds, CPU seconds) of each collection.

    The CPU seconds are the collecting thread's (:func:`time.thread_time`): on a busy machine
    the wall-clock pause also holds the time the OS gave the thread's core to others.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float, float]] = []
        self._began = (0.0, 0.0, 0.0)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = (time.time(), time.perf_counter(), time.thread_time())
        else:
            wall, counter, cpu = self._began
            self.pauses.append((int(info["generation"]), wall, time.perf_counter() - counter,
                                time.thread_time() - cpu))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        gc.callbacks.remove(self._callback)

    def report(self, start: float, end: float, waits: list[tuple[float, float]],
               late_ms: float) -> dict[str, Any]:
        """Collections that began in ``[start, end]`` (wall clock), and the tail they made.

        Per generation: how many, their wall-clock pauses (total and longest) and the CPU
        time they took (total and longest).

        ``waits`` are ``(due, fired)`` wall-clock times; of those that waited ``late_ms`` or
        more, ``late_with_full`` is the share whose wait held a full collection.
        """
        inside = [p for p in self.pauses if start <= p[1] <= end]
        out: dict[str, Any] = {}
        for generation in (0, 1, 2):
            mine = [p for p in inside if p[0] == generation]
            out[f"gen{generation}"] = {
                "count": len(mine), "total_ms": round(sum(p[2] for p in mine) * 1000.0, 1),
                "max_ms": round(max((p[2] for p in mine), default=0.0) * 1000.0, 1),
                "cpu_total_ms": round(sum(p[3] for p in mine) * 1000.0, 1),
                "cpu_max_ms": round(max((p[3] for p in mine), default=0.0) * 1000.0, 1)}
        fulls = sorted(p[1] for p in inside if p[0] == 2)
        late = [(due, fired) for due, fired in waits if (fired - due) * 1000.0 >= late_ms]
        held = sum(1 for due, fired in late
                   if bisect.bisect_right(fulls, fired) > bisect.bisect_left(fulls, due))
        out["late_ms"] = round(late_ms, 2)
        out["late_fires"] = len(late)
        out["late_with_full"] = round(held / len(late), 3) if late else None
        return out

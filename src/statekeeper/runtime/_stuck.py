"""Stuck thresholds: how long an instance may stay in a state before it counts as stuck.

Apart from :mod:`.gauges` (which re-exports the public names) because the thresholds come
from two places that must be combined one way: the operator (``Client(stuck_after=)``,
``statekeeper worker --stuck-after``) and the charts themselves (``State(stuck_after=)``).
Which wins, most specific first (:class:`Thresholds`):

1. the operator's ``CHART:STATE``: an operator tunes one chart's alert at once, without a
   release of the chart;
2. the chart's own ``State(stuck_after=...)``, as the newest registered version that has the
   state declares it: the chart's author knows how long a state should last;
3. the operator's bare ``STATE``: a default across charts, for states that declare none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..core.compile import CompiledChart
from ..core.durations import Duration, parse_duration
from ..core.errors import StatekeeperError
from ..core.model import State

__all__ = ["InvalidStuckAfter", "StuckAfter", "Thresholds", "declared_stuck_after",
           "parse_stuck_after"]


class InvalidStuckAfter(StatekeeperError, ValueError):
    """A stuck threshold that is not ``STATE`` or ``CHART:STATE`` with a duration."""


@dataclass(frozen=True, slots=True)
class StuckAfter:
    """Instances in ``state`` (of ``chart``, or of any chart: ``None``) are stuck after ``seconds``."""

    chart: str | None
    state: str
    seconds: float


def parse_stuck_after(spec: Mapping[str, Duration] | None, *,
                      metered: bool = True) -> tuple[StuckAfter, ...]:
    """``{"STATE": "1h", "CHART:STATE": "5m"}`` as thresholds; a chart's own one wins.

    ``metered`` says whether metrics are on: thresholds without them would be ignored
    silently, so they are refused.

    Raises:
        InvalidStuckAfter: not a mapping, a key with an empty chart or state, a duration
            that is not one (``"5m"``, ``300``, a ``timedelta``) or not above 0, or
            thresholds without metrics.

    """
    if spec is not None and not isinstance(spec, Mapping):
        raise InvalidStuckAfter(f"stuck_after takes a mapping of STATE or CHART:STATE to a "
                                f"duration (say {{'offered': '5m'}}), not {spec!r}")
    if spec and not metered:
        raise InvalidStuckAfter("stuck_after sets the thresholds of a metric: turn metrics on "
                                "too (metrics=True or metrics=registry)")
    found = []
    for key, duration in (spec or {}).items():
        chart, _, state = key.rpartition(":") if isinstance(key, str) else ("", "", "")
        if not state or (":" in key and not chart):
            raise InvalidStuckAfter(
                f"stuck_after: {key!r} is not STATE or CHART:STATE (say 'offered' or "
                f"'order:offered')")
        try:
            seconds = parse_duration(duration)
        except (TypeError, ValueError) as exc:
            raise InvalidStuckAfter(f"stuck_after: {key!r}: {exc}") from None
        if not seconds > 0:
            raise InvalidStuckAfter(f"stuck_after: {key!r}: the threshold must be above 0 "
                                    f"seconds, not {duration!r}")
        found.append(StuckAfter(chart or None, state, seconds))
    return tuple(found)


def declared_stuck_after(versions: Sequence[CompiledChart]) -> dict[str, float]:
    """Per state, the ``stuck_after`` the newest version holding it declares (in seconds).

    ``versions`` are newest first.  A state the newest version holding it leaves without a
    threshold has none here, even if an older version declared one: the newest says.
    """
    seen: dict[str, float | None] = {}
    todo: list[State] = []
    for compiled in versions:
        todo.extend(compiled.definition.children)
        while todo:
            state = todo.pop()
            todo.extend(state.children)
            if state.id is not None and state.id not in seen:
                seen[state.id] = (None if state.stuck_after is None
                                  else parse_duration(state.stuck_after))
    return {state: seconds for state, seconds in seen.items() if seconds is not None}


class Thresholds:
    """The stuck threshold of each ``(chart, state)``: the operator's and the charts' own.

    ``charts(name)`` gives the registered versions of a chart, newest first (the client's
    registry); it is read at each scrape, so a chart registered later counts from then on.
    """

    def __init__(self, rules: tuple[StuckAfter, ...],
                 charts: Callable[[str], Sequence[CompiledChart]] | None = None) -> None:
        self.rules = rules
        self.charts = charts

    def for_chart(self, chart: str) -> Callable[[str], float | None]:
        """The threshold of each state of ``chart`` (``None``: no stuck series for it)."""
        declared = declared_stuck_after(self.charts(chart)) if self.charts is not None else {}
        rules = self.rules

        def threshold(state: str) -> float | None:
            general = None
            for rule in rules:
                if rule.state == state:
                    if rule.chart == chart:
                        return rule.seconds
                    if rule.chart is None:
                        general = rule.seconds
            own = declared.get(state)
            return own if own is not None else general

        return threshold

"""Python's cyclic garbage collector, set for a process that runs the engine (opt-in).

Why: the engine's thread holds a group's requests, plans and commits until the group is
durable, and its cache keeps thousands of instances; objects that live through two young
collections are promoted to the oldest generation, and once enough have been promoted a full
collection visits every object held there (tens of milliseconds with 10,000 instances cached),
all of it under the GIL, while nothing commits.  A timer due then fires that much later
(``docs/durable.md``, "Timers under load").  Two settings of the collector take most of that
away:

* a larger young threshold: a young collection comes after ``young`` new container objects
  instead of 700, so the objects of a group are mostly freed (by their reference counts)
  before any collection sees them, and few are promoted; full collections become rare;
* :func:`gc.freeze` once the process is set up (imports, charts registered): what exists then
  lives for the process, and full collections stop visiting it.  Objects frozen are still
  freed by their reference counts; only a cycle among them is never collected;
* young collections between the engine's groups (:class:`GroupCollector`), not in the middle
  of one.  A collection visits the young objects still alive, and in the middle of a group
  those are the whole group's requests, plans and commits (tens of thousands of objects for
  a group of 1,024 timers: 60 to 80 ms of CPU on the shared VM, as long as a full collection
  with Python's settings).  Once the group is answered they are freed, and a collection then
  visits little more than the requests queued for the next group.  The young threshold
  stays as the collector's own limit, for a process whose engine is idle and for a group
  larger than it.

The collector's settings belong to the whole process, so a client leaves them alone unless
asked (``Client(gc=True)`` or a :class:`GcTuning`, or :func:`tune_gc` from the application's
own start-up); ``statekeeper worker``, a process of statekeeper's own, sets them once its
charts are registered (``--no-gc-tuned`` leaves Python's).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..core.errors import StatekeeperError

__all__ = ["DEFAULT_YOUNG", "GcTuning", "GroupCollector",
           "InvalidGcTuning", "tune_gc", "tuning_of"]

#: the young threshold :class:`GcTuning` sets by default (Python's own is 700)
DEFAULT_YOUNG = 50_000


class InvalidGcTuning(StatekeeperError, ValueError):
    """A ``gc=`` setting that is not one: say ``True``, ``False`` or a :class:`GcTuning`."""


@dataclass(frozen=True, slots=True)
class GcTuning:
    """How :func:`tune_gc` sets the collector.

    Attributes:
        young: the threshold of young collections (new container objects between two); at
            least 700, Python's own.
        freeze: move every object alive when the tuning is applied to the permanent
            generation (:func:`gc.freeze`), after one full collection.
        between_groups: run a young collection after an engine's group once this many new
            objects have been counted since the last one (:class:`GroupCollector`); ``0``
            leaves every collection to the threshold; ``None`` (the default): a tenth of
            ``young``, so that a group of up to nine tenths of it (a group of 1,024 timers
            is about 45,000) ends before the threshold would collect in its middle.  At
            most ``young``.

    """

    young: int = DEFAULT_YOUNG
    freeze: bool = True
    between_groups: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.young, bool) or not isinstance(self.young, int) or self.young < 700:
            raise InvalidGcTuning(f"GcTuning(young=) takes a whole number of objects of at "
                                  f"least 700 (Python's default), not {self.young!r}")
        if not isinstance(self.freeze, bool):
            raise InvalidGcTuning(f"GcTuning(freeze=) takes True or False, not {self.freeze!r}")
        between = self.between_groups
        if between is None:
            return
        if isinstance(between, bool) or not isinstance(between, int) or \
                not 0 <= between <= self.young:
            raise InvalidGcTuning(f"GcTuning(between_groups=) takes a whole number of objects "
                                  f"from 0 (off) to young ({self.young}), not {between!r}")


class _Engine(Protocol):
    """What :class:`GroupCollector` uses of an engine (:class:`~.engine.Engine`)."""

    on_commit: list[Callable[[Any], None]]

    def after_answers(self, fn: Callable[[], None]) -> None: ...


class GroupCollector:
    """Runs the young (and middle) collections of a process between its engine's groups.

    Why: see the module docstring; a collection between groups visits only what outlives a
    group.  It listens to the engine's commits (``on_commit``, in the engine's thread): the
    first commit of a group asks the engine to call it once the group is answered
    (:meth:`~.engine.Engine.after_answers`), when the group's objects are freed.  Then, if
    ``between`` new objects or more were counted since the last collection, it collects the
    young generation, or the middle one when Python would (its threshold of young collections
    reached).  Full collections stay Python's: the young threshold still triggers them, by
    its rule (a quarter of the old generation promoted since the last one).  Nothing runs
    while the collector is disabled (:func:`gc.disable`).  A group costs one call and a flag
    test per commit, and a look at :func:`gc.get_count` per group.
    """

    __slots__ = ("_armed", "between", "engine")

    def __init__(self, engine: _Engine, between: int) -> None:
        self.engine = engine
        self.between = between
        self._armed = False

    def attach(self) -> GroupCollector:
        """Listen to the engine's commits; returns ``self``."""
        self.engine.on_commit.append(self)
        return self

    def __call__(self, state: Any) -> None:
        if not self._armed:
            self._armed = True
            self.engine.after_answers(self._after_group)

    def _after_group(self) -> None:
        self.collect()

    def collect(self) -> int:
        """Collect now if due; return the generation collected, or -1 if none was."""
        self._armed = False
        young, middle, _ = gc.get_count()
        if young < self.between or not gc.isenabled():
            return -1
        generation = 1 if middle >= gc.get_threshold()[1] else 0
        gc.collect(generation)
        return generation


def tuning_of(setting: bool | GcTuning | None) -> GcTuning | None:
    """``Client(gc=...)``'s value as a tuning (``None``: leave the collector alone)."""
    if setting is None or setting is False:
        return None
    if setting is True:
        return GcTuning()
    if isinstance(setting, GcTuning):
        return setting
    raise InvalidGcTuning(f"gc= takes True (tune Python's garbage collector for the engine), "
                          f"False (leave it alone) or a GcTuning, not {setting!r}")


def tune_gc(tuning: GcTuning | None = None, engine: _Engine | None = None
            ) -> tuple[int, int, int]:
    """Apply ``tuning`` (the defaults of :class:`GcTuning` if ``None``) to this process.

    Call it once the process is set up: what is alive then is frozen (with ``freeze``).  With
    ``engine``, young collections run between its groups (:class:`GroupCollector`, unless
    ``between_groups`` is 0).  Returns the thresholds it replaced, for
    :func:`gc.set_threshold` to restore them.
    """
    tuning = GcTuning() if tuning is None else tuning
    before = gc.get_threshold()
    if tuning.freeze:
        gc.collect()  # nothing that is garbage now is frozen with the rest
        gc.freeze()
    gc.set_threshold(tuning.young, before[1], before[2])
    between = tuning.young // 10 if tuning.between_groups is None else tuning.between_groups
    if engine is not None and between:
        GroupCollector(engine, between).attach()
    return before

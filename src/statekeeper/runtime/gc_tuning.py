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
  freed by their reference counts; only a cycle among them is never collected.

The collector's settings belong to the whole process, so a client leaves them alone unless
asked (``Client(gc=True)`` or a :class:`GcTuning`, or :func:`tune_gc` from the application's
own start-up); ``statekeeper worker``, a process of statekeeper's own, sets them once its
charts are registered (``--no-gc-tuned`` leaves Python's).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

from ..core.errors import StatekeeperError

__all__ = ["DEFAULT_YOUNG", "GcTuning", "InvalidGcTuning", "tune_gc", "tuning_of"]

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

    """

    young: int = DEFAULT_YOUNG
    freeze: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.young, bool) or not isinstance(self.young, int) or self.young < 700:
            raise InvalidGcTuning(f"GcTuning(young=) takes a whole number of objects of at "
                                  f"least 700 (Python's default), not {self.young!r}")
        if not isinstance(self.freeze, bool):
            raise InvalidGcTuning(f"GcTuning(freeze=) takes True or False, not {self.freeze!r}")


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


def tune_gc(tuning: GcTuning | None = None) -> tuple[int, int, int]:
    """Apply ``tuning`` (the defaults of :class:`GcTuning` if ``None``) to this process.

    Call it once the process is set up: what is alive then is frozen (with ``freeze``).
    Returns the thresholds it replaced, for :func:`gc.set_threshold` to restore them.
    """
    tuning = GcTuning() if tuning is None else tuning
    before = gc.get_threshold()
    if tuning.freeze:
        gc.collect()  # nothing that is garbage now is frozen with the rest
        gc.freeze()
    gc.set_threshold(tuning.young, before[1], before[2])
    return before

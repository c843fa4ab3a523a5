"""Which function runs a claimed effect, and under which policy: the worker's lookup.

Split from ``worker`` because it is the part that reads instances and the registry: an effect
row names its instance and its effect by name; the function registered for that name, in the
chart version the instance runs, is what the worker calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..storage.base import Store
from ..storage.records import EffectRecord, InstanceRecord
from .planner import SEND_EFFECT
from .registry import Registry

__all__ = ["EffectFn", "EffectLookup"]

_log = logging.getLogger("statekeeper.runtime")

#: an effect's registered function (None: not registered), its policy settings, and the name
#: of its instance's chart ("": the instance is gone), which the effect metrics are labelled by
EffectFn = tuple[Callable[..., Any] | None, Mapping[str, Any], str]


class EffectLookup:
    """Finds claimed effects' functions and policies for one store and registry."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry

    def claimed(self, claimed: list[EffectRecord]) -> dict[str, EffectFn]:
        """The functions and policies of claimed effects, their instances read in one read.

        Read here, in the one thread that claims, rather than by each effect's own short-lived
        thread.  An effect whose instance or chart is not found here is left out: its thread
        looks it up alone (:meth:`one`) and deals with what it finds.
        """
        wanted = [e for e in claimed if e.name != SEND_EFFECT]
        if not wanted:
            return {}
        try:
            records = self.store.load_many([e.instance for e in wanted])
        except Exception:  # noqa: BLE001 - each effect's thread reads its own instead
            _log.debug("reading claimed effects' instances failed", exc_info=True)
            return {}
        known: dict[str, EffectFn] = {}
        for effect in wanted:
            record = records.get(effect.instance)
            if record is None:
                continue
            try:
                known[effect.key] = self.of(record, effect.name)
            except Exception:  # noqa: BLE001 - not known here (or refused): its thread decides
                continue
        return known

    def handed(self, handed: list[tuple[EffectRecord, InstanceRecord]]) -> dict[str, EffectFn]:
        """The functions and policies of effects handed over with their instance rows.

        No read: the engine hands each new effect with the row of the step that wrote it.
        """
        known: dict[str, EffectFn] = {}
        for effect, record in handed:
            if effect.name == SEND_EFFECT:
                continue
            try:
                known[effect.key] = self.of(record, effect.name)
            except Exception:  # noqa: BLE001 - not known here (or refused): its thread decides
                continue
        return known

    def one(self, effect: EffectRecord) -> EffectFn:
        """The function and policy of one effect (``None, {}, ""``: its instance is gone)."""
        try:
            record = self.store.load(effect.instance)
        except KeyError:
            return None, {}, ""
        return self.of(record, effect.name)

    def of(self, record: InstanceRecord, name: str) -> EffectFn:
        """The function registered for effect ``name`` of ``record``'s chart, and its policy."""
        entry = self.registry.get(record.chart, record.version, record.hash)
        return (entry.effects.get(name), entry.chart.effect_policies.get(name, {}),
                record.chart)


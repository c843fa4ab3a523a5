"""What an expression may see while a step runs, and how it sees it read-only.

:class:`EvalContext` is made once per working state of a step (and kept with it when the
working state is reused): the data, the event being processed, the session, and the read-only
views of the data and of the event's payload that guards and functions receive (SEM-22,
docs/semantics.md), each made at most once per step.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from types import MappingProxyType
from typing import Any

from ._records import positional_constructor
from .events import Event
from .views import _PLAIN, DataView, freeze

__all__ = ["SHOWN_AS_IS", "EvalContext"]


class EvalContext:
    """What an expression may see while a step runs: the data, the event, the session."""

    __slots__ = ("active_ids", "data", "event", "name", "seen", "seen_view", "session", "system",
                 "view")

    def __init__(self, data: dict[str, Any], session: str, name: str) -> None:
        self.data = data
        self.event: Event | None = None
        self.session = session
        self.name = name
        self.active_ids: Callable[[], Container[object]] = set
        self.system: dict[str, Any] = {}
        # the event ``seen_view`` shows (guards compare ``seen is event`` before calling
        # event_view, so the view of an event is made once, whoever asks first)
        self.seen: Event | None = None
        self.seen_view: Event | None = None
        #: the read-only view of ``data``, made on first use (see :meth:`data_view`)
        self.view: Mapping[str, Any] | None = None

    def event_view(self) -> Event | None:
        """The current event as guards and functions see it: its payload read-only.

        Made once per event (guards of one event share it); an event whose payload is a
        scalar or nothing is handed over as it is.
        """
        event = self.event
        if self.seen is event:
            return self.seen_view
        self.seen = event
        if event is None or (type(event.data) in SHOWN_AS_IS and not event.meta):
            self.seen_view = event
        else:
            payload = event.data
            # a flat payload (scalars only, the usual case) is read through a C-level proxy
            shown = MappingProxyType(payload) if type(payload) is dict and _PLAIN.issuperset(
                map(type, payload.values())) else freeze(payload)
            self.seen_view = _new_event(event.name, shown, event.type, event.sendid,
                                        event.origin, event.origintype, event.invokeid,
                                        dict(event.meta) if event.meta else {})
        return self.seen_view

    def data_view(self) -> Mapping[str, Any]:
        """The data as guards and functions see it: one view per step, not one per call.

        Data holding only scalars (the usual case) is shown as a ``MappingProxyType``, read
        in C; data holding containers as a :class:`~statekeeper.core.views.DataView`, whose
        nested containers are read-only too.  Writes into ``data`` show through either, so
        the view stays valid while the step assigns; whoever replaces ``data`` or writes a
        container into it resets ``view`` to ``None``.
        """
        view = self.view
        if view is None:
            data = self.data
            view = self.view = MappingProxyType(data) \
                if _PLAIN.issuperset(map(type, data.values())) else DataView(data)
        return view


_SCALARS = frozenset({str, int, float, bool, type(None)})
# payloads an event view shows as they are: scalars, and the read-only proxy a machine makes
# of a flat payload (statekeeper.core.payload.checked_copy with read_only=True)
SHOWN_AS_IS = _SCALARS | {MappingProxyType}
_new_event = positional_constructor(Event)

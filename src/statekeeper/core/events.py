"""Events and SCXML event descriptors.

An event name is a dot-separated list of tokens.  A descriptor matches an event when its tokens
are a prefix of the event's tokens; ``*`` matches every event and a trailing ``.*`` is ignored
(SCXML 3.12.1, https://www.w3.org/TR/scxml/#EventDescriptors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ReservedEventName

__all__ = ["RESERVED_PREFIX", "SCXML_PROCESSOR", "Event", "ProcessorType", "as_event",
           "descriptor_matches", "refuse_reserved", "split_descriptors"]

#: Reserved prefix of events statekeeper itself generates (timers, effects).
RESERVED_PREFIX = "statekeeper."


class ProcessorType(str):
    """An Event I/O Processor type URI that also compares equal to its short alias.

    SCXML names the SCXML Event I/O Processor by a URI and lets documents write ``scxml``
    instead (W3C test 253 accepts either).  ``_event.origintype`` is the URI; comparing it
    with the alias is true as well, so both spellings of a check work (SEM-7).
    """

    alias = "scxml"

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other) is True or (isinstance(other, str) and other == self.alias)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


#: The type URI of the SCXML Event I/O Processor (SCXML C.1).
SCXML_PROCESSOR = ProcessorType("http://www.w3.org/TR/scxml/#SCXMLEventProcessor")


@dataclass(frozen=True, slots=True)
class Event:
    """One event, as SCXML's ``_event`` system variable sees it.

    Attributes:
        name: dot-separated name, e.g. ``"done.state.Preparing"``.
        data: the payload (any JSON-able value; ``None`` when there is none).
        type: ``"external"``, ``"internal"`` or ``"platform"``.
        sendid: the id of the ``<send>`` that produced it, if any.
        origin: where a reply should go (``#_scxml_<session>``, ``#_parent``...).
        origintype: the I/O processor of ``origin``.
        invokeid: the invocation that sent it, for events from invoked children.

    """

    name: str
    data: Any = None
    type: str = "external"
    sendid: str | None = None
    origin: str | None = None
    origintype: str | None = None
    invokeid: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as plain JSON-able data (omits unset fields)."""
        out: dict[str, Any] = {"name": self.name}
        for key in ("data", "sendid", "origin", "origintype", "invokeid"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.type != "external":
            out["type"] = self.type
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        """Rebuild an event written by :meth:`to_dict`."""
        return cls(
            name=raw["name"],
            data=raw.get("data"),
            type=raw.get("type", "external"),
            sendid=raw.get("sendid"),
            origin=raw.get("origin"),
            origintype=_origintype(raw.get("origintype")),
            invokeid=raw.get("invokeid"),
        )


def _origintype(value: str | None) -> str | None:
    return SCXML_PROCESSOR if value == str(SCXML_PROCESSOR) else value


def refuse_reserved(name: str) -> None:
    """Refuse a caller's event named with the reserved prefix (the one rule of every entry).

    Machines and clients call it on what a caller sends, never on what statekeeper delivers
    itself (timers, effect outcomes), so a hand-sent ``statekeeper.after.<state>.<n>`` can
    neither fire a timer early nor fake a start.

    Raises:
        ReservedEventName: ``name`` starts with ``statekeeper.``.

    """
    if name.startswith(RESERVED_PREFIX):
        raise ReservedEventName(name)


def split_descriptors(text: str | None) -> tuple[str, ...]:
    """Split an SCXML ``event`` attribute (space separated descriptors) into a tuple."""
    if not text:
        return ()
    return tuple(text.split())


def descriptor_matches(descriptor: str, name: str) -> bool:
    """Return whether one descriptor matches an event name (token prefix match)."""
    if descriptor == "*":
        return True
    if descriptor.endswith(".*"):
        descriptor = descriptor[:-2]
    elif descriptor.endswith("."):
        descriptor = descriptor[:-1]
    if name == descriptor:
        return True
    return name.startswith(descriptor) and name[len(descriptor)] == "."


def as_event(event: Any, data: Any) -> Event:
    """``event`` as an :class:`Event` (a name gets ``data``); refuse what is not one.

    Raises:
        TypeError: ``event`` is neither a name nor an :class:`Event`.
        ValueError: the name is empty.

    """
    if isinstance(event, Event):
        return event
    if not isinstance(event, str):
        raise TypeError(f"an event is a name (str) or an Event, not {event!r}")
    if not event:
        raise ValueError("an event name must not be empty")
    return Event(event, data)

"""What callers get back from the durable runtime: the settled state of an instance."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..core._records import positional_constructor
from ..core.events import Event
from ..storage.records import InstanceRecord

__all__ = ["InstanceState", "copy_data", "with_own_data"]


@dataclass(frozen=True, slots=True)
class InstanceState:
    """An instance as of one committed step.

    Attributes:
        id: the instance id.
        chart, version: the chart it runs.
        configuration: active state ids in document order.
        data: the instance's data.
        status: ``"active"`` or ``"done"``.
        rev: the number of committed steps (the optimistic version).
        labels: the labels it was started with (for queries).
        outcome: for a send, ``"applied"``, ``"ignored"`` or ``"duplicate"`` (an idempotency
            key seen before: this is the first result, and nothing changed).

    """

    id: str
    chart: str
    version: str
    configuration: tuple[str, ...]
    data: dict[str, Any]
    status: str
    rev: int
    labels: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None
    updated_at: float = 0.0

    @property
    def state(self) -> str:
        """The deepest active state (the last one in document order)."""
        return self.configuration[-1] if self.configuration else ""

    @property
    def done(self) -> bool:
        return self.status == "done"

    def is_active(self, state: str) -> bool:
        """Whether ``state`` is in the configuration."""
        return state in self.configuration

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "chart": self.chart, "version": self.version,
            "configuration": list(self.configuration), "data": self.data,
            "status": self.status, "rev": self.rev, "labels": self.labels,
            "outcome": self.outcome, "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> InstanceState:
        return cls(
            id=raw["id"], chart=raw["chart"], version=str(raw["version"]),
            configuration=tuple(raw["configuration"]), data=raw["data"], status=raw["status"],
            rev=raw["rev"], labels=raw.get("labels") or {}, outcome=raw.get("outcome"),
            updated_at=raw.get("updated_at", 0.0),
        )

    def copy(self) -> InstanceState:
        """This state with data and labels of its own (for a second reader of one commit)."""
        return replace(self, data=copy_data(self.data), labels=dict(self.labels))

    @classmethod
    def from_record(cls, record: InstanceRecord, outcome: str | None = None) -> InstanceState:
        """The state of ``record``, with data and labels of the caller's own.

        The engine answers with the record it keeps cached for the instance's next step; a
        caller editing the dicts it was handed must not edit the instance.
        """
        data = copy_data(record.snapshot.get("data", {}))
        labels = dict(record.labels) if record.labels else {}
        if cls is not InstanceState:  # a subclass gets its own __init__
            return cls(id=record.id, chart=record.chart, version=record.version,
                       configuration=record.configuration, data=data, status=record.status,
                       rev=record.rev, labels=labels, outcome=outcome,
                       updated_at=record.updated_at)
        return _new_state(record.id, record.chart, record.version, record.configuration, data,
                          record.status, record.rev, labels, outcome, record.updated_at)


def copy_data(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, tuples of plain values): cheap for ``{}``.

    Data crosses between callers and the engine's cached snapshots both ways (event and start
    data in, answers out); each side gets its own, so neither can change the other's.
    """
    leaves = _LEAVES  # not copied, and not worth a call each: most values of most data
    if isinstance(value, dict):  # a subclass (an OrderedDict) comes back a plain dict
        return {k: v if type(v) in leaves else copy_data(v)
                for k, v in value.items()} if value else {}
    if isinstance(value, list):
        return [v if type(v) in leaves else copy_data(v) for v in value]
    if isinstance(value, tuple):
        return tuple(v if type(v) in leaves else copy_data(v) for v in value)
    return value  # str, numbers, bool, None; anything else is refused when the step is written


#: the types of JSON's plain values (exactly these: a subclass goes through copy_data)
_LEAVES = frozenset({str, int, float, bool, type(None)})


# every field, positionally: one answer per committed step, without object.__setattr__
_new_state = positional_constructor(InstanceState)


# every field given, without dataclasses.replace's keyword call and field loop (~1.5 us)
_new_event = positional_constructor(Event)


def with_own_data(event: Event) -> Event:
    """``event`` with its own copy of its data (:func:`copy_data`): the step may keep it."""
    return _new_event(event.name, copy_data(event.data), event.type, event.sendid, event.origin,
                      event.origintype, event.invokeid, event.meta)

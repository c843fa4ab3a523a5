"""Snapshots: the whole state of one instance as plain, JSON-able data.

A snapshot is what the durable runtime stores and what :func:`~statekeeper.core.step.step`
reads and returns.  It names the chart it belongs to (name, version, structure hash) so it is
never continued by a chart it was not taken from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import SnapshotError, SnapshotMismatch

__all__ = ["SNAPSHOT_FORMAT", "Snapshot"]

SNAPSHOT_FORMAT = "statekeeper.snapshot/1"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of one instance between steps.

    Attributes:
        chart, version, hash: the chart it was taken from.
        session: the instance (session) id; seeds send ids and effect keys.
        configuration: active state ids, in document order.
        data: the instance's data.
        history: recorded history, by history state id.
        timers: pending delayed sends by id (``{"due", "event", "target"}``).
        invokes: active invocations by invoke id (``{"state", "index", "autoforward"}``).
        done: whether a top-level final state was reached.
        done_data: the final state's donedata, once done.
        counter: a monotonic counter of generated ids (send ids, effect keys).
        parent: the invoking session's id, for children started by ``<invoke>``.

    """

    chart: str
    version: int | str
    hash: str
    session: str
    configuration: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    history: dict[str, tuple[str, ...]] = field(default_factory=dict)
    timers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invokes: dict[str, dict[str, Any]] = field(default_factory=dict)
    done: bool = False
    done_data: Any = None
    counter: int = 0
    parent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the snapshot as JSON-able data (the data must itself be JSON-able)."""
        return {
            "format": SNAPSHOT_FORMAT,
            "chart": self.chart,
            "version": self.version,
            "hash": self.hash,
            "session": self.session,
            "configuration": list(self.configuration),
            "data": self.data,
            "history": {k: list(v) for k, v in self.history.items()},
            "timers": self.timers,
            "invokes": self.invokes,
            "done": self.done,
            "done_data": self.done_data,
            "counter": self.counter,
            "parent": self.parent,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Snapshot:
        """Rebuild a snapshot from :meth:`to_dict` output, refusing anything malformed.

        Raises:
            SnapshotError: not a statekeeper snapshot, or a field has the wrong type.

        """
        if not isinstance(raw, dict) or raw.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(
                f"not a statekeeper snapshot (expected format {SNAPSHOT_FORMAT!r})"
            )
        try:
            snap = cls(
                chart=_typed(raw, "chart", str),
                version=_typed(raw, "version", (int, str)),
                hash=_typed(raw, "hash", str),
                session=_typed(raw, "session", str),
                configuration=tuple(_strings(raw, "configuration")),
                data=_typed(raw, "data", dict),
                history={str(k): tuple(v) for k, v in _typed(raw, "history", dict).items()},
                timers=_typed(raw, "timers", dict),
                invokes=_typed(raw, "invokes", dict),
                done=_typed(raw, "done", bool),
                done_data=raw.get("done_data"),
                counter=_typed(raw, "counter", int),
                parent=raw.get("parent"),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise SnapshotError(f"corrupted snapshot: {exc}") from None
        return snap

    def check(self, chart: Any) -> None:
        """Raise :class:`SnapshotMismatch` unless this snapshot was taken from ``chart``.

        Also refuses configurations that name states the chart does not have.
        """
        if (self.chart, self.version, self.hash) != (chart.name, chart.version, chart.hash):
            raise SnapshotMismatch(
                f"snapshot of chart {self.chart!r} v{self.version} (hash {self.hash[:12]}) "
                f"cannot be loaded into {chart.name!r} v{chart.version} (hash {chart.hash[:12]})"
            )
        unknown = [s for s in self.configuration if s not in chart.nodes]
        if unknown or not self.configuration:
            raise SnapshotError(f"snapshot configuration names unknown states {unknown}")


def _typed(raw: dict[str, Any], key: str, kind: Any) -> Any:
    if key not in raw:
        raise ValueError(f"missing field {key!r}")
    value = raw[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"field {key!r} has type {type(value).__name__}")
    return value


def _strings(raw: dict[str, Any], key: str) -> list[str]:
    value: list[str] = _typed(raw, key, list)
    if not all(isinstance(item, str) for item in value):
        raise TypeError(f"field {key!r} must be a list of state ids")
    return value

"""Snapshots: the whole state of one instance as plain, JSON-able data.

A snapshot is what the durable runtime stores and what :func:`~statekeeper.core.step.step`
reads and returns.  It names the chart it belongs to (name, version, structure hash) so it is
never continued by a chart it was not taken from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._restore import chart_problems, shape_problems
from .errors import (
    InvalidPayload,
    LimitExceeded,
    SnapshotError,
    SnapshotMismatch,
    UnstorableValue,
)
from .limits import Limits
from .payload import check_payload

__all__ = ["SNAPSHOT_FORMAT", "Snapshot"]

SNAPSHOT_FORMAT = "statekeeper.snapshot/1"
_ANY_SIZE = Limits(max_depth=10_000, max_payload_bytes=2**62)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON")


#: standard JSON only: NaN and Infinity are refused, as :meth:`Snapshot.to_json` never writes them
_STRICT = json.JSONDecoder(parse_constant=_no_constant)


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

        Checks every field's shape (timers, history and invocations included); what only the
        chart can tell (states known, configuration legal) is :meth:`validate`'s.

        Raises:
            SnapshotError: not a statekeeper snapshot, or a field has the wrong shape (each
                named by its path, ``timers['t1'].due``).

        """
        if not isinstance(raw, dict) or raw.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(
                f"not a statekeeper snapshot (expected format {SNAPSHOT_FORMAT!r})"
            )
        problems = list(shape_problems(raw))
        if problems:
            raise SnapshotError(f"corrupted snapshot: {'; '.join(problems[:5])}")
        return cls(
            chart=raw["chart"], version=raw["version"], hash=raw["hash"],
            session=raw["session"], configuration=tuple(raw["configuration"]),
            data=raw["data"], history={k: tuple(v) for k, v in raw["history"].items()},
            timers=raw["timers"], invokes=raw["invokes"], done=raw["done"],
            done_data=raw.get("done_data"), counter=raw["counter"], parent=raw.get("parent"),
        )

    def to_json(self) -> str:
        """The snapshot as standard JSON text, exactly what :meth:`from_json` reads back.

        Raises:
            UnstorableValue: the data holds a value JSON cannot hold exactly (NaN, an int
                key, a set...); its path says where.

        """
        raw = self.to_dict()
        try:
            check_payload(raw, limits=_ANY_SIZE, what="the snapshot")
        except InvalidPayload as exc:
            raise UnstorableValue(exc.path, f"{exc.reason}; nothing was written") from None
        except LimitExceeded:
            raise UnstorableValue("$", "a value holds itself (a cycle) or is nested too "
                                  "deep for JSON; nothing was written") from None
        return json.dumps(raw, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Snapshot:
        """Rebuild a snapshot from :meth:`to_json` text (or its UTF-8 bytes).

        Raises:
            SnapshotError: not JSON (standard JSON: no NaN), not UTF-8, or not a snapshot.

        """
        try:
            if isinstance(text, bytes | bytearray):
                text = bytes(text).decode("utf-8")
            if not isinstance(text, str):
                raise TypeError(f"from_json takes text or bytes, not {type(text).__name__}")
            raw = _STRICT.decode(text)
            text.encode("utf-8")  # a lone surrogate is not text a snapshot can hold
        except (ValueError, RecursionError) as exc:  # UnicodeError and JSONDecodeError too
            reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)[:200]
            raise SnapshotError(f"not a statekeeper snapshot (not standard JSON text: "
                                f"{reason})") from None
        return cls.from_dict(raw)

    def validate(self, chart: Any) -> None:
        """Raise unless this snapshot can be continued by ``chart``: :meth:`check`, and more.

        Also refuses a configuration no step could reach (two siblings, a parent missing, a
        region missing), history naming states its parent does not have, invocations the
        chart does not declare, and data JSON cannot hold exactly.  Machines call it when
        restoring; the step itself only calls :meth:`check`, which is cheap.

        Raises:
            SnapshotMismatch: taken from another chart, version or structure.
            SnapshotError: impossible for the chart (every problem named).

        """
        self.check(chart)
        problems = chart_problems(self, chart)
        if problems:
            raise SnapshotError(f"snapshot of {self.session!r} cannot be continued by chart "
                                f"{chart.name!r}: {'; '.join(problems[:5])}")

    def check(self, chart: Any) -> None:
        """Raise :class:`SnapshotMismatch` unless this snapshot was taken from ``chart``.

        Also refuses configurations that name states the chart does not have.
        """
        if (self.chart, self.version, self.hash) != (chart.name, chart.version, chart.hash):
            raise SnapshotMismatch(
                f"snapshot of chart {self.chart!r} v{self.version} (hash {self.hash[:12]}) "
                f"cannot be loaded into {chart.name!r} v{chart.version} (hash {chart.hash[:12]})"
            )
        if not self.configuration:
            raise SnapshotError("snapshot configuration is empty: it names no active state")
        unknown = [s for s in self.configuration if s not in chart.nodes]
        if unknown:
            raise SnapshotError(f"snapshot configuration names unknown states {unknown}")


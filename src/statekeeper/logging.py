"""Logging helpers: a JSON formatter for the structured records statekeeper writes.

statekeeper logs through the standard :mod:`logging` module.  Every committed transition is
a record of the ``statekeeper.transitions`` logger, every effect attempt one of
``statekeeper.effects``, each with its fields as record attributes (the instance, chart and
version, event, source and target, time in the source state, actor, outcome, trace id:
:mod:`statekeeper.runtime.logs` lists them).  They are ``DEBUG`` records unless the client
is given another ``log_level``, so nothing reaches an ``INFO`` handler unless asked.

:class:`JsonFormatter` writes each record as one JSON object per line, its fields included,
for a log pipeline that indexes them::

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.getLogger("statekeeper.transitions").addHandler(handler)
    logging.getLogger("statekeeper.transitions").setLevel(logging.DEBUG)
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter"]

#: the attributes every LogRecord has: not "fields" of a record
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

#: made once: ``json.dumps`` with options builds an encoder per call
_STRICT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=str)
_LENIENT = json.JSONEncoder(ensure_ascii=False, default=str)


def _plain(value: Any) -> Any:
    """``value`` with every float JSON cannot hold (NaN, infinities) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """Each record as one line of JSON: time, level, logger, message, then its own fields.

    ``time`` is ISO 8601 in UTC (the record's creation, to the microsecond).  Any attribute a
    record carries beyond the standard ones (what ``extra=`` added) is a field; a value JSON
    cannot hold is written as its ``str``.  An exception, when the record has one, is under
    ``exception``.  Pass ``static`` to add the same fields to every line (a service name).
    """

    def __init__(self, *, static: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object, on one line."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            **self.static}
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        try:
            return _STRICT.encode(out)
        except ValueError:  # a NaN or an infinity somewhere
            return _LENIENT.encode(_plain(out))

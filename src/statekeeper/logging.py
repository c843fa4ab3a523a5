"""Logging helpers: a JSON formatter and a file handler for the records statekeeper writes.

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

Why :class:`GroupFileHandler`: to keep a record of every transition at ``INFO`` on the hot
path, the handler's own cost counts.  ``logging.FileHandler`` flushes its stream (a
``write`` system call) after every record; this one writes a group's records with one
flush, when the engine has handed it the records of a committed group (and after each
effect attempt's record), so a crash loses at most the records of the group being written.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

__all__ = ["GroupFileHandler", "JsonFormatter"]

#: the attributes every LogRecord has: not "fields" of a record
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
#: the attribute statekeeper's own records carry: (field names, their getter, attribute count)
_MARKER = "_statekeeper_fields"

#: made once: ``json.dumps`` with options builds an encoder per call
_STRICT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=str)
_LENIENT = json.JSONEncoder(ensure_ascii=False, default=str)
#: what ``_STRICT.encode`` makes per call (C's encoder), made once; ``None`` without ``_json``
_MARKS: dict[int, Any] = {}
_ONE_SHOT = None if c_make_encoder is None else c_make_encoder(
    _MARKS, _STRICT.default, encode_basestring, None, _STRICT.key_separator,
    _STRICT.item_separator, False, False, False)


def _encode(out: dict[str, Any]) -> str:
    """``_STRICT.encode(out)`` (then ``_LENIENT``'s, of :func:`_plain`, for a NaN), faster.

    Why: ``JSONEncoder.encode`` makes a C encoder per call, a fifth of a line's cost.  The one
    made once shares its dictionary of containers being written (its check for cycles)
    between calls and threads; an error, which could come from that sharing (or leave an
    entry behind), sends the line to ``_STRICT.encode``, whose result, or error, is the same
    as before, so the output is ``_STRICT.encode``'s in every case.
    """
    if _ONE_SHOT is not None:
        try:
            return "".join(_ONE_SHOT(out, 0))
        except Exception:  # noqa: BLE001 - retried, and raised, by the general path
            _MARKS.clear()
    try:
        return _STRICT.encode(out)
    except ValueError:  # a NaN or an infinity somewhere
        return _LENIENT.encode(_plain(out))


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

    Why two paths: statekeeper's own records name their fields (the engine makes thousands a
    second), so they are written without scanning every attribute of the record; a record
    a filter has added an attribute to, and any other record, takes the general path.
    """

    def __init__(self, *, static: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.static = dict(static or {})
        #: the last (created, ISO text): the records of one group share their creation time
        self._time: tuple[float, str] = (math.nan, "")

    def _iso(self, created: float) -> str:
        last = self._time
        if last[0] == created:
            return last[1]
        text = datetime.fromtimestamp(created, UTC).isoformat()
        self._time = (created, text)
        return text

    @staticmethod
    def _known(out: dict[str, Any], attributes: dict[str, Any]) -> bool:
        """Add a statekeeper record's fields to ``out``; ``False``: not one as it was made."""
        ours = attributes.get(_MARKER)
        if ours is None:  # made elsewhere
            return False
        added = len(attributes) - ours[2]
        # what another handler's Formatter adds is no field; anything else a filter added is
        if added and added != ("message" in attributes) + ("asctime" in attributes):
            return False
        try:
            out.update(zip(ours[0], ours[1](attributes), strict=True))
        except KeyError:  # a filter removed a field (and added another)
            return False
        return True

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object, on one line."""
        out: dict[str, Any] = {
            "time": self._iso(record.created), "level": record.levelname,
            "logger": record.name, "message": record.getMessage(), **self.static}
        attributes = record.__dict__
        if not self._known(out, attributes):
            for key, value in attributes.items():
                if key not in _STANDARD and not key.startswith("_"):
                    out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return _encode(out)


class GroupFileHandler(logging.FileHandler):
    """A ``FileHandler`` that flushes once per group of records, not once per record.

    statekeeper flushes it after the records of each committed group and after each effect
    attempt's record (when the handler is on the way of ``statekeeper.transitions`` or
    ``statekeeper.effects``: on them or on an ancestor they propagate to).  Any other
    record at ``flush_level`` or above is flushed at once; one below waits for the next
    group, or for :meth:`flush` or :meth:`close`.  Why: the ``write`` system call per record
    of ``FileHandler`` is most of the cost of a transition's record; the file still has
    every record, in order, a group at most behind the commits.
    """

    def __init__(self, filename: str | os.PathLike[str], mode: str = "a",
                 encoding: str | None = "utf-8", delay: bool = False, *,
                 flush_level: int = logging.WARNING) -> None:
        super().__init__(filename, mode, encoding, delay)
        self.flush_level = flush_level

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record to the stream's buffer; flush only at ``flush_level`` or above.

        As ``FileHandler.emit`` does otherwise: a delayed file is opened at the first record.
        """
        try:
            self._write(self.format(record) + self.terminator, record.levelno)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging.Handler's contract: report, go on
            self.handleError(record)

    def handle_group(self, records: Sequence[logging.LogRecord]) -> None:
        """What ``handle`` does for each of ``records``, with one lock and one ``write``.

        For the engine's records of one group, when neither this handler nor the logger has
        a filter (the caller checks, and has checked the level): each record is formatted as
        ``emit`` would (one that fails is reported by ``handleError``, the others written),
        then the lines are written together, flushed if one is at ``flush_level`` or above.
        """
        self.acquire()
        try:
            lines = []
            for record in records:
                try:
                    lines.append(self.format(record))
                except RecursionError:
                    raise
                except Exception:  # noqa: BLE001 - as emit
                    self.handleError(record)
            if not lines:
                return
            terminator = self.terminator
            try:
                self._write(terminator.join(lines) + terminator,
                            max(record.levelno for record in records))
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001 - as emit
                self.handleError(records[0])
        finally:
            self.release()

    def _write(self, text: str, levelno: int) -> None:
        stream = self.stream
        if stream is None and (self.mode != "w" or not self._closed):  # type: ignore[attr-defined]
            stream = self.stream = self._open()
        if stream:
            stream.write(text)
            if levelno >= self.flush_level:
                stream.flush()

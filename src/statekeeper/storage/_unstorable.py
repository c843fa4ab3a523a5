"""Why a commit or a value cannot be stored: the errors that name the value by its path.

Split from :mod:`._codec` (at its size limit).  These run on the error path only (and for an
effect's result, which reaches a commit from outside the step): the encoder refuses a value
JSON cannot hold, and :func:`unstorable` then finds which one, by where it sits.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import InvalidPayload, LimitExceeded, StatekeeperError, UnstorableValue
from ..core.limits import Limits
from ..core.payload import check_payload, is_flat
from ._json import dumps
from .base import StoreError
from .records import Commit

__all__ = ["MalformedCommit", "unstorable", "why_not_json"]


class MalformedCommit(StoreError, ValueError):
    """A commit refused by :func:`encode_commit`'s checks (not by the JSON encoder).

    Nothing of it is written.  Also a ``ValueError``, which the store raised before.
    """



_ANY_SIZE = Limits(max_depth=10_000, max_payload_bytes=2**62)


def unstorable(commit: Commit, exc: BaseException) -> StatekeeperError:
    """The value JSON cannot hold in ``commit``, by its path (on the error path only)."""
    iid = commit.instance.id
    places: list[tuple[str, Any]] = [("", commit.instance.snapshot)]
    places += [(f"transition {t.seq} event data ", t.data) for t in commit.transitions]
    places += [(f"effect {e.key!r} args ", e.args) for e in commit.effects]
    places += [(f"timer {t.timer_id!r} event ", t.event) for t in commit.timers_set]
    for where, value in places:
        try:
            check_payload(value, limits=_ANY_SIZE, what="the store")
        except InvalidPayload as found:
            return UnstorableValue(f"instance {iid!r} {where}{found.path}",
                                   f"{found.reason}; nothing was stored")
        except LimitExceeded:
            return UnstorableValue(
                f"instance {iid!r} {where}$", "a value holds itself (a cycle) or is nested "
                "too deep for JSON; nothing was stored")
    return MalformedCommit(f"malformed commit: instance {iid!r}: a value cannot be stored as "
                           f"JSON (dicts, lists, strings, numbers, booleans and None can): {exc}")


def why_not_json(value: Any) -> str | None:
    """Why a store cannot hold ``value`` as JSON (a set, a datetime, a cycle), or ``None``.

    For values that reach a commit from outside the step (an effect's result), so their
    problem is reported where it arises instead of as a refused commit.  The usual result
    (``None``, a small flat dict: :func:`~statekeeper.core.payload.is_flat`) is passed
    without the walk and the trial encoding.
    """
    if value is None or (value.__class__ is dict and is_flat(value, _ANY_SIZE)):
        return None
    try:
        check_payload(value, limits=_ANY_SIZE, what="the store")
        dumps(value)
    except LimitExceeded:
        return "a value holds itself (a cycle) or is nested too deep for JSON"
    except (TypeError, ValueError, RecursionError) as exc:  # InvalidPayload is a TypeError
        return str(exc) or type(exc).__name__
    return None

"""The arguments of store methods, checked the same way by every backend.

Why a module of its own: without one shared check a wrong type answered differently per
backend (SQLite compares an integer with text without complaint and reads ``LIMIT -1`` as no
limit), so a caller's typo looked like an empty result on one store and an error on another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._codec import INSTANCE_STATUSES

__all__ = ["check_ids", "check_keys", "check_letter_id", "check_time", "history_window",
           "query_filters"]


def history_window(limit: int | None, after: int) -> tuple[int | None, int]:
    """``history``'s ``limit`` and ``after``, checked the same way by every store.

    Both backends would otherwise answer a wrong type differently (SQLite compares an
    integer with text without complaint), so a caller's mistake fails loudly and alike.
    """
    if type(after) is not int:
        raise TypeError(f"history after= takes a seq (an int), not {after!r}")
    if after < 0:
        raise ValueError(f"history after= takes a seq of 0 or more, not {after}")
    if limit is not None:
        if type(limit) is not int:
            raise TypeError(f"history limit= takes an int or None, not {limit!r}")
        if limit < 1:
            raise ValueError(f"history limit= must be at least 1, not {limit}")
    return limit, after


def query_filters(chart: str | None, state: str | None, labels: Mapping[str, str] | None,
                  status: str | None, limit: int, after: str | None) -> dict[str, str]:
    """``query``'s filters, checked the same way by every store; the labels as a plain dict.

    Without this a wrong type matched nothing in one store and everything in the other
    (SQLite reads ``LIMIT -1`` as no limit), so a typo looked like an empty result.
    """
    for name, value in (("chart", chart), ("state", state), ("after", after)):
        if value is not None and type(value) is not str:
            raise TypeError(f"query {name}= takes a string or None, not {value!r}")
    if status is not None and status not in INSTANCE_STATUSES:
        raise ValueError(f"query status= is 'active' or 'done' (or None for both), not {status!r}")
    if type(limit) is not int:
        raise TypeError(f"query limit= takes an int, not {limit!r}")
    if limit < 1:
        raise ValueError(f"query limit= must be at least 1, not {limit}")
    if labels is None:
        return {}
    if not isinstance(labels, Mapping) or not all(
            type(k) is str and type(v) is str for k, v in labels.items()):
        raise TypeError(f"query labels= maps strings to strings, not {labels!r}")
    return dict(labels)


def check_letter_id(value: int) -> int:
    """A dead letter id as every store takes it: an int, never text or a float."""
    if type(value) is not int:
        raise TypeError(f"a dead letter id is an int, not {value!r}")
    return value


def check_ids(values: Sequence[str]) -> list[str]:
    """Instance ids for a read of many: a list or tuple of strings (a bare string is refused)."""
    if not isinstance(values, list | tuple) or any(type(v) is not str for v in values):
        raise TypeError(f"instance ids are a list of strings, not {values!r}")
    return list(values)


def check_charts(values: Sequence[str] | None) -> list[str] | None:
    """Chart names to filter by (``None``: every chart): a list or tuple of strings."""
    if values is None:
        return None
    if not isinstance(values, list | tuple) or any(type(v) is not str for v in values):
        raise TypeError(f"charts are a list of chart names (strings) or None, not {values!r}")
    return list(values)


def check_keys(values: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(instance, idempotency key)`` pairs for a read of many, each two strings."""
    if not isinstance(values, list | tuple) or any(
            not isinstance(v, tuple) or len(v) != 2 or type(v[0]) is not str
            or type(v[1]) is not str for v in values):
        raise TypeError(f"keys are a list of (instance, key) string pairs, not {values!r}")
    return list(values)


def check_time(value: float | None, name: str) -> float | None:
    """A time in seconds (int or float, not bool or NaN), or None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                              or value != value):
        raise TypeError(f"{name} is a time in seconds (a number) or None, not {value!r}")
    return value

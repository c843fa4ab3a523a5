"""The checks of a client method's arguments, made on the caller's thread before anything is queued.

One place, so a wrong argument gets the same answer whichever method it reached.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import LimitExceeded
from ..core.limits import DEFAULT_LIMITS
from ..runtime.settings import check_seconds
from .errors import ArgumentTypeError, InvalidArgument

__all__ = ["check_count", "check_options", "check_text", "check_wait", "check_wait_flag",
           "shown"]


def check_wait(what: str, timeout: Any) -> None:
    """Refuse a wait that is not a number of seconds >= 0 (``None`` waits as long as it takes)."""
    try:
        check_seconds(f"{what} timeout", timeout, zero=True, optional=True)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def shown(value: Any) -> str:
    """``value`` for a message: its repr, cut short, and its type."""
    text = repr(value)
    return f"{text[:60]}... ({type(value).__name__})" if len(text) > 60 else \
        f"{text} ({type(value).__name__})"


def check_text(method: str, name: str, value: Any, *, optional: bool = False,
               empty: bool = False, longest: int = DEFAULT_LIMITS.max_name_length) -> None:
    """Refuse a string argument that is not one, or that the store could not keep.

    Every id, event name, key, actor and trace id goes through here (ids on every method),
    so a wrong argument gets the same answer whichever method it reached.

    Raises:
        ArgumentTypeError: ``value`` is not a ``str`` (nor ``None`` when ``optional``).
        InvalidArgument: it is empty (unless ``empty``), or holds a NUL character or a lone
            surrogate, which cannot be stored as text.
        LimitExceeded: it is longer than ``longest`` characters (the client's
            ``Limits.max_name_length``): a name is stored in every row that names it.

    """
    if not isinstance(value, str):
        if value is None and optional:
            return
        raise ArgumentTypeError(f"{method}() {name}= takes a string"
                                f"{' or None' if optional else ''}, not {shown(value)}")
    if not value and not empty:
        raise InvalidArgument(f"{method}() {name}= must not be empty"
                              f"{' (pass None for none)' if optional else ''}")
    if len(value) > longest:
        raise LimitExceeded("max_name_length", longest, f"{method}() {name}=",
                            f"it is {len(value):,} characters: {value[:20]!r}...")
    if "\x00" in value:
        raise InvalidArgument(f"{method}() {name}= holds a NUL character at index "
                              f"{value.index(chr(0))}, which PostgreSQL text cannot store and no "
                              f"name needs; remove it")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidArgument(
                f"{method}() {name}= holds a lone surrogate {value[exc.start]!r} at index "
                f"{exc.start}, which cannot be stored as UTF-8 text; pass well-formed Unicode "
                f"(decode bytes with errors='replace', say)") from None


def check_options(idempotency_key: Any, actor: Any, trace_id: Any, longest: int) -> None:
    """Refuse what the log would store wrongly: a number as a key, an empty key (no key)."""
    check_text("send", "idempotency_key", idempotency_key, optional=True, longest=longest)
    check_text("send", "actor", actor, optional=True, empty=True, longest=longest)
    check_text("send", "trace_id", trace_id, optional=True, empty=True, longest=longest)


def check_count(method: str, name: str, value: Any, *, least: int,
                optional: bool = False) -> None:
    """Refuse a row count or a ``seq`` that is not an int SQLite can hold (64 bits).

    Raises:
        ArgumentTypeError: ``value`` is not an ``int`` (a bool is not one either).
        InvalidArgument: it is below ``least`` or above 2**63 - 1 (the store would fail
            with a raw ``OverflowError``).

    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{method}() {name}= takes an int"
                                f"{' or None' if optional else ''}, not {shown(value)}")
    if not least <= value < 2 ** 63:
        raise InvalidArgument(f"{method}() {name}= must be from {least} to 2**63 - 1, not "
                              f"{value if value.bit_length() < 200 else 'a larger number'}")


def check_wait_flag(wait: Any) -> None:
    """Refuse a ``wait=`` that is not a bool (``"no"`` would wait)."""
    if wait is not True and wait is not False:
        raise ArgumentTypeError(f"send() wait= takes True or False, not {shown(wait)}")

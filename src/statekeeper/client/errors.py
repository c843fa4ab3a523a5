"""The errors of a malformed argument to a client method, raised before anything is queued.

Both name the method and the argument, and derive from :class:`StatekeeperError` as well as
from the Python exception a caller expects (``TypeError`` for a value of the wrong type,
``ValueError`` for a string that cannot be stored), so either ``except`` works.
"""

from __future__ import annotations

from ..core.errors import StatekeeperError

__all__ = ["ArgumentTypeError", "InvalidArgument", "InvalidTraceparent", "OperatorsOnly",
           "UnknownState"]


class ArgumentTypeError(StatekeeperError, TypeError):
    """An argument of the wrong type: an id, event name or key that is not a string, say."""


class InvalidArgument(StatekeeperError, ValueError):
    """An argument of the right type whose value cannot be taken.

    An empty id, a string with a lone surrogate (it cannot be stored as UTF-8 text), an
    ``Event`` given data twice, a wait that is not a number of seconds.
    """


class InvalidTraceparent(InvalidArgument):
    """A ``traceparent=`` that is not a W3C Trace Context ``traceparent`` header.

    Refused before anything is queued: a malformed one would be kept with every row the step
    writes and make every span that continues it a root of its own.
    """

    def __init__(self, method: str, value: str) -> None:
        self.value = value
        shown = value if len(value) <= 80 else f"{value[:80]}..."
        super().__init__(
            f"{method}() traceparent={shown!r} is not a W3C traceparent: expected "
            f"'00-<32 hex digits: trace id>-<16 hex digits: parent id>-<2 hex digits: flags>', "
            f"lowercase, ids not all zeros (see https://www.w3.org/TR/trace-context/); pass "
            f"the header as it was received, or None to continue the current OpenTelemetry "
            f"context (Client(tracing=...))")


class UnknownState(StatekeeperError, KeyError):
    """``when`` was asked to wait for a state the instance's chart does not have.

    It could never be reached, so the wait is refused at once instead of lasting forever.
    """

    def __str__(self) -> str:  # a KeyError's str() is the repr of its argument
        return str(self.args[0]) if self.args else ""


class OperatorsOnly(StatekeeperError, PermissionError):
    """An operators' view (history, audit, dead letters) asked of a principal's client.

    Their rows hold every state, data and payload an instance had, so a client that reads
    for a principal (``Client(..., principal=...)``) whose chart policy restricts reads
    refuses them, unless the principal may read the whole instance (``history`` of one
    instance).  ``when`` refuses a sensitive state the same way: the end of the wait would
    tell when the instance entered it.  Nothing was read.  Use a client without a default principal for them.
    """

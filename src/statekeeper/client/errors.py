"""The errors of a malformed argument to a client method, raised before anything is queued.

Both name the method and the argument, and derive from :class:`StatekeeperError` as well as
from the Python exception a caller expects (``TypeError`` for a value of the wrong type,
``ValueError`` for a string that cannot be stored), so either ``except`` works.
"""

from __future__ import annotations

from ..core.errors import StatekeeperError

__all__ = ["ArgumentTypeError", "InvalidArgument", "UnknownState"]


class ArgumentTypeError(StatekeeperError, TypeError):
    """An argument of the wrong type: an id, event name or key that is not a string, say."""


class InvalidArgument(StatekeeperError, ValueError):
    """An argument of the right type whose value cannot be taken.

    An empty id, a string with a lone surrogate (it cannot be stored as UTF-8 text), an
    ``Event`` given data twice, a wait that is not a number of seconds.
    """


class UnknownState(StatekeeperError, KeyError):
    """``when`` was asked to wait for a state the instance's chart does not have.

    It could never be reached, so the wait is refused at once instead of lasting forever.
    """

    def __str__(self) -> str:  # a KeyError's str() is the repr of its argument
        return str(self.args[0]) if self.args else ""

"""Events from outside in the clients: ``receive`` checks an envelope, then sends its event.

Split from ``_base`` for size; :mod:`statekeeper.runtime.envelopes` says what is checked and
why, ``docs/security.md`` ("Events from outside") how to use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..core.errors import InvalidPayload, LimitExceeded, ReservedEventName
from ..runtime.envelopes import (
    Envelope,
    EnvelopeMalformed,
    EnvelopeReplayed,
    EnvelopeVerifier,
    InvalidVerifier,
    log_refused,
)
from ..runtime.errors import IdempotencyKeyReused
from .errors import ArgumentTypeError, InvalidArgument

if TYPE_CHECKING:
    from ..clock import Clock

__all__ = ["ReceiveMixin"]

#: what ``send`` refuses in an event's own fields: for an envelope, a malformed one
_BAD_CONTENT = (ArgumentTypeError, InvalidArgument, InvalidPayload, LimitExceeded,
                ReservedEventName)


class ReceiveMixin:
    """The checks ``receive`` makes before and around its send (set up by ``_BaseClient``)."""

    clock: Clock

    def _verified(self, envelope: Any, verifier: Any) -> Envelope:
        """``envelope`` once ``verifier`` passes it, at the client's clock's now.

        Raises:
            InvalidVerifier: ``verifier`` is not an :class:`EnvelopeVerifier`.
            EnvelopeError: see :meth:`EnvelopeVerifier.verify`.

        """
        if not isinstance(verifier, EnvelopeVerifier):
            raise InvalidVerifier(f"receive() verifier= takes an EnvelopeVerifier, not "
                                  f"{verifier!r}")
        return verifier.verify(envelope, self.clock.now())

    @contextmanager
    def _refusals(self, envelope: Envelope) -> Iterator[None]:
        """Turn the send's refusals of the envelope's content into envelope errors (logged)."""
        at = {"instance": envelope.instance, "event": envelope.event,
              "key_id": envelope.key_id}
        try:
            yield
        except IdempotencyKeyReused as exc:
            replayed = EnvelopeReplayed(
                f"its idempotency key {envelope.idempotency_key!r} was first used for "
                f"{'other data' if exc.first_event == exc.event else repr(exc.first_event)}: "
                f"a replayed key with another body is refused; a new request takes a new key",
                **at)
            log_refused(replayed)
            raise replayed from exc
        except _BAD_CONTENT as exc:
            malformed = EnvelopeMalformed(f"its event cannot be sent ({exc})", **at)
            log_refused(malformed)
            raise malformed from exc

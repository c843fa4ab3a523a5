"""Idempotency keys: what a key remembers of its request, and how a reuse is told from a repeat.

A key names one request.  Its mailbox row keeps the first result and a short fingerprint of
the request's content (event name and data); a later request with the key is a *repeat*
(answered with the first result, nothing changed) only when its fingerprint is the same.
Different content under the same key is refused with :class:`IdempotencyKeyReused` (Stripe's
rule): answering "duplicate" would tell the caller a request that never ran had run.

The fingerprint is 96 bits of BLAKE2b over the name and the canonical JSON of the data (keys
sorted, so ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` are one request): 24 hex characters
per row, computed once per keyed send.  Rows written before fingerprints existed hold none;
for them only the event name is compared.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..core.events import Event
from ..storage.records import MailboxRecord
from .errors import IdempotencyKeyReused
from .requests import DeliverEvent

__all__ = ["check_repeat", "fingerprint"]

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)
# ``encode`` builds a new C encoder on every call, which costs three times the encoding of a
# small payload; one C encoder, made once, is reusable (see storage/_codec.py's ``dumps``).
# ASCII output: a lone surrogate in the data is escaped, so the text always encodes.
try:
    _c_encoder: Any = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",", True,
        False, True)
except (AttributeError, TypeError):  # pragma: no cover - another Python: the plain encoder
    _c_encoder = None


def _canonical(data: Any) -> str:
    if _c_encoder is None:  # pragma: no cover - CPython always has the C encoder
        return _encoder.encode(data)
    return "".join(_c_encoder(data, 0))


def fingerprint(event: Event) -> str:
    """The fingerprint of an event's content: its name and its data."""
    data = event.data
    try:
        text = f"{event.name}\n" if data is None else f"{event.name}\n{_canonical(data)}"
    except (TypeError, ValueError, RecursionError):
        # data JSON cannot hold (the store refuses it later) or keys that cannot be sorted:
        # its repr still tells two such requests apart
        text = repr((event.name, data))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def check_repeat(seen: MailboxRecord, request: DeliverEvent) -> None:
    """Refuse ``request`` if its key's first request (``seen``) had other content.

    Raises:
        IdempotencyKeyReused: another event name, or (when ``seen`` has a fingerprint)
            other data.

    """
    event = request.event
    if seen.event != event.name or (seen.fingerprint is not None and seen.fingerprint != (
            request.fingerprint or fingerprint(event))):
        raise IdempotencyKeyReused(seen.instance, seen.key, seen.event, event.name)

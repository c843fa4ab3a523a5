"""Events from outside: envelopes with an age, an optional HMAC signature and a replay key.

Why an envelope: an event that arrives over a network (a webhook, a message from a partner,
a request relayed by a gateway) may be old, forged, changed on the way or sent twice.  An
:class:`Envelope` carries the event with what is needed to tell: when it was issued, the
idempotency key that names the request, and an HMAC-SHA256 signature by a key id.  An
:class:`EnvelopeVerifier` checks it before anything is queued:

* **form**: the bytes must be the envelope's canonical JSON (keys sorted, no whitespace,
  non-ASCII escaped, as :meth:`Envelope.to_json` writes it), so the signed bytes are exactly
  the received ones and no byte can change without the check noticing;
* **signature** (when the verifier holds keys): over the canonical encoding of every field
  but the signature, with the key its ``key_id`` names.  Keys rotate: the verifier holds
  several by id, signs with the newest (the last given) and accepts any it holds;
* **age**: issued at most ``max_age`` ago, and at most ``skew`` in the future (clocks
  differ);
* **replay**: the idempotency key goes to the instance's mailbox like a send's.  A replayed
  envelope (same event and data) is answered with the first result and never stepped twice;
  the same key with another body is refused (:class:`EnvelopeReplayed`).

Every refusal is an :class:`EnvelopeError`, logged as a warning on ``statekeeper.envelopes``
with the instance, event, key id and reason as fields, and nothing is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..core.durations import Duration, parse_duration
from ..core.errors import StatekeeperError

__all__ = ["Envelope", "EnvelopeError", "EnvelopeExpired", "EnvelopeMalformed",
           "EnvelopeReplayed", "EnvelopeSignatureInvalid", "EnvelopeVerifier",
           "InvalidVerifier", "log_refused"]

_log = logging.getLogger("statekeeper.envelopes")

#: the format's version, signed with the rest: a later format cannot be read as this one
FORMAT = 1
#: what the signature covers starts with this (a signature of something else never matches)
_DOMAIN = b"statekeeper.envelope.v1\n"
_FIELDS = frozenset({"v", "instance", "event", "data", "idempotency_key", "issued_at",
                     "key_id", "sig"})
_SHORTEST_SECRET = 16
#: the furthest issue time read (seconds from the epoch, about the year 5138)
_LATEST = 1e11


class EnvelopeError(StatekeeperError):
    """An envelope refused before anything was queued; nothing was written.

    ``reason`` says why; ``instance``, ``event`` and ``key_id`` are what could be read of it.
    """

    def __init__(self, reason: str, *, instance: str | None = None, event: str | None = None,
                 key_id: str | None = None) -> None:
        self.reason = reason
        self.instance = instance
        self.event = event
        self.key_id = key_id
        super().__init__(f"envelope refused: {reason}; nothing was applied")


class EnvelopeMalformed(EnvelopeError, ValueError):
    """Not an envelope: not canonical JSON, a field missing, unknown or of the wrong type."""


class EnvelopeSignatureInvalid(EnvelopeError, PermissionError):
    """Unsigned where a signature is required, signed by a key not held, or changed."""


class EnvelopeExpired(EnvelopeError, ValueError):
    """Issued more than ``max_age`` ago, or further in the future than the clock skew."""


class EnvelopeReplayed(EnvelopeError, ValueError):
    """Its idempotency key was first used for another event or other data."""


class InvalidVerifier(StatekeeperError, ValueError):
    """A verifier that cannot be made: a key that is not bytes, too short, a bad duration."""


def _encode(value: Any) -> bytes:
    """Canonical JSON: keys sorted, no whitespace, ASCII only, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event for ``instance`` with its issue time, idempotency key and signature.

    Senders build one, sign it (:meth:`sign`, or :meth:`EnvelopeVerifier.sign` with the
    newest key) and send :meth:`to_json`; receivers pass the bytes to ``client.receive``.
    ``issued_at`` is seconds since the epoch (the sender's clock); ``signature`` is the
    lowercase hex HMAC-SHA256 of :meth:`signing_bytes` under the key ``key_id`` names.
    """

    instance: str
    event: str
    data: Any
    idempotency_key: str
    issued_at: float
    key_id: str | None = None
    signature: str | None = None

    def __post_init__(self) -> None:
        for name in ("instance", "event", "idempotency_key"):
            value = getattr(self, name)
            if type(value) is not str or not value:
                raise EnvelopeMalformed(f"{name} takes a non-empty string, not {value!r}")
        at = self.issued_at
        # compared, not converted: an int too large for a float is refused, not an overflow
        if type(at) not in (int, float) or not -_LATEST <= at <= _LATEST:
            shown = repr(at) if len(repr(at)) <= 40 else repr(at)[:37] + "..."
            raise EnvelopeMalformed(f"issued_at takes a finite number of seconds since the "
                                    f"epoch, not {shown}")
        for name in ("key_id", "signature"):
            value = getattr(self, name)
            if value is not None and (type(value) is not str or not value):
                raise EnvelopeMalformed(f"{name} takes a non-empty string or None, not "
                                        f"{value!r}")
        if (self.key_id is None) != (self.signature is None):
            raise EnvelopeMalformed("key_id and signature go together: give both or neither")

    def _fields(self) -> dict[str, Any]:
        return {"v": FORMAT, "instance": self.instance, "event": self.event,
                "data": self.data, "idempotency_key": self.idempotency_key,
                "issued_at": self.issued_at, "key_id": self.key_id}

    def signing_bytes(self, key_id: str | None = None) -> bytes:
        """What the signature covers: a prefix, then the canonical JSON of the fields.

        Every field but the signature, with ``key_id`` in place of the envelope's own when
        given.
        """
        fields = self._fields()
        if key_id is not None:
            fields["key_id"] = key_id
        try:
            return _DOMAIN + _encode(fields)
        except (TypeError, ValueError) as exc:
            raise EnvelopeMalformed(f"data JSON cannot hold ({exc}): send plain JSON values",
                                    instance=self.instance, event=self.event) from None

    def sign(self, key_id: str, secret: bytes | str) -> Envelope:
        """This envelope signed with ``secret`` under ``key_id`` (a new envelope)."""
        key = _secret(key_id, secret)
        return replace(self, key_id=key_id, signature=_mac(key, self.signing_bytes(key_id)))

    def to_json(self) -> bytes:
        """The canonical JSON bytes to send (what :meth:`from_json` and receivers read)."""
        fields = self._fields()
        fields["sig"] = self.signature
        try:
            return _encode(fields)
        except (TypeError, ValueError) as exc:
            raise EnvelopeMalformed(f"data JSON cannot hold ({exc}): send plain JSON values",
                                    instance=self.instance, event=self.event) from None

    @classmethod
    def from_json(cls, raw: bytes | str, *, max_bytes: int = 4 << 20) -> Envelope:
        """Read an envelope from its canonical JSON; anything else is refused.

        Raises:
            EnvelopeMalformed: larger than ``max_bytes``, not ASCII JSON, not in canonical
                form (written otherwise than :meth:`to_json` writes it), or a field missing,
                unknown or of the wrong type.

        """
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        elif not isinstance(raw, (bytes, bytearray, memoryview)):
            raise EnvelopeMalformed(f"an envelope is bytes or text, not {type(raw).__name__}")
        raw = bytes(raw)
        if len(raw) > max_bytes:
            raise EnvelopeMalformed(f"{len(raw)} bytes is more than the {max_bytes} allowed")
        try:
            fields = json.loads(raw.decode("ascii"), parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise EnvelopeMalformed(f"not ASCII JSON ({type(exc).__name__}: "
                                    f"{str(exc)[:100]}): send Envelope.to_json()") from None
        if not isinstance(fields, dict) or set(fields) != _FIELDS:
            got = sorted(fields) if isinstance(fields, dict) else type(fields).__name__
            raise EnvelopeMalformed(f"an envelope is an object with exactly the fields "
                                    f"{sorted(_FIELDS)}, not {got}")
        if fields["v"] != FORMAT or type(fields["v"]) is not int:
            raise EnvelopeMalformed(f"format v={fields['v']!r} is not {FORMAT}, the one this "
                                    f"version reads")
        envelope = cls(instance=fields["instance"], event=fields["event"], data=fields["data"],
                       idempotency_key=fields["idempotency_key"],
                       issued_at=fields["issued_at"], key_id=fields["key_id"],
                       signature=fields["sig"])
        if envelope.to_json() != raw:
            raise EnvelopeMalformed("not in canonical form (keys sorted, no whitespace, "
                                    "non-ASCII escaped): the signed bytes must be the sent "
                                    "ones; send Envelope.to_json()",
                                    instance=envelope.instance, event=envelope.event)
        return envelope


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _secret(key_id: Any, secret: Any) -> bytes:
    if type(key_id) is not str or not key_id:
        raise InvalidVerifier(f"a key id is a non-empty string, not {key_id!r}")
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes):
        raise InvalidVerifier(f"key {key_id!r}: a secret is bytes (or text), not "
                              f"{type(secret).__name__}")
    if len(secret) < _SHORTEST_SECRET:
        raise InvalidVerifier(f"key {key_id!r}: a secret of {len(secret)} bytes is too short "
                              f"to sign with; use at least {_SHORTEST_SECRET} random bytes "
                              f"(32 from secrets.token_bytes(32) is usual)")
    return secret


def _mac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class EnvelopeVerifier:
    """Checks envelopes: form, signature (with any key it holds), age and clock skew.

    ``keys`` maps key ids to secrets, oldest first: :meth:`sign` uses the last (the newest),
    and :meth:`verify` accepts any.  To rotate, add the new key last, let senders move to it,
    then drop the old one.  Without keys, envelopes need no signature (``require_signature``
    says otherwise); a signed one is then refused, as no key can check it.
    """

    def __init__(self, keys: Mapping[str, bytes | str] | None = None, *,
                 max_age: Duration = "5m", skew: Duration = "30s",
                 require_signature: bool | None = None, max_bytes: int = 4 << 20) -> None:
        if keys is not None and not isinstance(keys, Mapping):
            raise InvalidVerifier(f"keys= maps key ids to secrets, not {keys!r}")
        self._keys = {key_id: _secret(key_id, secret) for key_id, secret in (keys or {}).items()}
        try:
            self.max_age = parse_duration(max_age)
            self.skew = parse_duration(skew)
        except ValueError as exc:
            raise InvalidVerifier(f"max_age= and skew= take durations ('5m', 30): {exc}"
                                  ) from None
        if require_signature is None:
            require_signature = bool(self._keys)
        if require_signature is not True and require_signature is not False:
            raise InvalidVerifier(f"require_signature= takes a bool, not {require_signature!r}")
        if require_signature and not self._keys:
            raise InvalidVerifier("require_signature=True needs keys= to check signatures with")
        self.require_signature = require_signature
        if type(max_bytes) is not int or max_bytes < 1:
            raise InvalidVerifier(f"max_bytes= takes a positive int, not {max_bytes!r}")
        self.max_bytes = max_bytes

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys held, oldest first (the last one signs)."""
        return tuple(self._keys)

    def sign(self, envelope: Envelope) -> Envelope:
        """``envelope`` signed with the newest key.  Raises :class:`InvalidVerifier` if none."""
        if not self._keys:
            raise InvalidVerifier("this verifier holds no keys to sign with")
        key_id = next(reversed(self._keys))
        return envelope.sign(key_id, self._keys[key_id])

    def verify(self, envelope: Envelope | bytes | str, now: float) -> Envelope:
        """``envelope`` (read from its bytes if need be) once it passes every check.

        Every refusal is logged (a warning on ``statekeeper.envelopes``).

        Raises:
            EnvelopeMalformed: see :meth:`Envelope.from_json`.
            EnvelopeSignatureInvalid: unsigned while a signature is required, signed by a
                key id this verifier does not hold, or a signature that does not match.
            EnvelopeExpired: older than ``max_age``, or further ahead than ``skew``.

        """
        try:
            if not isinstance(envelope, Envelope):
                envelope = Envelope.from_json(envelope, max_bytes=self.max_bytes)
            self._check_signature(envelope)
            self._check_age(envelope, now)
        except EnvelopeError as exc:
            log_refused(exc)
            raise
        return envelope

    def _check_signature(self, envelope: Envelope) -> None:
        at = {"instance": envelope.instance, "event": envelope.event,
              "key_id": envelope.key_id}
        if envelope.signature is None:
            if self.require_signature:
                raise EnvelopeSignatureInvalid(
                    "it is unsigned, and this receiver requires a signature: sign it with a "
                    "current key (Envelope.sign)", **at)
            return
        key = self._keys.get(envelope.key_id or "")
        if key is None:
            raise EnvelopeSignatureInvalid(
                f"it is signed with key id {envelope.key_id!r}, which this receiver does not "
                f"hold (a retired or unknown key): sign it with a current key", **at)
        expected = _mac(key, envelope.signing_bytes()).encode("ascii")
        if not hmac.compare_digest(expected, envelope.signature.encode("ascii", "replace")):
            raise EnvelopeSignatureInvalid(
                "its signature does not match: it was changed after signing, or signed with "
                "another secret under that key id", **at)

    def _check_age(self, envelope: Envelope, now: float) -> None:
        at = {"instance": envelope.instance, "event": envelope.event,
              "key_id": envelope.key_id}
        age = now - envelope.issued_at
        if age > self.max_age:
            raise EnvelopeExpired(
                f"it was issued {age:.3f}s ago, more than the {self.max_age:g}s allowed: send "
                f"a new envelope (issued now, with the same idempotency key)", **at)
        if -age > self.skew:
            raise EnvelopeExpired(
                f"it was issued {-age:.3f}s in the future, more than the clock skew of "
                f"{self.skew:g}s allowed: check the sender's clock", **at)


def log_refused(error: EnvelopeError) -> None:
    """The warning record of a refused envelope, with its fields for structured handlers."""
    _log.warning("envelope for %s (%s) refused: %s", error.instance or "(unknown)",
                 error.event or "(unknown)", error.reason,
                 extra={"instance": error.instance, "event": error.event,
                        "key_id": error.key_id, "outcome": "refused",
                        "error": type(error).__name__, "reason": error.reason})

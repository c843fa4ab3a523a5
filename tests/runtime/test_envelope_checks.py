"""Envelope checks, as properties: a tampered byte anywhere is refused, any held key verifies,
an envelope past its age (on a VirtualClock) is refused, and only canonical bytes are read.

These run the verifier alone (it writes nothing); ``test_receive.py`` runs it through the
clients and real stores.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statekeeper import (
    Envelope,
    EnvelopeError,
    EnvelopeExpired,
    EnvelopeMalformed,
    EnvelopeSignatureInvalid,
    EnvelopeVerifier,
    InvalidVerifier,
    VirtualClock,
)

START = 1_800_000_000.0
KEYS = {"2026-10": b"october secret, 32 bytes long..", "2026-11": b"november secret, also 32 bytes.",
        "2026-12": b"december secret, newest of them"}

names = st.text(min_size=1, max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8)
envelopes = st.builds(Envelope, instance=names, event=names, data=json_values,
                      idempotency_key=names,
                      issued_at=st.floats(START - 10, START + 10) | st.integers(
                          int(START) - 10, int(START) + 10))


@settings(max_examples=300, deadline=None)
@given(envelopes, st.sampled_from(sorted(KEYS)), st.data())
def test_a_tampered_byte_anywhere_is_refused(envelope: Envelope, key_id: str,
                                             data: st.DataObject) -> None:
    verifier = EnvelopeVerifier(KEYS)
    raw = envelope.sign(key_id, KEYS[key_id]).to_json()
    assert verifier.verify(raw, START).signature is not None
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]), label="byte")
    tampered = raw[:at] + bytes([byte]) + raw[at + 1:]
    with pytest.raises((EnvelopeMalformed, EnvelopeSignatureInvalid)):
        verifier.verify(tampered, START)


@settings(max_examples=100, deadline=None)
@given(envelopes, st.sampled_from(sorted(KEYS)))
def test_any_held_key_verifies_and_the_newest_signs(envelope: Envelope, key_id: str) -> None:
    verifier = EnvelopeVerifier(KEYS)
    signed = envelope.sign(key_id, KEYS[key_id])
    assert verifier.verify(signed.to_json(), START) == signed
    assert verifier.verify(signed, START) == signed  # an Envelope object, not bytes
    assert verifier.sign(envelope).key_id == "2026-12"
    # another key id than the one signed with: the signature covers the key id too
    other = next(k for k in KEYS if k != key_id)
    with pytest.raises(EnvelopeSignatureInvalid, match="does not match"):
        verifier.verify(Envelope(**{**_fields(signed), "key_id": other}), START)


def _fields(envelope: Envelope) -> dict[str, Any]:
    return {name: getattr(envelope, name) for name in (
        "instance", "event", "data", "idempotency_key", "issued_at", "key_id", "signature")}


@settings(max_examples=100, deadline=None)
@given(age=st.floats(0, 600), max_age=st.floats(1, 300), skew=st.floats(0, 60),
       ahead=st.floats(0, 120))
def test_the_age_window_on_a_virtual_clock(age: float, max_age: float, skew: float,
                                           ahead: float) -> None:
    clock = VirtualClock(START)
    verifier = EnvelopeVerifier(KEYS, max_age=max_age, skew=skew)
    sent = verifier.sign(Envelope("o-1", "pay", None, idempotency_key="k", issued_at=START))
    clock.advance(age)
    if clock.now() - START > max_age:
        with pytest.raises(EnvelopeExpired, match="more than the"):
            verifier.verify(sent.to_json(), clock.now())
    else:
        assert verifier.verify(sent.to_json(), clock.now()) == sent
    issued = START + ahead  # as the sender's clock reads it (rounded to a float)
    early = verifier.sign(Envelope("o-1", "pay", None, idempotency_key="k", issued_at=issued))
    if issued - START > skew:
        with pytest.raises(EnvelopeExpired, match="in the future"):
            verifier.verify(early, START)
    else:
        assert verifier.verify(early, START) == early


def test_keys_rotate_retired_keys_are_refused() -> None:
    old = EnvelopeVerifier({"2026-10": KEYS["2026-10"]})
    sent = old.sign(Envelope("o-1", "pay", {"n": 1}, idempotency_key="k", issued_at=START))
    rotated = EnvelopeVerifier({k: KEYS[k] for k in ("2026-11", "2026-12")})
    with pytest.raises(EnvelopeSignatureInvalid, match="'2026-10', which this receiver does"):
        rotated.verify(sent.to_json(), START)
    forged = sent.sign("2026-12", b"not the real secret at all......")
    with pytest.raises(EnvelopeSignatureInvalid, match="does not match"):
        rotated.verify(forged.to_json(), START)


def test_signatures_are_required_when_keys_are_held() -> None:
    unsigned = Envelope("o-1", "pay", None, idempotency_key="k", issued_at=START)
    with pytest.raises(EnvelopeSignatureInvalid, match="unsigned"):
        EnvelopeVerifier(KEYS).verify(unsigned.to_json(), START)
    keyless = EnvelopeVerifier()
    assert keyless.verify(unsigned.to_json(), START) == unsigned
    signed = unsigned.sign("2026-12", KEYS["2026-12"])
    with pytest.raises(EnvelopeSignatureInvalid, match="does not hold"):
        keyless.verify(signed.to_json(), START)
    lax = EnvelopeVerifier(KEYS, require_signature=False)
    assert lax.verify(unsigned, START) == unsigned
    assert lax.verify(signed, START) == signed


@pytest.mark.parametrize("raw", [
    b'{"v": 1}',
    b"[]",
    b"not json",
    b'{"data":null,"event":"pay","idempotency_key":"k","instance":"o-1","issued_at":NaN,'
    b'"key_id":null,"sig":null,"v":1}',
    # keys out of order, and whitespace: equal as JSON, not as signed bytes
    b'{"event":"pay","data":null,"idempotency_key":"k","instance":"o-1","issued_at":1,'
    b'"key_id":null,"sig":null,"v":1}',
    b'{"data": null,"event":"pay","idempotency_key":"k","instance":"o-1","issued_at":1,'
    b'"key_id":null,"sig":null,"v":1}',
    # a duplicate key (JSON readers disagree on which one counts)
    b'{"data":null,"event":"pay","event":"refund","idempotency_key":"k","instance":"o-1",'
    b'"issued_at":1,"key_id":null,"sig":null,"v":1}',
    b'{"data":null,"event":"pay","idempotency_key":"k","instance":"o-1","issued_at":1,'
    b'"key_id":null,"sig":null,"v":2}',
    b'{"data":null,"event":"","idempotency_key":"k","instance":"o-1","issued_at":1,'
    b'"key_id":null,"sig":null,"v":1}',
    b'{"data":null,"event":"pay","idempotency_key":"k","instance":"o-1","issued_at":"1",'
    b'"key_id":null,"sig":null,"v":1}',
    b'{"data":null,"event":"pay","idempotency_key":"k","instance":"o-1","issued_at":1,'
    b'"key_id":"k1","sig":null,"v":1}',
    b'{"data":"caf\xc3\xa9","event":"pay","idempotency_key":"k","instance":"o-1","issued_at":1,'
    b'"key_id":null,"sig":null,"v":1}',
    b"[" * 100_000,
    b'{"data":null,"event":"pay","idempotency_key":"k","instance":"o-1","issued_at":'
    + b"9" * 400 + b',"key_id":null,"sig":null,"v":1}',
    b'{"data":null,"event":"pay","idempotency_key":"k","instance":"o-1","issued_at":1e400,'
    b'"key_id":null,"sig":null,"v":1}',
])
def test_anything_but_a_canonical_envelope_is_malformed(raw: bytes,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "statekeeper.envelopes"), \
            pytest.raises(EnvelopeMalformed, match="nothing was applied"):
        EnvelopeVerifier(max_age=1e9).verify(raw, 1.0)
    [record] = caplog.records
    assert (record.levelno, record.outcome, record.error) == (  # type: ignore[attr-defined]
        logging.WARNING, "refused", "EnvelopeMalformed")


def test_oversized_envelopes_are_refused_before_parsing() -> None:
    raw = Envelope("o-1", "pay", "x" * 2_000, idempotency_key="k", issued_at=1).to_json()
    with pytest.raises(EnvelopeMalformed, match="more than the 1000 allowed"):
        EnvelopeVerifier(max_bytes=1_000).verify(raw, 1.0)


def test_every_refusal_is_an_envelope_error_and_says_what_to_do() -> None:
    for error in (EnvelopeMalformed, EnvelopeSignatureInvalid, EnvelopeExpired):
        assert issubclass(error, EnvelopeError)
    verifier = EnvelopeVerifier(KEYS, max_age="1m")
    old = verifier.sign(Envelope("o-1", "pay", None, idempotency_key="k", issued_at=START))
    with pytest.raises(EnvelopeExpired) as caught:
        verifier.verify(old, START + 61)
    assert "send a new envelope" in str(caught.value)
    assert (caught.value.instance, caught.value.event, caught.value.key_id) == (
        "o-1", "pay", "2026-12")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: EnvelopeVerifier({"k": b"short"}), "too short"),
    (lambda: EnvelopeVerifier({"k": 12345}), "secret is bytes"),
    (lambda: EnvelopeVerifier({"": KEYS["2026-10"]}), "key id"),
    (lambda: EnvelopeVerifier([("k", KEYS["2026-10"])]), "maps key ids"),  # type: ignore[arg-type]
    (lambda: EnvelopeVerifier(max_age="soon"), "durations"),
    (lambda: EnvelopeVerifier(require_signature=True), "needs keys"),
    (lambda: EnvelopeVerifier(max_bytes=0), "positive int"),
    (lambda: EnvelopeVerifier().sign(Envelope("o", "e", None, idempotency_key="k",
                                              issued_at=1)), "no keys"),
])
def test_verifiers_that_cannot_work_are_refused(make: Any, message: str) -> None:
    with pytest.raises(InvalidVerifier, match=message):
        make()


@pytest.mark.parametrize(("fields", "message"), [
    ({"instance": ""}, "instance takes"),
    ({"issued_at": float("nan")}, "finite number"),
    ({"issued_at": True}, "finite number"),
    ({"key_id": "k"}, "go together"),
    ({"data": {1, 2}}, "JSON cannot hold"),
])
def test_envelopes_that_cannot_be_sent_are_refused(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"instance": "o-1", "event": "pay", "data": None,
                            "idempotency_key": "k", "issued_at": START}
    with pytest.raises(EnvelopeMalformed, match=message):
        Envelope(**{**base, **fields}).to_json()

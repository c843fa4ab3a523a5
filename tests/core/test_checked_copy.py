"""checked_copy (the one pass every sent payload takes) does what check then copy do."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from statekeeper.core.errors import InvalidPayload, LimitExceeded
from statekeeper.core.limits import Limits
from statekeeper.core.payload import (
    check_payload,
    checked_copy,
    copy_payload,
    flat_copy,
    is_flat,
)
from statekeeper.storage import why_not_json
from statekeeper.testing.strategies import suite_settings

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=70), st.sampled_from(["a", "é", "\ud800", "x" * 65]),
)
_keys = st.one_of(st.text(max_size=70), st.sampled_from(["amount", "é", "\ud800", "k" * 65]))
_payloads = st.one_of(
    _scalars,
    st.dictionaries(_keys, _scalars, max_size=20),
    st.recursive(st.dictionaries(_keys, _scalars, max_size=3),
                 lambda inner: st.one_of(st.lists(inner, max_size=3),
                                         st.dictionaries(_keys, inner, max_size=3)),
                 max_leaves=8),
)
_limits = st.builds(Limits, max_depth=st.integers(1, 4),
                    max_payload_bytes=st.sampled_from([10, 100, 4096, 4_000_000]))


def _old(value: Any, limits: Limits) -> Any:
    check_payload(value, limits=limits, what="event data")
    return copy_payload(value) if isinstance(value, dict | list | tuple) else value


def _outcome(fn: Any, value: Any, limits: Limits) -> tuple[str, Any]:
    try:
        return "ok", fn(value, limits)
    except (InvalidPayload, LimitExceeded) as exc:
        return type(exc).__name__, str(exc)


@suite_settings(max_examples=300)
@given(_payloads, _limits)
def test_checked_copy_is_check_then_copy(value: Any, limits: Limits) -> None:
    new = _outcome(lambda v, lim: checked_copy(v, limits=lim, what="event data"), value, limits)
    old = _outcome(_old, value, limits)
    if new[0] == "ok" and old[0] == "ok":
        assert new[1] == old[1] or (new[1] != new[1] and old[1] != old[1])  # NaN is not NaN
        if isinstance(value, dict | list):
            assert new[1] is not value  # a copy, never the caller's container
    else:
        assert new == old


@suite_settings(max_examples=300)
@given(_payloads, _limits)
def test_flat_copy_vouches_only_for_what_the_check_accepts(value: Any, limits: Limits) -> None:
    # the machines' one pass: a copy means valid and within the limits; None refuses nothing
    if type(value) is not dict:
        return
    copied = flat_copy(value, limits)
    if copied is not None:
        assert _outcome(_old, value, limits) == ("ok", value)
        assert copied == value and copied is not value


@suite_settings(max_examples=300)
@given(_payloads, _limits)
def test_is_flat_vouches_only_for_what_the_check_accepts(value: Any, limits: Limits) -> None:
    # a send's payload and an effect's result: True means the check passes it, as it is
    if type(value) is not dict:
        return
    if is_flat(value, limits):
        assert _outcome(_old, value, limits) == ("ok", value)
        assert why_not_json(value) is None
    assert is_flat(value, limits) == (flat_copy(value, limits) is not None)

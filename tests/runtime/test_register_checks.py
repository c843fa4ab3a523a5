"""``register`` refuses effect bindings that would fail later, or silently mean less.

Before: a non-callable effect was accepted and failed in the worker on the first attempt; an
``at_most_once`` name with a typo was accepted, and the effect it meant ran at-least-once (a
second charge after a crash, where the caller had asked for none); a string ``at_most_once``
was read as a set of substrings.
"""

from __future__ import annotations

from typing import Any

import pytest
from order_chart import ORDER

from statekeeper.client import Client


def charge(args: Any, key: str) -> str:
    return "charged"


def test_an_effect_that_cannot_be_called_is_refused() -> None:
    with Client("memory://", worker=False) as client, \
            pytest.raises(TypeError, match=r"effect 'charge'.*callable"):
        client.register(ORDER, effects={"charge": 5})


def test_an_at_most_once_name_of_no_effect_is_refused() -> None:
    with Client("memory://", worker=False) as client, \
            pytest.raises(ValueError, match=r"at_most_once.*'chrage'.*charge"):
        client.register(ORDER, effects={"charge": charge}, at_most_once={"chrage"})


def test_at_most_once_must_be_a_collection_of_names() -> None:
    with Client("memory://", worker=False) as client:
        with pytest.raises(TypeError, match="at_most_once"):
            client.register(ORDER, effects={"charge": charge}, at_most_once="charge")
        with pytest.raises(TypeError, match="at_most_once"):
            client.register(ORDER, effects={"charge": charge}, at_most_once={5})
        with pytest.raises(TypeError, match="at_most_once"):
            client.register(ORDER, effects={"charge": charge}, at_most_once=5)


def test_names_bound_for_other_charts_are_allowed() -> None:
    # one effects map (and at-most-once set) shared by several charts is fine
    shared = {"charge": charge, "refund": charge}
    with Client("memory://", worker=False) as client:
        client.register(ORDER, effects=shared, at_most_once={"charge", "refund"})
        entry = client.registry.latest("order")
        assert entry.at_most_once == frozenset({"charge", "refund"})

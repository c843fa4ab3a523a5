"""Statekeeper's own attributes in SCXML: ``sk:stuck-after`` in the statekeeper namespace.

Other namespaces' attributes are extensions and ignored; statekeeper's own are read, checked
like the dict form's, and a misspelt one is refused rather than silently dropped.
"""

from __future__ import annotations

import pytest

from statekeeper import ChartError
from statekeeper.io.scxml import STATEKEEPER_NS, read_scxml

DOC = ('<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:sk="{ns}" version="1.0" '
       'initial="open">{body}</scxml>')


def _read(body: str) -> object:
    return read_scxml(DOC.format(ns=STATEKEEPER_NS, body=body))


def test_stuck_after_is_read_on_states_and_parallels() -> None:
    chart = _read('<state id="open" sk:stuck-after="2h"><state id="waiting" sk:stuck-after="90"/>'
                  '</state><parallel id="both" sk:stuck-after="1d"><state id="x"/></parallel>')
    states = {s.id: s for s in chart.states}  # type: ignore[attr-defined]
    assert states["open"].stuck_after == "2h"
    assert {s.id: s.stuck_after for s in states["open"].states} == {"waiting": "90"}
    assert states["both"].stuck_after == "1d"


@pytest.mark.parametrize(("body", "reason"), [
    ('<state id="open" sk:stuck-after="soon"/>', "stuck_after takes a duration"),
    ('<state id="open" sk:stuck-after="0s"/>', "above 0 seconds"),
    ('<state id="open" sk:stuck_after="2h"/>', "unknown statekeeper attribute 'stuck_after'"),
    ('<state id="open"><transition sk:stuck-after="2h" target="open"/></state>',
     "unknown statekeeper attribute 'stuck-after'"),
])
def test_a_bad_or_misspelt_attribute_names_the_line(body: str, reason: str) -> None:
    with pytest.raises(ChartError, match=reason) as caught:
        _read(body)
    assert "line 1" in str(caught.value)


def test_other_namespaces_stay_ignored() -> None:
    chart = read_scxml('<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:x="urn:other" '
                       'version="1.0"><state id="a" x:stuck-after="soon"/></scxml>')
    assert chart.states[0].stuck_after is None

"""The structure hash is stable across processes and spellings of the same chart."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta

from statekeeper.core.hashing import canonical, structure_hash


def test_xml_content_hashes_by_its_text_not_its_address() -> None:
    one = ET.fromstring("<order><item sku='a'/></order>")
    two = ET.fromstring("<order><item sku='a'/></order>")
    assert structure_hash({"content": one}) == structure_hash({"content": two})
    assert structure_hash({"content": one}) != structure_hash(
        {"content": ET.fromstring("<order><item sku='b'/></order>")})


def test_timedelta_is_canonical_seconds() -> None:
    assert canonical(timedelta(minutes=5)) == canonical(timedelta(seconds=300))
    assert structure_hash({"d": timedelta(minutes=5)}) != structure_hash({"d": timedelta(minutes=6)})


def test_an_scxml_chart_hashes_the_same_in_another_process() -> None:
    source = (
        "from statekeeper import compile_chart\n"
        "from statekeeper.io.scxml import read_scxml\n"
        "doc = '''<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' initial='a'>"
        "<state id='a'><onentry><send event='x'><content><p q='1'/></content></send></onentry>"
        "<transition event='x' target='b'/></state><final id='b'/></scxml>'''\n"
        "print(compile_chart(read_scxml(doc)).hash)\n"
    )
    runs = {subprocess.run([sys.executable, "-c", source], check=True, capture_output=True,
                           text=True).stdout for _ in range(2)}
    assert len(runs) == 1

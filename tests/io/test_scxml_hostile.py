"""Hostile SCXML documents: they read no files, exhaust nothing, and fail with named errors.

Issue 15: an untrusted document read local files through ``<data src>`` (absolute paths,
``file:`` URLs, ``../``), hung on a pipe, read its ``<script src>`` before refusing it, and
crashed the reader with RecursionError, LookupError or UnicodeEncodeError.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from statekeeper import ChartError, LimitExceeded, Limits
from statekeeper.io.dictform import load_chart
from statekeeper.io.scxml import load_scxml, read_scxml

NS = 'xmlns="http://www.w3.org/2005/07/scxml"'


def doc(body: str, datamodel: str = "") -> str:
    dm = f' datamodel="{datamodel}"' if datamodel else ""
    return f'<scxml {NS}{dm} initial="s">\n{body}\n</scxml>'


def data_src(src: str) -> str:
    return doc(f'<datamodel><data id="secret" src="{src}"/></datamodel><state id="s"/>')


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the folder the document may read from."""
    secret = tmp_path / "secret.txt"
    secret.write_text('"the secret"')
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "value.json").write_text('{"a": 1}')
    return secret


@pytest.mark.parametrize("src", ["{abs}", "file://{abs}", "file:{abs}", "value.json",
                                 "file:value.json"])
def test_an_untrusted_document_reads_no_file_unless_told(outside: Path, src: str) -> None:
    with pytest.raises(ChartError, match="reads no files") as info:
        read_scxml(data_src(src.format(abs=outside)))
    message = str(info.value)
    assert "id='secret'" in message and "line 2" in message and "base_dir=" in message


@pytest.mark.parametrize("src", ["{abs}", "file://{abs}", "file:{abs}", "../secret.txt",
                                 "file:../secret.txt", "sub/../../secret.txt",
                                 "http://example.com/x", "ftp://h/x", "file://otherhost/x"])
def test_a_named_folder_does_not_open_the_rest_of_the_disk(outside: Path, src: str) -> None:
    with pytest.raises(ChartError, match="id='secret'"):
        read_scxml(data_src(src.format(abs=outside)), base_dir=outside.parent / "charts")


def test_a_named_folder_reads_relative_files_inside_it(outside: Path) -> None:
    folder = outside.parent / "charts"
    for src in ("value.json", "file:value.json", "./value.json"):
        chart = read_scxml(data_src(src), base_dir=folder)
        assert chart.data_items[0].value == {"a": 1}


def test_a_symbolic_link_out_of_the_folder_is_refused(outside: Path) -> None:
    folder = outside.parent / "charts"
    (folder / "link.txt").symlink_to(outside)
    with pytest.raises(ChartError, match="leads out of base_dir"):
        read_scxml(data_src("link.txt"), base_dir=folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_or_a_device_is_refused_without_reading(outside: Path) -> None:
    folder = outside.parent / "charts"
    os.mkfifo(folder / "pipe")
    with pytest.raises(ChartError, match="not a regular file"):
        read_scxml(data_src("pipe"), base_dir=folder)
    with pytest.raises(ChartError, match="not a regular file"):
        read_scxml(data_src("/dev/zero"), trusted=True)  # trusted: any path, but files only
    os.mkfifo(folder / "pipe.yaml")
    with pytest.raises(ChartError, match="not a regular file"):
        load_chart(folder / "pipe.yaml")


def test_a_source_over_the_size_limit_is_refused(outside: Path) -> None:
    folder = outside.parent / "charts"
    (folder / "big.txt").write_text("x" * 5_000)
    with pytest.raises(LimitExceeded, match="max_document_bytes") as info:
        read_scxml(data_src("big.txt"), base_dir=folder, limits=Limits(max_document_bytes=4_000))
    assert "id='secret'" in str(info.value)


def test_a_loader_reads_sources_instead_of_files() -> None:
    asked: list[str] = []

    def loader(src: str) -> str:
        asked.append(src)
        return '{"from": "loader"}'

    chart = read_scxml(data_src("anything:at/all"), loader=loader)
    assert chart.data_items[0].value == {"from": "loader"}
    assert asked == ["anything:at/all"]
    with pytest.raises(LimitExceeded, match="max_document_bytes"):
        read_scxml(data_src("x"), loader=lambda src: "1" * 100,
                   limits=Limits(max_document_bytes=99))
    with pytest.raises(ChartError, match="the loader failed: KeyError"):
        read_scxml(data_src("x"), loader={}.__getitem__)
    with pytest.raises(TypeError, match="not both"):
        read_scxml(data_src("x"), loader=loader, base_dir=".")


def test_an_untrusted_script_src_is_refused_before_it_is_read() -> None:
    asked: list[str] = []

    def loader(src: str) -> str:
        asked.append(src)
        return "x = 1"

    script = doc('<script src="evil.py"/><state id="s"/>')
    with pytest.raises(ChartError, match="trusted=True"):
        read_scxml(script, loader=loader)
    assert asked == []
    with pytest.raises(ChartError, match="trusted=True"):
        read_scxml(doc('<script src="/nonexistent/evil.py"/><state id="s"/>'))
    assert read_scxml(script, loader=loader, trusted=True).script == "x = 1"


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("tag", ["state", "if"])
def test_deep_elements_are_a_limit_not_a_recursion_error(tag: str) -> None:
    if tag == "state":
        body = "<state>" * 1_000 + "</state>" * 1_000
    else:
        body = ('<state id="s"><onentry>' + '<if cond="In(\'s\')">' * 1_000 + "</if>" * 1_000
                + "</onentry></state>")
    with pytest.raises(LimitExceeded) as info:
        read_scxml(doc(body))
    assert info.value.limit == "max_depth"
    assert "SCXML line 2" in str(info.value)


def test_deep_inline_data_is_a_limit() -> None:
    deep = "[" * 5_000 + "]" * 5_000
    with pytest.raises(LimitExceeded, match="max_depth"):
        read_scxml(doc(f'<datamodel><data id="d">{deep}</data></datamodel><state id="s"/>'))


def test_states_transitions_and_size_are_bounded() -> None:
    states = "".join(f'<state id="s{i}"><transition event="e" target="s0"/></state>'
                     for i in range(10))
    text = doc(states.replace('id="s0"', 'id="s"', 1))
    with pytest.raises(LimitExceeded, match="max_states"):
        read_scxml(text, limits=Limits(max_states=9))
    with pytest.raises(LimitExceeded, match="max_transitions"):
        read_scxml(text, limits=Limits(max_transitions=9))
    with pytest.raises(LimitExceeded, match="max_document_bytes"):
        read_scxml(text, limits=Limits(max_document_bytes=100))
    with pytest.raises(LimitExceeded, match="max_document_bytes"):
        read_scxml(text.encode(), limits=Limits(max_document_bytes=100))


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.scxml"
    path.write_text(doc('<state id="s"/>' + " " * 1_000))
    with pytest.raises(LimitExceeded, match="max_document_bytes"):
        load_scxml(path, limits=Limits(max_document_bytes=500))


# --------------------------------------------------------------------------- named errors


@pytest.mark.parametrize("source, match", [
    (b'<?xml version="1.0" encoding="foo-bar"?><scxml/>', "encoding"),
    (b'<?xml version="1.0" encoding="rot13"?><scxml/>', "encoding"),
    (b'<?xml version="1.0" encoding="shift_jis"?><scxml/>', "encoding"),
    (f'<scxml {NS}><state id="\xff"/></scxml>'.encode("latin-1"), "line 1"),
    (f'<scxml {NS}>\n<state id="\ud800"/></scxml>', "line 2.*lone surrogate"),
    (f'<!DOCTYPE scxml [<!ENTITY a "aaaa">]><scxml {NS}><state id="&a;"/></scxml>', "entity"),
])
def test_bad_text_is_a_chart_error(source: str | bytes, match: str) -> None:
    with pytest.raises(ChartError, match=match):
        read_scxml(source)


def test_a_non_utf8_source_file_is_a_chart_error(tmp_path: Path) -> None:
    (tmp_path / "v.txt").write_bytes(b'"\xff"')
    with pytest.raises(ChartError, match="not UTF-8"):
        read_scxml(data_src("v.txt"), base_dir=tmp_path)


@pytest.mark.parametrize("value", ["1e999", "-1e999", "[1, 1e999]"])
def test_numbers_json_cannot_hold_are_chart_errors(value: str) -> None:
    with pytest.raises(ChartError, match="line 2"):
        read_scxml(doc(f'<datamodel><data id="d">{value}</data></datamodel><state id="s"/>'))


def test_a_huge_delay_is_a_chart_error() -> None:
    text = doc(f'<state id="s"><onentry><send event="e" delay="{"9" * 400}d"/></onentry></state>')
    with pytest.raises(ChartError, match=r"send.*line 2"):
        read_scxml(text)


def test_a_compound_state_holding_only_history_is_a_chart_error(tmp_path: Path) -> None:
    path = tmp_path / "h.scxml"
    path.write_text(doc('<state id="s"><history id="h"/></state>'))
    with pytest.raises(ChartError, match="only a history state"):
        load_scxml(path)


def test_a_history_only_state_names_its_line_when_read() -> None:
    with pytest.raises(ChartError, match=r"<state> at line 4: id=.c.: .*only a history state"):
        read_scxml(doc('<state id="s">\n<transition event="e" target="s"/>\n'
                       '<state id="c"><history id="h"/></state></state>'))


@pytest.mark.parametrize(("value", "kind"), [
    ("{1, 2}", "set"), ("set()", "set"), ("b'ab'", "bytes"), ("1j", "complex"),
    ("...", "ellipsis"), ("[1, {2}]", "set"), ("{'a': b'x'}", "bytes"),
])
def test_inline_values_json_cannot_hold_are_chart_errors(value: str, kind: str) -> None:
    # ast.literal_eval reads more than JSON holds; such a value failed only when stored
    text = doc(f'<datamodel>\n<data id="d">{value}</data></datamodel><state id="s"/>')
    with pytest.raises(ChartError, match=rf"<data> at line 3: id='d'.* {kind}\b.*JSON"):
        read_scxml(text)


@pytest.mark.parametrize("value", ["{1: 2}", "{(1, 2): 3}", "{'a': {2.5: 'x'}}"])
def test_inline_values_with_keys_that_are_not_strings_are_chart_errors(value: str) -> None:
    # {1: 2} would be stored as {"1": 2}: not the value the document wrote
    text = doc(f'<datamodel><data id="d">{value}</data></datamodel><state id="s"/>')
    with pytest.raises(ChartError, match=r"<data> at line 2: id='d'.*key.*not a string"):
        read_scxml(text)


def test_inline_tuples_are_read_as_lists() -> None:
    text = doc('<datamodel><data id="d">{"a": (1, (2, 3))}</data></datamodel><state id="s"/>')
    assert read_scxml(text).data[0].value == {"a": [1, [2, 3]]}


def test_a_number_too_wide_for_python_is_a_chart_error_not_a_string() -> None:
    # json and ast.literal_eval both refuse 5,000 digits: it silently became a string
    for value in ["9" * 5000, "[" + "9" * 5000 + "]"]:
        text = doc(f'<datamodel><data id="d">{value}</data></datamodel><state id="s"/>')
        with pytest.raises(ChartError, match=r"<data> at line 2: id='d'.*too (large|wide)"):
            read_scxml(text)


def test_a_src_file_is_held_to_the_same_rule(tmp_path: Path) -> None:
    (tmp_path / "v.txt").write_text("{1, 2}")
    with pytest.raises(ChartError, match=r"id='secret'.* set\b.*JSON"):
        read_scxml(data_src("v.txt"), base_dir=tmp_path)

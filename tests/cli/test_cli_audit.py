"""What a second probe of the command line found after issue 15's fixes.

``validate`` and ``diagram`` could not read an SCXML document with ``<data src>`` at all (no
way to name the folder it may read from); ``check --chart`` refused every chart that names a
guard or a function (the code is not in the file); a negative ``rev`` crashed ``check`` with
a traceback; ``instances --limit`` with a number SQLite cannot hold crashed too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, State, VirtualClock
from statekeeper.cli.main import EXIT_USAGE, main
from statekeeper.client import Client

ROOT = Path(__file__).resolve().parents[2]
ORDER_YAML = ROOT / "docs" / "examples" / "order.yaml"
SCXML = """<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="a">
  <datamodel><data id="rates" src="rates.json"/></datamodel>
  <state id="a"><transition event="go" target="b"/></state>
  <final id="b"/>
</scxml>
"""


@pytest.fixture
def scxml(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rates.json").write_text('{"eur": 1.0}')
    path = tmp_path / "charts" / "rated.scxml"
    path.parent.mkdir()
    path.write_text(SCXML)
    return path


def test_data_src_without_a_base_dir_names_the_option(
        scxml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(scxml)]) == 1
    err = capsys.readouterr().err
    assert "--base-dir" in err and "Traceback" not in err, err


@pytest.mark.parametrize("command", ["validate", "diagram"])
def test_base_dir_lets_a_document_read_inside_that_folder(
        scxml: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    folder = scxml.parent.parent / "data"
    assert main([command, str(scxml), "--base-dir", str(folder)]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert ("OK:" in out) if command == "validate" else ("stateDiagram" in out), out


def test_base_dir_keeps_the_document_inside_it(
        scxml: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scxml.write_text(SCXML.replace("rates.json", "../data/rates.json"))
    assert main(["validate", str(scxml), "--base-dir", str(scxml.parent)]) == 1
    assert "'..'" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["missing", "file"])
def test_a_base_dir_that_is_no_folder_is_a_usage_error(
        scxml: Path, capsys: pytest.CaptureFixture[str], folder: str) -> None:
    path = scxml.parent / "rated.scxml" if folder == "file" else scxml.parent / "missing"
    assert main(["validate", str(scxml), "--base-dir", str(path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--base-dir" in err and "folder" in err and "Traceback" not in err, err


def test_check_reads_a_chart_that_names_guards_and_functions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the guards and functions live in the application, not in the file: check needs none
    db = tmp_path / "empty.db"
    with Client(db, worker=False):
        pass
    assert main(["check", "--db", str(db), "--chart", str(ORDER_YAML)]) == 0, \
        capsys.readouterr().err
    assert capsys.readouterr().out.strip().endswith(": ok")


FLIP = Chart("flip", version=1, initial="off", states={
    "off": State(on={"go": "on"}), "on": State(on={"go": "off"})})


@pytest.fixture
def flips(tmp_path: Path) -> Path:
    path = tmp_path / "flips.db"
    with Client(path, clock=VirtualClock(), worker=False) as client:
        client.register(FLIP)
        for iid in ("f-1", "f-2"):
            client.start("flip", iid)
            client.send(iid, "go")
    return path


@pytest.mark.parametrize("rev", [-5, 0])
def test_check_names_a_rev_below_one_instead_of_crashing(
        flips: Path, capsys: pytest.CaptureFixture[str], rev: int) -> None:
    raw = sqlite3.connect(flips)
    with raw:
        raw.execute("UPDATE instances SET rev = ? WHERE id = 'f-1'", (rev,))
    raw.close()
    assert main(["check", "--db", str(flips)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.out.splitlines()
    assert any("f-1" in line and "rev" in line for line in lines), lines
    assert lines[-1].endswith("problem(s)")


@pytest.mark.parametrize("limit", ["99999999999999999999999", "x"])
def test_instances_limit_out_of_range_is_a_usage_error(
        flips: Path, capsys: pytest.CaptureFixture[str], limit: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["instances", "--db", str(flips), "--limit", limit])
    assert exit_.value.code == EXIT_USAGE
    assert "--limit" in capsys.readouterr().err

"""The command line refuses what is not a file where it expects one, and never eats its input.

``statekeeper diagram chart.yaml -o chart.yaml`` used to replace the chart with its diagram;
``statekeeper validate`` on a FIFO (or ``/dev/stdin`` with nothing behind it) waited forever.
Now an output that is the input (by any path: relative, a symlink, a hard link) is refused,
a chart path or output that is a pipe, a device or a directory is refused with exit status
2 and a message saying what to pass instead, and no command prints a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from statekeeper.cli.main import EXIT_USAGE, main

ROOT = Path(__file__).resolve().parents[2]
ORDER_YAML = (ROOT / "docs" / "examples" / "order.yaml").read_text("utf-8")


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    path = tmp_path / "order.yaml"
    path.write_text(ORDER_YAML, "utf-8")
    return path


def _outputs(chart: Path) -> list[str]:
    link = chart.with_name("link.yaml")
    link.symlink_to(chart)
    hard = chart.with_name("hard.yaml")
    os.link(chart, hard)
    return [str(chart), str(chart.parent / "." / chart.name), str(link), str(hard)]


def test_diagram_never_overwrites_its_input(chart: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    for output in _outputs(chart):
        assert main(["diagram", str(chart), "-o", output]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert "is the chart being read" in err and "Traceback" not in err, err
        assert chart.read_text("utf-8") == ORDER_YAML
    # through a symlinked input too
    link = chart.with_name("in-link.yaml")
    link.symlink_to(chart)
    assert main(["diagram", str(link), "-o", str(chart)]) == EXIT_USAGE
    assert chart.read_text("utf-8") == ORDER_YAML
    # another file is written as before
    assert main(["diagram", str(chart), "-o", str(chart.with_name("order.mmd"))]) == 0
    assert "stateDiagram-v2" in chart.with_name("order.mmd").read_text("utf-8")


@pytest.mark.parametrize("command", ["validate", "diagram"])
def test_a_fifo_directory_or_device_is_not_a_chart_file(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "chart.yaml"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    for path in (str(fifo), str(folder), "/dev/null", "/dev/zero"):
        # a FIFO with no writer would block the open forever: run it where a hang is caught
        result = subprocess.run([sys.executable, "-m", "statekeeper", command, path],
                                capture_output=True, text=True, timeout=30, check=False,
                                env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                                stdin=subprocess.DEVNULL)
        assert result.returncode == EXIT_USAGE, (path, result)
        assert "not a regular file" in result.stderr and "Traceback" not in result.stderr
        assert path in result.stderr


def test_diagram_refuses_an_output_that_is_not_a_regular_file(
        chart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    fifo = tmp_path / "out.mmd"
    os.mkfifo(fifo)
    for output in (str(folder), str(fifo), "/dev/null"):
        assert main(["diagram", str(chart), "-o", output]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert "not a regular file" in err and output in err, err


def test_a_write_that_fails_names_the_output(chart: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    missing = chart.parent / "no-such-folder" / "out.mmd"
    assert main(["diagram", str(chart), "-o", str(missing)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_a_chart_that_is_not_utf8_is_an_error_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: x\n\xff\xfe: 1\n")
    for command in ("validate", "diagram"):
        assert main([command, str(bad)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("statekeeper: error: ") and str(bad) in err, err



@pytest.fixture
def database(tmp_path: Path) -> Path:
    from statekeeper import Chart, Client, State

    path = tmp_path / "d.db"
    with Client(f"sqlite:///{path}", worker=False) as client:
        client.register(Chart("lamp", initial="off", states={
            "off": State(on={"flip": "on"}), "on": State(on={"flip": "off"})}))
        client.start("lamp", "l-1")
    return path


@pytest.mark.parametrize(("args", "reason"), [
    (["history", "x\udcff"], "not UTF-8 text"),          # bytes b"x\xff" on the command line
    (["history", "l-1", "--after", str(2 ** 70)], "out of range"),
    (["history", "l-1", "--limit", str(-(2 ** 70))], "out of range"),
    (["dead-letters", "show", str(2 ** 64)], "out of range"),
    (["dead-letters", "replay", "1", "--actor", "\udcff"], "not UTF-8 text"),
    (["dead-letters", "list", "--instance", "\udcfe"], "not UTF-8 text"),
])
def test_store_commands_refuse_arguments_no_store_can_hold(
        database: Path, args: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command, *rest = args
    before = database.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main([command, "--db", str(database), *rest])
    assert exit_.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert reason in err and "Traceback" not in err, err
    assert database.read_bytes() == before

"""The command line, run as a real subprocess (``python -m statekeeper``) on real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from statekeeper import __version__

ROOT = Path(__file__).resolve().parents[2]
ORDER_YAML = ROOT / "docs" / "examples" / "order.yaml"
PYTHON_SCXML = """<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="python" initial="a">
  <datamodel><data id="n" expr="0"/></datamodel>
  <state id="a"><transition event="go" cond="n &lt; 1" target="b"/></state>
  <final id="b"/>
</scxml>
"""


def run(*args: str, cwd: Path | None = None, code: str | None = None,
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-c", code, *args] if code else \
        [sys.executable, "-m", "statekeeper", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=60, check=False)


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result
    assert result.stderr.startswith("statekeeper: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- version and usage


def test_version() -> None:
    result = run("version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"statekeeper {__version__} (Python ")
    assert run("--version").stdout == f"statekeeper {__version__}\n"


@pytest.mark.parametrize("args", [(), ("validate",), ("validate", "x.yaml", "--bogus"),
                                  ("diagram", "x.yaml", "--format", "png"), ("frobnicate",)])
def test_usage_errors_exit_with_2(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "usage: statekeeper" in result.stderr


# --------------------------------------------------------------------------- validate


def test_validate_a_valid_chart(tmp_path: Path) -> None:
    path = Path(shutil.copy(ORDER_YAML, tmp_path / "order.yaml"))
    result = run("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: {path}: chart 'order' v1, 13 states, structure hash ")
    assert "guards to bind: can_retry_charge, is_offered_courier" in result.stdout
    assert "effects: charge, refund" in result.stdout
    assert result.stderr == ""


def test_validate_json(tmp_path: Path) -> None:
    path = write(tmp_path / "light.json", '{"name": "light", "states": {"off": {"on": '
                 '{"flip": "on"}}, "on": {"on": {"flip": "off"}}}}')
    result = run("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "chart 'light' v1, 2 states" in result.stdout


def test_validate_an_invalid_chart(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "name: bad\nstates:\n  a:\n    on: {go: bb}\n  b: {}\n")
    assert_clean_failure(run("validate", str(path)),
                         f"{path}: state 'a': unknown target 'bb' (did you mean 'b'?)")


def test_validate_a_misspelt_key(tmp_path: Path) -> None:
    path = write(tmp_path / "typo.yaml",
                 "name: typo\nstates:\n  Placed:\n    on:\n      submit: {tagret: Placed}\n")
    assert_clean_failure(
        run("validate", str(path)),
        "states.Placed.on.submit: unknown key 'tagret' (did you mean 'target'?)")


def test_validate_warnings_and_strict(tmp_path: Path) -> None:
    path = write(tmp_path / "trap.yaml",
                 "name: trap\nstates:\n  a: {on: {go: b}}\n  b: {}\n  orphan: {type: final}\n")
    relaxed = run("validate", str(path))
    assert relaxed.returncode == 0
    assert "warning:" in relaxed.stderr and "'orphan' is unreachable" in relaxed.stderr
    assert "'b' has no way out" in relaxed.stderr
    strict = run("validate", "--strict", str(path))
    assert_clean_failure(strict, "2 warning(s), and --strict makes them errors",
                         "'orphan' is unreachable")
    assert strict.stdout == ""


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    assert_clean_failure(run("validate", str(tmp_path / "nope.yaml")), "nope.yaml: no such file")
    path = write(tmp_path / "chart.toml", "name = 'x'\n")
    assert_clean_failure(run("validate", str(path)), "must end in .json, .yaml, .yml, .scxml")
    folder = run("diagram", str(tmp_path))  # a usage error: exit status 2
    assert folder.returncode == 2 and "is a directory, not a regular file" in folder.stderr


def test_malformed_yaml_and_json(tmp_path: Path) -> None:
    yaml_path = write(tmp_path / "broken.yml", "name: [unclosed\n")
    assert_clean_failure(run("validate", str(yaml_path)), "not valid YAML")
    json_path = write(tmp_path / "broken.json", '{"name": "x", "states": {"a": {}, "a": {}}}')
    assert_clean_failure(run("validate", str(json_path)), "duplicate key 'a'")


def test_scxml_with_python_expressions_needs_trust(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.scxml", PYTHON_SCXML)
    assert_clean_failure(run("validate", str(path)), "pass --trusted")
    result = run("validate", "--trusted", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK:" in result.stdout


def test_missing_pyyaml_is_reported_with_the_install_command(tmp_path: Path) -> None:
    path = Path(shutil.copy(ORDER_YAML, tmp_path / "order.yaml"))
    code = ("import sys; sys.modules['yaml'] = None\n"
            "from statekeeper.cli.main import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    assert_clean_failure(run("validate", str(path), code=code), "pip install statekeeper[yaml]")


# --------------------------------------------------------------------------- diagram


def test_diagram_mermaid_to_stdout() -> None:
    result = run("diagram", str(ORDER_YAML))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("%% order v1\nstateDiagram-v2\n")
    assert "    state Preparing {\n" in result.stdout


def test_diagram_dot_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "order.gv"
    result = run("diagram", str(ORDER_YAML), "--format", "dot", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text().startswith('digraph "order" {')


def test_diagram_format_follows_the_output_suffix(tmp_path: Path) -> None:
    assert run("diagram", str(ORDER_YAML), "-o", str(tmp_path / "o.dot")).returncode == 0
    assert (tmp_path / "o.dot").read_text().startswith("digraph")
    assert run("diagram", str(ORDER_YAML), "-o", str(tmp_path / "o.mmd")).returncode == 0
    assert "stateDiagram-v2" in (tmp_path / "o.mmd").read_text()


def test_diagram_of_an_scxml_document(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.scxml", PYTHON_SCXML)
    assert_clean_failure(run("diagram", str(path)), "pass --trusted")
    result = run("diagram", "--trusted", str(path))
    assert result.returncode == 0, result.stderr
    assert "a --> b : go [n #lt; 1]" in result.stdout


def test_diagram_output_into_a_missing_directory(tmp_path: Path) -> None:
    result = run("diagram", str(ORDER_YAML), "-o", str(tmp_path / "no" / "such" / "dir.mmd"))
    assert_clean_failure(result, "No such file or directory")


def test_the_installed_entry_point_is_main() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'statekeeper = "statekeeper.cli.main:main"' in text

"""Smoke tests for ``python -m statekeeper.bench postgres``.

The end-to-end test runs ``--quick --json`` in a subprocess (as a user would) on the test
server and checks that every cell ran (DBOS and bare PostgreSQL included), that the JSON has
every documented field, and that the benchmark left no schema behind.  Like the other
benchmark smoke tests they never assert on timings.  The format tests need no server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from statekeeper.bench.postgres_report import (
    CELLS,
    Cell,
    PostgresResults,
    format_table,
    to_json,
    verdict,
)


def _leftover_schemas(server: str) -> set[str]:
    import psycopg

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sk_bench_%'")
        return {str(name) for (name,) in rows}


def _alive(schema: str) -> bool:
    """Whether the process that named ``schema`` (``sk_bench_<pid>_...``) still runs."""
    try:
        os.kill(int(schema.split("_")[2]), 0)
    except (ProcessLookupError, ValueError, IndexError):
        return False
    except PermissionError:
        return True
    return True


def _cell(per_s: float, latencies: list[float] | None = None) -> Cell:
    return Cell(per_s, int(per_s), 1.0, 0.1, 0.2, 0.01, 0.9, latencies or [])


@pytest.mark.slow
@pytest.mark.postgres
def test_quick_run_writes_every_field_and_every_peer_ran(postgres_server: str,
                                                         tmp_path: Path) -> None:
    before = _leftover_schemas(postgres_server)
    out = tmp_path / "postgres.json"
    done = subprocess.run(
        [sys.executable, "-m", "statekeeper.bench", "postgres", "--quick", "--json", str(out),
         "--url", postgres_server],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["errors"] == {}, data["notes"]
    dbos = importlib.util.find_spec("dbos") is not None
    rows = {"statekeeper": data["transitions_per_s"], "effects": data["effects_per_s"],
            "dbos": data["peers"]["dbos_steps_per_s"],
            "postgres": data["peers"]["postgres_commits_per_s"]}
    for row, col in CELLS:
        if row == "dbos" and not dbos:
            assert rows[row][col] is None
            continue
        assert rows[row][col] > 0, (row, col)
        cpu = data["cpu_ms_per_unit"][row][col]
        assert cpu["client"] > 0 and 0 < cpu["machine_busy"] <= 1.0, (row, col, cpu)
    # the server's CPU is found (by application_name and /proc) for the busiest cells
    assert data["cpu_ms_per_unit"]["statekeeper"]["4_processes"]["server"] > 0
    assert data["latency_ms"]["p50"] > 0 and data["latency_ms"]["p99"] >= data["latency_ms"]["p50"]
    assert set(data["latency_ms"]["by_cell"]) == {c for r, c in CELLS if r == "statekeeper"}
    assert set(data["ratios"]) == {"dbos", "postgres_1_connection", "postgres_8_connections",
                                   "2_processes_over_1", "4_processes_over_1"}
    sizes = data["sizes"]
    for key in ("bytes_per_instance", "bytes_per_transition", "bytes_total_per_instance",
                "wal_bytes_per_start", "wal_bytes_per_transition"):
        assert sizes[key] > 0, key
    assert sizes["tables"]["transitions"]["rows"] == sizes["instances"] + sizes["transitions"]
    assert {"server_version", "synchronous_commit", "fsync"} <= set(data["server"])
    assert data["settings"]["cpus"] >= 1 and "statekeeper" in data["versions"]
    assert "targets" in done.stdout and "4 processes x 16 senders" in done.stdout
    # every schema it made is dropped (a schema of another run still going is not its own)
    assert {n for n in _leftover_schemas(postgres_server) - before if not _alive(n)} == set()


@pytest.mark.postgres
def test_a_cell_reads_the_server_cpu_before_its_connections_close(postgres_server: str) -> None:
    from statekeeper.bench.postgres import Settings, _bare
    from statekeeper.bench.postgres_server import ScratchSchemas

    with ScratchSchemas(postgres_server) as schemas:
        run = _bare(postgres_server, replace(Settings.quick(), seconds=1.0), 2)(schemas)
        assert schemas.made == []  # the cell dropped its own schema
    assert run.units > 0 and run.client_cpu > 0
    assert run.server_cpu > 0  # read while the backends that did the commits still live


@pytest.mark.postgres
def test_server_cpu_counts_only_the_named_backends(postgres_server: str) -> None:
    import psycopg

    from statekeeper.bench.postgres_server import server_cpu, with_query

    tag = "sk-bench-test-cpu"
    with psycopg.connect(with_query(postgres_server, application_name=tag),
                         autocommit=True) as conn:
        before = server_cpu(postgres_server, tag)
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000)")
        after = server_cpu(postgres_server, tag)
    assert len(after.ours) == 1
    ours, _shared = after.since(before)
    assert ours > 0
    assert server_cpu(postgres_server, "sk-bench-nobody").ours == {}


def test_unmeasured_cells_are_null_and_na() -> None:
    results = PostgresResults()
    data = to_json(results)
    assert data["transitions_per_s"] == {"1_process_1_sender": None, "1_process": None,
                                         "2_processes": None, "4_processes": None,
                                         "4_processes_ledger": None}
    assert data["latency_ms"]["p50"] is None and data["sizes"] is None
    assert all(v is None for v in data["ratios"].values())
    assert "n/a" in format_table(results)
    assert verdict(results)[0] == "targets do NOT all hold:"
    assert any("not measured ?" in line for line in verdict(results))


def test_ratios_and_verdict_come_from_the_cells() -> None:
    results = PostgresResults()
    results.cells[("statekeeper", "1_process_1_sender")] = _cell(600.0, [1.0, 1.5, 9.0])
    results.cells[("statekeeper", "1_process")] = _cell(4_000.0)
    results.cells[("statekeeper", "2_processes")] = _cell(6_000.0)
    results.cells[("statekeeper", "4_processes")] = _cell(9_000.0)
    results.cells[("dbos", "1_process")] = _cell(300.0)
    results.cells[("dbos", "4_processes")] = _cell(400.0)
    results.cells[("postgres", "1_connection")] = _cell(1_500.0)
    results.errors[("postgres", "8_connections")] = "error"
    ratios = results.ratios()
    assert ratios["dbos"] == 22.5 and ratios["4_processes_over_1"] == 2.25
    assert ratios["2_processes_over_1"] == 1.5 and ratios["postgres_8_connections"] is None
    lines = verdict(results)
    assert lines[0] == "targets hold:"
    assert any("9,000 ok" in line for line in lines)
    data = to_json(results)
    assert data["latency_ms"]["p50"] == 1.5 and data["latency_ms"]["p99"] == 9.0
    assert data["errors"] == {"postgres/8_connections": "error"}
    assert data["cpu_ms_per_unit"]["statekeeper"]["4_processes"]["server"] == 0.2
    assert "error" in format_table(results)
    results.cells[("statekeeper", "4_processes")] = _cell(7_000.0)
    assert verdict(results)[0] == "targets do NOT all hold:"



def test_bad_arguments_and_an_unreachable_server_are_named(
        capsys: pytest.CaptureFixture[str]) -> None:
    from statekeeper.bench.postgres import main as bench_main

    assert bench_main(["--repeats", "0"]) == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err
    assert bench_main(["--quick", "--url",
                       "postgresql://u:secret@127.0.0.1:1/test?connect_timeout=2"]) == 1
    err = capsys.readouterr().err
    assert "cannot run the PostgreSQL benchmark" in err and "secret" not in err
    assert "Traceback" not in err

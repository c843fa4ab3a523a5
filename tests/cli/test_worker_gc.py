"""``statekeeper worker``: the worker process sets its collector once set up (``--gc-tuned``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from worker_proc import CHART, WorkerProcess

from statekeeper.cli.commands.worker import register
from statekeeper.client import Client


def test_a_worker_process_tunes_its_collector(tmp_path: Path) -> None:
    chart_file = tmp_path / "job.yaml"
    chart_file.write_text(CHART)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with Client(url, worker=False):
        pass
    proc = WorkerProcess("--db", url, "--chart", str(chart_file), "--module", "worker_app",
                         "--gc-tuned", "--log-level", "INFO")
    try:
        line = proc.expect(r"garbage collector tuned: young threshold 50000 \(was \d+\), "
                           r"\d+ objects frozen")
        assert int(line.split(", ")[-1].split()[0]) > 0
        proc.expect(r"worker worker-\w+ serving job on sqlite")
        assert proc.stop() == 0, "\n".join(proc.seen)
    finally:
        proc.close()


def test_the_worker_tunes_its_collector_unless_told_not_to() -> None:
    # a worker process is statekeeper's own: tuned by default (docs/durable.md measures it)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["worker", "--db", "x.db"]).gc_tuned is True
    assert parser.parse_args(["worker", "--db", "x.db", "--no-gc-tuned"]).gc_tuned is False

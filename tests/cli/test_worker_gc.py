"""``statekeeper worker --gc-tuned``: the worker process sets its collector once set up."""

from __future__ import annotations

import argparse
from pathlib import Path

from worker_proc import CHART, WorkerProcess

from statekeeper.cli.commands.worker import register
from statekeeper.client import Client


def test_a_worker_process_tunes_its_collector_when_asked(tmp_path: Path) -> None:
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


def test_without_the_flag_the_worker_leaves_the_collector_alone() -> None:
    # the collector is the process's: a worker tunes it only when asked (docs/durable.md)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["worker", "--db", "x.db"]).gc_tuned is False
    assert parser.parse_args(["worker", "--db", "x.db", "--gc-tuned"]).gc_tuned is True

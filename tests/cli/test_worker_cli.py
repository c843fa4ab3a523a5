"""``statekeeper worker``: a real worker process, fed work by this process.

On PostgreSQL the worker's poll is set to 30 s, so work it runs within the test's patience
was woken by ``NOTIFY``, not found by a poll; leadership moves when the leader is killed.
On SQLite (which has no wake-ups) the worker polls.  Every test stops the worker with a
signal and checks the exit status and that it left no lease behind.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_proc import CHART, WorkerProcess

from statekeeper.client import Client
from statekeeper.io.dictform import load_chart

pytestmark = pytest.mark.slow
#: the longest wait for work that came by NOTIFY; the poll (30 s) could not have found it
WOKEN_WITHIN = 10.0


@pytest.fixture
def chart_file(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(CHART)
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, chart_file: Path) -> str:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with Client(url, worker=False):
        pass  # an application creates the store; the worker serves an existing one
    return url


def app(url: str, chart_file: Path) -> Client:
    """The application's client: it starts and sends, and runs no effect itself."""
    client = Client(url, worker=False)
    client.register(load_chart(chart_file), effects={
        "charge": _not_here, "ring": _not_here, "hold": _not_here})
    return client


def _not_here(args: object, key: str) -> None:
    raise AssertionError("the application process ran an effect: the worker should")


def worker(url: str, chart_file: Path, *extra: str, env: dict[str, str] | None = None
           ) -> WorkerProcess:
    return WorkerProcess("--db", url, "--chart", str(chart_file), "--module", "worker_app",
                         *extra, env=env)


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for proc in started:
        proc.close()


def no_leases(client: Client) -> None:
    running = [e for e in client.store.effects() if e.status == "running"]
    assert running == [], "the worker left leases behind"


def test_on_sqlite_it_runs_effects_and_stops_on_sigterm(
        sqlite_url: str, chart_file: Path, processes: list[WorkerProcess]) -> None:
    proc = worker(sqlite_url, chart_file, "--poll", "0.2")
    processes.append(proc)
    proc.expect(r"worker worker-\w+ serving job on sqlite")
    with app(sqlite_url, chart_file) as client:
        client.start("job", "j-1")
        client.send("j-1", "go")
        proc.expect(r"^ran j-1:")
        assert proc.stop() == 0, "\n".join(proc.seen)
        assert client.get("j-1").state == "done"
        no_leases(client)
    assert any("holds no lease" in line for line in proc.seen)


@pytest.mark.postgres
def test_committed_work_wakes_a_worker_in_another_process(
        pg_url: str, chart_file: Path, processes: list[WorkerProcess]) -> None:
    with app(pg_url, chart_file) as client:
        proc = worker(pg_url, chart_file, "--poll", "30")
        processes.append(proc)
        proc.expect(r"now the leader")
        client.start("job", "j-1")
        client.send("j-1", "go")
        proc.expect(r"^ran j-1:", timeout=WOKEN_WITHIN)  # an effect committed here
        client.start("job", "j-2")
        client.send("j-2", "later")
        proc.expect(r"^rang j-2:", timeout=WOKEN_WITHIN)  # a timer due in 100 ms
        assert proc.stop(signal.SIGINT) == 0, "\n".join(proc.seen)
        assert client.get("j-1").state == "done" and client.get("j-2").state == "done"
        no_leases(client)


@pytest.mark.postgres
def test_when_the_leader_is_killed_another_worker_leads(
        pg_url: str, chart_file: Path, processes: list[WorkerProcess]) -> None:
    with app(pg_url, chart_file) as client:
        first = worker(pg_url, chart_file, "--poll", "30", "--lease", "3")
        processes.append(first)
        first.expect(r"now the leader")
        second = worker(pg_url, chart_file, "--poll", "30", "--lease", "3")
        processes.append(second)
        second.expect(r"listening for wake-ups")
        first.proc.send_signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
        second.expect(r"now the leader")  # within a third of the lease: its next attempt
        client.start("job", "j-1")
        client.send("j-1", "later")
        second.expect(r"^rang j-1:", timeout=WOKEN_WITHIN)
        assert second.stop() == 0, "\n".join(second.seen)
        assert client.get("j-1").state == "done"
        no_leases(client)


@pytest.mark.skipif(sys.platform == "win32", reason="a FIFO holds the effect in flight")
def test_sigterm_drains_an_effect_in_flight(
        sqlite_url: str, chart_file: Path, tmp_path: Path,
        processes: list[WorkerProcess]) -> None:
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    proc = worker(sqlite_url, chart_file, "--poll", "0.2", env={"SK_TEST_FIFO": str(fifo)})
    processes.append(proc)
    with app(sqlite_url, chart_file) as client:
        client.start("job", "j-1")
        client.send("j-1", "hold")
        proc.expect(r"^holding j-1:")
        proc.proc.send_signal(signal.SIGTERM)
        proc.expect(r"draining 1 running effect")
        with open(fifo, "w") as gate:
            gate.write("go\n")
        assert proc.wait() == 0, "\n".join(proc.seen)
        assert client.get("j-1").state == "done", "the drained effect's outcome committed"
        no_leases(client)


def test_effects_still_running_after_the_drain_timeout_are_released(
        sqlite_url: str, chart_file: Path, tmp_path: Path,
        processes: list[WorkerProcess]) -> None:
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    proc = worker(sqlite_url, chart_file, "--poll", "0.2", "--drain-timeout", "0.1",
                  env={"SK_TEST_FIFO": str(fifo)})
    processes.append(proc)
    with app(sqlite_url, chart_file) as client:
        client.start("job", "j-1")
        client.send("j-1", "hold")
        proc.expect(r"^holding j-1:")
        assert proc.stop() == 3, "\n".join(proc.seen)
        [effect] = client.store.effects("j-1")
        assert (effect.status, effect.lease_owner) == ("pending", None), "released at once"
        assert client.get("j-1").state == "holding"


def test_a_missing_effect_is_refused_at_start(sqlite_url: str, chart_file: Path) -> None:
    proc = WorkerProcess("--db", sqlite_url, "--chart", str(chart_file))
    try:
        assert proc.wait() == 1
    finally:
        proc.close()
    assert any("effects not provided" in line and "EFFECTS" in line for line in proc.seen)


def test_a_store_that_does_not_exist_is_refused(tmp_path: Path, chart_file: Path) -> None:
    proc = worker(str(tmp_path / "nope.db"), chart_file)
    try:
        assert proc.wait() == 1
    finally:
        proc.close()
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.postgres
def test_a_worker_whose_connection_is_cut_listens_and_leads_again(
        pg_url: str, pg_schema: str, postgres_server: str, chart_file: Path,
        processes: list[WorkerProcess]) -> None:
    import psycopg

    from statekeeper.storage.postgres import leader_lock_key

    key = leader_lock_key(pg_schema, "job")
    with app(pg_url, chart_file) as client:
        proc = worker(pg_url, chart_file, "--poll", "30", "--lease", "3")
        processes.append(proc)
        proc.expect(r"now the leader")
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            [(pid,)] = admin.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = %s AND objid = %s AND objsubid = 1",
                ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)).fetchall()
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        proc.expect(r"no longer the leader")
        proc.expect(r"listening for wake-ups")
        proc.expect(r"now the leader")
        client.start("job", "j-1")
        client.send("j-1", "go")
        proc.expect(r"^ran j-1:", timeout=WOKEN_WITHIN)
        assert proc.stop() == 0, "\n".join(proc.seen)
        no_leases(client)

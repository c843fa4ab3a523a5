"""The fault test on PostgreSQL: workers killed, connections cut, the server itself restarted.

The workload and the final checks are the SQLite fault test's (``fault_workload.py``): two
client processes (``fault_worker.py --no-worker``) start instances and send events with stable
idempotency keys, each resent until acknowledged (a ``StoreUnavailable`` answer, the only
failure a client may see, is resent after a short pause); at least four ``statekeeper worker``
processes run the ``after`` timers and the ``charge`` effect, which fails on some attempts.
Meanwhile the test

- kills a worker with SIGKILL at random moments, at least ``KILLS`` times, starting another;
- cuts this test's connections with ``pg_terminate_backend`` (only backends whose
  ``application_name`` is this test's schema, never another session), preferring those inside
  a transaction;
- restarts PostgreSQL itself ``RESTARTS`` times (``pg_ctlcluster 15 main restart``; a
  benchmark another engineer runs on the same server is waited for first), and never leaves
  it stopped, even when the test fails.

Then the work drains, the workers stop (SIGTERM), and the store alone must show what the
SQLite test demands: every accepted event applied exactly once, every effect run at least once
under its one key, every due timer fired once, nothing stranded, the integrity check clean.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fault_chart import CALLS_ENV
from fault_workload import Driver, check

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

HERE = Path(__file__).parent
INSTANCES = 120  # 26 commands an instance: 3,120 in all
WINDOW = 6  # instances in flight at once
WORKERS = 4
CLIENTS = 2
KILLS = 50
RESTARTS = 2
CLUSTER = ("15", "main")  # Debian's name of this machine's cluster
LEASE = 2.0


# -- the server: restarted only here, and never left stopped ---------------------------------

def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          check=False)


def _ready(server: str) -> bool:
    parts = urlsplit(server)
    done = _run("pg_isready", "-q", "-h", parts.hostname or "127.0.0.1", "-p",
                str(parts.port or 5432), "-t", "2", timeout=10)
    return done.returncode == 0


def restart_refused(server: str) -> str | None:
    """Why this machine's server cannot be restarted by the test (None: it can)."""
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_isready") is None:
        return "pg_ctlcluster/pg_isready not found (not a Debian PostgreSQL installation)"
    parts = urlsplit(server)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return f"the test server {parts.hostname} is not this machine's cluster"
    listed = _run("pg_lsclusters", "--no-header", timeout=30).stdout.split("\n")
    for line in listed:
        fields = line.split()
        if fields[:2] == list(CLUSTER) and fields[2:3] == [str(parts.port or 5432)]:
            return None
    return f"no cluster {'/'.join(CLUSTER)} on port {parts.port or 5432} ({listed})"


def _bench_running() -> bool:
    return _run("pgrep", "-f", "statekeeper.bench", timeout=10).returncode == 0


def wait_until_ready(server: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _ready(server):
        assert time.monotonic() < deadline, f"PostgreSQL did not answer within {seconds:g}s"


@contextlib.contextmanager
def server_kept_running(server: str) -> Iterator[None]:
    """However the block ends, the cluster is running afterwards (started if it is down)."""
    try:
        yield
    finally:
        if not _ready(server):
            _run("pg_ctlcluster", *CLUSTER, "start")
            wait_until_ready(server)


# -- the processes ---------------------------------------------------------------------------

class Workers:
    """``statekeeper worker`` processes on the test's schema, killed and replaced at will."""

    def __init__(self, url: str, env: dict[str, str], logs: Path) -> None:
        self.url, self.env, self.logs = url, env, logs
        self.live: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def spawn(self) -> None:
        self.started += 1
        with (self.logs / f"worker-{self.started:03d}.log").open("wb") as log:
            self.live.append(subprocess.Popen(
                [sys.executable, "-m", "statekeeper", "worker", "--db", self.url,
                 "--module", "fault_chart", "--lease", str(LEASE), "--poll", "1",
                 "--concurrency", "4", "--drain-timeout", "20", "--log-level", "WARNING"],
                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log))

    def keep(self, count: int) -> None:
        """Replace the workers that exited (one started while the server was down, say)."""
        self.live = [p for p in self.live if p.poll() is None]
        while len(self.live) < count:
            self.spawn()

    def kill_one(self, rng: random.Random) -> None:
        victim = rng.choice(self.live)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.live.remove(victim)

    def stop(self) -> list[int | None]:
        """SIGTERM every worker (they drain); their exit statuses."""
        for process in self.live:
            process.send_signal(signal.SIGTERM)
        statuses: list[int | None] = []
        for process in self.live:
            try:
                statuses.append(process.wait(60))
            except subprocess.TimeoutExpired:
                statuses.append(None)
        return statuses

    def kill_all(self) -> None:
        for process in self.live:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.live.clear()


def cut_connections(server: str, app: str, rng: random.Random) -> tuple[int, int]:
    """Terminate some of this test's backends; (how many, how many inside a transaction).

    Looks a few times for backends busy in a transaction (``xact_start`` set), and cuts those;
    if none is found, cuts one idle backend instead.
    """
    import psycopg

    with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
        for _ in range(50):
            rows = conn.execute(
                "SELECT pid, xact_start IS NOT NULL FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()", (app,)).fetchall()
            busy = [pid for pid, in_transaction in rows if in_transaction]
            if busy:
                chosen = busy
                break
        else:
            chosen = rng.sample([pid for pid, _ in rows], min(1, len(rows)))
            busy = []
        for pid in chosen:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return len(chosen), len(busy)


def open_work(url: str) -> bool:
    """Whether an instance is active, an effect open or a timer set (or the store is away)."""
    from statekeeper.storage import StoreUnavailable
    from statekeeper.storage.postgres import PostgresStore

    try:
        store = PostgresStore(url)
    except StoreUnavailable:
        return True
    try:
        return bool(store.query(status="active", limit=1) or store.next_timer_due() is not None
                    or any(store.effects(status=s) for s in ("pending", "running")))
    except StoreUnavailable:
        return True
    finally:
        store.close()


# -- the test --------------------------------------------------------------------------------

def test_workers_killed_connections_cut_server_restarted(
        pg_url: str, pg_schema: str, postgres_server: str, tmp_path: Path) -> None:
    from statekeeper.storage.postgres import PostgresStore

    refused = restart_refused(postgres_server)
    if refused is not None and os.environ.get("CI"):
        pytest.fail(f"cannot restart PostgreSQL: {refused}; CI must run the restarts")
    if refused is not None:
        print(f"PostgreSQL restarts skipped: {refused}")
    seed = int(os.environ.get("STATEKEEPER_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    app = pg_schema  # unique to this run: the backends it may cut
    url = f"{pg_url}&application_name={app}&pool_max=4&connect_timeout=3&pool_timeout=10"
    calls = tmp_path / "calls.log"
    calls.touch()
    store = PostgresStore(url)
    store.migrate()  # the workers need the tables to exist
    store.close()
    env = {**os.environ, CALLS_ENV: str(calls),
           "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}

    def command(drain: bool) -> list[str]:
        return [sys.executable, str(HERE / "fault_worker.py"), url, str(calls), "--no-worker"]

    driver = Driver(command, env, rng, instances=INSTANCES, window=WINDOW, retry_after=0.1,
                    stderr=tmp_path / "clients.log")
    workers = Workers(url, env, tmp_path)
    with server_kept_running(postgres_server):
        try:
            report = run(driver, workers, rng, seed, postgres_server, app, url,
                         restarts=0 if refused else RESTARTS)
            statuses = workers.stop()
            # 0: drained; killed by the SIGTERM itself: it was still starting (no handler yet)
            assert all(status in (0, -signal.SIGTERM) for status in statuses), \
                f"workers did not drain cleanly: {statuses} (logs in {tmp_path})"
        finally:
            workers.kill_all()
            for process in list(driver.live):
                driver.kill(process)
            (tmp_path / "transcript.log").write_text("\n".join(driver.transcript))
    print(f"PostgreSQL fault test: seed {seed}, {report}")
    store = PostgresStore(url)
    try:
        check(store, driver.instances, calls, seed, least_events=3000)
    finally:
        store.close()


def run(driver: Driver, workers: Workers, rng: random.Random, seed: int, server: str,
        app: str, url: str, *, restarts: int) -> str:
    """Kill, cut and restart until the workload is acknowledged; then let the work drain."""
    started = time.monotonic()
    kills = restarted = cuts = busy_cuts = 0
    killed_after: float | None = None
    restart_at = sorted(rng.sample(range(8, KILLS - 5), restarts))
    deadline = started + 300
    while kills < KILLS or restarted < restarts or driver.unfinished():
        assert time.monotonic() < deadline, \
            f"not done in time (seed {seed}): {driver.acknowledged()} acknowledged"
        assert not driver.errors, driver.errors[:5]
        for process in [p for p in driver.live if not p.alive]:
            driver.kill(process)  # a client that died (started while the server was down)
        while len(driver.live) < CLIENTS:
            driver.spawn()
        workers.keep(WORKERS)
        driver.pump(time.monotonic() + rng.uniform(0.2, 0.6))
        if kills == KILLS and killed_after is None:
            killed_after = time.monotonic() - started
        if kills < KILLS:
            workers.kill_one(rng)
            kills += 1
            workers.keep(WORKERS)
            if kills % 4 == 0:
                cut, busy = cut_connections(server, app, rng)
                cuts, busy_cuts = cuts + cut, busy_cuts + busy
        if restarted < restarts and kills >= restart_at[restarted]:
            waited = time.monotonic()
            while _bench_running():  # another engineer's benchmark: never restart under it
                assert time.monotonic() < waited + 600, "a benchmark kept the server busy"
                driver.pump(time.monotonic() + 1.0)
            deadline += time.monotonic() - waited  # the wait is not the workload's time
            done = _run("pg_ctlcluster", *CLUSTER, "restart")
            # another engineer's fault test restarting it at the same moment: it restarted
            assert done.returncode == 0 or "another postmaster" in done.stderr, done.stderr
            wait_until_ready(server)
            restarted += 1
    acknowledged = time.monotonic() - started
    # Drain: the workers finish the timers and effects still due.
    while open_work(url):
        assert time.monotonic() < deadline, f"work never drained (seed {seed})"
        workers.keep(WORKERS)
        driver.pump(time.monotonic() + 0.5)
    assert not driver.errors, driver.errors[:5]
    return (f"{kills} kills, {restarted} restarts, {cuts} connections cut ({busy_cuts} in a "
            f"transaction), {len(driver.retries)} retried answers, {workers.started} workers "
            f"started, acknowledged after {acknowledged:.1f}s, drained after "
            f"{time.monotonic() - started:.1f}s")

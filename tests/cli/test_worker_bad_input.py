"""Issue 16's "bad input and faults", each through the two doors a user opens a store by.

For every case: ``Client(url)`` raises a named error whose message says what is wrong and what
to do, and ``statekeeper worker --db URL`` exits with status 1 printing that message, never a
driver traceback and never the URL's password.  The worker's command runs in this process
(it returns at once when it cannot open its store).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.storage import (
    CredentialsRefused,
    DatabaseNotFound,
    PoolExhausted,
    SchemaTooNew,
    ServerUnreachable,
    StoreError,
    UnsupportedStoreURL,
)

pytest.importorskip("psycopg")

from statekeeper.storage.postgres import PostgresStore, migrate

CHART = """\
name: job
version: 1
initial: idle
states:
  idle: {}
"""


@pytest.fixture
def chart_file(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(CHART)
    return path


def worker_says(url: str, chart_file: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``statekeeper worker --db url`` printed, having exited with status 1."""
    assert main(["worker", "--db", url, "--chart", str(chart_file)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "psycopg" not in err, err
    assert "hunter2" not in err, "a password reached the output"
    return err


def check(url: str, error: type[StoreError], said: str, chart_file: Path,
          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(error, match=said) as info:
        Client(url, worker=False)
    assert "hunter2" not in str(info.value)
    err = worker_says(url, chart_file, capsys)
    assert re.search(said, err), err


def test_a_server_that_is_down(chart_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check("postgresql://u:hunter2@127.0.0.1:1/test?connect_timeout=2", ServerUnreachable,
          r"no PostgreSQL server answered.*check that it is running", chart_file, capsys)


@pytest.mark.parametrize(("url", "said"), [
    ("postgresq://u:hunter2@127.0.0.1/test", r"unsupported store URL scheme.*did you mean "
                                             r"'postgresql'.*postgresql://"),
    ("mysql://u:hunter2@127.0.0.1/test", r"unsupported store URL scheme 'mysql://'.*sqlite:///"),
])
def test_a_wrong_url_scheme(url: str, said: str, chart_file: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    check(url, UnsupportedStoreURL, said, chart_file, capsys)


@pytest.mark.postgres
def test_a_schema_written_by_a_newer_statekeeper(pg_url: str, raw_pg: Any, chart_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    migrate(pg_url)
    raw_pg.execute("INSERT INTO schema_version (version, name) VALUES (999, 'future')")
    check(pg_url, SchemaTooNew, r"version 999.*newer statekeeper\. Upgrade statekeeper",
          chart_file, capsys)
    assert raw_pg.execute("SELECT max(version) FROM schema_version").fetchone() == (999,)


@pytest.fixture
def role(raw_pg: Any) -> Iterator[str]:
    """A role that exists, has a password, and may not log in."""
    name = f"sk_nologin_{uuid.uuid4().hex[:8]}"
    raw_pg.execute(f"CREATE ROLE {name} NOLOGIN PASSWORD 'hunter2'")
    try:
        yield name
    finally:
        raw_pg.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.postgres
def test_credentials_refused(pg_url: str, role: str, chart_file: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    # The test server trusts every local connection, so a wrong password cannot be refused
    # here; a role that may not log in, and one that does not exist, are refused by it.
    check(pg_url.replace("://", f"://{role}:hunter2@", 1), CredentialsRefused,
          rf'role "{role}" is not permitted to log in.*check the user and password',
          chart_file, capsys)
    missing = f"sk_nobody_{uuid.uuid4().hex[:8]}"
    check(pg_url.replace("://", f"://{missing}:hunter2@", 1), CredentialsRefused,
          rf'role "{missing}" does not exist.*pg_hba\.conf', chart_file, capsys)


@pytest.mark.postgres
def test_a_database_that_does_not_exist(postgres_server: str, chart_file: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    name = f"sk_missing_{uuid.uuid4().hex[:8]}"
    url = postgres_server.rpartition("/")[0] + f"/{name}"
    check(url, DatabaseNotFound, rf'database "{name}" does not exist.*createdb', chart_file,
          capsys)


@pytest.mark.postgres
def test_a_pool_exhausted_by_a_blocked_call(pg_url: str, raw_pg: Any) -> None:
    """Every connection busy (here: one call waits on a row lock another session holds)."""
    name = f"sk_pool_{uuid.uuid4().hex[:8]}"
    url = f"{pg_url}&pool_min=1&pool_max=1&pool_timeout=0.3&application_name={name}"
    store = PostgresStore(url)
    store.migrate()
    raw_pg.execute("INSERT INTO policy_state VALUES ('held', '{}', 1, 0)")
    blocked: list[BaseException | bool] = []
    try:
        with raw_pg.transaction():
            raw_pg.execute("SELECT * FROM policy_state WHERE key = 'held' FOR UPDATE")

            def write() -> None:
                try:
                    blocked.append(store.put_policy_state("held", {"n": 1}, expected_version=1,
                                                          now=1.0))
                except BaseException as exc:  # noqa: BLE001 - reported below
                    blocked.append(exc)

            writer = threading.Thread(target=write)
            writer.start()
            assert wait_for_lock(raw_pg, name), "the writer never waited on the row lock"
            with pytest.raises(PoolExhausted, match=r"all 1 connections of the pool stayed in "
                               r"use for 0\.3s; raise pool_max="):
                store.policy_state("held")
        writer.join(30)
        assert blocked == [True], "the blocked call went on once the lock was let go"
        state = store.policy_state("held")
        assert state is not None and state.value == {"n": 1}
    finally:
        store.close()


def wait_for_lock(raw_pg: Any, application: str) -> bool:
    """Whether a session of ``application`` waits on a lock (within 10 s)."""
    event = threading.Event()
    for _ in range(200):
        row = raw_pg.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                             "'Lock' AND application_name = %s", (application,)).fetchone()
        if row[0]:
            return True
        event.wait(0.05)
    return False

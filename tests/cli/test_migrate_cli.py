"""``statekeeper migrate``: the dry run, the batch with progress, and a crash in the middle.

The crash is real: the command runs in its own process, which a data map kills with SIGKILL
while it plans its third page; run again, the command migrates the rest, and every instance
ends with exactly one ``statekeeper.migrate`` row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.examples.versions import ORDER_V1

HERE = Path(__file__).parent


def make_store(url: str, count: int) -> None:
    with Client(url, worker=False) as client:
        client.register(ORDER_V1, effects={"charge": print, "refund": print})
        for n in range(count):
            client.start("order", f"o-{n:03d}", data={"id": f"o-{n:03d}"})


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "statekeeper", "migrate", *args],
                          capture_output=True, text=True, cwd=HERE, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    make_store(url, 5)
    return url


def test_the_dry_run_reports_each_instance_and_writes_nothing(
        db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    assert main(["migrate", "order", "--to", "3", "--db", db, "--module", "migrate_app"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("o-000  v1 -> v3  would migrate  [Placed] -> [Placed]  "
                      "data: +courier_first")
    assert out[-1] == "5 instance(s) would migrate to v3, 0 cannot be"
    with Client(db, worker=False) as client:
        assert {r.version for r in client.store.query(chart="order")} == {"1"}
    assert main(["migrate", "order", "--to", "3", "--db", db, "--module", "migrate_app",
                 "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["target"] == ["Placed"] and rows[0]["data_diff"]["added"] == {
        "courier_first": True}


def test_apply_migrates_in_batches_with_progress_and_reports_failures(db: str) -> None:
    done = cli("order", "--to", "2", "--db", db, "--module", "migrate_app", "--apply",
               "--batch", "2", "--actor", "ops", env={"SK_FAIL": "o-003"})
    assert done.returncode == 1, done.stderr
    assert "[" + "#" * 30 + "] 5/5 instances" in done.stderr
    assert "o-003  v1 -> v2  failed: instance 'o-003': the data map failed: ValueError" in \
        done.stdout
    assert done.stdout.splitlines()[-1] == (
        "4 instance(s) migrated to v2, 1 cannot be, in 3 transaction(s)")
    with Client(db, worker=False) as client:
        assert {r.id: r.version for r in client.store.query(chart="order")} == {
            "o-000": "2", "o-001": "2", "o-002": "2", "o-003": "1", "o-004": "2"}
        assert client.history("o-000")[-1].actor == "ops"


def test_refused_migrations_exit_1_with_the_reason(db: str) -> None:
    bad = cli("order", "--to", "9", "--db", db, "--module", "migrate_app")
    assert bad.returncode == 1 and "version 9 is not registered" in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                          marks=pytest.mark.postgres)])
def test_a_batch_killed_midway_resumes_without_migrating_any_instance_twice(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    url = (request.getfixturevalue("pg_url") if backend == "postgres"
           else f"sqlite:///{tmp_path / 'many.db'}")
    make_store(url, 25)
    killed = cli("order", "--to", "3", "--db", url, "--module", "migrate_app", "--apply",
                 "--batch", "10", env={"SK_KILL_AT": "23"})
    assert killed.returncode == -signal.SIGKILL
    with Client(url, worker=False) as client:
        versions = [r.version for r in client.store.query(chart="order")]
    assert versions == ["3"] * 20 + ["1"] * 5  # two pages committed, the third not
    again = cli("order", "--to", "3", "--db", url, "--module", "migrate_app", "--apply",
                "--batch", "10")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == (
        "5 instance(s) migrated to v3, 0 cannot be, in 1 transaction(s)")
    with Client(url, worker=False) as client:
        for record in client.store.query(chart="order"):
            rows = [r for r in client.history(record.id) if r.event == "statekeeper.migrate"]
            assert record.version == "3" and len(rows) == 1, record.id
            assert rows[0].data["path"] == ["1", "2", "3"]
        assert client.store.integrity_check() == []

"""Stores opened by URL: one registry in ``storage``, used by the client and the CLI alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import statekeeper.client
import statekeeper.storage
from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.storage import (
    BackendNotInstalled,
    InvalidStoreURL,
    MemoryStore,
    NoSuchStore,
    SQLiteStore,
    StoreError,
    StoreUnavailable,
    UnsupportedStoreURL,
    known_schemes,
    open_store,
)
from statekeeper.storage.urls import existing_store_url


def test_the_client_opens_stores_through_storage() -> None:
    assert statekeeper.client.open_store is statekeeper.storage.open_store
    assert known_schemes() == ("memory", "sqlite", "postgresql", "postgres")


@pytest.mark.parametrize("url", ["memory://", "memory:"])
def test_memory_urls(url: str) -> None:
    store = open_store(url)
    assert isinstance(store, MemoryStore)
    store.close()


@pytest.mark.parametrize("form", ["path", "str", "url", "URL"])
def test_sqlite_by_path_or_url(tmp_path: Path, form: str) -> None:
    path = tmp_path / "a.db"
    url = {"path": path, "str": str(path), "url": f"sqlite:///{path}",
           "URL": f"SQLite:///{path}"}[form]  # a scheme is case-insensitive
    store = open_store(url)
    assert isinstance(store, SQLiteStore) and store.path == str(path)
    store.close()


def test_options_override_the_url(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}", synchronous="NORMAL")
    assert isinstance(store, SQLiteStore)
    store.close()


@pytest.mark.parametrize(("url", "hint"), [
    ("mysql://root:hunter2@db.example/app", ""),
    ("postgressql://u:hunter2@h/db", "did you mean 'postgresql'"),
    ("sqlit:///x.db", "did you mean 'sqlite'"),
    ("redis://localhost:6379/0", ""),
])
def test_an_unknown_scheme_lists_the_known_ones(url: str, hint: str) -> None:
    with pytest.raises(UnsupportedStoreURL) as info:
        open_store(url)
    message = str(info.value)
    assert isinstance(info.value, StoreError) and isinstance(info.value, ValueError)
    for example in ("memory://", "sqlite:///", "postgresql://"):
        assert example in message
    assert hint in message
    assert "hunter2" not in message  # a password never reaches a message


def test_a_bad_sqlite_option_is_a_store_url_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidStoreURL, match="unknown parameter 'journal'"):
        open_store(f"sqlite:///{tmp_path / 'a.db'}?journal=wal")
    assert not (tmp_path / "a.db").exists()


def test_the_client_gives_the_same_errors() -> None:
    with pytest.raises(UnsupportedStoreURL):
        Client("mongodb://localhost/app")


@pytest.mark.postgres
def test_postgres_urls_open_the_postgres_store(pg_url: str) -> None:
    from statekeeper.storage.postgres import PostgresStore

    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1),
                pg_url.replace("postgresql://", "PostgreSQL://", 1)):
        store = open_store(url)
        assert isinstance(store, PostgresStore)
        store.migrate()
        assert store.integrity_check() == []
        store.close()
    assert existing_store_url(pg_url) == pg_url


@pytest.mark.postgres
def test_a_postgres_url_takes_no_constructor_options(pg_url: str) -> None:
    with pytest.raises(TypeError, match=r"synchronous.*in the URL"):
        open_store(pg_url, synchronous="OFF")


@pytest.mark.postgres
def test_an_unmigrated_postgres_schema_is_no_existing_store(pg_url: str) -> None:
    with pytest.raises(NoSuchStore, match="no statekeeper tables"):
        existing_store_url(pg_url)
    assert main(["history", "i-1", "--db", pg_url]) == 1


def test_a_down_postgres_server_is_a_named_error() -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")
    for opened in (open_store, existing_store_url):
        with pytest.raises(StoreUnavailable, match="no PostgreSQL server answered") as info:
            opened("postgresql://u:hunter2@127.0.0.1:1/test?connect_timeout=2")
        assert "hunter2" not in str(info.value)


def test_a_bad_postgres_url_is_refused_before_that() -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")
    with pytest.raises(InvalidStoreURL, match="schema='Bad-Name'"):
        open_store("postgresql://127.0.0.1/test?schema=Bad-Name")


def test_existing_store_url(tmp_path: Path) -> None:
    with pytest.raises(NoSuchStore, match="no such database file"):
        existing_store_url(tmp_path / "none.db")
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(NoSuchStore, match="no statekeeper schema"):
        existing_store_url(tmp_path / "empty.db")
    with pytest.raises(NoSuchStore, match="memory store holds nothing"):
        existing_store_url("memory://")
    store = SQLiteStore(tmp_path / "made.db")
    store.migrate()
    store.close()
    assert existing_store_url(tmp_path / "made.db") == f"sqlite:///{tmp_path / 'made.db'}"
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(("db", "said"), [
    ("mysql://h/app", "unsupported store URL scheme 'mysql://'"),
    ("memory://", "memory store holds nothing"),
])
def test_the_cli_opens_stores_through_storage(db: str, said: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instances", "--db", db]) == 1
    assert said in capsys.readouterr().err


@pytest.mark.postgres
def test_the_cli_reads_a_postgres_store(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from statekeeper import Chart, State

    lamp = Chart("lamp", version=1, initial="off", states={
        "off": State(on={"flip": "on"}), "on": State(on={"flip": "off"})})
    with Client(pg_url, worker=False) as client:
        client.register(lamp)
        client.start("lamp", "l-1")
        client.send("l-1", "flip")
    assert main(["history", "l-1", "--db", pg_url]) == 0
    assert "flip" in capsys.readouterr().out


def test_the_cli_names_a_down_postgres_server(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")
    url = "postgresql://u:hunter2@127.0.0.1:1/test?connect_timeout=2"
    assert main(["history", "i-1", "--db", url]) == 1
    err = capsys.readouterr().err
    assert "no PostgreSQL server answered" in err and "hunter2" not in err


_WITHOUT_DRIVER = """
import sys
sys.modules["psycopg"] = None
sys.modules["psycopg_pool"] = None
import statekeeper, statekeeper.storage, statekeeper.client
from statekeeper.storage import BackendNotInstalled, open_store
store = open_store("memory://"); store.close()
try:
    open_store("postgresql://127.0.0.1/test")
except BackendNotInstalled as exc:
    print("open:", exc)
try:
    import statekeeper.storage.postgres
except ImportError as exc:
    print("import:", type(exc).__name__, exc)
"""


def test_statekeeper_imports_without_the_postgres_driver() -> None:
    done = subprocess.run([sys.executable, "-c", _WITHOUT_DRIVER], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("open: the PostgreSQL store needs the 'psycopg' package"), lines
    assert "pip install 'statekeeper[postgres]'" in lines[0]
    assert lines[1].startswith("import: BackendNotInstalled"), lines
    assert issubclass(BackendNotInstalled, ImportError)


def test_a_schema_the_user_may_not_read_is_a_named_error(pg_url: str, raw_pg: Any) -> None:
    """Found in review: reading the schema version ran outside the named-error mapping, so a
    refused privilege reached the command line as a raw psycopg traceback."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    from statekeeper.storage import StoreError
    from statekeeper.storage.postgres import migrate

    migrate(pg_url)
    role = f"sk_noread_{uuid.uuid4().hex[:8]}"
    raw_pg.execute(f"CREATE ROLE {role} LOGIN")
    try:
        parts = urlsplit(pg_url)
        host = parts.netloc.rsplit("@", 1)[-1]
        url = urlunsplit((parts.scheme, f"{role}@{host}", parts.path, parts.query, ""))
        with pytest.raises(StoreError, match="cannot read the schema version"):
            existing_store_url(url)
    finally:
        raw_pg.execute(f"DROP ROLE {role}")

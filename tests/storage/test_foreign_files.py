"""Another program's database, a directory, a pipe or a device is refused as a store.

One check in storage serves the client and the command line alike: a database holding tables
statekeeper did not create is refused (named, with its foreign tables) unless the caller asks
for it explicitly, and nothing is changed in it (no tables added, no switch to WAL mode).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, State
from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.storage import ForeignDatabase, NotADatabaseFile, SQLiteStore

FLIP = Chart("flip", version=1, initial="off", states={
    "off": State(on={"go": "on"}), "on": State(on={"go": "off"})})


def _other_app(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.close()


def _tables_and_mode(path: Path) -> tuple[list[str], str]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    return tables, mode


@pytest.mark.parametrize("url", ["sqlite:///{}", "{}"])
def test_a_client_refuses_another_programs_database_and_changes_nothing(
        tmp_path: Path, url: str) -> None:
    path = tmp_path / "shop.db"
    _other_app(path)
    before = path.read_bytes()
    with pytest.raises(ForeignDatabase) as caught:
        Client(url.format(path), worker=False)
    message = str(caught.value)
    assert str(path) in message and "customers" in message
    assert "allow_foreign_tables" in message  # what to write instead
    assert caught.value.tables == ("customers",)
    assert _tables_and_mode(path) == (["customers"], "delete")
    assert path.read_bytes() == before


def test_the_store_refuses_it_too(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    _other_app(path)
    with pytest.raises(ForeignDatabase, match="customers"):
        SQLiteStore(path)
    assert _tables_and_mode(path) == (["customers"], "delete")


@pytest.mark.parametrize("how", ["keyword", "url"])
def test_sharing_a_database_is_an_explicit_choice(tmp_path: Path, how: str) -> None:
    path = tmp_path / "shop.db"
    _other_app(path)
    if how == "keyword":
        store = SQLiteStore(path, allow_foreign_tables=True)
        client = Client(store, worker=False)
    else:
        client = Client(f"sqlite:///{path}?allow_foreign_tables=1", worker=False)
    with client:
        client.register(FLIP)
        assert client.start("flip", "f-1").configuration == ("off",)
    tables, _ = _tables_and_mode(path)
    assert "customers" in tables and "instances" in tables
    # once shared, it stays an explicit choice: opened again without it, it is refused
    with pytest.raises(ForeignDatabase):
        Client(path, worker=False)


def test_an_unknown_url_parameter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allow_foreign_tabels"):
        Client(f"sqlite:///{tmp_path / 'x.db'}?allow_foreign_tabels=1", worker=False)
    assert not (tmp_path / "x.db").exists()


def test_a_statekeeper_database_opens_as_before(tmp_path: Path) -> None:
    path = tmp_path / "flips.db"
    for _ in range(2):
        with Client(path, worker=False) as client:
            client.register(FLIP)
            if not client.query():
                client.start("flip", "f-1")
    assert main(["instances", "--db", str(path)]) == 0


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotADatabaseFile, match="directory"):
        Client(tmp_path, worker=False)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.db"
    os.mkfifo(pipe)
    with pytest.raises(NotADatabaseFile, match="pipe"):
        SQLiteStore(pipe)


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null here")
def test_a_device_is_refused() -> None:
    with pytest.raises(NotADatabaseFile, match="device"):
        Client("sqlite:////dev/null", worker=False)


def test_a_file_that_is_no_database_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: milk, eggs\n" * 10)
    with pytest.raises(NotADatabaseFile, match="not a SQLite database"):
        Client(path, worker=False)
    assert path.read_text() == "shopping list: milk, eggs\n" * 10


def test_the_command_line_uses_the_same_check(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "shop.db"
    _other_app(path)
    assert main(["instances", "--db", str(path)]) == 1
    err = capsys.readouterr().err
    assert "customers" in err and "allow_foreign_tables" in err
    with Client(f"sqlite:///{path}?allow_foreign_tables=1", worker=False) as client:
        client.register(FLIP)
        client.start("flip", "f-1")
    assert main(["instances", "--db", f"sqlite:///{path}?allow_foreign_tables=1"]) == 0
    assert "f-1" in capsys.readouterr().out


@pytest.mark.parametrize("table", ["instances", "timers", "transitions"])
def test_another_programs_table_named_like_ours_is_foreign(tmp_path: Path, table: str) -> None:
    """Found in review: a table called ``instances`` passed as statekeeper's, and opening the
    file switched it to WAL before failing on "table instances already exists"."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {table} (sku TEXT, qty INTEGER)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ForeignDatabase) as caught:
        Client(path, worker=False)
    assert caught.value.tables == (table,)
    assert _tables_and_mode(path) == ([table], "delete")
    assert path.read_bytes() == before

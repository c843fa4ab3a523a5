"""``query`` pages with ``after=`` and reports a corrupted instance row instead of failing.

One bad row used to make ``Client.query`` and ``statekeeper instances`` fail for every instance;
now the row is left out of the page, named in ``page.corrupted`` (and logged), and the page
still holds ``limit`` sound instances when there are that many.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, State, VirtualClock
from statekeeper.cli.main import main
from statekeeper.client import AsyncClient, Client

FLIP = Chart("flip", version=1, initial="off", states={
    "off": State(on={"go": "on"}), "on": State(on={"go": "off"})})
IDS = ["f-1", "f-2", "f-3", "f-4", "f-5"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "flips.db"
    with Client(path, clock=VirtualClock(), worker=False) as client:
        client.register(FLIP)
        for iid in IDS:
            client.start("flip", iid, labels={"kind": "flip"})
    return path


def _tamper(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql)
    conn.close()


def _pages(client: Client, limit: int, **filters: object) -> tuple[list[str], list[str]]:
    seen, corrupted, after = [], [], None
    while True:
        page = client.query(limit=limit, after=after, **filters)  # type: ignore[arg-type]
        corrupted += [row.key for row in page.corrupted]
        if not page:
            return seen, corrupted
        seen += [s.id for s in page]
        after = page[-1].id


@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_pages_with_after_cover_every_instance_once(db: Path, limit: int) -> None:
    with Client(db, clock=VirtualClock(), worker=False) as client:
        seen, corrupted = _pages(client, limit)
        assert seen == IDS and corrupted == []
        assert [s.id for s in client.query(after="f-3")] == ["f-4", "f-5"]
        assert [s.id for s in client.query(chart="flip", after="f-4", limit=1)] == ["f-5"]


def test_the_async_client_pages_too(db: Path) -> None:
    async def run() -> list[str]:
        async with AsyncClient(db, clock=VirtualClock(), worker=False) as client:
            first = await client.query(limit=2)
            rest = await client.query(after=first[-1].id)
            return [s.id for s in [*first, *rest]]

    assert asyncio.run(run()) == IDS


def test_after_must_be_an_id(db: Path) -> None:
    with Client(db, clock=VirtualClock(), worker=False) as client, \
            pytest.raises(TypeError, match="after="):
        client.query(after=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("damage", [
    "UPDATE instances SET snapshot = 'not json' WHERE id = 'f-2'",
    "UPDATE instances SET configuration = '[oops' WHERE id = 'f-2'",
    "UPDATE instances SET labels = 'nope' WHERE id = 'f-2'",
    "UPDATE instances SET rev = 'two' WHERE id = 'f-2'",
])
@pytest.mark.parametrize("filters", [{}, {"state": "off"}, {"labels": {"kind": "flip"}},
                                     {"chart": "flip"}])
def test_a_corrupted_row_is_reported_and_the_others_are_found(
        db: Path, damage: str, filters: dict[str, object],
        caplog: pytest.LogCaptureFixture) -> None:
    _tamper(db, damage)
    with Client(db, clock=VirtualClock(), worker=False) as client:
        with caplog.at_level(logging.WARNING, logger="statekeeper"):
            page = client.query(**filters)  # type: ignore[arg-type]
        assert [s.id for s in page] == ["f-1", "f-3", "f-4", "f-5"]
        assert [(row.table, row.key) for row in page.corrupted] == [("instances", "f-2")]
        assert "f-2" in page.corrupted[0].problem
        assert any("f-2" in r.getMessage() and r.levelno == logging.WARNING
                   for r in caplog.records)
        # a page of one past the corrupted row is not empty: the next sound one fills it
        after_first = client.query(after="f-1", limit=1, **filters)  # type: ignore[arg-type]
        assert [s.id for s in after_first] == ["f-3"]
        assert _pages(client, 1, **filters) == (["f-1", "f-3", "f-4", "f-5"], ["f-2"])


def test_the_instances_command_lists_the_rest_and_names_the_row(
        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tamper(db, "UPDATE instances SET snapshot = 'not json' WHERE id = 'f-2'")
    assert main(["instances", "--db", str(db)]) == 1
    captured = capsys.readouterr()
    listed = [line.split("\t")[0] for line in captured.out.splitlines() if "\t" in line]
    assert listed == ["f-1", "f-3", "f-4", "f-5"]
    assert "f-2" in captured.err and "statekeeper check" in captured.err

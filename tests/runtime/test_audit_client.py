"""The audit through the clients: queries by every filter and page, and prunes with an archive.

On every store (``store_url``); the steps are real ones, committed by the engine, with the
virtual clock deciding every row's time.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from statekeeper import Chart, State, VirtualClock
from statekeeper.client import ArchiveError, AsyncClient, AuditPage, Client
from statekeeper.client.errors import ArgumentTypeError, InvalidArgument
from statekeeper.core.errors import EventNotAccepted

DOOR = Chart("door", version=1, initial="closed", states={
    "closed": State(on={"open": "opened", "lock": "locked"}),
    "opened": State(on={"close": "closed"}),
    "locked": State(on={"unlock": "closed"}),
})
LAMP = Chart("lamp", version=1, initial="off", states={
    "off": State(on={"switch": "on"}),
    "on": State(on={"switch": "off"}),
})


def _life(client: Client, clock: VirtualClock) -> float:
    """Two doors and a lamp, a minute apart; returns the time the first door was made."""
    start = clock.now()
    client.register(DOOR)
    client.register(LAMP)
    client.start("door", "d-1")
    client.start("door", "d-2")
    client.start("lamp", "l-1")
    clock.advance(60)
    client.send("d-1", "open", actor="alice")
    clock.advance(60)
    with pytest.raises(EventNotAccepted):
        client.send("d-1", "lock", actor="mallory")
    client.send("d-2", "lock", actor="bob")
    client.send("l-1", "switch")
    clock.advance(60)
    client.send("d-1", "close", actor="alice")
    return start


def keys(page: list[object]) -> list[tuple[str, int]]:
    return [(r.instance, r.seq) for r in page]  # type: ignore[attr-defined]


def test_audit_by_every_filter(client: Client, clock: VirtualClock) -> None:
    start = _life(client, clock)
    assert keys(client.audit()) == [("d-1", 1), ("d-2", 1), ("l-1", 1), ("d-1", 2),
                                    ("d-1", 3), ("d-2", 2), ("l-1", 2), ("d-1", 4)]
    assert keys(client.audit(chart="lamp")) == [("l-1", 1), ("l-1", 2)]
    assert keys(client.audit(instance="d-2")) == [("d-2", 1), ("d-2", 2)]
    assert keys(client.audit(actor="alice")) == [("d-1", 2), ("d-1", 4)]
    assert keys(client.audit(event="lock")) == [("d-1", 3), ("d-2", 2)]
    (rejected,) = client.audit(outcome="rejected")
    assert (rejected.instance, rejected.event, rejected.actor, rejected.source,
            rejected.target) == ("d-1", "lock", "mallory", ("opened",), ("opened",))
    assert keys(client.audit(state="opened")) == [("d-1", 2), ("d-1", 3), ("d-1", 4)]
    assert keys(client.audit(state="locked", chart="door")) == [("d-2", 2)]
    assert keys(client.audit(since=start + 100, until=start + 150)) == [
        ("d-1", 3), ("d-2", 2), ("l-1", 2)]
    as_dates = client.audit(since=datetime.fromtimestamp(start + 100, UTC),
                            until=datetime.fromtimestamp(start + 150, UTC))
    assert keys(as_dates) == [("d-1", 3), ("d-2", 2), ("l-1", 2)]
    assert client.audit(outcome="denied") == []


def test_pages_follow_the_cursor_to_the_end(client: Client, clock: VirtualClock) -> None:
    _life(client, clock)
    every = keys(client.audit())
    seen: list[tuple[str, int]] = []
    page = client.audit(limit=3)
    while True:
        assert isinstance(page, AuditPage) and len(page) <= 3
        seen += keys(page)
        if page.after is None:
            break
        page = client.audit(limit=3, after=page.after)
    assert seen == every
    assert client.audit(limit=8).after is not None  # a full page: there may be more
    assert client.audit(limit=9).after is None


@pytest.mark.parametrize(("arguments", "error"), [
    ({"chart": 5}, ArgumentTypeError),
    ({"chart": ""}, InvalidArgument),
    ({"outcome": "failed"}, InvalidArgument),
    ({"limit": 0}, InvalidArgument),
    ({"limit": True}, ArgumentTypeError),
    ({"since": "yesterday"}, ArgumentTypeError),
    ({"until": float("inf")}, InvalidArgument),
    ({"after": "page-2"}, InvalidArgument),
    ({"after": "nan/3"}, InvalidArgument),
    ({"after": 17}, ArgumentTypeError),
])
def test_bad_audit_arguments_are_named(client: Client, arguments: dict[str, object],
                                       error: type[Exception]) -> None:
    with pytest.raises(error):
        client.audit(**arguments)  # type: ignore[arg-type]


def test_prune_archives_then_deletes_and_keeps_each_latest_row(
        client: Client, clock: VirtualClock, tmp_path: Path) -> None:
    _life(client, clock)
    before = {(r.instance, r.seq): r for r in client.audit()}
    clock.advance(30 * 86400)
    archive = tmp_path / "audit-2026.jsonl"
    report = client.prune_audit(older_than="30d", archive=archive)
    # everything is older than 30 days but d-1 4 (30 days old exactly) and each latest row
    kept = [("d-2", 2), ("l-1", 2), ("d-1", 4)]
    assert keys(client.audit()) == kept
    lines = [json.loads(line) for line in archive.read_text("utf-8").splitlines()]
    assert report.archived == report.deleted == len(lines) == 5
    assert {(x["instance"], x["seq"]) for x in lines} == set(before) - set(kept)
    for line in lines:  # every column, as it was
        row = before[(line["instance"], line["seq"])]
        assert line == {**line, "event": row.event, "outcome": row.outcome, "at": row.at,
                        "actor": row.actor, "source": list(row.source), "id": row.id}
    assert client.history("d-1")[0].seq == 4
    assert client.store.integrity_check() == []
    client.send("d-1", "lock")  # the instance goes on
    again = client.prune_audit(older_than="30d", archive=archive)
    assert (again.archived, again.deleted) == (0, 0)
    assert len(archive.read_text("utf-8").splitlines()) == 5  # appended to, nothing twice


def test_an_archive_that_cannot_be_written_deletes_nothing(
        client: Client, clock: VirtualClock, tmp_path: Path) -> None:
    _life(client, clock)
    clock.advance(90 * 86400)
    count = len(client.audit())
    with pytest.raises(ArchiveError, match="nothing was deleted"):
        client.prune_audit(older_than="30d", archive=tmp_path / "missing" / "a.jsonl")
    with pytest.raises(ArchiveError):
        client.prune_audit(older_than="30d", archive=tmp_path)  # a folder
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked.jsonl"
        locked.write_text("")
        locked.chmod(0o444)
        with pytest.raises(ArchiveError):
            client.prune_audit(older_than="30d", archive=locked)
    assert len(client.audit()) == count
    with pytest.raises(InvalidArgument):
        client.prune_audit(older_than="a month", archive=tmp_path / "a.jsonl")
    with pytest.raises(ArgumentTypeError):
        client.prune_audit(older_than="30d", archive=None)  # type: ignore[arg-type]
    assert not (tmp_path / "a.jsonl").exists()


def test_a_full_disk_cuts_the_archive_back_and_deletes_nothing(
        client: Client, clock: VirtualClock, tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    _life(client, clock)
    clock.advance(90 * 86400)
    count = len(client.audit())
    with pytest.raises(ArchiveError, match="No space left"):
        client.prune_audit(older_than="30d", archive="/dev/full")
    assert len(client.audit()) == count


def test_the_async_client_answers_the_same(store_url: str, clock: VirtualClock,
                                           tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(DOOR)
            await client.start("door", "d-1")
            clock.advance(60)
            await client.send("d-1", "open", actor="alice")
            page = await client.audit(actor="alice")
            assert keys(page) == [("d-1", 2)] and page.after is None
            with pytest.raises(InvalidArgument):
                await client.audit(outcome="nope")
            clock.advance(86400)
            report = await client.prune_audit(older_than="1d", archive=tmp_path / "a.jsonl")
            assert report.deleted == 1
            assert keys(await client.audit()) == [("d-1", 2)]

    asyncio.run(main())

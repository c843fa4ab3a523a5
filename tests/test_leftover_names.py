"""Names a store could not keep, and store URLs that name no file, refused up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from statekeeper import (
    Chart,
    Client,
    InvalidArgument,
    LimitExceeded,
    Limits,
    Machine,
    State,
    VirtualClock,
    compile_chart,
)
from statekeeper.storage.urls import InvalidStoreURL

DOOR = compile_chart(Chart("door", initial="closed", states={
    "closed": State(on={"open": "opened"}), "opened": State(on={"close": "closed"})}))


@pytest.mark.parametrize("url", ["", "sqlite:///", "sqlite://", "sqlite:///?allow_foreign_tables=1"])
def test_a_sqlite_url_naming_no_file_is_refused(url: str) -> None:
    with pytest.raises(InvalidStoreURL, match="names no database file"):
        Client(url, worker=False)


@pytest.mark.parametrize("where", ["start", "send", "key"])
def test_a_nul_character_in_a_name_is_refused(tmp_path: Path, where: str) -> None:
    """PostgreSQL text cannot hold NUL, and no id or event name needs one."""
    with Client(tmp_path / "d.db", clock=VirtualClock(), worker=False) as client:
        client.register(DOOR)
        client.start("door", "d-1")
        with pytest.raises(InvalidArgument, match="NUL"):
            if where == "start":
                client.start("door", "d\x002")
            elif where == "send":
                client.send("d-1", "op\x00en")
            else:
                client.send("d-1", "open", idempotency_key="k\x00")
        assert client.get("d-1").state == "closed"
        assert [r.event for r in client.history("d-1")] == ["statekeeper.start"]


def test_a_machine_refuses_an_event_name_longer_than_its_limit() -> None:
    machine = Machine(DOOR, clock=VirtualClock(), limits=Limits(max_name_length=10))
    with pytest.raises(LimitExceeded, match="max_name_length"):
        machine.send("x" * 11)
    with pytest.raises(LimitExceeded):
        Machine(DOOR).send("x" * 5000)
    assert machine.send("open").configuration == ("opened",)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from statekeeper import VirtualClock
from statekeeper.client import Client


@pytest.fixture(params=["memory", "sqlite",
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The client-level tests run on every store; PostgreSQL in a schema of the test's own."""
    if request.param == "memory":
        return "memory://"
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path / 'instances.db'}"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1_000_000.0)


@pytest.fixture
def client(store_url: str, clock: VirtualClock) -> Iterator[Client]:
    with Client(store_url, clock=clock, worker=False) as made:
        yield made

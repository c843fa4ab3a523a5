from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from statekeeper import VirtualClock
from statekeeper.client import Client


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'instances.db'}"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(1_000_000.0)


@pytest.fixture
def client(store_url: str, clock: VirtualClock) -> Iterator[Client]:
    with Client(store_url, clock=clock, worker=False) as made:
        yield made

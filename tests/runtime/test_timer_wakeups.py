"""The background timer loop scans when a timer may be due, not on every wake-up.

Before, the effect loop and the timer loop shared one condition: every commit that wrote an
outbox row, and every commit that set a timer (even one due in an hour), woke the timer loop,
which then scanned the timers table, and woke the effect loop again after each scan.  Under a
stream of such commits that was a scan and an extra claim per group commit.  Now a wake-up
for effects does not wake the timer loop, and a timer due after the loop's next look does not
either; a timer due sooner still wakes it, and the poll still scans.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Chart, Final, State
from statekeeper.client import Client
from statekeeper.core.actions import Effect
from statekeeper.storage.records import TimerRecord

WAIT = 30.0
POLL = 600.0  # the periodic look never comes during a test


def far_timers() -> Chart:
    """Each ``tick`` enters ``armed`` (a timer an hour away, and an effect) or leaves it."""
    return Chart("far", initial="idle", states={
        "idle": State(on={"tick": "armed"}),
        "armed": State(entry=[Effect("note")], after={"1h": "idle"}, on={"tick": "idle"}),
    })  # fmt: skip


def soon() -> Chart:
    return Chart("soon", initial="waiting", states={
        "waiting": State(after={"50ms": "rang"}),
        "rang": Final(),
    })  # fmt: skip


def counting_scans(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    scans: list[float] = []
    read = client.store.due_timers

    def counted(now: float, *, limit: int = 1000, charts: list[str] | None = None) -> list[TimerRecord]:
        scans.append(now)
        return read(now, limit=limit, charts=charts)

    monkeypatch.setattr(client.store, "due_timers", counted)
    return scans


def test_far_timers_and_effects_do_not_wake_the_timer_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noted = threading.Semaphore(0)

    def note(args: Any, key: str) -> None:
        noted.release()

    with Client(f"sqlite:///{tmp_path / 'far.db'}", poll=POLL) as client:
        client.register(far_timers(), effects={"note": note})
        client.start("far", "f-1")
        client.engine.flush()
        scans = counting_scans(client, monkeypatch)
        for _ in range(20):  # ten timers set an hour away and cancelled, ten effects run
            client.send("f-1", "tick")
        for _ in range(10):
            assert noted.acquire(timeout=WAIT)
        client.engine.flush()
        assert scans == [], "a timer an hour away, or an effect, made the timer loop scan"
        assert client.get("f-1").state == "idle"
        assert client.store.next_timer_due() is None


def test_a_timer_due_before_the_next_look_still_wakes_the_scan(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path / 'soon.db'}", poll=POLL) as client:
        client.register(soon())
        client.start("soon", "s-1")
        assert client.when("s-1", "rang", timeout=WAIT).state == "rang"


def test_a_timer_scan_does_not_make_the_effect_loop_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every scan used to wake the effect loop, whose claim is a write transaction (BEGIN
    # IMMEDIATE): under a stream of timers, a claim in the engine's way per scan.
    with Client(f"sqlite:///{tmp_path / 'soon.db'}", poll=POLL) as client:
        client.register(soon())
        claims: list[float] = []
        claim = client.store.claim_effects

        def counted(owner: str, now: float, lease: float, *, limit: int = 100) -> Any:
            claims.append(now)
            return claim(owner, now, lease, limit=limit)

        monkeypatch.setattr(client.store, "claim_effects", counted)
        scans = counting_scans(client, monkeypatch)
        for n in range(4):  # one after the other: a scan each
            client.start("soon", f"s-{n}")
            assert client.when(f"s-{n}", "rang", timeout=WAIT).state == "rang"
        assert len(scans) >= 4
        assert len(claims) <= 1, "timer scans woke the effect loop (the first claim may be "\
            "the worker's own, at its start)"

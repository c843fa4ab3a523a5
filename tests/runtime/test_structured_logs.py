"""Structured log records: one per committed transition, one per effect attempt, after commit.

Real clients on every store; the records are read through a real ``logging`` handler.  The
virtual clock makes every time in a record exact.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from policy_charts import Downstream, order

from statekeeper import Chart, Migration, State, VirtualClock
from statekeeper.client import Client
from statekeeper.core.errors import EventNotAccepted
from statekeeper.logging import JsonFormatter
from statekeeper.runtime.logs import EFFECT_FIELDS, TRANSITION_FIELDS, TRANSITIONS

DOOR = Chart("door", version=1, initial="closed", states={
    "closed": State(on={"open": "opened"}),
    "opened": State(on={"close": "closed"}),
})


class Kept(logging.Handler):
    """Keeps every record it is handed, and each as the JSON formatter writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[dict[str, Any]] = []
        self.json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(json.loads(self.json.format(record)))


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    loggers = [logging.getLogger(n) for n in ("statekeeper.transitions", "statekeeper.effects")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_one_record_per_transition_with_every_field(client: Client, clock: VirtualClock,
                                                   kept: Kept) -> None:
    client.register(DOOR)
    client.start("door", "d-1")
    clock.advance(90)
    client.send("d-1", "open", actor="ann", trace_id="t-42")
    clock.advance(5)
    with pytest.raises(EventNotAccepted):
        client.send("d-1", "open", actor="bob")
    lines = [x for x in kept.lines if x["logger"] == "statekeeper.transitions"]
    assert [(x["seq"], x["event"], x["outcome"]) for x in lines] == [
        (1, "statekeeper.start", "applied"), (2, "open", "applied"), (3, "open", "rejected")]
    start, opened, rejected = lines
    assert set(TRANSITION_FIELDS) <= set(opened)
    assert (opened["instance"], opened["chart"], opened["chart_version"], opened["source"],
            opened["target"], opened["actor"], opened["trace_id"], opened["in_source"]) == (
        "d-1", "door", "1", ["closed"], ["opened"], "ann", "t-42", 90.0)
    assert opened["level"] == "DEBUG" and opened["message"] == "d-1 open: closed -> opened (applied)"
    assert (start["source"], start["in_source"], start["trace_id"]) == ([], None, "")
    assert (rejected["actor"], rejected["in_source"], rejected["reason"]) == (
        "bob", 5.0, "no transition accepts the event")


def test_one_record_per_effect_attempt(client: Client, clock: VirtualClock,
                                       kept: Kept) -> None:
    api = Downstream(failures=1)
    client.register(order(), effects={"charge": api.charge})
    client.start("order", "o-1")
    client.send("o-1", "pay")
    client.worker.run_until_idle()
    clock.advance(1.0)
    client.worker.run_until_idle()
    assert client.get("o-1").state == "paid"
    attempts = [x for x in kept.lines if x["logger"] == "statekeeper.effects"]
    assert set(EFFECT_FIELDS) <= set(attempts[0])
    assert [(x["attempt"], x["outcome"], x["retry_in"]) for x in attempts] == [
        (1, "error", 1.0), (2, "ok", 0.0)]
    assert attempts[0]["error"] == "ConnectionError: payments down (call 1)"
    assert attempts[0]["duration"] == 0.0 and attempts[0]["effect"] == "charge"
    assert attempts[1]["key"] == attempts[0]["key"] and attempts[1]["instance"] == "o-1"
    events = [x["event"] for x in kept.lines if x["logger"] == "statekeeper.transitions"]
    assert events[-1] == "done.effect.charge"


def test_nothing_reaches_an_info_handler_unless_asked(store_url: str, clock: VirtualClock,
                                                      kept: Kept) -> None:
    for lg in ("statekeeper.transitions", "statekeeper.effects"):
        logging.getLogger(lg).setLevel(logging.INFO)
    with Client(store_url, clock=clock, worker=False) as client:
        client.register(DOOR)
        client.start("door", "d-1")
        client.send("d-1", "open")
    assert kept.records == []
    with Client(store_url, clock=clock, worker=False, log_level=logging.INFO) as client:
        client.register(DOOR)
        client.start("door", "d-2")
        client.send("d-2", "open")
    assert [(r.levelname, r.instance, r.event) for r in kept.records] == [  # type: ignore[attr-defined]
        ("INFO", "d-2", "statekeeper.start"), ("INFO", "d-2", "open")]


def test_a_disabled_logger_is_asked_once_per_group(client: Client, kept: Kept,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    logging.getLogger("statekeeper.transitions").setLevel(logging.INFO)
    asked: list[int] = []
    enabled = TRANSITIONS.isEnabledFor

    def counting(level: int) -> bool:
        asked.append(level)
        return enabled(level)

    monkeypatch.setattr(TRANSITIONS, "isEnabledFor", counting)
    client.register(DOOR)
    batches = client.engine.batches
    futures = [client.start("door", f"d-{n}") for n in range(40)]
    sent = [client.send(f"d-{n}", "open", wait=False) for n in range(40)]
    for future in sent:
        future.result()
    assert len(futures) == 40 and kept.records == []
    assert 1 <= len(asked) == client.engine.batches - batches
    assert set(asked) == {logging.DEBUG}


def test_bad_log_levels_are_refused(store_url: str) -> None:
    for bad in ("INFO", -1, True, 2.5):
        with pytest.raises(ValueError, match="log_level"):
            Client(store_url, worker=False, log_level=bad)  # type: ignore[arg-type]


def test_a_migration_is_a_record_too(client: Client, kept: Kept) -> None:
    door_v2 = Chart("door", version=2, initial="closed", states={
        "closed": State(on={"open": "ajar"}),
        "ajar": State(on={"close": "closed"}),
    })
    client.register(DOOR)
    client.start("door", "d-1")
    client.send("d-1", "open")
    client.register(door_v2)
    client.register_migration(Migration("door", 1, 2, states={"opened": "ajar"}))
    client.migrate("door", 2, dry_run=False, actor="ops")
    [moved] = [x for x in kept.lines if x.get("outcome") == "migrated"]
    assert (moved["instance"], moved["event"], moved["chart_version"], moved["source"],
            moved["target"], moved["actor"]) == (
        "d-1", "statekeeper.migrate", "2", ["opened"], ["ajar"], "ops")

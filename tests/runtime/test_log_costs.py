"""The cheap path of the structured logs: records made once per group, written without a flush each.

Real clients on every store, a real file on disk: every committed transition is a line of
the file once the group is flushed, and the JSON formatter's fast path for statekeeper's own
records writes exactly what its general path writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_charts import Downstream, order

from statekeeper import Chart, State, VirtualClock
from statekeeper.client import Client
from statekeeper.logging import _LENIENT, _STRICT, GroupFileHandler, JsonFormatter, _encode, _plain
from statekeeper.runtime.logs import MARKER, TRANSITIONS, log_transitions
from statekeeper.storage.records import Commit, InstanceRecord, TransitionRecord

DOOR = Chart("door", version=1, initial="closed", states={
    "closed": State(on={"open": "opened"}),
    "opened": State(on={"close": "closed"}),
})


class Flushes(GroupFileHandler):
    """A GroupFileHandler that counts its flushes (and still flushes)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Flushes]:
    handler = Flushes(tmp_path / "log.jsonl")
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("statekeeper")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate
    handler.close()


class Keep(logging.Handler):
    """Keeps every record it is handed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.kept.append(record)


def lines(handler: GroupFileHandler) -> list[dict[str, Any]]:
    with open(handler.baseFilename, encoding="utf-8") as text:
        return [json.loads(line) for line in text]


def test_every_transition_is_a_line_flushed_once_per_group(store_url: str, clock: VirtualClock,
                                                           logged: Flushes) -> None:
    with Client(store_url, clock=clock, worker=False, log_level=logging.INFO) as client:
        client.register(DOOR)
        for n in range(30):
            client.start("door", f"d-{n}")
        batches, flushes = client.engine.batches, logged.flushes
        sent = [client.send(f"d-{n}", "open", wait=False) for n in range(30)]
        for future in sent:
            future.result()
        rows = sum(len(client.history(f"d-{n}")) for n in range(30))
    groups = client.engine.batches - batches
    # on disk (the handler is still open): each group's flush wrote it
    written = [x for x in lines(logged) if x["logger"] == "statekeeper.transitions"]
    assert len(written) == rows == 60
    assert sorted(x["instance"] for x in written if x["event"] == "open") == sorted(
        f"d-{n}" for n in range(30))
    assert logged.flushes - flushes <= groups < 30, "a flush per group, not per record"


def test_an_effect_attempts_record_is_on_disk_once_its_outcome_commits(
        store_url: str, clock: VirtualClock, logged: Flushes) -> None:
    api = Downstream(failures=1)
    with Client(store_url, clock=clock, worker=False, log_level=logging.INFO) as client:
        client.register(order(), effects={"charge": api.charge})
        client.start("order", "o-1")
        client.send("o-1", "pay")
        client.worker.run_until_idle()  # the first attempt fails: flushed at once
        assert [x["outcome"] for x in lines(logged)
                if x["logger"] == "statekeeper.effects"] == ["error"]
        clock.advance(1.0)
        client.worker.run_until_idle()  # the second works; its outcome's group flushes it
        written = lines(logged)
    assert [x["outcome"] for x in written if x["logger"] == "statekeeper.effects"] == [
        "error", "ok"]
    assert written[-1]["event"] == "done.effect.charge"


def test_other_records_are_flushed_at_the_flush_level(tmp_path: Path) -> None:
    handler = GroupFileHandler(tmp_path / "other.log", flush_level=logging.WARNING)
    logger = logging.getLogger("test_log_costs.other")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.warning("flushed at once")
        assert (tmp_path / "other.log").read_text() == "flushed at once\n"
        logger.warning("%s", "x" * 10)
        logger.info("below the flush level")
        assert "below" not in (tmp_path / "other.log").read_text()
        handler.flush()
        assert (tmp_path / "other.log").read_text().endswith("below the flush level\n")
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_a_delayed_file_is_made_at_the_first_record(tmp_path: Path) -> None:
    handler = GroupFileHandler(tmp_path / "late.log", delay=True)
    assert not (tmp_path / "late.log").exists()
    handler.handle(logging.makeLogRecord({"msg": "first", "levelno": logging.ERROR}))
    handler.close()
    assert (tmp_path / "late.log").read_text() == "first\n"


def test_a_filter_sees_and_changes_the_record_as_with_logger_log(
        client: Client, logged: Flushes) -> None:
    def tag(record: logging.LogRecord) -> bool:
        record.tenant = "acme"  # an attribute a filter adds is a field of the line
        return getattr(record, "event", None) != "close"  # and a filter can drop records

    logged.addFilter(tag)
    client.register(DOOR)
    client.engine.log_level = logging.INFO
    client.start("door", "d-1")
    client.send("d-1", "open")
    client.send("d-1", "close")
    written = lines(logged)
    assert [x["event"] for x in written] == ["statekeeper.start", "open"]
    assert all(x["tenant"] == "acme" for x in written)


def test_records_of_a_group_share_the_attributes_logger_log_computes(
        logged: Flushes) -> None:
    keep = Keep()
    kept = keep.kept
    TRANSITIONS.addHandler(keep)
    try:
        log_transitions(logging.INFO, [(_commit("a", 2, 5.0), 1.0), (_commit("b", 3, 6.0), None)])
    finally:
        TRANSITIONS.removeHandler(keep)
    made = TRANSITIONS.makeRecord(TRANSITIONS.name, logging.INFO, "x", 0, "", (), None)
    assert [r.getMessage() for r in kept] == ["a go: s -> t (applied)",
                                              "b go: s -> t (applied)"]
    for record in kept:
        assert (record.levelname, record.name, record.threadName, record.process) == (
            "INFO", "statekeeper.transitions", made.threadName, made.process)
        assert record.created == kept[0].created and record.exc_info is None
        # as made, or formatted by another handler first, it is on the JSON fast path
        assert JsonFormatter._known({}, record.__dict__)
        logging.Formatter("%(asctime)s %(message)s").format(record)
        assert JsonFormatter._known({}, record.__dict__)
    assert [(r.instance, r.seq, r.in_source) for r in kept] == [  # type: ignore[attr-defined]
        ("a", 2, 4.0), ("b", 3, None)]


def _commit(instance: str, seq: int, at: float, **row: Any) -> Commit:
    record = InstanceRecord(id=instance, chart="door", version="1", hash="h", snapshot={},
                            configuration=("t",))
    return Commit(record, seq - 1, [TransitionRecord(instance, seq, row.pop("event", "go"),
                                                     ("s",), ("t",), "1", "applied", at,
                                                     **row)])


TEXT = st.text(max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instance=TEXT, event=TEXT, actor=st.none() | TEXT, reason=st.none() | TEXT,
       trace=st.none() | TEXT, at=st.floats(allow_nan=True, allow_infinity=True),
       since=st.none() | st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_the_fast_path_writes_what_the_general_path_writes(
        instance: str, event: str, actor: str | None, reason: str | None, trace: str | None,
        at: float, since: float | None) -> None:
    keep = Keep()
    kept = keep.kept
    TRANSITIONS.addHandler(keep)
    level = TRANSITIONS.level
    TRANSITIONS.setLevel(logging.DEBUG)
    try:
        log_transitions(logging.DEBUG, [(_commit(instance or "i", 2, at, event=event,
                                                 actor=actor, reason=reason,
                                                 trace_id=trace), since)])
    finally:
        TRANSITIONS.removeHandler(keep)
        TRANSITIONS.setLevel(level)
    [record] = kept
    formatter = JsonFormatter(static={"service": "orders"})
    fast = formatter.format(record)
    record.__dict__.pop(MARKER)  # a foreign record: every extra attribute, scanned
    assert fast == formatter.format(record)


def test_a_record_a_filter_reshaped_takes_the_general_path(logged: Flushes) -> None:
    def reshape(record: logging.LogRecord) -> bool:
        del record.actor  # as many attributes as made, but not the same ones
        record.who = "redacted"
        return True

    logged.addFilter(reshape)
    log_transitions(logging.INFO, [(_commit("a", 2, 5.0, actor="ann"), 1.0)])
    [line] = lines(logged)
    assert line["who"] == "redacted" and "actor" not in line and line["instance"] == "a"


@pytest.fixture
def two_files(tmp_path: Path) -> Iterator[tuple[GroupFileHandler, logging.FileHandler]]:
    """A GroupFileHandler (the group's path) and a FileHandler (per record) on one ancestor."""
    grouped = GroupFileHandler(tmp_path / "grouped.jsonl")
    plain = logging.FileHandler(tmp_path / "plain.jsonl", encoding="utf-8")
    logger = logging.getLogger("statekeeper")
    level, propagate = logger.level, logger.propagate
    for handler in (grouped, plain):
        handler.setFormatter(JsonFormatter(static={"service": "orders"}))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield grouped, plain
    for handler in (grouped, plain):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)
    logger.propagate = propagate


GROUP = [(_commit(f"i-{n}", n + 2, 5.0 + n, actor="ann" if n % 2 else None), 1.0)
         for n in range(5)]


def test_a_group_written_at_once_is_what_each_record_handled_writes(
        two_files: tuple[GroupFileHandler, logging.FileHandler],
        monkeypatch: pytest.MonkeyPatch) -> None:
    grouped, plain = two_files
    monkeypatch.setattr(GroupFileHandler, "handle", None)  # taken as a group, not per record
    above = GroupFileHandler(Path(grouped.baseFilename).with_name("above.jsonl"))
    above.setLevel(logging.WARNING)  # a handler's level still holds the records back
    keep = Keep()
    kept = keep.kept
    TRANSITIONS.addHandler(keep)
    TRANSITIONS.addHandler(above)
    try:
        log_transitions(logging.INFO, GROUP)
    finally:
        TRANSITIONS.removeHandler(keep)
        TRANSITIONS.removeHandler(above)
        above.close()
    with open(plain.baseFilename, encoding="utf-8") as text:
        expected = text.read()
    with open(grouped.baseFilename, encoding="utf-8") as text:
        assert text.read() == expected  # flushed with the group, byte for byte
    assert [x["instance"] for x in map(json.loads, expected.splitlines())] == [
        f"i-{n}" for n in range(5)]
    assert [r.instance for r in kept] == [f"i-{n}" for n in range(5)]  # type: ignore[attr-defined]
    assert Path(above.baseFilename).read_text() == ""


def test_filters_on_the_logger_or_the_handler_see_each_record_of_a_group(
        two_files: tuple[GroupFileHandler, logging.FileHandler]) -> None:
    grouped, plain = two_files
    seen: list[str] = []

    def odd(record: logging.LogRecord) -> bool:
        seen.append(record.instance)  # type: ignore[attr-defined]
        return int(record.instance[2:]) % 2 == 1  # type: ignore[attr-defined]

    def even(record: logging.LogRecord) -> bool:
        return int(record.instance[2:]) % 2 == 0  # type: ignore[attr-defined]

    grouped.addFilter(even)
    log_transitions(logging.INFO, GROUP)
    grouped.removeFilter(even)
    TRANSITIONS.addFilter(odd)
    try:
        log_transitions(logging.INFO, GROUP)
    finally:
        TRANSITIONS.removeFilter(odd)
    assert seen == [f"i-{n}" for n in range(5)]
    written = [x["instance"] for x in lines(grouped)]
    assert written == ["i-0", "i-2", "i-4", "i-1", "i-3"]
    with open(plain.baseFilename, encoding="utf-8") as text:
        assert len(text.read().splitlines()) == 5 + 2


def test_a_record_that_fails_to_format_is_reported_and_the_others_written(
        two_files: tuple[GroupFileHandler, logging.FileHandler],
        monkeypatch: pytest.MonkeyPatch) -> None:
    grouped, _ = two_files
    reported: list[logging.LogRecord] = []
    monkeypatch.setattr(grouped, "handleError", reported.append)
    real = JsonFormatter.format

    def failing(self: JsonFormatter, record: logging.LogRecord) -> str:
        if record.instance == "i-1":  # type: ignore[attr-defined]
            raise ValueError("unformattable")
        return real(self, record)

    monkeypatch.setattr(JsonFormatter, "format", failing)
    log_transitions(logging.INFO, GROUP)
    assert [r.instance for r in reported] == ["i-1"]  # type: ignore[attr-defined]
    assert [x["instance"] for x in lines(grouped)] == ["i-0", "i-2", "i-3", "i-4"]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@given(st.dictionaries(st.text(max_size=6), JSONISH | st.sets(st.integers()), max_size=5))
def test_a_line_is_what_the_standard_encoder_writes(out: dict[str, Any]) -> None:
    try:
        expected = _STRICT.encode(out)
    except ValueError:
        expected = _LENIENT.encode(_plain(out))
    assert _encode(out) == expected


def test_a_cycle_is_still_an_error_and_leaves_nothing_behind() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(RecursionError):  # as before: _plain's walk, once _STRICT refuses it
        _encode({"loop": loop})
    assert _encode({"a": [1.5, None]}) == '{"a": [1.5, null]}'

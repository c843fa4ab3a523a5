"""``Client(gc=...)`` and ``tune_gc``: Python's collector set for the engine, only when asked.

The collector's settings are the whole process's: each test puts them back as it found them.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Client, GcTuning, InvalidGcTuning, StatekeeperError, tune_gc
from statekeeper.runtime.gc_tuning import DEFAULT_YOUNG, GroupCollector


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_default_client_leaves_the_collector_alone(tmp_path: Path) -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with Client(tmp_path / "a.db", worker=False):
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == frozen


def test_gc_true_raises_the_young_threshold_and_freezes_the_set_up(tmp_path: Path) -> None:
    gc.unfreeze()
    older = gc.get_threshold()[1:]
    with Client(tmp_path / "a.db", worker=False, gc=True) as client:
        assert gc.get_threshold() == (DEFAULT_YOUNG, *older)
        assert gc.get_freeze_count() > 0  # the modules and objects built so far
        client.start(client.register(_chart()).name, "i-1")  # and it still works
        assert client.get("i-1").state == "idle"
        collectors = [c for c in client.engine.on_commit if isinstance(c, GroupCollector)]
        assert [c.between for c in collectors] == [DEFAULT_YOUNG // 10]


def test_a_tuning_without_freeze_only_sets_the_threshold() -> None:
    gc.unfreeze()
    replaced = tune_gc(GcTuning(young=1_234, freeze=False))
    assert gc.get_threshold()[0] == 1_234
    assert gc.get_freeze_count() == 0
    assert replaced[1:] == gc.get_threshold()[1:]


@pytest.mark.parametrize("young", [0, 699, True, 1.5e4, "50000"])
def test_a_young_threshold_that_is_not_one_is_refused(young: Any) -> None:
    with pytest.raises(InvalidGcTuning, match=r"GcTuning\(young=\) takes a whole number"):
        GcTuning(young=young)


def test_a_gc_setting_that_is_not_one_is_refused_before_anything_starts(tmp_path: Path) -> None:
    before = gc.get_threshold()
    with pytest.raises(InvalidGcTuning, match="gc= takes True") as caught:
        Client(tmp_path / "a.db", gc="tuned")  # type: ignore[arg-type]
    assert isinstance(caught.value, StatekeeperError) and isinstance(caught.value, ValueError)
    assert gc.get_threshold() == before
    with pytest.raises(InvalidGcTuning, match="freeze"):
        GcTuning(freeze=1)  # type: ignore[arg-type]


def test_young_collections_run_in_the_engine_thread_after_a_group(tmp_path: Path) -> None:
    seen: list[tuple[int, str]] = []

    def noted(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append((info["generation"], threading.current_thread().name))

    gc.unfreeze()
    with Client(tmp_path / "a.db", worker=False,
                gc=GcTuning(young=1_000_000, freeze=False, between_groups=1)) as client:
        name = client.register(_chart()).name
        gc.callbacks.append(noted)
        try:
            for n in range(3):  # each start is a group of one: each is followed by one
                client.start(name, f"i-{n}")
            client.engine.flush()
        finally:
            gc.callbacks.remove(noted)
    engine = [g for g, thread in seen if thread == "statekeeper-engine"]
    assert len(engine) >= 3 and set(engine) <= {0, 1}
    assert all(thread == "statekeeper-engine" for _, thread in seen)  # none by the threshold


def test_a_group_collector_collects_the_middle_generation_when_python_would() -> None:
    class _NoEngine:
        on_commit: list[Any] = []

        def after_answers(self, fn: Any) -> None:
            fn()

    gc.collect(1)  # the young and middle counts start from 0
    collector = GroupCollector(_NoEngine(), between=40)
    kept = [_Box() for _ in range(50)]  # young objects counted since (not from a free list)
    assert collector.collect() == 0
    young, _, old = gc.get_threshold()
    gc.set_threshold(young, 1, old)  # one young collection since the last middle one: due
    kept += [_Box() for _ in range(50)]
    assert collector.collect() == 1
    assert collector.collect() == -1  # nothing new counted since
    gc.disable()
    try:
        kept += [_Box() for _ in range(50)]
        assert collector.collect() == -1  # the application turned the collector off
    finally:
        gc.enable()
    assert len(kept) == 150


@pytest.mark.parametrize("between", [-1, True, 2.5, 50_001])
def test_a_between_groups_setting_that_is_not_one_is_refused(between: Any) -> None:
    with pytest.raises(InvalidGcTuning, match=r"between_groups=\) takes a whole number"):
        GcTuning(between_groups=between)


def test_between_groups_zero_attaches_no_collector(tmp_path: Path) -> None:
    gc.unfreeze()
    with Client(tmp_path / "a.db", worker=False,
                gc=GcTuning(freeze=False, between_groups=0)) as client:
        assert not [c for c in client.engine.on_commit if isinstance(c, GroupCollector)]


class _Box:
    """A container object each of which the collector counts (lists come from a free list)."""


def _chart() -> Any:
    from statekeeper import Chart, State

    return Chart("gc-light", initial="idle", states={"idle": State(on={"go": "idle"})})

"""``Client(gc=...)`` and ``tune_gc``: Python's collector set for the engine, only when asked.

The collector's settings are the whole process's: each test puts them back as it found them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Client, GcTuning, InvalidGcTuning, StatekeeperError, tune_gc
from statekeeper.runtime.gc_tuning import DEFAULT_YOUNG


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


def _chart() -> Any:
    from statekeeper import Chart, State

    return Chart("gc-light", initial="idle", states={"idle": State(on={"go": "idle"})})

"""The reference driver and the suite settings refuse what they cannot use, saying why."""

from __future__ import annotations

import pytest

from statekeeper import Chart, State, compile_chart
from statekeeper.testing.reference import Advance, run_pure

LAMP = Chart("lamp", states={"off": State(on={"flip": "on"}), "on": State(after={"5s": "off"})})


def test_run_pure_folds_events_and_time() -> None:
    records = run_pure(compile_chart(LAMP), ["flip", "flip", Advance(6)]).records
    assert [(r.status, r.snapshot.configuration) for r in records] == [
        ("applied", ("on",)), ("rejected", ("on",)), ("advanced", ("off",))]


def test_run_pure_needs_a_compiled_chart() -> None:
    with pytest.raises(TypeError, match="CompiledChart"):
        run_pure(LAMP, ["flip"])  # type: ignore[arg-type]


def test_run_pure_refuses_an_item_that_is_neither_an_event_nor_time() -> None:
    with pytest.raises(TypeError, match=r"name \(str\) or an Event, not 5"):
        run_pure(compile_chart(LAMP), [5])  # type: ignore[list-item]


def test_suite_settings_refuse_a_count_that_is_not_a_number(
        monkeypatch: pytest.MonkeyPatch) -> None:
    strategies = pytest.importorskip("statekeeper.testing.strategies",
                                     reason="needs hypothesis (the dev extra)")
    monkeypatch.setenv("STATEKEEPER_PROPERTY_EXAMPLES", "lots")
    with pytest.raises(ValueError, match="whole number"):
        strategies.suite_settings()
    monkeypatch.setenv("STATEKEEPER_PROPERTY_EXAMPLES", "7")
    assert strategies.suite_settings().max_examples == 7

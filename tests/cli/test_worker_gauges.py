"""``statekeeper worker --metrics-port --stuck-after``: the gauges of a real worker process.

The worker reads the store-wide numbers at each scrape, so it reports instances another
process (this test's client) started and moved.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_worker_metrics import chart_file, scrape, sqlite_url  # noqa: F401 - fixtures
from worker_proc import WorkerProcess

from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.io.dictform import load_chart


def _hold(args: object, key: str) -> None:
    raise AssertionError("the application process ran an effect: the worker should")


def test_a_worker_serves_instances_per_state_and_stuck_counts(
        sqlite_url: str, chart_file: Path) -> None:  # noqa: F811
    with Client(sqlite_url, worker=False) as client:
        client.register(load_chart(chart_file), effects={
            "charge": _hold, "ring": _hold, "hold": _hold})
        for n in range(3):
            client.start("job", f"j-{n}")
    proc = WorkerProcess("--db", sqlite_url, "--chart", str(chart_file), "--module",
                         "worker_app", "--metrics-port", "0", "--metrics-host", "127.0.0.1",
                         "--stuck-after", "idle=1d", "--stuck-after", "job:waiting=2h")
    try:
        line = proc.expect(r"serving metrics at http://127\.0\.0\.1:\d+/metrics")
        url = re.search(r"http://\S+/metrics", line).group(0)  # type: ignore[union-attr]
        samples = scrape(url)
        assert samples[("statekeeper_instances",
                        (("chart", "job"), ("state", "idle"), ("version", "1")))] == 3.0
        assert samples[("statekeeper_stuck_instances",
                        (("chart", "job"), ("state", "idle")))] == 0.0
        assert samples[("statekeeper_stuck_threshold_seconds",
                        (("chart", "job"), ("state", "idle")))] == 86400.0
        with Client(sqlite_url, worker=False) as client:
            client.register(load_chart(chart_file), effects={
                "charge": _hold, "ring": _hold, "hold": _hold})
            client.send("j-0", "later")
        samples = scrape(url)
        assert samples[("statekeeper_instances",
                        (("chart", "job"), ("state", "idle"), ("version", "1")))] == 2.0
        assert samples[("statekeeper_stuck_threshold_seconds",
                        (("chart", "job"), ("state", "waiting")))] == 7200.0
        assert proc.stop() == 0, "\n".join(proc.seen)
    finally:
        proc.close()


@pytest.mark.parametrize(("value", "said"), [
    ("idle", "not STATE or CHART:STATE"), ("idle=soon", "idle"), (":idle=5m", "CHART:STATE"),
    ("idle=0", "above 0")])
def test_a_bad_stuck_threshold_is_a_usage_error(
        sqlite_url: str, chart_file: Path, value: str, said: str,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--db", sqlite_url, "--chart", str(chart_file), "--metrics-port", "0",
              "--stuck-after", value])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert said in err and "STATE=DURATION" in err and "Traceback" not in err


def test_stuck_thresholds_without_a_metrics_port_say_so(
        sqlite_url: str, chart_file: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    status = main(["worker", "--db", sqlite_url, "--chart", str(chart_file), "--module",
                   "worker_app", "--stuck-after", "idle=5m"])
    assert status == 1
    assert "give --metrics-port too" in capsys.readouterr().err

"""``statekeeper worker --metrics-port``: a real worker process scraped over real HTTP.

The worker asks for port 0 (any free one) and logs the port it got, so tests never race
other processes for a fixed port.  A port already taken is a named error, exit status 1.
"""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from worker_proc import CHART, WorkerProcess

from statekeeper import MetricsPortInUse
from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.io.dictform import load_chart
from statekeeper.runtime.metrics import serve_metrics


@pytest.fixture
def chart_file(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(CHART)
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with Client(url, worker=False):
        pass  # an application creates the store; the worker serves an existing one
    return url


@pytest.fixture
def taken() -> Iterator[int]:
    """A port this test holds open (listening) for as long as it runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _not_here(args: object, key: str) -> None:
    raise AssertionError("the application process ran an effect: the worker should")


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.slow
def test_a_worker_process_serves_its_metrics(sqlite_url: str, chart_file: Path) -> None:
    proc = WorkerProcess("--db", sqlite_url, "--chart", str(chart_file), "--module",
                         "worker_app", "--poll", "0.2", "--metrics-port", "0",
                         "--metrics-host", "127.0.0.1", "--log-level", "DEBUG")
    try:
        line = proc.expect(r"serving metrics at http://127\.0\.0\.1:\d+/metrics")
        url = re.search(r"http://\S+/metrics", line).group(0)  # type: ignore[union-attr]
        proc.expect(r"worker worker-\w+ serving job on sqlite")
        with Client(sqlite_url, worker=False) as client:
            client.register(load_chart(chart_file), effects={
                "charge": _not_here, "ring": _not_here, "hold": _not_here})
            client.start("job", "j-1")
            client.send("j-1", "go")
            # the records are logged after the metrics are recorded: once read, a scrape
            # must find them (the outcome event is committed by the worker's own engine)
            proc.expect(r"statekeeper.effects: j-1 effect charge attempt 1: ok")
            proc.expect(r"statekeeper.transitions: j-1 done.effect.charge: charging -> done")
            samples = scrape(url)
            key = ("statekeeper_effect_attempts_total",
                   (("chart", "job"), ("effect", "charge"), ("outcome", "ok")))
            assert samples.get(key) == 1.0, sorted(samples)
            assert samples.get(("statekeeper_effect_duration_seconds_count",
                                (("chart", "job"), ("effect", "charge")))) == 1.0
            assert samples.get(("statekeeper_transitions_total", (
                ("chart", "job"), ("event", "done.effect.charge"), ("outcome", "applied")))) == 1.0
            assert client.get("j-1").state == "done"
        assert proc.stop() == 0, "\n".join(proc.seen)
    finally:
        proc.close()


def test_a_port_in_use_is_a_named_error_that_says_what_to_do(
        sqlite_url: str, chart_file: Path, taken: int, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["worker", "--db", sqlite_url, "--chart", str(chart_file), "--module",
                   "worker_app", "--metrics-port", str(taken), "--metrics-host", "127.0.0.1"])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    assert f"127.0.0.1:{taken}: the port is already in use" in err
    assert "give each worker process its own --metrics-port" in err


def test_serve_metrics_names_a_port_in_use(taken: int) -> None:
    with pytest.raises(MetricsPortInUse) as caught:
        serve_metrics(taken, addr="127.0.0.1", registry=CollectorRegistry())
    assert (caught.value.port, caught.value.addr) == (taken, "127.0.0.1")
    assert isinstance(caught.value, OSError)


def test_serve_metrics_serves_and_frees_its_port() -> None:
    server = serve_metrics(0, addr="127.0.0.1", registry=CollectorRegistry())
    try:
        assert scrape(f"http://127.0.0.1:{server.port}/metrics") == {}
    finally:
        server.close()
    again = serve_metrics(server.port, addr="127.0.0.1", registry=CollectorRegistry())
    again.close()  # the port was freed: a restarted worker takes it again


@pytest.mark.parametrize("bad", ["-1", "65536", "http"])
def test_a_bad_metrics_port_is_a_usage_error(sqlite_url: str, chart_file: Path, bad: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--db", sqlite_url, "--chart", str(chart_file),
              "--metrics-port", bad])
    assert exited.value.code == 2
    assert "--metrics-port" in capsys.readouterr().err

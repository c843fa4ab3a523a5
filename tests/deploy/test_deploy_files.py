"""The shipped Grafana dashboard and Prometheus alert rules: checked against the real exporter.

The alert rules go through ``promtool`` (Debian's ``prometheus`` package): ``check rules``
for their syntax, ``test rules`` for when each alert fires (``alerts_test.yml``).  When
promtool is missing it is installed with apt-get if this process may (root, apt present);
only when it cannot be installed are those tests skipped.  Every metric name the dashboard
and the rules query must be one a real client exports after a real run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from statekeeper import Chart, Effect, Final, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.resilience import Breaker, Retry

DEPLOY = Path(__file__).parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "statekeeper.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
#: a metric name in a PromQL expression (a histogram's series keep their suffix)
_NAME = re.compile(r"\bstatekeeper_[a-z_]+\b")


def _prometheus_pids() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "prometheus":
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def _install_promtool() -> str | None:
    """Install Debian's ``prometheus`` (which holds promtool); stop any server it started."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    before = _prometheus_pids()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
                       env=env, capture_output=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for pid in _prometheus_pids() - before:  # a server on :9090 the package started: ours
        with contextlib.suppress(OSError):  # it may have stopped by itself
            os.kill(pid, signal.SIGTERM)
    return shutil.which("promtool")


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool") or _install_promtool()
    if found is None:
        pytest.skip("promtool is not installed and cannot be (apt-get install prometheus "
                    "needs root and apt)")
    return found


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_alert_rules_pass_promtool(promtool: str) -> None:
    done = _run(promtool, "check", "rules", str(ALERTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout, done.stdout


def test_the_alerts_fire_when_they_should(promtool: str) -> None:
    done = _run(promtool, "test", "rules", str(ALERT_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_rule_fails_promtool(promtool: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(ALERTS.read_text().replace("max by (breaker)", "max by (breaker", 1))
    assert _run(promtool, "check", "rules", str(broken)).returncode != 0


# -- the metric names ------------------------------------------------------------------------


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _exprs(value)


def _flaky(args: Any, key: str) -> dict[str, Any]:
    raise ConnectionError("payments down")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every sample name a client exports after commits, a failing effect, a timer."""
    registry, clock = CollectorRegistry(), VirtualClock(1_000_000.0)
    chart = Chart("order", version=1, initial="placed", states={
        "placed": State(on={"pay": "charging"}, after={"1m": Transition("expired")}),
        "charging": State(entry=[Effect("charge", retry=Retry(1), breaker="payments")],
                          on={"done.effect.charge": "paid", "error.effect.charge": "failed"}),
        "paid": Final(), "failed": Final(), "expired": Final()})
    url = f"sqlite:///{tmp_path_factory.mktemp('deploy') / 'orders.db'}"
    with Client(url, clock=clock, worker=False, metrics=registry,
                stuck_after={"placed": "30s"}, breakers={
                    "payments": Breaker("payments", min_calls=1, open_for="1h")}) as client:
        client.register(chart, effects={"charge": _flaky})
        client.start("order", "o-1")
        client.start("order", "o-2")
        client.send("o-1", "pay")
        client.worker.run_until_idle()
        clock.advance(61)
        client.worker.run_until_idle()
        client.start("order", "o-3")
        clock.advance(45)
        text = generate_latest(registry).decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_run_exports_every_kind_of_metric(exported: set[str]) -> None:
    assert {"statekeeper_instances", "statekeeper_stuck_instances",
            "statekeeper_breaker_state", "statekeeper_timer_lateness_seconds_bucket",
            "statekeeper_effect_duration_seconds_bucket",
            "statekeeper_state_duration_seconds_bucket"} <= exported


def test_the_dashboard_queries_only_exported_metrics(exported: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    names = {n for expr in _exprs(dashboard) for n in _NAME.findall(expr)}
    assert names and names <= exported, sorted(names - exported)
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("transitions", "time in state", "instances per state", "stuck",
                  "effect failure", "effect latency", "breaker", "timer lateness"):
        assert topic in titles, topic


def test_the_alert_rules_query_only_exported_metrics(exported: set[str]) -> None:
    names = set(_NAME.findall(ALERTS.read_text()))
    assert names and names <= exported, sorted(names - exported)

"""``bench migrate`` on a tiny size: it runs, migrates every instance, and its JSON has its shape."""

from __future__ import annotations

import json
from pathlib import Path

from statekeeper.bench.__main__ import main


def test_bench_migrate_runs_on_a_tiny_store(tmp_path: Path) -> None:
    out = tmp_path / "migrate.json"
    assert main(["migrate", "--instances", "40", "--batch", "16", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["instances"] == 40 and figures["synchronous"] == "FULL"
    assert figures["migrations"]["transactions"] == 3  # 40 instances, 16 per transaction
    for phase in ("transitions", "migrations"):
        assert set(figures[phase]) >= {"wall_s", "cpu_s", "per_s", "cpu_us_each"}
    assert figures["cpu_ratio_migration_to_transition"] > 0

"""The README's table of what each feature costs is the committed ``bench features`` run.

``benchmarks/features.json`` is written by ``python -m statekeeper.bench features --json``;
the README shows its table exactly as ``--markdown`` prints it, so a new run committed
without the README (or the other way round) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

from statekeeper.bench.features import BUDGET, markdown

ROOT = Path(__file__).resolve().parents[2]


def test_readme_shows_the_committed_features_run() -> None:
    figures = json.loads((ROOT / "benchmarks" / "features.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown(figures) in readme
    assert figures["budget"] == BUDGET and figures["variants"]["plain"]["cost"] == 0.0
    for row in figures["variants"].values():  # every run of the committed file was at FULL
        assert {run["synchronous"] for run in row["runs"]} == {"FULL"}

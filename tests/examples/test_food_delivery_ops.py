"""The operated food-delivery example end to end: it runs, and its file and logs say so.

The printout is checked for what a reader is told; the SQLite file, the JSON log file and the
scraped metrics are checked for what actually happened.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_the_operated_example_runs_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    run = subprocess.run([sys.executable, "-m", "statekeeper.examples.food_delivery_ops",
                          "--db", str(db)], capture_output=True, text=True, timeout=180,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "ops demo finished: OK" in out
    assert "bob    start             o-1  REFUSED: no rule allows it (roles: customer)" in out
    assert ("alice  refund            o-1  REFUSED: entering state 'Refunded' takes one of "
            "the roles ['support']") in out
    # the file: one denied row per refused event, with its actor; the refused start left none
    with sqlite3.connect(db) as conn:
        denied = list(conn.execute("SELECT instance, event, actor FROM transitions WHERE "
                                   "outcome = 'denied' ORDER BY instance, seq"))
        finals = dict(conn.execute("SELECT id, status FROM instances"))
        starts = list(conn.execute("SELECT instance, actor FROM transitions "
                                   "WHERE event = 'statekeeper.start' ORDER BY instance"))
    assert denied == [("o-1", "cancel", "bob"), ("o-1", "refund", "alice"),
                      ("o-3", "accept", "mario")]
    assert finals == {"o-1": "done", "o-2": "done", "o-3": "active"}
    assert [i for i, _ in starts] == ["o-1", "o-2", "o-3"]
    # the JSON logs: every line parses; each refusal is a record with its fields
    lines = [json.loads(line) for line in db.with_suffix(".log.jsonl").read_text().splitlines()]
    refusals = [(x["instance"], x["event"], x["actor"]) for x in lines
                if x["logger"] == "statekeeper.authz"]
    assert refusals == [("o-1", "statekeeper.start", "bob"), ("o-1", "cancel", "bob"),
                        ("o-1", "refund", "alice")]
    assert all(x["service"] == "food-delivery" for x in lines)
    assert {x["logger"] for x in lines} >= {"statekeeper.transitions", "statekeeper.effects"}
    # the metrics, as scraped over HTTP from the process's registry
    assert ('statekeeper_transitions_total{chart="food_order",event="refund",'
            'outcome="denied"} 1.0') in out
    assert ('statekeeper_effect_attempts_total{chart="food_order",effect="refund",'
            'outcome="ok"} 2.0') in out
    # the command line: send through the policy, audit and history over the file
    assert ("statekeeper send --db DB o-3 accept --module statekeeper.examples."
            "food_delivery_ops --principal mario") in out
    assert "principal 'mario' may not send 'accept' to instance 'o-3'" in out
    assert "o-3: FindingCourier (active, rev 4, outcome applied) after 'accept' from luigi" in out
    assert "$ statekeeper audit --db DB --outcome denied    (exit 0)" in out
    assert "    3 row(s)" in out
    assert "o-1: chart food_order v1, done, in Refunded (rev 11)" in out
    # reads for a principal: a courier sees the public fields and "hidden", support all of it
    assert "  ana (courier):  hidden    {'order_id': 'o-1', 'restaurant': 'trattoria', " \
           "'total': 30}" in out
    assert "  sam (support):  Refunded " in out
    # the spans: alice's start, the charge effect the worker ran and its outcome's step are
    # in her checkout request's trace
    spans = [json.loads(line) for line in db.with_suffix(".spans.jsonl").read_text().splitlines()]
    trace = "0x4bf92f3577b34da6a3ce929d0e0e4736"
    in_trace = {s["name"] for s in spans if s["context"]["trace_id"] == trace}
    assert {"statekeeper.step statekeeper.start", "statekeeper.effect charge",
            "statekeeper.step done.effect.charge"} <= in_trace
    assert all(s["parent_id"] == "0x00f067aa0ba902b7" for s in spans
               if s["context"]["trace_id"] == trace)

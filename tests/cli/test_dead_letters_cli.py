"""``statekeeper dead-letters`` on a real SQLite file written by a real client."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "runtime"))

from policy_charts import Downstream, order

from statekeeper import VirtualClock
from statekeeper.cli.main import main
from statekeeper.client import Client


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "orders.db"
    with Client(path, clock=VirtualClock(), worker=False) as client:
        client.register(order(), effects={"charge": Downstream(99, ValueError).charge})
        for iid in ("o-1", "o-2"):
            client.start("order", iid)
            client.send(iid, "pay")
        client.worker.run_until_idle()
        assert len(client.dead_letters()) == 2
    return path


def test_list_show_replay_discard(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dead-letters", "--db", str(db), "list"]) == 0
    out = capsys.readouterr().out
    assert "effect charge\to-1\t1 error(s), last: ValueError" in out
    assert out.rstrip().endswith("2 dead letter(s)")
    assert main(["dead-letters", "--db", str(db), "list", "--json"]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert main(["dead-letters", "--db", str(db), "show", str(first["id"])]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == first["errors"]
    assert main(["dead-letters", "--db", str(db), "replay", str(first["id"]),
                 "--actor", "ann"]) == 0
    assert "replayed by ann" in capsys.readouterr().out
    assert main(["dead-letters", "--db", str(db), "discard", str(second["id"]),
                 "--actor", "bob"]) == 0
    capsys.readouterr()
    with Client(db, worker=False) as client:
        assert client.dead_letters() == []
        [row] = client.store.effects(first["instance"])
        assert (row.status, row.attempts) == ("pending", 0), "runs when a worker has the chart"
        logged = {(r.event, r.actor) for i in ("o-1", "o-2") for r in client.history(i)
                  if r.event.startswith("statekeeper.dead_letter.")}
        assert logged == {("statekeeper.dead_letter.replayed", "ann"),
                          ("statekeeper.dead_letter.discarded", "bob")}
    assert main(["dead-letters", "--db", str(db), "replay", str(first["id"])]) == 1
    assert f"no dead letter {first['id']}" in capsys.readouterr().err


def test_a_missing_database_is_an_error_not_a_new_file(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.db"
    assert main(["dead-letters", "--db", str(missing), "list"]) == 1
    assert "no such database file" in capsys.readouterr().err
    assert not missing.exists()

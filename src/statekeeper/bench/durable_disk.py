"""What the disk allows: bare SQLite commits on the same machine, in the same run.

The issue behind ``bench durable`` sets its targets against what SQLite itself commits on a
small 2-core machine (about 6,800 single-row transactions per second at ``synchronous=FULL``).
Shared VMs differ from that by several times from one day to the next, in fsync latency as
much as in CPU speed, so the run measures the same baseline itself: plain ``sqlite3``, WAL,
``synchronous=FULL``, one thread, a row of about the size of a transition row, and either one
row per transaction or ``rows`` rows per transaction (the group a 16-sender run commits).

These are upper bounds, not peers: a statekeeper transition writes more than one bare row
(the instance row, a transition row and their indexes), and plans a statechart step besides.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .durable_statekeeper import SenderRun, instance_ids, synchronous_name

__all__ = ["ROW_TEXT", "run_sqlite_commits"]

#: The payload of each bare row: about what a two-state toggle's transition row holds.
ROW_TEXT = '[{"event":"flip","transitions":[["off",["on"]]],"exited":["off"],"entered":["on"]}]'

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bare (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    body TEXT NOT NULL
)
"""


def run_sqlite_commits(path: Path, rows: int, commits: int, warmup: int,
                       instances: int = 1_000) -> SenderRun:
    """``commits`` transactions of ``rows`` INSERTs each, every one durable before the next.

    ``transitions`` of the result counts rows, so ``per_s`` is rows per second (with
    ``rows=1``, also commits per second); ``synchronous`` is read back from the connection.
    """
    if rows < 1 or commits < 1:
        raise ValueError("rows and commits must be at least 1")
    ids = instance_ids(instances)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{path} cannot use WAL (journal_mode is {mode!r})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(_SCHEMA)
        level = conn.execute("PRAGMA synchronous").fetchone()[0]
        insert = "INSERT INTO bare (instance, seq, at, body) VALUES (?, ?, ?, ?)"
        cur = conn.cursor()
        written = 0

        def commit_rows(count: int) -> None:
            nonlocal written
            for _ in range(count):
                batch = [(ids[(written + k) % instances], written + k, time.time(), ROW_TEXT)
                         for k in range(rows)]
                written += rows
                cur.execute("BEGIN IMMEDIATE")
                if rows == 1:
                    cur.execute(insert, batch[0])
                else:
                    cur.executemany(insert, batch)
                cur.execute("COMMIT")

        commit_rows(warmup)
        start = time.perf_counter()
        commit_rows(commits)
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    return SenderRun(1, rows * commits, seconds, commits, synchronous=synchronous_name(level))

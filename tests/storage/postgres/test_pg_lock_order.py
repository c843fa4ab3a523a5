"""Two processes' groups lock their instance rows in one order (by id), so they never deadlock.

Every group commit updates its instances' rows first; each row stays locked until the group
commits.  Two groups sharing instances, each locking them in its own order, could each wait
for a row the other holds: PostgreSQL aborts one of them as a deadlock (after
``deadlock_timeout``, a second by default), and the store runs it again.  The store takes the
locks in instance id order in every way it writes a group (the batched ``UPDATE``, commit by
commit, one savepoint per commit), so such a cycle cannot form.

Two writers, each with a store (a pool) of its own, write groups over the same instances in
opposite orders, as fast as they can, racing for every row (so most groups also conflict and
are written again one savepoint per commit); neither may see a deadlock.  Before the store
ordered its writes, the commit-by-commit case (two steps of each instance per group) met about
400 deadlocks in 2 x 150 groups, and took 7 minutes instead of seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from contract import advance, created

from statekeeper.storage import Commit, InstanceRecord
from statekeeper.storage.postgres import PostgresStore

pytestmark = pytest.mark.postgres

INSTANCES = [f"i-{n}" for n in range(8)]
ROUNDS = 100


@pytest.fixture
def stores(pg_url: str) -> Iterator[list[PostgresStore]]:
    made = [PostgresStore(pg_url) for _ in range(2)]
    made[0].migrate()
    try:
        yield made
    finally:
        for store in made:
            store.close()


def steps(record: InstanceRecord, count: int) -> list[Commit]:
    """``count`` successive steps of one instance (a group may hold several)."""
    made: list[Commit] = []
    for _ in range(count):
        made.append(advance(record))
        record = replace(made[-1].instance, rev=record.rev + 1)
    return made


def write(store: PostgresStore, order: list[str], per_instance: int,
          failures: list[BaseException]) -> None:
    try:
        for _ in range(ROUNDS):
            records = store.load_many(order)
            store.apply([c for iid in order for c in steps(records[iid], per_instance)])
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        failures.append(exc)


def analyze(pg_url: str) -> None:
    """Give the planner statistics (autovacuum would): the batched UPDATE of a small table
    then joins by hash, meeting its rows in the table's physical order, not the group's."""
    import psycopg

    from statekeeper.storage.postgres._settings import parse_postgres_url

    settings = parse_postgres_url(pg_url)
    with psycopg.connect(settings.conninfo, autocommit=True, **settings.connect_kwargs()) as conn:
        conn.execute("ANALYZE instances")


# One step per instance: the batched UPDATE (two plans: a table without statistics, walked
# in the group's order, and one with, joined by hash); two steps: written commit by commit.
@pytest.mark.parametrize(("per_instance", "analyzed"), [(1, False), (1, True), (2, False)])
def test_groups_over_the_same_instances_in_opposite_orders_never_deadlock(
        stores: list[PostgresStore], pg_url: str, per_instance: int, analyzed: bool) -> None:
    for iid in INSTANCES:
        created(stores[0], iid)
    if analyzed:
        analyze(pg_url)
    failures: list[BaseException] = []
    writers = [threading.Thread(target=write, args=(store, order, per_instance, failures))
               for store, order in zip(stores, [INSTANCES, INSTANCES[::-1]], strict=True)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(300)
    assert not failures, failures[:3]
    revs = [stores[0].load(iid).rev for iid in INSTANCES]
    assert all(rev > ROUNDS // 2 for rev in revs), revs  # they wrote, racing for every row
    assert [s.retries.get("40P01", 0) for s in stores] == [0, 0]
    assert stores[0].integrity_check() == []

"""Issue 16: a group whose connection died while a savepoint was rolled back was reported written.

The PostgreSQL fault test found, about one run in five, a client answering "applied" for a
step that never landed.  The cause: a group written one savepoint per commit (after a conflict
found late) rolls back the savepoint of a conflicting commit; if the connection dies right
then, psycopg logs the failed ``ROLLBACK TO`` and lets the conflict through, and the
transaction block then ends on a dead connection without sending ``COMMIT`` and without an
error.  The store must say the group was not written.  The fault is real: a TCP proxy
(``tests/pg_proxy.py``) closes the connection when the client sends ``ROLLBACK TO``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from contract import advance, created, step

from pg_proxy import CuttingProxy, proxied_url
from statekeeper.storage import CommitUncertain, MailboxRecord, StoreUnavailable
from statekeeper.storage.postgres import PostgresStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[CuttingProxy]:
    with CuttingProxy.to(postgres_server) as made:
        yield made


@pytest.fixture
def store(proxy: CuttingProxy, postgres_server: str, pg_schema: str) -> Iterator[PostgresStore]:
    made = PostgresStore(proxied_url(postgres_server, proxy, pg_schema))
    made.migrate()
    try:
        yield made
    finally:
        made.close()


def test_a_group_cut_while_a_savepoint_rolled_back_is_not_reported_written(
        store: PostgresStore, proxy: CuttingProxy) -> None:
    created(store, "c-1")
    created(store, "c-2")
    taken = MailboxRecord("c-2", "k", "go", {"first": True}, 1.0)
    step(store, "c-2", mailbox=taken)  # the key is taken: the group's second commit conflicts
    first = advance(store.load("c-1"), mailbox=MailboxRecord("c-1", "k", "go", {}, 2.0))
    second = advance(store.load("c-2"), mailbox=replace(taken, result={"again": True}))
    proxy.arm("before", at=b"ROLLBACK TO")
    with pytest.raises(StoreUnavailable) as caught:
        store.apply([first, second])
    assert proxy.cut.is_set()
    assert not isinstance(caught.value, CommitUncertain)  # COMMIT was never sent
    assert "nothing of it was committed" in str(caught.value)
    assert store.load("c-1").rev == 1 and store.mailbox("c-1", "k") is None
    assert [r.seq for r in store.history("c-1")] == [1]
    assert store.apply([first, second]) == [second]  # written again: the first one lands now
    assert store.load("c-1").rev == 2 and store.mailbox("c-1", "k") is not None

"""The memory store's integrity check finds rows of a vanished instance, as SQLite's does.

The memory store's own API cannot orphan a row (a commit checks its instance exists), so
this removes an instance behind the store's back, as a raw SQL edit does in test_sqlite.py.
"""

from __future__ import annotations

from contract import created, step, timer

from statekeeper.storage import MailboxRecord, MemoryStore
from statekeeper.storage._integrity import orphan


def test_rows_of_a_vanished_instance_are_reported_per_table() -> None:
    store = MemoryStore()
    created(store, "o-1")
    step(store, "o-1", timers_set=[timer("o-1", "t", 5.0)],
         mailbox=MailboxRecord("o-1", "k", "go", {}, 1.0))
    created(store, "o-2")
    assert store.integrity_check() == []
    del store._instances["o-1"]  # the corruption under test
    assert store.integrity_check() == [orphan("transitions", "o-1"), orphan("mailbox", "o-1"),
                                       orphan("timers", "o-1")]


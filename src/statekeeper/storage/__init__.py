"""Storage: the store contract and its backends (memory, SQLite; PostgreSQL later).

The runtime writes step results only through :class:`Store`; every backend passes the one
contract suite in ``tests/storage/contract.py``.  Rows are ``*Record`` types, separate from the
public API.
"""

from ._codec import why_not_json
from .base import (
    ForeignDatabase,
    InstanceExists,
    IntegrityError,
    NotADatabaseFile,
    RevisionBehindLog,
    SchemaTooNew,
    Store,
    StoreError,
    StoreUnavailable,
    UnknownInstance,
)
from .memory import MemoryStore
from .records import (
    Commit,
    CorruptedRow,
    DeadLetterRecord,
    EffectFinish,
    EffectRecord,
    EffectRelease,
    EffectReopen,
    InstanceRecord,
    MailboxRecord,
    PolicyStateRecord,
    TimerRecord,
    TransitionRecord,
)
from .sqlite import SQLiteStore

__all__ = [
    "Commit",
    "CorruptedRow",
    "DeadLetterRecord",
    "EffectFinish",
    "EffectRecord",
    "EffectRelease",
    "EffectReopen",
    "ForeignDatabase",
    "InstanceExists",
    "InstanceRecord",
    "IntegrityError",
    "MailboxRecord",
    "MemoryStore",
    "NotADatabaseFile",
    "PolicyStateRecord",
    "RevisionBehindLog",
    "SQLiteStore",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TimerRecord",
    "TransitionRecord",
    "UnknownInstance",
    "why_not_json",
]

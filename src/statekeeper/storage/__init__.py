"""Storage: the store contract and its backends (memory, SQLite; PostgreSQL later).

The runtime writes step results only through :class:`Store`; every backend passes the one
contract suite in ``tests/storage/contract.py``.  Rows are ``*Record`` types, separate from the
public API.  :func:`open_store` opens a store from a URL (``memory://``, ``sqlite:///path``,
``postgresql://...``), importing a backend only when its scheme is used.
"""

from ._codec import why_not_json
from ._server_errors import (
    CredentialsRefused,
    DatabaseNotFound,
    PoolExhausted,
    PrivilegeMissing,
    ServerUnreachable,
)
from .base import (
    CommitUncertain,
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
    ShadowRecord,
    TimerRecord,
    TransitionRecord,
)
from .sqlite import SQLiteStore
from .urls import (
    BackendNotInstalled,
    InvalidStoreURL,
    NoSuchStore,
    UnsupportedStoreURL,
    known_schemes,
    open_store,
)

__all__ = [
    "BackendNotInstalled",
    "Commit",
    "CommitUncertain",
    "CorruptedRow",
    "CredentialsRefused",
    "DatabaseNotFound",
    "DeadLetterRecord",
    "EffectFinish",
    "EffectRecord",
    "EffectRelease",
    "EffectReopen",
    "ForeignDatabase",
    "InstanceExists",
    "InstanceRecord",
    "IntegrityError",
    "InvalidStoreURL",
    "MailboxRecord",
    "MemoryStore",
    "NoSuchStore",
    "NotADatabaseFile",
    "PolicyStateRecord",
    "PoolExhausted",
    "PrivilegeMissing",
    "RevisionBehindLog",
    "SQLiteStore",
    "SchemaTooNew",
    "ServerUnreachable",
    "ShadowRecord",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TimerRecord",
    "TransitionRecord",
    "UnknownInstance",
    "UnsupportedStoreURL",
    "known_schemes",
    "open_store",
    "why_not_json",
]

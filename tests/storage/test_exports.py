"""The ``statekeeper.storage`` namespace, pinned: an API change always shows up in this diff."""

from __future__ import annotations

import statekeeper.storage
import statekeeper.storage.sqlite
from statekeeper.core.errors import StatekeeperError

EXPECTED = {
    "Commit", "CommitUncertain", "CorruptedRow", "DeadLetterRecord", "EffectFinish", "EffectRecord",
    "EffectRelease",
    "EffectReopen", "ForeignDatabase", "InstanceExists", "NotADatabaseFile", "PolicyStateRecord",
    "RevisionBehindLog",
    "InstanceRecord", "IntegrityError", "MailboxRecord", "MemoryStore", "SQLiteStore",
    "SchemaTooNew", "ShadowRecord", "Store", "StoreError", "StoreUnavailable", "TimerRecord",
    "TransitionRecord", "UnknownInstance", "why_not_json",
    # stores opened by URL (storage.urls), and why a database server could not serve one
    "BackendNotInstalled", "InvalidStoreURL", "NoSuchStore",
    "UnsupportedStoreURL", "known_schemes", "open_store", "CredentialsRefused",
    "DatabaseNotFound", "PoolExhausted", "PrivilegeMissing", "ServerUnreachable",
}


def test_storage_exports() -> None:
    assert set(statekeeper.storage.__all__) == EXPECTED
    for name in statekeeper.storage.__all__:
        assert hasattr(statekeeper.storage, name), name
    assert statekeeper.storage.sqlite.__all__ == ["SCHEMA_VERSION", "SQLiteStore", "parse_sqlite_url"]


def test_storage_errors_share_the_one_base() -> None:
    s = statekeeper.storage
    for error in (s.StoreError, s.UnknownInstance, s.InstanceExists, s.StoreUnavailable,
                  s.IntegrityError, s.SchemaTooNew, s.ForeignDatabase, s.NotADatabaseFile,
                  s.BackendNotInstalled, s.InvalidStoreURL, s.NoSuchStore,
                  s.UnsupportedStoreURL, s.PrivilegeMissing):
        assert issubclass(error, StatekeeperError)
    assert issubclass(s.UnknownInstance, KeyError)
    for unavailable in (s.CredentialsRefused, s.DatabaseNotFound, s.PoolExhausted,
                        s.ServerUnreachable, s.CommitUncertain):
        assert issubclass(unavailable, s.StoreUnavailable)

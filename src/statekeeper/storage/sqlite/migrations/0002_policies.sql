-- statekeeper schema, version 2: shared resilience state.

-- One row per circuit breaker or rate limit, shared by every worker; version is the
-- compare-and-set check of every write.
CREATE TABLE policy_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;

-- Bulkheads count the running effects of one name.
CREATE INDEX outbox_running_by_name ON outbox (name, status, lease_until);

-- statekeeper schema, version 1.
-- JSON values are TEXT (json.dumps); the store decodes and checks them on every read.
-- Times are REAL seconds from the caller's clock: the store never reads the clock itself.

CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

-- One row per instance: its snapshot and what it is queried by.
-- rev is the optimistic version every commit checks and bumps.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    chart TEXT NOT NULL,
    version TEXT NOT NULL,
    hash TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    configuration TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'done')),
    rev INTEGER NOT NULL,
    labels TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX instances_by_chart ON instances (chart, status, id);

-- The audit log: append-only, numbered per instance from 1 without gaps.
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL REFERENCES instances (id),
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    chart_version TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored', 'rejected')),
    at REAL NOT NULL,
    data TEXT NOT NULL,
    actor TEXT,
    trace_id TEXT,
    reason TEXT,
    idempotency_key TEXT,
    microsteps TEXT NOT NULL,
    UNIQUE (instance, seq)
);

-- Idempotency keys seen per instance, with the first result returned for each.
CREATE TABLE mailbox (
    instance TEXT NOT NULL REFERENCES instances (id),
    key TEXT NOT NULL,
    event TEXT NOT NULL,
    result TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (instance, key)
) WITHOUT ROWID;

-- Effects to run after their step committed; claimed with a lease.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    instance TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'dead')),
    attempts INTEGER NOT NULL,
    available_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    at_most_once INTEGER NOT NULL CHECK (at_most_once IN (0, 1)),
    last_error TEXT,
    errors TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX outbox_runnable ON outbox (status, available_at);
CREATE INDEX outbox_leases ON outbox (status, lease_until);
CREATE INDEX outbox_by_instance ON outbox (instance);

-- Pending timers; a row is deleted in the commit that fires or cancels it.
CREATE TABLE timers (
    instance TEXT NOT NULL REFERENCES instances (id),
    timer_id TEXT NOT NULL,
    due REAL NOT NULL,
    event TEXT NOT NULL,
    target TEXT,
    policy TEXT NOT NULL CHECK (policy IN ('fire_late', 'skip')),
    PRIMARY KEY (instance, timer_id)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers (due, instance, timer_id);

-- Work that exhausted its policy (no foreign key: an event for an unknown target lands here too).
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a deleted letter's id stays dead
    kind TEXT NOT NULL CHECK (kind IN ('effect', 'event')),
    instance TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    errors TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX dead_letters_by_instance ON dead_letters (instance);

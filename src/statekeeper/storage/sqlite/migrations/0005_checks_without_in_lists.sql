-- statekeeper schema, version 5: the same CHECK constraints, written as comparisons.
-- SQLite evaluates a CHECK of the form `x IN ('a', 'b', 'c')` (three or more values) by
-- building a temporary index of the list for every row written, which valgrind showed
-- costing about 5,000 instructions per transition row in the hot path (a cleared b-tree page
-- each time).  `x = 'a' OR x = 'b' OR x = 'c'` admits exactly the same values with plain
-- comparisons.  Lists of two values are already compiled as comparisons and stay as they are.
-- SQLite cannot change a CHECK constraint in place: each table is rebuilt, its rows (and ids)
-- copied, its indexes made again.

CREATE TABLE transitions_v5 (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL REFERENCES instances (id),
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    chart_version TEXT NOT NULL,
    outcome TEXT NOT NULL
        CHECK (outcome = 'applied' OR outcome = 'ignored' OR outcome = 'rejected'),
    at REAL NOT NULL,
    data TEXT NOT NULL,
    actor TEXT,
    trace_id TEXT,
    reason TEXT,
    idempotency_key TEXT,
    microsteps TEXT NOT NULL,
    UNIQUE (instance, seq)
);

INSERT INTO transitions_v5 (id, instance, seq, event, source, target, chart_version, outcome,
                            at, data, actor, trace_id, reason, idempotency_key, microsteps)
SELECT id, instance, seq, event, source, target, chart_version, outcome,
       at, data, actor, trace_id, reason, idempotency_key, microsteps
FROM transitions;

DROP TABLE transitions;

ALTER TABLE transitions_v5 RENAME TO transitions;

CREATE TABLE outbox_v5 (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    instance TEXT NOT NULL REFERENCES instances (id),
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status = 'pending' OR status = 'running' OR status = 'done'
               OR status = 'failed' OR status = 'dead'),
    attempts INTEGER NOT NULL,
    available_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    at_most_once INTEGER NOT NULL CHECK (at_most_once IN (0, 1)),
    last_error TEXT,
    errors TEXT NOT NULL,
    created_at REAL NOT NULL
);

INSERT INTO outbox_v5 (id, key, instance, name, args, status, attempts, available_at,
                       lease_owner, lease_until, at_most_once, last_error, errors, created_at)
SELECT id, key, instance, name, args, status, attempts, available_at,
       lease_owner, lease_until, at_most_once, last_error, errors, created_at
FROM outbox;

DROP TABLE outbox;

ALTER TABLE outbox_v5 RENAME TO outbox;

CREATE INDEX outbox_runnable ON outbox (status, available_at);

CREATE INDEX outbox_leases ON outbox (status, lease_until);

CREATE INDEX outbox_by_instance ON outbox (instance);

CREATE INDEX outbox_running_by_name ON outbox (name, status, lease_until);

CREATE TABLE timers_v5 (
    instance TEXT NOT NULL REFERENCES instances (id),
    timer_id TEXT NOT NULL,
    due REAL NOT NULL,
    event TEXT NOT NULL,
    target TEXT,
    policy TEXT NOT NULL
        CHECK (policy = 'default' OR policy = 'fire_late' OR policy = 'skip'),
    set_rev INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (instance, timer_id)
) WITHOUT ROWID;

INSERT INTO timers_v5 (instance, timer_id, due, event, target, policy, set_rev, position)
SELECT instance, timer_id, due, event, target, policy, set_rev, position
FROM timers;

DROP TABLE timers;

ALTER TABLE timers_v5 RENAME TO timers;

CREATE INDEX timers_by_due ON timers (due, instance, set_rev, position, timer_id);

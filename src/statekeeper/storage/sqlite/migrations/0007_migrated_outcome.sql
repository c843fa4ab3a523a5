-- statekeeper schema, version 7: a transition row may record a migration.
-- An instance moved to another version of its chart by a Migration logs one row with event
-- 'statekeeper.migrate' and outcome 'migrated' (statekeeper.runtime.migrate).  SQLite cannot
-- change a CHECK constraint in place: the table is rebuilt, its rows (and ids) copied.

CREATE TABLE transitions_v7 (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL REFERENCES instances (id),
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    chart_version TEXT NOT NULL,
    outcome TEXT NOT NULL
        CHECK (outcome = 'applied' OR outcome = 'ignored' OR outcome = 'rejected'
               OR outcome = 'migrated'),
    at REAL NOT NULL,
    data TEXT NOT NULL,
    actor TEXT,
    trace_id TEXT,
    reason TEXT,
    idempotency_key TEXT,
    microsteps TEXT NOT NULL,
    UNIQUE (instance, seq)
);

INSERT INTO transitions_v7 (id, instance, seq, event, source, target, chart_version, outcome,
                            at, data, actor, trace_id, reason, idempotency_key, microsteps)
SELECT id, instance, seq, event, source, target, chart_version, outcome,
       at, data, actor, trace_id, reason, idempotency_key, microsteps
FROM transitions;

DROP TABLE transitions;

ALTER TABLE transitions_v7 RENAME TO transitions;

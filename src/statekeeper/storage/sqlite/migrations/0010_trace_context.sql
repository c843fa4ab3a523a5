-- statekeeper schema, version 10: the W3C trace context of the step that wrote an outbox row
-- or set a timer (its `traceparent`, NULL when the step was not traced), so that an effect
-- run in another process, or a timer fired days later, continues the caller's trace.  A
-- transition row keeps the caller's trace context in its trace_id column.
-- The outbox takes the column at its end (no row is rewritten).  The timers table is
-- rebuilt so the column comes before the two that only order the firings (set_rev,
-- position), as statekeeper/storage/tables.py describes every table: read columns first.

ALTER TABLE outbox ADD COLUMN traceparent TEXT;

CREATE TABLE timers_v10 (
    instance TEXT NOT NULL REFERENCES instances (id),
    timer_id TEXT NOT NULL,
    due REAL NOT NULL,
    event TEXT NOT NULL,
    target TEXT,
    policy TEXT NOT NULL
        CHECK (policy = 'default' OR policy = 'fire_late' OR policy = 'skip'),
    traceparent TEXT,
    set_rev INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (instance, timer_id)
) WITHOUT ROWID;

INSERT INTO timers_v10 (instance, timer_id, due, event, target, policy, set_rev, position)
SELECT instance, timer_id, due, event, target, policy, set_rev, position
FROM timers;

DROP TABLE timers;

ALTER TABLE timers_v10 RENAME TO timers;

CREATE INDEX timers_by_due ON timers (due, instance, set_rev, position, timer_id);

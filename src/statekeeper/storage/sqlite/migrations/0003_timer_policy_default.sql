-- statekeeper schema, version 3: a timer that states no late policy follows the worker's.
-- Before, such a timer was written as 'fire_late', like one that stated it, and a worker-wide
-- 'skip' overrode both.  'default' now marks the unstated ones.  Existing 'fire_late' rows may
-- be either, and behaved as unstated ones do, so they become 'default'.  SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt, its rows copied.

CREATE TABLE timers_v3 (
    instance TEXT NOT NULL REFERENCES instances (id),
    timer_id TEXT NOT NULL,
    due REAL NOT NULL,
    event TEXT NOT NULL,
    target TEXT,
    policy TEXT NOT NULL CHECK (policy IN ('default', 'fire_late', 'skip')),
    PRIMARY KEY (instance, timer_id)
) WITHOUT ROWID;

INSERT INTO timers_v3 (instance, timer_id, due, event, target, policy)
SELECT instance, timer_id, due, event, target,
       CASE policy WHEN 'skip' THEN 'skip' ELSE 'default' END
FROM timers;

DROP TABLE timers;

ALTER TABLE timers_v3 RENAME TO timers;

CREATE INDEX timers_by_due ON timers (due, instance, timer_id);

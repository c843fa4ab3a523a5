-- statekeeper schema, version 8: the transition log queried across instances, and pruned.
-- Outcome 'denied' is reserved for an event refused by authorization.  SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt, its rows (and ids) copied, as in 7.
--
-- Audit queries read rows in (at, id) order, a page at a time, by one filter's index:
--   transitions_by_at       a time range, an unfiltered read, and a prune by age
--   transitions_by_event    one event (then by time)
--   transitions_by_actor    one actor; partial: rows without an actor (timers, effect
--                           outcomes) cost it nothing
--   transitions_by_outcome  the rare outcomes (rejected, ignored, migrated, denied); partial:
--                           an applied row, the bulk of the log, costs it nothing
-- One instance's rows come from the (instance, seq) key; a chart's from instances_by_chart
-- and that key.  Each index also holds the rowid (the id), the order's tie-breaker.

CREATE TABLE transitions_v8 (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL REFERENCES instances (id),
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    chart_version TEXT NOT NULL,
    outcome TEXT NOT NULL
        CHECK (outcome = 'applied' OR outcome = 'ignored' OR outcome = 'rejected'
               OR outcome = 'migrated' OR outcome = 'denied'),
    at REAL NOT NULL,
    data TEXT NOT NULL,
    actor TEXT,
    trace_id TEXT,
    reason TEXT,
    idempotency_key TEXT,
    microsteps TEXT NOT NULL,
    UNIQUE (instance, seq)
);

INSERT INTO transitions_v8 (id, instance, seq, event, source, target, chart_version, outcome,
                            at, data, actor, trace_id, reason, idempotency_key, microsteps)
SELECT id, instance, seq, event, source, target, chart_version, outcome,
       at, data, actor, trace_id, reason, idempotency_key, microsteps
FROM transitions;

DROP TABLE transitions;

ALTER TABLE transitions_v8 RENAME TO transitions;

CREATE INDEX transitions_by_at ON transitions (at);

CREATE INDEX transitions_by_event ON transitions (event, at);

CREATE INDEX transitions_by_actor ON transitions (actor, at) WHERE actor IS NOT NULL;

CREATE INDEX transitions_by_outcome ON transitions (outcome, at) WHERE outcome != 'applied';

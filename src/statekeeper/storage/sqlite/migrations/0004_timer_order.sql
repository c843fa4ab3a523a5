-- statekeeper schema, version 4: timers due at the same time fire in the order they were set.
-- Before, ties were broken by timer id, so a runtime could deliver two events of equal delay in
-- another order than an in-memory machine (which keeps the order they were sent in, as SCXML
-- queues them).  set_rev is the instance revision of the commit that set (or re-armed) the
-- timer, position its place among that commit's timers.  Rows written before keep 0 and 0:
-- among themselves they stay ordered by id, as they were.

ALTER TABLE timers ADD COLUMN set_rev INTEGER NOT NULL DEFAULT 0;

ALTER TABLE timers ADD COLUMN position INTEGER NOT NULL DEFAULT 0;

DROP INDEX timers_by_due;

CREATE INDEX timers_by_due ON timers (due, instance, set_rev, position, timer_id);

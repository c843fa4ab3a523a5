-- statekeeper PostgreSQL schema, version 6: the transition log queried across instances, and
-- pruned.  Outcome 'denied' is reserved for an event refused by authorization.
--
-- Audit queries read rows in (at, id) order, a page at a time, by one filter's index:
--   transitions_by_at       a time range, an unfiltered read, and a prune by age
--   transitions_by_event    one event (then by time)
--   transitions_by_actor    one actor; partial: rows without an actor cost it nothing
--   transitions_by_outcome  the rare outcomes; partial: an applied row costs it nothing
-- One instance's rows come from the primary key (instance, seq); a chart's from
-- instances_by_chart and that key.  The indexes are built in the migration's transaction,
-- which holds writes to the table meanwhile: on a large log, expect a pause of that length.
ALTER TABLE transitions DROP CONSTRAINT transitions_outcome_check;

ALTER TABLE transitions ADD CONSTRAINT transitions_outcome_check
    CHECK (outcome IN ('applied', 'ignored', 'rejected', 'migrated', 'denied'));

CREATE INDEX transitions_by_at ON transitions (at, id);

CREATE INDEX transitions_by_event ON transitions (event, at, id);

CREATE INDEX transitions_by_actor ON transitions (actor, at, id) WHERE actor IS NOT NULL;

CREATE INDEX transitions_by_outcome ON transitions (outcome, at, id) WHERE outcome <> 'applied';

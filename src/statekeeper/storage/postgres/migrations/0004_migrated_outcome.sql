-- statekeeper PostgreSQL schema, version 4: a transition row may record a migration.
-- An instance moved to another version of its chart by a Migration logs one row with event
-- 'statekeeper.migrate' and outcome 'migrated' (statekeeper.runtime.migrate).
ALTER TABLE transitions DROP CONSTRAINT transitions_outcome_check;

ALTER TABLE transitions ADD CONSTRAINT transitions_outcome_check
    CHECK (outcome IN ('applied', 'ignored', 'rejected', 'migrated'));

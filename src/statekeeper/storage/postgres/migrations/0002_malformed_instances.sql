-- statekeeper PostgreSQL schema, version 2: find malformed instance rows by an index.
--
-- A query by state or labels must report a row whose configuration is not a JSON array (or
-- whose labels are not an object) as corrupted, not pass over it silently as a row that does
-- not match.  So those filters read "configuration @> ... OR jsonb_typeof(configuration) <>
-- 'array'".  This partial index holds only such rows (normally none), so the second branch of
-- the OR costs an empty index scan and the first one keeps the GIN index instances_by_state.
CREATE INDEX instances_malformed ON instances (id)
WHERE jsonb_typeof(configuration) <> 'array' OR jsonb_typeof(labels) <> 'object';

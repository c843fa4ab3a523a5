-- Named queries of the PostgreSQL backend (loaded by statekeeper.storage._sql).
-- Parameters are psycopg's %(name)s.  Tables are named without a schema: each connection's
-- search_path is the schema of its URL.

-- name: migration_lock
-- Held until the transaction ends: one process migrates a schema at a time.
SELECT pg_advisory_xact_lock(%(key)s);

-- name: schema_exists
SELECT 1 FROM pg_namespace WHERE nspname = %(schema)s;

-- name: schema_version_exists
SELECT to_regclass(quote_ident(%(schema)s) || '.schema_version') IS NOT NULL;

-- name: schema_version
SELECT coalesce(max(version), 0) FROM schema_version;

-- name: insert_schema_version
INSERT INTO schema_version (version, name) VALUES (%(version)s, %(name)s);

-- name: schema_relations
-- Every table, view and foreign table of the schema (statekeeper's and any other program's).
SELECT c.relname
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY c.relname;

-- name: instances_in_state
-- The instances whose configuration holds a state, in id order.  This form ("configuration
-- @> a one-element array") is the one instances_by_state serves; a filter written as
-- "%(state)s IS NULL OR ..." could not use it.
SELECT id FROM instances
WHERE configuration @> jsonb_build_array(%(state)s::text)
ORDER BY id;

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

-- ---------------------------------------------------------------------------------------------
-- The store.  Column lists follow the tables described in statekeeper/storage/tables.py (in
-- that order): a SELECT of whole rows returns them uncast (jsonb, boolean) for the decoders of
-- the PostgreSQL adapter, an INSERT takes a row as the shared encoder writes it.
-- tests/storage/postgres/test_pg_tables.py checks them against the descriptions.  JSON is
-- written as text cast to jsonb (%s::jsonb).

-- name: load_instance
-- The instance's columns, then the entered_at the store keeps (InstanceRecord.entered_at).
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels,
       created_at, updated_at, coalesce(entered_at, created_at) AS entered_at
FROM instances WHERE id = %s;

-- name: load_instances
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels,
       created_at, updated_at, coalesce(entered_at, created_at) AS entered_at
FROM instances WHERE id = ANY(%s::text[]);

-- name: instance_exists
SELECT 1 FROM instances WHERE id = %s;

-- name: insert_instance
-- Every insert of a step's rows says ON CONFLICT DO NOTHING: a row that exists already (an id
-- taken, a seq, effect key or idempotency key written first by another step) changes no row
-- and is a conflict the caller sees by the row count, where an error would abort the whole
-- transaction of the group.
INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, rev, labels,
                       created_at, updated_at)
VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s::jsonb, %s, %s)
ON CONFLICT DO NOTHING;

-- name: update_instance
-- The optimistic check: no row changes unless the stored rev is the one the step read.
UPDATE instances
SET chart = %(chart)s, version = %(version)s, hash = %(hash)s, snapshot = %(snapshot)s::jsonb,
    configuration = %(configuration)s::jsonb, status = %(status)s, rev = %(rev)s,
    labels = %(labels)s::jsonb, updated_at = %(updated_at)s,
    -- the commit's time when the configuration changes, kept otherwise (migration state_counts)
    entered_at = CASE WHEN configuration = %(configuration)s::jsonb THEN entered_at
                      ELSE %(updated_at)s END
WHERE id = %(id)s AND rev = %(expected)s;

-- name: update_instances
-- A group's instance updates in one statement, one array per column; the row count says
-- whether a rev was stale (then the group is written the careful way).  The rows are locked
-- first, in id order ("locked", which every updated row must come through): the join alone
-- locks them in whatever order its plan meets them (a hash join: the table's physical order),
-- and two groups locking shared rows in different orders can deadlock.  Under READ COMMITTED
-- the lock takes the newest row version, and the update still checks the rev on it.
WITH locked AS MATERIALIZED (
    SELECT id FROM instances WHERE id = ANY(%(id)s::text[]) ORDER BY id FOR NO KEY UPDATE)
UPDATE instances AS i
SET chart = u.chart, version = u.version, hash = u.hash, snapshot = u.snapshot::jsonb,
    configuration = u.configuration::jsonb, status = u.status, rev = u.rev,
    labels = u.labels::jsonb, updated_at = u.updated_at,
    entered_at = CASE WHEN i.configuration = u.configuration::jsonb THEN i.entered_at
                      ELSE u.updated_at END
FROM unnest(%(id)s::text[], %(chart)s::text[], %(version)s::text[], %(hash)s::text[],
            %(snapshot)s::text[], %(configuration)s::text[], %(status)s::text[],
            %(rev)s::bigint[], %(labels)s::text[], %(updated_at)s::float8[],
            %(expected)s::bigint[])
     AS u (id, chart, version, hash, snapshot, configuration, status, rev, labels, updated_at,
           expected)
WHERE i.id = u.id AND i.rev = u.expected AND i.id IN (SELECT id FROM locked);

-- name: insert_instances
INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, rev, labels,
                       created_at, updated_at)
SELECT id, chart, version, hash, snapshot::jsonb, configuration::jsonb, status, rev,
       labels::jsonb, created_at, updated_at
FROM unnest(%(id)s::text[], %(chart)s::text[], %(version)s::text[], %(hash)s::text[],
            %(snapshot)s::text[], %(configuration)s::text[], %(status)s::text[],
            %(rev)s::bigint[], %(labels)s::text[], %(created_at)s::float8[],
            %(updated_at)s::float8[])
     AS u (id, chart, version, hash, snapshot, configuration, status, rev, labels, created_at,
           updated_at)
ON CONFLICT DO NOTHING;

-- name: query_instances
-- Filters left NULL match everything.  A row whose configuration is not a JSON array, or
-- whose labels are not an object, passes the filters on them (instances_malformed finds such
-- rows), so the store reports it as corrupted instead of hiding it.
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels,
       created_at, updated_at
FROM instances
WHERE (%(after)s::text IS NULL OR id > %(after)s::text)
  AND (%(chart)s::text IS NULL OR chart = %(chart)s::text)
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(labels)s::jsonb IS NULL OR labels @> %(labels)s::jsonb
       OR jsonb_typeof(labels) <> 'object')
ORDER BY id
LIMIT %(limit)s;

-- name: query_state_instances
-- Query by active state.  The candidates come from two indexes: the GIN index instances_by_state
-- ("configuration @> a one-element array") and the partial index instances_malformed (rows whose
-- configuration or labels are malformed, reported by the store as corrupted, never hidden).
-- Written as one WHERE with an OR, the planner walked the primary key and filtered every row.
SELECT i.id, i.chart, i.version, i.hash, i.snapshot, i.configuration, i.status,
       i.rev, i.labels, i.created_at, i.updated_at
FROM instances AS i
JOIN (SELECT id FROM instances WHERE configuration @> jsonb_build_array(%(state)s::text)
      UNION
      SELECT id FROM instances
      WHERE jsonb_typeof(configuration) <> 'array' OR jsonb_typeof(labels) <> 'object'
     ) AS candidate USING (id)
WHERE (%(after)s::text IS NULL OR i.id > %(after)s::text)
  AND (%(chart)s::text IS NULL OR i.chart = %(chart)s::text)
  AND (%(status)s::text IS NULL OR i.status = %(status)s::text)
  AND (%(labels)s::jsonb IS NULL OR i.labels @> %(labels)s::jsonb
       OR jsonb_typeof(i.labels) <> 'object')
ORDER BY i.id
LIMIT %(limit)s;

-- name: insert_transition
INSERT INTO transitions (instance, seq, event, source, target, chart_version, outcome, at, data,
                         actor, trace_id, reason, idempotency_key, microsteps)
VALUES (%s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s::jsonb)
ON CONFLICT DO NOTHING;

-- name: insert_transitions
-- A group's transition rows in one statement, in the group's order (ids follow it).
INSERT INTO transitions (instance, seq, event, source, target, chart_version, outcome, at, data,
                         actor, trace_id, reason, idempotency_key, microsteps)
SELECT instance, seq, event, source::jsonb, target::jsonb, chart_version, outcome, at,
       data::jsonb, actor, trace_id, reason, idempotency_key, microsteps::jsonb
FROM unnest(%(instance)s::text[], %(seq)s::bigint[], %(event)s::text[], %(source)s::text[],
            %(target)s::text[], %(chart_version)s::text[], %(outcome)s::text[],
            %(at)s::float8[], %(data)s::text[], %(actor)s::text[], %(trace_id)s::text[],
            %(reason)s::text[], %(idempotency_key)s::text[], %(microsteps)s::text[])
     WITH ORDINALITY
     AS u (instance, seq, event, source, target, chart_version, outcome, at, data, actor,
           trace_id, reason, idempotency_key, microsteps, n)
ORDER BY n
ON CONFLICT DO NOTHING;

-- name: history
-- LIMIT NULL is no limit.
SELECT id, instance, seq, event, source, target, chart_version, outcome, at,
       data, actor, trace_id, reason, idempotency_key, microsteps
FROM transitions WHERE instance = %s AND seq > %s ORDER BY seq LIMIT %s;

-- name: insert_mailbox
INSERT INTO mailbox (instance, key, event, result, at) VALUES (%s, %s, %s, %s::jsonb, %s)
ON CONFLICT DO NOTHING;

-- name: load_mailbox
SELECT instance, key, event, result, at FROM mailbox WHERE instance = %s AND key = %s;

-- name: load_mailboxes
SELECT m.instance, m.key, m.event, m.result, m.at
FROM mailbox AS m
JOIN unnest(%s::text[], %s::text[]) AS k (instance, key)
  ON m.instance = k.instance AND m.key = k.key;

-- name: upsert_timer
-- A re-armed timer (the same id set again) also takes its new place in the firing order.
INSERT INTO timers (instance, timer_id, due, event, target, policy, traceparent, set_rev,
                    position)
VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)
ON CONFLICT (instance, timer_id) DO UPDATE
SET due = excluded.due, event = excluded.event, target = excluded.target,
    policy = excluded.policy,
    traceparent = excluded.traceparent, set_rev = excluded.set_rev, position = excluded.position;

-- name: delete_timer
DELETE FROM timers WHERE instance = %s AND timer_id = %s;

-- name: due_timers
-- Timers due together fire in the order they were set (by each instance's commits).  A read:
-- what keeps a timer from firing twice, across processes, is the commit that fires it
-- deleting its row (a timer already gone is a conflict).
SELECT instance, timer_id, due, event, target, policy, traceparent
FROM timers WHERE due <= %s ORDER BY due, instance, set_rev, position, timer_id LIMIT %s;

-- name: due_timers_of_charts
-- The due timers of the instances of some charts: a process serving only those.  A timer of
-- no instance (a damaged store) is kept: firing it fails, and says so.
SELECT t.instance, t.timer_id, t.due, t.event, t.target, t.policy, t.traceparent
FROM timers AS t LEFT JOIN instances AS i ON i.id = t.instance
WHERE t.due <= %s AND (i.id IS NULL OR i.chart = ANY(%s::text[]))
ORDER BY t.due, t.instance, t.set_rev, t.position, t.timer_id LIMIT %s;

-- name: next_timer_due
SELECT min(due) FROM timers;

-- name: next_timer_due_after
SELECT min(due) FROM timers WHERE due > %s;

-- name: instance_timers
SELECT instance, timer_id, due, event, target, policy, traceparent
FROM timers WHERE instance = %s ORDER BY due, instance, set_rev, position, timer_id;

-- name: insert_effect
INSERT INTO outbox (key, instance, name, args, status, attempts, available_at, lease_owner,
                    lease_until, at_most_once, last_error, errors, created_at, traceparent)
VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)
ON CONFLICT DO NOTHING;

-- name: finish_effect
-- Only an open row closes: a second outcome for the same effect changes nothing (rowcount 0).
-- With an owner, only while that worker holds the lease: not once another took it over.
UPDATE outbox
SET status = %(status)s, lease_owner = NULL, lease_until = NULL,
    last_error = coalesce(%(error)s::text, last_error),
    errors = CASE WHEN %(error)s::text IS NULL THEN errors
                  ELSE errors || jsonb_build_array(%(error)s::text) END
WHERE key = %(key)s AND status IN ('pending', 'running')
  AND (%(owner)s::text IS NULL OR (status = 'running' AND lease_owner = %(owner)s::text));

-- name: claim_effects
-- Rows another claimer has locked are skipped, not waited for; a row another claimer leased
-- meanwhile is checked again once locked (and is no longer runnable).  So two claimers, in
-- any number of processes, never hold one row at once.
WITH picked AS (
    SELECT instance, key FROM outbox
    WHERE (status = 'pending' AND available_at <= %(now)s)
       OR (status = 'running' AND lease_until <= %(now)s)
    ORDER BY available_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
UPDATE outbox AS o
SET status = 'running', lease_owner = %(owner)s, lease_until = %(until)s,
    attempts = o.attempts + 1
FROM picked
WHERE o.instance = picked.instance AND o.key = picked.key
RETURNING o.id, o.key, o.instance, o.name, o.args, o.status, o.attempts, o.available_at,
          o.lease_owner, o.lease_until, o.at_most_once, o.last_error, o.errors,
          o.created_at, o.traceparent;

-- name: list_effects
SELECT id, key, instance, name, args, status, attempts, available_at, lease_owner,
       lease_until, at_most_once, last_error, errors, created_at, traceparent
FROM outbox
WHERE (%(instance)s::text IS NULL OR instance = %(instance)s::text)
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
ORDER BY id;

-- name: extend_lease
UPDATE outbox SET lease_until = %s
WHERE key = %s AND lease_owner = %s AND status = 'running';

-- name: release_effect
UPDATE outbox
SET status = 'pending', available_at = %(available_at)s, lease_owner = NULL, lease_until = NULL,
    last_error = coalesce(%(error)s::text, last_error),
    errors = CASE WHEN %(error)s::text IS NULL THEN errors
                  ELSE errors || jsonb_build_array(%(error)s::text) END,
    attempts = greatest(0, attempts - %(refund)s::int)
WHERE key = %(key)s AND lease_owner = %(owner)s AND status = 'running';

-- name: release_open_effect
-- In a step's transaction: only an open row is given back (rowcount 0 is a conflict); with
-- an owner, only while that worker holds the lease.
UPDATE outbox
SET status = 'pending', available_at = %(available_at)s, lease_owner = NULL, lease_until = NULL,
    last_error = coalesce(%(error)s::text, last_error),
    errors = CASE WHEN %(error)s::text IS NULL THEN errors
                  ELSE errors || jsonb_build_array(%(error)s::text) END,
    attempts = greatest(0, attempts - %(refund)s::int)
WHERE key = %(key)s AND status IN ('pending', 'running')
  AND (%(owner)s::text IS NULL OR (status = 'running' AND lease_owner = %(owner)s::text));

-- name: reopen_effect
-- A dead letter replayed: a closed row runs again, same key, attempts from 0.
UPDATE outbox
SET status = 'pending', available_at = %s, attempts = 0, lease_owner = NULL, lease_until = NULL
WHERE key = %s AND status IN ('done', 'failed', 'dead');

-- name: count_running
SELECT count(*) FROM outbox WHERE name = %s AND status = 'running' AND lease_until > %s;

-- name: load_policy_state
SELECT key, value, version, updated_at FROM policy_state WHERE key = %s;

-- name: insert_policy_state
INSERT INTO policy_state (key, value, version, updated_at) VALUES (%s, %s::jsonb, 1, %s)
ON CONFLICT (key) DO NOTHING;

-- name: update_policy_state
-- Compare and set: a concurrent writer of the same row makes this one wait, then find the
-- version moved on (no row changes).
UPDATE policy_state SET value = %s::jsonb, version = version + 1, updated_at = %s
WHERE key = %s AND version = %s;

-- name: insert_dead_letter
INSERT INTO dead_letters (kind, instance, key, payload, errors, at)
VALUES (%s, %s, %s, %s::jsonb, %s::jsonb, %s);

-- name: list_dead_letters
SELECT id, kind, instance, key, payload, errors, at FROM dead_letters ORDER BY id;

-- name: instance_dead_letters
SELECT id, kind, instance, key, payload, errors, at
FROM dead_letters WHERE instance = %s ORDER BY id;

-- name: load_dead_letter
SELECT id, kind, instance, key, payload, errors, at FROM dead_letters WHERE id = %s;

-- name: delete_dead_letter
DELETE FROM dead_letters WHERE id = %s;

-- name: row_as_json_timers
-- A row as it is stored, every column by name (to set it aside as a dead letter).
SELECT to_jsonb(t) FROM timers AS t WHERE instance = %s AND timer_id = %s FOR UPDATE;

-- name: row_as_json_outbox
SELECT to_jsonb(o) FROM outbox AS o WHERE id = %s FOR UPDATE;

-- name: set_aside_timers
DELETE FROM timers WHERE instance = %s AND timer_id = %s;

-- name: set_aside_outbox
DELETE FROM outbox WHERE id = %s;

-- name: insert_row_letter
INSERT INTO dead_letters (kind, instance, key, payload, errors, at)
VALUES ('row', %s, %s, %s::jsonb, %s::jsonb, %s)
RETURNING id;

-- name: load_letter_for_restore
SELECT kind, payload FROM dead_letters WHERE id = %s FOR UPDATE;

-- name: table_columns
SELECT column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = %s;

-- name: restore_timers
INSERT INTO timers SELECT * FROM jsonb_populate_record(NULL::timers, %s::jsonb)
ON CONFLICT DO NOTHING;

-- name: restore_outbox
INSERT INTO outbox SELECT * FROM jsonb_populate_record(NULL::outbox, %s::jsonb)
ON CONFLICT DO NOTHING;

-- name: one_timers
SELECT instance, timer_id, due, event, target, policy, traceparent
FROM timers WHERE instance = %s AND timer_id = %s;

-- name: one_outbox
SELECT id, key, instance, name, args, status, attempts, available_at, lease_owner,
       lease_until, at_most_once, last_error, errors, created_at, traceparent
FROM outbox WHERE id = %s;

-- name: check_orphans
-- Rows whose instance does not exist (the foreign keys forbid them; a dropped key would not).
SELECT 'transitions', instance FROM transitions WHERE instance NOT IN (SELECT id FROM instances)
UNION
SELECT 'mailbox', instance FROM mailbox WHERE instance NOT IN (SELECT id FROM instances)
UNION
SELECT 'outbox', instance FROM outbox WHERE instance NOT IN (SELECT id FROM instances)
UNION
SELECT 'timers', instance FROM timers WHERE instance NOT IN (SELECT id FROM instances)
ORDER BY 1, 2;

-- name: check_seq_gaps
-- A log runs without gaps to its latest row; a pruned one starts after 1 (storage/audit.py).
SELECT instance, count(*), min(seq), max(seq)
FROM transitions GROUP BY instance
HAVING max(seq) - min(seq) + 1 != count(*)
ORDER BY instance;

-- name: check_timers_of_done
SELECT t.instance, t.timer_id
FROM timers AS t JOIN instances AS i ON i.id = t.instance
WHERE i.status = 'done'
ORDER BY t.instance, t.timer_id;

-- name: all_instances
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels,
       created_at, updated_at
FROM instances ORDER BY id;

-- name: all_transitions
SELECT id, instance, seq, event, source, target, chart_version, outcome, at,
       data, actor, trace_id, reason, idempotency_key, microsteps
FROM transitions ORDER BY id;

-- name: all_mailbox
SELECT instance, key, event, result, at FROM mailbox ORDER BY instance, key;

-- name: all_outbox
SELECT id, key, instance, name, args, status, attempts, available_at, lease_owner,
       lease_until, at_most_once, last_error, errors, created_at, traceparent
FROM outbox ORDER BY id;

-- name: all_timers
SELECT instance, timer_id, due, event, target, policy, traceparent FROM timers
ORDER BY instance, timer_id;

-- name: all_dead_letters
SELECT id, kind, instance, key, payload, errors, at FROM dead_letters ORDER BY id;

-- name: all_policy_state
SELECT key, value, version, updated_at FROM policy_state ORDER BY key;

-- name: delete_transitions
-- exactly the rows a prune archived, by their key, in one transaction; the latest row stays
DELETE FROM transitions AS t
USING unnest(%(instances)s::text[], %(seqs)s::bigint[]) AS d (instance, seq), instances AS i
WHERE t.instance = d.instance AND t.seq = d.seq AND i.id = t.instance AND t.seq < i.rev;

-- name: insert_shadow
INSERT INTO shadow_log (chart, from_version, to_version, instance, state, event, kinds,
                        expected, got, at)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s);

-- name: chart_shadows
-- By the shadow_log_by_chart index, a page at a time.
SELECT id, chart, from_version, to_version, instance, state, event, kinds, expected, got,
       at
FROM shadow_log WHERE chart = %s AND id > %s ORDER BY id LIMIT %s;

-- name: delete_shadows
DELETE FROM shadow_log WHERE chart = %s;

-- name: all_shadow_log
SELECT id, chart, from_version, to_version, instance, state, event, kinds, expected, got,
       at
FROM shadow_log ORDER BY id;

-- name: state_counts
-- Active instances per (chart, version, state): the shards of migration state_counts summed.
SELECT chart, version, state, sum(count)::bigint FROM state_counts
GROUP BY chart, version, state ORDER BY chart, version, state;

-- name: counted_states
-- Active instances per (chart, version, state), counted from the instance rows themselves
-- (every active row read): what state_counts must sum to, for Store.recount_states.
SELECT chart, version, s.state, count(*)::bigint
FROM instances,
     jsonb_array_elements_text(CASE WHEN jsonb_typeof(configuration) = 'array'
                                    THEN configuration ELSE '[]'::jsonb END) AS s (state)
WHERE status = 'active'
GROUP BY chart, version, s.state;

-- name: hold_off_instance_writers
-- A recount that repairs: writers of instances (whose trigger adds to the shards) wait until
-- it commits, so the rebuilt counts miss no step and count none twice.
LOCK TABLE instances IN SHARE MODE;

-- name: clear_state_counts
DELETE FROM state_counts;

-- name: recount_state_counts
-- The kept counts rebuilt from the instance rows into shard 0, as migration state_counts
-- first built them.
INSERT INTO state_counts (chart, version, state, shard, count)
SELECT chart, version, s.state, 0, count(*)
FROM instances,
     jsonb_array_elements_text(CASE WHEN jsonb_typeof(configuration) = 'array'
                                    THEN configuration ELSE '[]'::jsonb END) AS s (state)
WHERE status = 'active'
GROUP BY chart, version, s.state;

-- name: stuck_instances
-- Active instances of a chart in a state since before a time: instances_by_entered gives
-- the chart's active rows that entered their configuration before %(before)s, and only
-- those are read.
SELECT count(*) FROM instances
WHERE chart = %(chart)s AND status = 'active'
  AND coalesce(entered_at, created_at) < %(before)s
  AND jsonb_typeof(configuration) = 'array'
  AND configuration @> jsonb_build_array(%(state)s::text);

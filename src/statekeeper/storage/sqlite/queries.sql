-- Named queries of the SQLite store (loaded by statekeeper.storage._sql).
-- Column lists follow the tables described in statekeeper/storage/tables.py (in that order);
-- tests/storage/test_tables.py checks them against it.

-- name: load_instance
-- The instance's columns, then the entered_at the store keeps (InstanceRecord.entered_at).
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels, created_at,
       updated_at, coalesce(entered_at, created_at) AS entered_at
FROM instances WHERE id = ?;

-- name: load_instances
-- Many ids, bound as one JSON array: one statement for any number (no limit on variables).
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels, created_at,
       updated_at, coalesce(entered_at, created_at) AS entered_at
FROM instances WHERE id IN (SELECT value FROM json_each(?));

-- name: instance_exists
SELECT 1 FROM instances WHERE id = ?;

-- name: insert_instance
INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, rev, labels,
                       created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: update_instance
-- The optimistic check: no row changes unless the stored rev is the one the step read.
-- entered_at: the commit's time when the configuration changes (the CASE reads the row
-- being replaced), kept otherwise (see migration state_counts).
UPDATE instances
SET chart = ?1, version = ?2, hash = ?3, snapshot = ?4, configuration = ?5, status = ?6,
    rev = ?7, labels = ?8, updated_at = ?9,
    entered_at = CASE WHEN configuration = ?5 THEN entered_at ELSE ?9 END
WHERE id = ?10 AND rev = ?11;

-- name: update_active_instance
-- The same, for an instance that stays active under the same chart (the common step): the
-- chart and status columns are not written, so their index is not touched.  A row whose chart
-- or status differs does not match, and the caller writes it the other way.
UPDATE instances
SET version = ?1, hash = ?2, snapshot = ?3, configuration = ?4, rev = ?5, labels = ?6,
    updated_at = ?7, entered_at = CASE WHEN configuration = ?4 THEN entered_at ELSE ?7 END
WHERE id = ?8 AND rev = ?9 AND chart = ?10 AND status = 'active';

-- name: update_active_instances
-- update_active_instance for many rows in one statement: the rows joined in as one VALUES
-- list (the writer repeats the tuple once per row), each found by instances_by_chart.  One
-- step of one statement instead of one per row (and one release of the GIL, not one each).
-- column1 .. column10: version, hash, snapshot, configuration, rev, labels, updated_at, id,
-- expected rev, chart, as in update_active_instance.
UPDATE instances AS i
SET version = v.column1, hash = v.column2, snapshot = v.column3, configuration = v.column4,
    rev = v.column5, labels = v.column6, updated_at = v.column7,
    entered_at = CASE WHEN i.configuration = v.column4 THEN i.entered_at ELSE v.column7 END
FROM (VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)) AS v
WHERE i.id = v.column8 AND i.rev = v.column9 AND i.chart = v.column10 AND i.status = 'active';

-- name: query_instances
-- No chart named: a walk of the instances in id order, until the LIMIT.  A row whose
-- configuration or labels are not JSON passes the filters on them (CASE decides before
-- json_each could fail the whole query), so the store reports it as corrupted.
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels, created_at,
       updated_at
FROM instances AS i
WHERE (:after IS NULL OR i.id > :after)
  AND (:status IS NULL OR i.status = :status)
  AND (:state IS NULL OR CASE WHEN json_valid(i.configuration) THEN EXISTS (
      SELECT 1 FROM json_each(i.configuration) WHERE value = :state) ELSE 1 END)
  AND (:labels IS NULL OR CASE WHEN json_valid(i.labels) THEN NOT EXISTS (
      SELECT 1 FROM json_each(:labels) AS want
      WHERE NOT EXISTS (SELECT 1 FROM json_each(i.labels) AS have
                        WHERE have.key = want.key AND have.value = want.value)) ELSE 1 END)
ORDER BY i.id
LIMIT :limit;

-- name: query_chart_status_instances
-- A chart and a status: instances_by_chart gives their instances in id order, so the walk
-- stops at the LIMIT.  (A filter written as ":chart IS NULL OR chart = :chart" cannot use the
-- index.)  A chart without a status runs this once per status, in one read, and merges.
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels, created_at,
       updated_at
FROM instances AS i
WHERE i.chart = :chart AND i.status = :status
  AND (:after IS NULL OR i.id > :after)
  AND (:state IS NULL OR CASE WHEN json_valid(i.configuration) THEN EXISTS (
      SELECT 1 FROM json_each(i.configuration) WHERE value = :state) ELSE 1 END)
  AND (:labels IS NULL OR CASE WHEN json_valid(i.labels) THEN NOT EXISTS (
      SELECT 1 FROM json_each(:labels) AS want
      WHERE NOT EXISTS (SELECT 1 FROM json_each(i.labels) AS have
                        WHERE have.key = want.key AND have.value = want.value)) ELSE 1 END)
ORDER BY i.id
LIMIT :limit;

-- name: insert_transition
INSERT INTO transitions (instance, seq, event, source, target, chart_version, outcome, at, data,
                         actor, trace_id, reason, idempotency_key, microsteps)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: insert_transition_plain
-- The same row with no actor, trace id, reason or idempotency key: those columns stay NULL
-- without binding a None each, which costs the sqlite3 module a failed adapter lookup.
INSERT INTO transitions (instance, seq, event, source, target, chart_version, outcome, at, data,
                         microsteps)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: insert_transition_keyed
-- The same row with an idempotency key but no actor, trace id or reason: an effect's outcome
-- or a timer's firing (keyed by the row it closes), written without binding three None each.
INSERT INTO transitions (instance, seq, event, source, target, chart_version, outcome, at, data,
                         idempotency_key, microsteps)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: history
SELECT id, instance, seq, event, source, target, chart_version, outcome, at, data, actor,
       trace_id, reason, idempotency_key, microsteps
FROM transitions WHERE instance = ? AND seq > ? ORDER BY seq LIMIT ?;

-- name: insert_mailbox
INSERT INTO mailbox (instance, key, event, result, at) VALUES (?, ?, ?, ?, ?);

-- name: load_mailbox
SELECT instance, key, event, result, at FROM mailbox WHERE instance = ? AND key = ?;

-- name: load_mailboxes
-- Many (instance, key) pairs, bound as one JSON array of pairs: one statement for any number.
SELECT instance, key, event, result, at FROM mailbox
WHERE (instance, key) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                          FROM json_each(?));

-- name: upsert_timer
-- A re-armed timer (the same id set again) also takes its new place in the firing order.
INSERT INTO timers (instance, timer_id, due, event, target, policy, traceparent, set_rev,
                    position)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (instance, timer_id) DO UPDATE
SET due = excluded.due, event = excluded.event, target = excluded.target,
    policy = excluded.policy,
    traceparent = excluded.traceparent, set_rev = excluded.set_rev, position = excluded.position;

-- name: delete_timer
DELETE FROM timers WHERE instance = ? AND timer_id = ?;

-- name: due_timers
-- Timers due together fire in the order they were set (by each instance's commits).
SELECT instance, timer_id, due, event, target, policy, traceparent
FROM timers WHERE due <= ? ORDER BY due, instance, set_rev, position, timer_id LIMIT ?;

-- name: due_timers_of_charts
-- The due timers of the instances of some charts (a JSON array of names): a process serving
-- only those.  timers_by_due gives the order; each instance is read by its key.  A timer of
-- no instance (a damaged store) is kept: firing it fails, and says so.
SELECT t.instance, t.timer_id, t.due, t.event, t.target, t.policy, t.traceparent
FROM timers AS t LEFT JOIN instances AS i ON i.id = t.instance
WHERE t.due <= ? AND (i.id IS NULL OR i.chart IN (SELECT value FROM json_each(?)))
ORDER BY t.due, t.instance, t.set_rev, t.position, t.timer_id LIMIT ?;

-- name: misfiled_timers
-- Timers whose due is text or a blob (sorted after every number, so never "due"): malformed
-- rows the scan must find to set aside.  timers_by_due seeks to them: normally none is read.
SELECT instance, timer_id, due, event, target, policy, traceparent FROM timers WHERE due >= '' LIMIT ?;

-- name: next_timer_due
SELECT min(due) FROM timers WHERE due < '';

-- name: next_timer_due_after
-- The earliest due strictly after a time: timers_by_due seeks to it, past the due ones.
-- (A due that is text or a blob is not a time: the scan sets its row aside.)
SELECT min(due) FROM timers WHERE due > ? AND due < '';

-- name: instance_timers
SELECT instance, timer_id, due, event, target, policy, traceparent
FROM timers WHERE instance = ? ORDER BY due, instance, set_rev, position, timer_id;

-- name: insert_effect
INSERT INTO outbox (key, instance, name, args, status, attempts, available_at, lease_owner,
                    lease_until, at_most_once, last_error, errors, created_at, traceparent)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: finish_effect
-- Only an open row closes: a second outcome for the same effect changes nothing (rowcount 0).
-- With an owner (?3), only while that worker holds the lease: not once another took it over.
UPDATE outbox
SET status = ?1, lease_owner = NULL, lease_until = NULL,
    last_error = coalesce(?2, last_error),
    errors = CASE WHEN ?2 IS NULL THEN errors ELSE json_insert(errors, '$[#]', ?2) END
WHERE key = ?4 AND status IN ('pending', 'running')
  AND (?3 IS NULL OR (status = 'running' AND lease_owner = ?3));

-- name: finish_owned_effects
-- finish_effect for many rows in one statement, each closed without an error by the worker
-- holding its lease (an effect's usual outcome): the rows joined in as one VALUES list, as
-- update_active_instances does.  column1 .. column3: status, owner, key.
UPDATE outbox AS o
SET status = v.column1, lease_owner = NULL, lease_until = NULL
FROM (VALUES (?, ?, ?)) AS v
WHERE o.key = v.column3 AND o.status = 'running' AND o.lease_owner = v.column2;

-- name: claim_effects
-- One statement selects and leases, under the write lock (BEGIN IMMEDIATE): two claimers,
-- threads or processes, can never both see a row as runnable.
UPDATE outbox
SET status = 'running', lease_owner = :owner, lease_until = :until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM outbox
    WHERE (status = 'pending' AND available_at <= :now)
       OR (status = 'running' AND lease_until <= :now)
    ORDER BY available_at, id
    LIMIT :limit)
RETURNING id, key, instance, name, args, status, attempts, available_at, lease_owner,
          lease_until, at_most_once, last_error, errors, created_at, traceparent;

-- name: list_effects
SELECT id, key, instance, name, args, status, attempts, available_at, lease_owner, lease_until,
       at_most_once, last_error, errors, created_at, traceparent
FROM outbox
WHERE (:instance IS NULL OR instance = :instance) AND (:status IS NULL OR status = :status)
ORDER BY id;

-- name: extend_lease
UPDATE outbox SET lease_until = ?
WHERE key = ? AND lease_owner = ? AND status = 'running';

-- name: release_effect
UPDATE outbox
SET status = 'pending', available_at = ?1, lease_owner = NULL, lease_until = NULL,
    last_error = coalesce(?2, last_error),
    errors = CASE WHEN ?2 IS NULL THEN errors ELSE json_insert(errors, '$[#]', ?2) END,
    attempts = max(0, attempts - ?5)
WHERE key = ?3 AND lease_owner = ?4 AND status = 'running';

-- name: release_open_effect
-- In a step's transaction: only an open row is given back (rowcount 0 is a conflict); with
-- an owner (?4), only while that worker holds the lease.
UPDATE outbox
SET status = 'pending', available_at = ?1, lease_owner = NULL, lease_until = NULL,
    last_error = coalesce(?2, last_error),
    errors = CASE WHEN ?2 IS NULL THEN errors ELSE json_insert(errors, '$[#]', ?2) END,
    attempts = max(0, attempts - ?3)
WHERE key = ?5 AND status IN ('pending', 'running')
  AND (?4 IS NULL OR (status = 'running' AND lease_owner = ?4));

-- name: reopen_effect
-- A dead letter replayed: a closed row runs again, same key, attempts from 0.
UPDATE outbox
SET status = 'pending', available_at = ?1, attempts = 0, lease_owner = NULL, lease_until = NULL
WHERE key = ?2 AND status IN ('done', 'failed', 'dead');

-- name: count_running
SELECT count(*) FROM outbox WHERE name = ? AND status = 'running' AND lease_until > ?;

-- name: load_policy_state
SELECT key, value, version, updated_at FROM policy_state WHERE key = ?;

-- name: insert_policy_state
INSERT INTO policy_state (key, value, version, updated_at) VALUES (?, ?, 1, ?)
ON CONFLICT (key) DO NOTHING;

-- name: update_policy_state
UPDATE policy_state SET value = ?, version = version + 1, updated_at = ?
WHERE key = ? AND version = ?;

-- name: all_policy_state
SELECT key, value, version, updated_at FROM policy_state ORDER BY key;

-- name: insert_dead_letter
INSERT INTO dead_letters (kind, instance, key, payload, errors, at) VALUES (?, ?, ?, ?, ?, ?);

-- name: list_dead_letters
SELECT id, kind, instance, key, payload, errors, at FROM dead_letters ORDER BY id;

-- name: instance_dead_letters
-- By the dead_letters_by_instance index (an "?1 IS NULL OR" filter would scan every letter).
SELECT id, kind, instance, key, payload, errors, at
FROM dead_letters WHERE instance = ? ORDER BY id;

-- name: load_dead_letter
SELECT id, kind, instance, key, payload, errors, at FROM dead_letters WHERE id = ?;

-- name: delete_dead_letter
DELETE FROM dead_letters WHERE id = ?;

-- name: schema_version_exists
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';

-- name: schema_version
SELECT coalesce(max(version), 0) FROM schema_version;

-- name: insert_schema_version
INSERT INTO schema_version (version, name) VALUES (?, ?);

-- name: check_orphans
-- Rows whose instance does not exist (only possible if foreign keys were off when written).
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
SELECT id, chart, version, hash, snapshot, configuration, status, rev, labels, created_at,
       updated_at
FROM instances ORDER BY id;

-- name: all_transitions
SELECT id, instance, seq, event, source, target, chart_version, outcome, at, data, actor,
       trace_id, reason, idempotency_key, microsteps
FROM transitions ORDER BY id;

-- name: all_mailbox
SELECT instance, key, event, result, at FROM mailbox ORDER BY instance, key;

-- name: all_outbox
SELECT id, key, instance, name, args, status, attempts, available_at, lease_owner, lease_until,
       at_most_once, last_error, errors, created_at, traceparent
FROM outbox ORDER BY id;

-- name: all_timers
SELECT instance, timer_id, due, event, target, policy, traceparent FROM timers ORDER BY instance, timer_id;

-- name: all_dead_letters
SELECT id, kind, instance, key, payload, errors, at FROM dead_letters ORDER BY id;

-- name: delete_transitions
-- exactly the rows a prune archived, by their key (a JSON array of [instance, seq] pairs), in
-- one transaction; an instance's latest row stays whatever the list says
DELETE FROM transitions
WHERE (instance, seq) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                          FROM json_each(:rows))
  AND seq < (SELECT rev FROM instances WHERE id = transitions.instance);

-- name: insert_shadow
INSERT INTO shadow_log (chart, from_version, to_version, instance, state, event, kinds,
                        expected, got, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: chart_shadows
-- By the shadow_log_by_chart index, a page at a time.
SELECT id, chart, from_version, to_version, instance, state, event, kinds, expected, got, at
FROM shadow_log WHERE chart = ? AND id > ? ORDER BY id LIMIT ?;

-- name: delete_shadows
DELETE FROM shadow_log WHERE chart = ?;

-- name: all_shadow_log
SELECT id, chart, from_version, to_version, instance, state, event, kinds, expected, got, at
FROM shadow_log ORDER BY id;

-- name: state_counts
-- Active instances per (chart, version, state): the few distinct configurations the triggers
-- of migration state_counts count, expanded into their states.
SELECT c.chart, c.version, s.value, sum(c.count)
FROM configuration_counts AS c,
     json_each(CASE WHEN NOT json_valid(c.configuration) THEN '[]'
                    WHEN json_type(c.configuration) = 'array' THEN c.configuration
                    ELSE '[]' END) AS s
GROUP BY c.chart, c.version, s.value
ORDER BY c.chart, c.version, s.value;

-- name: counted_states
-- Active instances per (chart, version, state), counted from the instance rows themselves
-- (every active row read): what state_counts must say, for Store.recount_states.
SELECT i.chart, i.version, s.value, count(*)
FROM instances AS i,
     json_each(CASE WHEN NOT json_valid(i.configuration) THEN '[]'
                    WHEN json_type(i.configuration) = 'array' THEN i.configuration
                    ELSE '[]' END) AS s
WHERE i.status = 'active'
GROUP BY i.chart, i.version, s.value;

-- name: clear_configuration_counts
DELETE FROM configuration_counts;

-- name: recount_configurations
-- The kept counts rebuilt from the instance rows, as migration state_counts first built them.
INSERT INTO configuration_counts (chart, version, configuration, count)
SELECT chart, version, configuration, count(*) FROM instances
WHERE status = 'active'
GROUP BY chart, version, configuration;

-- name: stuck_instances
-- Active instances of a chart in a state since before a time: instances_by_entered gives
-- the chart's active rows that entered their configuration before :before, and only those
-- are read.
SELECT count(*) FROM instances AS i
WHERE i.chart = :chart AND i.status = 'active'
  AND coalesce(i.entered_at, i.created_at) < :before
  AND CASE WHEN json_valid(i.configuration) THEN EXISTS (
      SELECT 1 FROM json_each(i.configuration) WHERE value = :state) ELSE 0 END;

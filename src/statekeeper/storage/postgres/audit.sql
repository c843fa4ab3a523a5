-- The terms of an audit query over the transition log (storage/audit.py, postgres/_audit.py):
-- audit_select, then the audit_where_* terms of the filters given joined by AND, then
-- audit_order.  Fragments, not statements, so they live apart from queries.sql (whose every
-- entry is a statement); tests compile every combination.  Each term is written so an index
-- serves it (see migration 6).

-- name: audit_select
SELECT t.id, t.instance, t.seq, t.event, t.source, t.target, t.chart_version,
       t.outcome, t.at, t.data, t.actor, t.trace_id, t.reason, t.idempotency_key,
       t.microsteps
FROM transitions AS t

-- name: audit_where_instance
t.instance = %(instance)s

-- name: audit_where_chart
t.instance IN (SELECT id FROM instances WHERE chart = %(chart)s)

-- name: audit_where_actor
t.actor = %(actor)s

-- name: audit_where_event
t.event = %(event)s

-- name: audit_where_outcome
t.outcome = %(outcome)s

-- name: audit_where_rare_outcome
-- said in so many words, so the partial index transitions_by_outcome can be used
t.outcome <> 'applied'

-- name: audit_where_state
(t.source @> jsonb_build_array(%(state)s::text) OR t.target @> jsonb_build_array(%(state)s::text))

-- name: audit_where_since
t.at >= %(since)s

-- name: audit_where_until
t.at < %(until)s

-- name: audit_where_after
(t.at, t.id) > (%(after_at)s::float8, %(after_id)s::bigint)

-- name: audit_where_prunable
-- an instance's latest row is kept (storage/audit.py says why)
t.seq < (SELECT rev FROM instances WHERE id = t.instance)

-- name: audit_order
ORDER BY t.at, t.id LIMIT %(limit)s

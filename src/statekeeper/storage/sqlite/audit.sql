-- The terms of an audit query over the transition log (storage/audit.py, sqlite/_audit.py):
-- audit_select, then the audit_where_* terms of the filters given joined by AND, then
-- audit_order.  Fragments, not statements, so they live apart from queries.sql (whose every
-- entry is a statement); tests compile every combination.  Each term is written so an index
-- serves it (see migration 8).
-- A corrupted source or target passes the state term (json_each would fail the whole query)
-- and is reported when the row is decoded.

-- name: audit_select
SELECT t.id, t.instance, t.seq, t.event, t.source, t.target, t.chart_version, t.outcome,
       t.at, t.data, t.actor, t.trace_id, t.reason, t.idempotency_key, t.microsteps
FROM transitions AS t

-- name: audit_where_instance
t.instance = :instance

-- name: audit_where_chart
-- "+t.instance": not by the (instance, seq) key, which would read every row of the chart and
-- sort them for each page; by time instead (or another filter's index), stopping at LIMIT
+t.instance IN (SELECT id FROM instances WHERE chart = :chart)

-- name: audit_where_actor
t.actor = :actor

-- name: audit_where_event
t.event = :event

-- name: audit_where_outcome
t.outcome = :outcome

-- name: audit_where_rare_outcome
-- said in so many words, so the partial index transitions_by_outcome can be used
t.outcome != 'applied'

-- name: audit_where_state
CASE WHEN json_valid(t.source) AND json_valid(t.target)
     THEN EXISTS (SELECT 1 FROM json_each(t.source) WHERE value = :state)
          OR EXISTS (SELECT 1 FROM json_each(t.target) WHERE value = :state)
     ELSE 1 END

-- name: audit_where_since
t.at >= :since

-- name: audit_where_until
t.at < :until

-- name: audit_where_after
(t.at, t.id) > (:after_at, :after_id)

-- name: audit_where_prunable
-- an instance's latest row is kept (storage/audit.py says why)
t.seq < (SELECT rev FROM instances WHERE id = t.instance)

-- name: audit_order
ORDER BY t.at, t.id LIMIT :limit

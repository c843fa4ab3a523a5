-- statekeeper PostgreSQL schema, version 8: the W3C trace context of the step that wrote an
-- outbox row or set a timer (its `traceparent`, NULL when the step was not traced), so that
-- an effect run in another process, or a timer fired days later, continues the caller's
-- trace.  A transition row keeps the caller's trace context in its trace_id column.  A NULL
-- column without a default rewrites no row and takes its lock only for a moment.
ALTER TABLE outbox ADD COLUMN traceparent text;

ALTER TABLE timers ADD COLUMN traceparent text;

-- statekeeper PostgreSQL schema, version 4: wake workers when an effect becomes pending again.
--
-- Version 3 notifies when runnable rows are inserted.  An effect given back (a retry after
-- its backoff, a lease released by a worker stopping on SIGTERM, a blocked effect waiting for
-- its breaker) or reopened from a dead letter is an UPDATE that makes its row pending again:
-- without a notification another worker found it only at its next poll.  Payload: 'effects '
-- followed by the time the row becomes runnable (the caller's clock, seconds), so a worker
-- can wake then, not before.  A row-level trigger with a WHEN clause: the claims, heartbeats
-- and outcomes that update the outbox far more often never call the function.
CREATE FUNCTION statekeeper_wake_released() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sk_' || md5(TG_TABLE_SCHEMA), 'effects ' || NEW.available_at::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_wake_released AFTER UPDATE OF status ON outbox
FOR EACH ROW WHEN (NEW.status = 'pending' AND OLD.status <> 'pending')
EXECUTE FUNCTION statekeeper_wake_released();

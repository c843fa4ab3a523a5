-- statekeeper PostgreSQL schema, version 3: wake workers by NOTIFY when work is committed.
--
-- A statement that inserts runnable outbox rows, or sets (or re-arms) timers, sends
-- pg_notify on the schema's channel, 'sk_' followed by the md5 of the schema name (a channel
-- name must be under 64 bytes; a schema name may have 63).  PostgreSQL delivers a
-- notification only when its transaction commits, so only committed work wakes anyone, and
-- triggers cost no round trip: every writer (any process, any version) wakes the workers.
-- Payloads: 'effects', or 'timer ' followed by the earliest due time the statement set (the
-- caller's clock, seconds), so a worker's timer scan can sleep until then.  Effects released
-- for a backoff or reopened from a dead letter send nothing: the poll finds them.
CREATE FUNCTION statekeeper_wake_effects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'pending') THEN
        PERFORM pg_notify('sk_' || md5(TG_TABLE_SCHEMA), 'effects');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION statekeeper_wake_timers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first double precision;
BEGIN
    SELECT min(due) INTO first FROM new_rows;
    IF first IS NOT NULL THEN
        PERFORM pg_notify('sk_' || md5(TG_TABLE_SCHEMA), 'timer ' || first::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_wake AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION statekeeper_wake_effects();
CREATE TRIGGER timers_wake_insert AFTER INSERT ON timers REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION statekeeper_wake_timers();
CREATE TRIGGER timers_wake_update AFTER UPDATE ON timers REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION statekeeper_wake_timers();

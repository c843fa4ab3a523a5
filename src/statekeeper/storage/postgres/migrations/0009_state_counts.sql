-- statekeeper PostgreSQL schema, version 9: instances per state, and how long each has been
-- in it.
--
-- state_counts holds how many active instances hold each state in their configuration
-- (compound and parallel ancestors included), per (chart, version, state), in shards that a
-- read sums.  A statement trigger on instances adds each statement's changes, summed per
-- state (a group commit's rows are one statement: one upsert of a few rows per group), in
-- the transaction that writes the instance rows, whoever writes them: exact after any crash.
--
-- Why shards: one row per state would be updated by every writer's transaction and held
-- locked until it commits, so all the workers of a cluster would commit one after another.
-- Instead a transaction takes one of 64 shards for itself with pg_try_advisory_xact_lock
-- (keys: the schema's hashtext and the shard number; the lock and the choice, kept in the
-- setting statekeeper.count_shard, end with the transaction) and writes only that shard's
-- rows: no two transactions ever wait on a count row, and none deadlocks over one.  Past 64
-- concurrent writers a transaction shares its shard with another (it waits for its row
-- locks, in state order).  A configuration that is not a JSON array counts in no state.
--
-- entered_at is when the instance entered its current configuration: the update statements
-- set it when the configuration changes; a data-only commit keeps it.  NULL means "since
-- created_at".  instances_by_entered holds the active rows only, by that time per chart, so
-- counting those stuck in a state reads just the old ones.  Existing rows get updated_at:
-- the latest they can have entered it, so none is reported stuck too early.

LOCK TABLE instances IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE instances ADD COLUMN entered_at double precision;

UPDATE instances SET entered_at = updated_at WHERE status = 'active';

CREATE INDEX instances_by_entered ON instances (chart, (coalesce(entered_at, created_at)))
WHERE status = 'active';

CREATE TABLE state_counts (
    chart text NOT NULL,
    version text NOT NULL,
    state text NOT NULL,
    shard integer NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (chart, version, state, shard)
);

INSERT INTO state_counts (chart, version, state, shard, count)
SELECT chart, version, s.state, 0, count(*)
FROM instances,
     jsonb_array_elements_text(CASE WHEN jsonb_typeof(configuration) = 'array'
                                    THEN configuration ELSE '[]'::jsonb END) AS s (state)
WHERE status = 'active'
GROUP BY chart, version, s.state;

CREATE FUNCTION statekeeper_count_shard(schema_name text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    chosen integer := nullif(current_setting('statekeeper.count_shard', true), '')::integer;
    first integer;
BEGIN
    IF chosen IS NOT NULL THEN
        RETURN chosen;
    END IF;
    first := pg_backend_pid() % 64;
    FOR k IN 0..63 LOOP
        IF pg_try_advisory_xact_lock(hashtext(schema_name), (first + k) % 64) THEN
            chosen := (first + k) % 64;
            EXIT;
        END IF;
    END LOOP;
    chosen := coalesce(chosen, first);
    PERFORM set_config('statekeeper.count_shard', chosen::text, true);
    RETURN chosen;
END
$$;

CREATE FUNCTION statekeeper_count_states() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO state_counts AS c (chart, version, state, shard, count)
        SELECT d.chart, d.version, d.state, statekeeper_count_shard(TG_TABLE_SCHEMA), d.n
        FROM (SELECT n.chart, n.version, s.state, count(*) AS n
              FROM new_rows AS n,
                   jsonb_array_elements_text(CASE WHEN jsonb_typeof(n.configuration) = 'array'
                                                  THEN n.configuration ELSE '[]'::jsonb END)
                   AS s (state)
              WHERE n.status = 'active'
              GROUP BY n.chart, n.version, s.state
              ORDER BY n.chart, n.version, s.state) AS d
        ON CONFLICT (chart, version, state, shard) DO UPDATE SET count = c.count + excluded.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO state_counts AS c (chart, version, state, shard, count)
        SELECT d.chart, d.version, d.state, statekeeper_count_shard(TG_TABLE_SCHEMA), -d.n
        FROM (SELECT o.chart, o.version, s.state, count(*) AS n
              FROM old_rows AS o,
                   jsonb_array_elements_text(CASE WHEN jsonb_typeof(o.configuration) = 'array'
                                                  THEN o.configuration ELSE '[]'::jsonb END)
                   AS s (state)
              WHERE o.status = 'active'
              GROUP BY o.chart, o.version, s.state
              ORDER BY o.chart, o.version, s.state) AS d
        ON CONFLICT (chart, version, state, shard) DO UPDATE SET count = c.count + excluded.count;
    ELSE
        -- only the rows whose counted columns changed (a data-only step changes none)
        INSERT INTO state_counts AS c (chart, version, state, shard, count)
        SELECT d.chart, d.version, d.state, statekeeper_count_shard(TG_TABLE_SCHEMA), d.n
        FROM (SELECT r.chart, r.version, s.state, sum(r.n) AS n
              FROM old_rows AS o JOIN new_rows AS w ON w.id = o.id
              CROSS JOIN LATERAL (VALUES (o.chart, o.version, o.configuration, o.status, -1),
                                         (w.chart, w.version, w.configuration, w.status, 1))
                   AS r (chart, version, configuration, status, n)
              CROSS JOIN LATERAL jsonb_array_elements_text(
                   CASE WHEN jsonb_typeof(r.configuration) = 'array'
                        THEN r.configuration ELSE '[]'::jsonb END) AS s (state)
              WHERE r.status = 'active'
                AND (o.configuration IS DISTINCT FROM w.configuration
                     OR o.status IS DISTINCT FROM w.status
                     OR o.version IS DISTINCT FROM w.version
                     OR o.chart IS DISTINCT FROM w.chart)
              GROUP BY r.chart, r.version, s.state
              HAVING sum(r.n) <> 0
              ORDER BY r.chart, r.version, s.state) AS d
        ON CONFLICT (chart, version, state, shard) DO UPDATE SET count = c.count + excluded.count;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER instances_count_insert AFTER INSERT ON instances REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION statekeeper_count_states();
CREATE TRIGGER instances_count_update AFTER UPDATE ON instances
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION statekeeper_count_states();
CREATE TRIGGER instances_count_delete AFTER DELETE ON instances REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION statekeeper_count_states();

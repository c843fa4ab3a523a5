-- statekeeper schema, version 10: instances per state, and how long each has been in it.
--
-- state_counts holds, per (chart, version, state), how many active instances hold that state
-- in their configuration (compound and parallel ancestors included).  Triggers on instances
-- keep it in the transaction that writes the instance row, whoever writes it (a step, a
-- migration, a row set aside or restored), so it is exact after any crash; a scrape reads
-- this small table instead of every instance.  A row whose configuration is not a JSON array
-- counts in no state (and a corrupted row set aside later takes nothing away).  SQLite has
-- one writer at a time, so one row per state costs no contention.
--
-- entered_at is when the instance entered its current configuration: the commit that changed
-- the configuration sets it (the update statements do, from the row they replace); a commit
-- that changes only data keeps it.  NULL means "since created_at" (a new row's inserts stay
-- one VALUES tuple per row).  instances_by_entered holds the active rows only, ordered by
-- that time per chart, so counting the instances stuck in a state reads just the old ones.
-- Existing rows get their updated_at: the latest they can have entered it, so none is
-- reported stuck too early.

ALTER TABLE instances ADD COLUMN entered_at REAL;

UPDATE instances SET entered_at = updated_at;

CREATE INDEX instances_by_entered ON instances (chart, coalesce(entered_at, created_at))
WHERE status = 'active';

CREATE TABLE state_counts (
    chart TEXT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (chart, version, state)
) WITHOUT ROWID;

INSERT INTO state_counts (chart, version, state, count)
SELECT i.chart, i.version, s.value, count(*)
FROM instances AS i,
     json_each(CASE WHEN NOT json_valid(i.configuration) THEN '[]'
                    WHEN json_type(i.configuration) = 'array' THEN i.configuration
                    ELSE '[]' END) AS s
WHERE i.status = 'active'
GROUP BY i.chart, i.version, s.value;

CREATE TRIGGER instances_count_insert AFTER INSERT ON instances
WHEN new.status = 'active'
BEGIN
    INSERT INTO state_counts (chart, version, state, count)
    SELECT new.chart, new.version, value, 1
    FROM json_each(CASE WHEN NOT json_valid(new.configuration) THEN '[]'
                        WHEN json_type(new.configuration) = 'array' THEN new.configuration
                        ELSE '[]' END)
    WHERE true
    ON CONFLICT (chart, version, state) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER instances_count_update AFTER UPDATE ON instances
WHEN old.configuration IS NOT new.configuration OR old.status IS NOT new.status
     OR old.version IS NOT new.version OR old.chart IS NOT new.chart
BEGIN
    INSERT INTO state_counts (chart, version, state, count)
    SELECT old.chart, old.version, value, -1
    FROM json_each(CASE WHEN NOT json_valid(old.configuration) THEN '[]'
                        WHEN json_type(old.configuration) = 'array' THEN old.configuration
                        ELSE '[]' END)
    WHERE old.status = 'active'
    ON CONFLICT (chart, version, state) DO UPDATE SET count = count - 1;
    INSERT INTO state_counts (chart, version, state, count)
    SELECT new.chart, new.version, value, 1
    FROM json_each(CASE WHEN NOT json_valid(new.configuration) THEN '[]'
                        WHEN json_type(new.configuration) = 'array' THEN new.configuration
                        ELSE '[]' END)
    WHERE new.status = 'active'
    ON CONFLICT (chart, version, state) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER instances_count_delete AFTER DELETE ON instances
WHEN old.status = 'active'
BEGIN
    INSERT INTO state_counts (chart, version, state, count)
    SELECT old.chart, old.version, value, -1
    FROM json_each(CASE WHEN NOT json_valid(old.configuration) THEN '[]'
                        WHEN json_type(old.configuration) = 'array' THEN old.configuration
                        ELSE '[]' END)
    WHERE true
    ON CONFLICT (chart, version, state) DO UPDATE SET count = count - 1;
END;

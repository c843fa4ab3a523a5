-- statekeeper schema, version 11: instances per state, and how long each has been in it.
--
-- configuration_counts holds, per (chart, version, configuration), how many active instances
-- have that configuration (its JSON text, as stored).  Triggers on instances keep it in the
-- transaction that writes the instance row, whoever writes it (a step, a migration, a row set
-- aside or restored), so it is exact after any crash.  Counting whole configurations, not
-- states, keeps the triggers to two small upserts and no JSON parsing per changed row: the
-- read (query state_counts) expands the few distinct configurations into their states (a
-- configuration that is not a JSON array counts in no state).  SQLite has one writer at a
-- time, so one row per configuration costs no contention.
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

CREATE TABLE configuration_counts (
    chart TEXT NOT NULL,
    version TEXT NOT NULL,
    configuration TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (chart, version, configuration)
) WITHOUT ROWID;

INSERT INTO configuration_counts (chart, version, configuration, count)
SELECT chart, version, configuration, count(*) FROM instances
WHERE status = 'active'
GROUP BY chart, version, configuration;

CREATE TRIGGER instances_count_insert AFTER INSERT ON instances
WHEN new.status = 'active'
BEGIN
    INSERT INTO configuration_counts (chart, version, configuration, count)
    VALUES (new.chart, new.version, new.configuration, 1)
    ON CONFLICT (chart, version, configuration) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER instances_count_update AFTER UPDATE ON instances
WHEN old.configuration IS NOT new.configuration OR old.status IS NOT new.status
     OR old.version IS NOT new.version OR old.chart IS NOT new.chart
BEGIN
    INSERT INTO configuration_counts (chart, version, configuration, count)
    SELECT old.chart, old.version, old.configuration, -1 WHERE old.status = 'active'
    UNION ALL
    SELECT new.chart, new.version, new.configuration, 1 WHERE new.status = 'active'
    ON CONFLICT (chart, version, configuration) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER instances_count_delete AFTER DELETE ON instances
WHEN old.status = 'active'
BEGIN
    UPDATE configuration_counts SET count = count - 1
    WHERE chart = old.chart AND version = old.version AND configuration = old.configuration;
END;

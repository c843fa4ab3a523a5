-- statekeeper schema, version 6: a dead letter may hold a row set aside as malformed.
-- A timer or outbox row that cannot be decoded used to fail every timer scan (or every claim
-- of effects) of every instance.  The worker now moves such a row, in one transaction, into a
-- dead letter of kind 'row' (its table, its columns exactly as stored, the reason), where the
-- operator sees it and replays (puts it back as it was) or discards it.  SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt, its rows and ids copied, and the
-- AUTOINCREMENT counter carried over, so a deleted letter's id is still never reused.

CREATE TABLE dead_letters_v6 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind = 'effect' OR kind = 'event' OR kind = 'row'),
    instance TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    errors TEXT NOT NULL,
    at REAL NOT NULL
);

INSERT INTO dead_letters_v6 (id, kind, instance, key, payload, errors, at)
SELECT id, kind, instance, key, payload, errors, at FROM dead_letters;

INSERT INTO sqlite_sequence (name, seq)
SELECT 'dead_letters_v6', seq FROM sqlite_sequence WHERE name = 'dead_letters';

DELETE FROM sqlite_sequence
WHERE name = 'dead_letters_v6'
  AND rowid NOT IN (SELECT max(rowid) FROM sqlite_sequence WHERE name = 'dead_letters_v6');

DROP TABLE dead_letters;

ALTER TABLE dead_letters_v6 RENAME TO dead_letters;

CREATE INDEX dead_letters_by_instance ON dead_letters (instance);

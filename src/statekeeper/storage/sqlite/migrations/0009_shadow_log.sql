-- statekeeper schema, version 9: what shadows compared, kept across processes.
-- While a shadow is on (client.shadow), each event a caller sends to an instance of the old
-- version is also stepped on the new one; each comparison of a committed step is one row
-- (kinds '[]': the versions agreed), which `statekeeper shadow-report` reads back.  Not an
-- instance's row: no foreign key, and kept whatever becomes of the instance.

CREATE TABLE shadow_log (
    id INTEGER PRIMARY KEY,
    chart TEXT NOT NULL,
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    instance TEXT NOT NULL,
    state TEXT NOT NULL,
    event TEXT NOT NULL,
    kinds TEXT NOT NULL,
    expected TEXT NOT NULL,
    got TEXT NOT NULL,
    at REAL NOT NULL
);

CREATE INDEX shadow_log_by_chart ON shadow_log (chart, id);

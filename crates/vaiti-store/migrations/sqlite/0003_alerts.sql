-- vaiti store, schema 3: detection alerts (issue 4). Shipped migrations are never edited: add a
-- new file instead.
--
-- An alert is ids, a kind, counts and times: never plaintext, and never a chart id. A decoy chart
-- must look like any other chart in a dump, so a decoy alert names who and when, not which chart
-- (the decoy list itself is kept outside the database, in the server's decoy file). log_index is
-- the access-log entry a patient's report concerns; it is never set for a decoy alert.
CREATE TABLE alerts (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL REFERENCES clinics (clinic_id),
    alert_id BLOB NOT NULL CHECK (length(alert_id) = 16),
    kind TEXT NOT NULL,
    actor_id BLOB,
    event_count INTEGER NOT NULL CHECK (event_count >= 0),
    window_s INTEGER NOT NULL CHECK (window_s >= 0),
    log_index INTEGER CHECK (log_index >= 0),
    created_at INTEGER NOT NULL,
    acknowledged_by BLOB,
    acknowledged_at INTEGER,
    UNIQUE (clinic_id, alert_id),
    FOREIGN KEY (clinic_id, actor_id) REFERENCES accounts (clinic_id, user_id),
    FOREIGN KEY (clinic_id, acknowledged_by) REFERENCES accounts (clinic_id, user_id)
) STRICT;
CREATE INDEX alerts_by_age ON alerts (clinic_id, created_at, ord);

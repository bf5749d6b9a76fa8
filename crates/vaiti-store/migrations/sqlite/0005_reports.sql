-- vaiti store, schema 5: patient reports (issue 4). Shipped migrations are never edited: add a
-- new file instead.
--
-- A patient flags an entry of their chart's access log that they do not recognise. The row holds
-- ids, the entry's index, a time and ciphertext: the patient's words are an `AccessReport`
-- envelope (docs/formats.md §2.8) under a one-report key, and that key is wrapped to each admin
-- and auditor the patient's client found in the verified directory (report_wraps). The store
-- checks in AddReport that entry_idx is a leaf of the report's chart.
CREATE TABLE reports (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL REFERENCES clinics (clinic_id),
    report_id BLOB NOT NULL CHECK (length(report_id) = 16),
    chart_id BLOB NOT NULL,
    entry_idx INTEGER NOT NULL CHECK (entry_idx >= 0),
    reporter_id BLOB NOT NULL,
    envelope BLOB NOT NULL,
    signature BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (clinic_id, report_id),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, reporter_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;
CREATE INDEX reports_by_age ON reports (clinic_id, created_at, ord);

-- The report key wrapped to one reader (HPKE, signed by the reporting patient).
CREATE TABLE report_wraps (
    clinic_id BLOB NOT NULL,
    report_id BLOB NOT NULL,
    recipient_id BLOB NOT NULL,
    recipient_key BLOB NOT NULL CHECK (length(recipient_key) = 16),
    wrap BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (clinic_id, report_id, recipient_id),
    FOREIGN KEY (clinic_id, report_id) REFERENCES reports (clinic_id, report_id),
    FOREIGN KEY (clinic_id, recipient_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;

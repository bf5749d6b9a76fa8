-- vaiti store, schema 2: the access log (issue 4). One log per clinic. Shipped migrations are
-- never edited: add a new file instead.
--
-- log_leaves: dense indices per clinic (the primary key, and AppendLogLeaf's "next index"
-- precondition checked in the transaction), the encoded leaf and its RFC 6962 hash, and the
-- chart it concerns so a chart's history is one index range scan.
CREATE TABLE log_leaves (
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    idx BIGINT NOT NULL CHECK (idx >= 0),
    leaf BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL CHECK (octet_length(leaf_hash) = 32),
    chart_id BYTEA,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, idx),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id)
);
CREATE INDEX log_leaves_by_chart ON log_leaves (clinic_id, chart_id, idx);

-- Hashes of complete perfect subtrees, written once when they complete: a proof reads
-- O(log n) of them.
CREATE TABLE log_nodes (
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    level BIGINT NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx BIGINT NOT NULL CHECK (idx >= 0),
    hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (clinic_id, level, idx)
);

-- Signed checkpoints; a checkpoint is replaced when witnesses add co-signatures.
CREATE TABLE log_checkpoints (
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    size BIGINT NOT NULL CHECK (size >= 0),
    note BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, size)
);

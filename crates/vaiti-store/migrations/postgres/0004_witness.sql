-- vaiti store, schema 4: witness co-signatures of the access log (issue 4). Shipped migrations
-- are never edited: add a new file instead.
--
-- One row per (clinic, witness, checkpoint size): the newest `cosignature/v1` line the witness
-- (key name and C2SP key ID) made of that checkpoint, verified by the server against the
-- clinic manifest's witness keys and the stored checkpoint before it is written. The primary key
-- serves "the largest checkpoint this witness co-signed" as one index lookup; the second index
-- serves "every co-signature of this checkpoint". Public material only: names, key IDs,
-- signatures and times.
CREATE TABLE log_cosignatures (
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    size BIGINT NOT NULL CHECK (size >= 0),
    witness_name TEXT NOT NULL CHECK (char_length(witness_name) BETWEEN 1 AND 255),
    witness_key_id BIGINT NOT NULL CHECK (witness_key_id BETWEEN 0 AND 4294967295),
    signed_at BIGINT NOT NULL CHECK (signed_at >= 0),
    line TEXT NOT NULL CHECK (char_length(line) BETWEEN 1 AND 1024),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, witness_name, witness_key_id, size)
);
CREATE INDEX log_cosignatures_by_size ON log_cosignatures (clinic_id, size);

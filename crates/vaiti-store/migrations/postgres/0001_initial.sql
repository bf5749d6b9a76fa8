-- vaiti store, schema 1 (PostgreSQL). Shipped migrations are never edited: add a new file instead.
--
-- The same tables, columns and constraints as migrations/sqlite/0001_initial.sql, so both
-- backends run the same statements (src/sql.rs); see that file for the conventions. Differences:
-- * Types: BYTEA for ids, hashes and ciphertext; BIGINT for every integer (the store decodes all
--   integers as i64 and range-checks them), TEXT for enums and JSON.
-- * Tables read "oldest first" keep their natural key as the PRIMARY KEY and get `ord`, an
--   identity column, to break created_at ties by insertion order.
-- Unqualified names: the tables live in the first schema of the connection's search_path.

CREATE TABLE server_secrets (
    name TEXT NOT NULL PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE clinics (
    clinic_id BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(clinic_id) = 16),
    manifest BYTEA NOT NULL,
    manifest_signature BYTEA NOT NULL,
    manifest_version BIGINT NOT NULL CHECK (manifest_version >= 0),
    created_at BIGINT NOT NULL
);

-- Roles and branches are JSON arrays of strings (["admin","therapist"], [branch id hex, ...]).
-- They are always read and written with the account, no read path filters by them, and a JSON
-- array keeps the caller's order exactly, which a join table would need an extra column for.
CREATE TABLE accounts (
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    user_id BYTEA NOT NULL CHECK (octet_length(user_id) = 16),
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'patient')),
    login TEXT NOT NULL,
    display_name TEXT,
    roles TEXT NOT NULL,
    branches TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, user_id),
    -- Also the index behind account_by_login.
    UNIQUE (clinic_id, login)
);
CREATE INDEX accounts_by_age ON accounts (clinic_id, created_at, ord);

CREATE TABLE account_keys (
    clinic_id BYTEA NOT NULL,
    user_id BYTEA NOT NULL,
    wrapped_account_key BYTEA NOT NULL,
    wrapped_decryption_key BYTEA NOT NULL,
    wrapped_signing_key BYTEA NOT NULL,
    wrapped_cache_key BYTEA NOT NULL,
    root_pin BYTEA NOT NULL,
    encryption_public_key BYTEA NOT NULL,
    verifying_key BYTEA NOT NULL,
    PRIMARY KEY (clinic_id, user_id),
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
);

CREATE TABLE opaque_records (
    clinic_id BYTEA NOT NULL,
    user_id BYTEA NOT NULL,
    record BYTEA NOT NULL,
    PRIMARY KEY (clinic_id, user_id),
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
);

CREATE TABLE sessions (
    token_hash BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    clinic_id BYTEA NOT NULL,
    user_id BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (clinic_id, user_id);

-- Pending OPAQUE logins: the serialized server state kept between the two login round trips
-- (app servers are stateless). Short-lived and single use: taken (deleted) by the second round
-- trip, or swept after expires_at. The id is random, so it is the key on its own, like a
-- session's token hash; reads still name the clinic.
-- user_id is NULL for a login name with no account (OPAQUE answers it like any other, so the
-- reply does not reveal which names exist). The composite foreign key is checked only when
-- user_id is set (MATCH SIMPLE, the default in both databases), so a known user still cannot
-- point into another clinic.
CREATE TABLE pending_logins (
    login_id BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(login_id) = 16),
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    user_id BYTEA,
    state BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
);
CREATE INDEX pending_logins_by_expiry ON pending_logins (expires_at);

CREATE TABLE certificates (
    clinic_id BYTEA NOT NULL,
    user_id BYTEA NOT NULL,
    serial BIGINT NOT NULL CHECK (serial >= 1),
    body BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    issuer_key BYTEA NOT NULL CHECK (octet_length(issuer_key) = 16),
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (clinic_id, user_id, serial),
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
);

CREATE TABLE charts (
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    chart_id BYTEA NOT NULL CHECK (octet_length(chart_id) = 16),
    branch_id BYTEA NOT NULL CHECK (octet_length(branch_id) = 16),
    created_by BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, created_by) REFERENCES accounts (clinic_id, user_id)
);
CREATE INDEX charts_by_branch ON charts (clinic_id, branch_id, created_at, ord);

-- An invite's invitee and binding are set exactly when it has been bound (a revoked invite
-- keeps them if it was bound before).
CREATE TABLE invites (
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    invite_id BYTEA NOT NULL CHECK (octet_length(invite_id) = 16),
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'patient')),
    inviter_id BYTEA NOT NULL,
    chart_id BYTEA,
    body BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'bound', 'completed', 'revoked')),
    invitee_id BYTEA,
    binding BYTEA,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, invite_id),
    CHECK ((invitee_id IS NULL) = (binding IS NULL)),
    CHECK (state <> 'open' OR invitee_id IS NULL),
    CHECK (state NOT IN ('bound', 'completed') OR invitee_id IS NOT NULL),
    FOREIGN KEY (clinic_id, inviter_id) REFERENCES accounts (clinic_id, user_id),
    FOREIGN KEY (clinic_id, invitee_id) REFERENCES accounts (clinic_id, user_id),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id)
);
CREATE INDEX invites_by_inviter ON invites (clinic_id, inviter_id, created_at, ord);

CREATE TABLE chart_states (
    clinic_id BYTEA NOT NULL,
    chart_id BYTEA NOT NULL,
    seq BIGINT NOT NULL CHECK (seq >= 1),
    body BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    author_id BYTEA NOT NULL,
    hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    created_at BIGINT NOT NULL,
    -- Two writers appending the same seq cannot both succeed.
    PRIMARY KEY (clinic_id, chart_id, seq),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, author_id) REFERENCES accounts (clinic_id, user_id)
);

-- WrapScope and Recipient are flattened into nullable columns whose shape the CHECKs pin to the
-- variant. Uniqueness of (scope, recipient, recipient key) is an expression index, because
-- UNIQUE treats NULLs as distinct.
CREATE TABLE key_wraps (
    ord BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clinic_id BYTEA NOT NULL REFERENCES clinics (clinic_id),
    scope TEXT NOT NULL CHECK (scope IN ('case', 'identity', 'directory', 'root')),
    chart_id BYTEA,
    branch_id BYTEA,
    tier BIGINT CHECK (tier BETWEEN 0 AND 255),
    epoch BIGINT CHECK (epoch BETWEEN 0 AND 4294967295),
    recipient TEXT NOT NULL CHECK (recipient IN ('user', 'escrow')),
    recipient_user BYTEA,
    recipient_key BYTEA NOT NULL CHECK (octet_length(recipient_key) = 16),
    wrap BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    wrapped_by BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK ((scope IN ('case', 'identity')) = (chart_id IS NOT NULL)),
    CHECK ((scope = 'directory') = (branch_id IS NOT NULL)),
    CHECK ((scope = 'case') = (tier IS NOT NULL)),
    CHECK ((scope IN ('case', 'directory')) = (epoch IS NOT NULL)),
    CHECK ((recipient = 'user') = (recipient_user IS NOT NULL)),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, recipient_user) REFERENCES accounts (clinic_id, user_id),
    FOREIGN KEY (clinic_id, wrapped_by) REFERENCES accounts (clinic_id, user_id)
);
CREATE UNIQUE INDEX key_wraps_unique ON key_wraps (
    clinic_id, scope, coalesce(chart_id, '\x'::bytea), coalesce(branch_id, '\x'::bytea),
    coalesce(tier, -1), coalesce(epoch, -1), recipient, coalesce(recipient_user, '\x'::bytea),
    recipient_key
);
-- key_wraps by recipient (+ chart) and charts_wrapped_to.
CREATE INDEX key_wraps_by_recipient ON key_wraps (clinic_id, recipient, recipient_user, chart_id);

CREATE TABLE directory_wraps (
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    clinic_id BYTEA NOT NULL,
    chart_id BYTEA NOT NULL,
    branch_id BYTEA NOT NULL CHECK (octet_length(branch_id) = 16),
    epoch BIGINT NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
    envelope BYTEA NOT NULL,
    PRIMARY KEY (clinic_id, chart_id, epoch),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id)
);
CREATE INDEX directory_wraps_by_branch ON directory_wraps (clinic_id, branch_id, epoch, ord);

CREATE TABLE record_versions (
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    clinic_id BYTEA NOT NULL,
    object_id BYTEA NOT NULL CHECK (octet_length(object_id) = 16),
    version BIGINT NOT NULL CHECK (version >= 1),
    kind BIGINT NOT NULL CHECK (kind BETWEEN 0 AND 255),
    chart_id BYTEA NOT NULL,
    tier BIGINT NOT NULL CHECK (tier BETWEEN 0 AND 255),
    epoch BIGINT NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
    author_id BYTEA NOT NULL,
    author_key BYTEA NOT NULL CHECK (octet_length(author_key) = 16),
    created_at BIGINT NOT NULL,
    prev_version_hash BYTEA NOT NULL CHECK (octet_length(prev_version_hash) = 32),
    chart_state_hash BYTEA NOT NULL CHECK (octet_length(chart_state_hash) = 32),
    wrapped_key BYTEA NOT NULL,
    envelope BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    -- Two writers adding the same version cannot both succeed.
    PRIMARY KEY (clinic_id, object_id, version),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, author_id) REFERENCES accounts (clinic_id, user_id)
);
-- latest_records by (clinic, chart, kind).
CREATE INDEX record_versions_by_chart ON record_versions (clinic_id, chart_id, kind, object_id, version);

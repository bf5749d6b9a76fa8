-- vaiti store, schema 1 (SQLite). Shipped migrations are never edited: add a new file instead.
--
-- Conventions, shared with migrations/postgres/0001_initial.sql so both backends run the same
-- statements (src/sql.rs):
-- * Every row carries clinic_id, and every reference to an account or chart is a composite
--   foreign key (clinic_id, ...) so no row can point into another clinic.
-- * Ids are 16-byte BLOBs, hashes 32-byte BLOBs, ciphertext (Sealed) BLOBs, times INTEGER
--   seconds. u64 counters are stored as INTEGER (i64); the store refuses values above i64::MAX
--   rather than wrapping them.
-- * Tables read "oldest first" carry `ord`, an INTEGER PRIMARY KEY (SQLite's rowid alias, which
--   unlike a plain rowid is stable across VACUUM) that breaks created_at ties by insertion order.
--   Their natural key is then a UNIQUE constraint, which enforces exactly what a PRIMARY KEY would.
-- * STRICT tables: SQLite refuses a value of the wrong type instead of storing it.

CREATE TABLE server_secrets (
    name TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE clinics (
    clinic_id BLOB NOT NULL PRIMARY KEY CHECK (length(clinic_id) = 16),
    manifest BLOB NOT NULL,
    manifest_signature BLOB NOT NULL,
    manifest_version INTEGER NOT NULL CHECK (manifest_version >= 0),
    created_at INTEGER NOT NULL
) STRICT;

-- Roles and branches are JSON arrays of strings (["admin","therapist"], [branch id hex, ...]).
-- They are always read and written with the account, no read path filters by them, and a JSON
-- array keeps the caller's order exactly, which a join table would need an extra column for.
CREATE TABLE accounts (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL REFERENCES clinics (clinic_id),
    user_id BLOB NOT NULL CHECK (length(user_id) = 16),
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'patient')),
    login TEXT NOT NULL,
    display_name TEXT,
    roles TEXT NOT NULL,
    branches TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at INTEGER NOT NULL,
    UNIQUE (clinic_id, user_id),
    -- Also the index behind account_by_login.
    UNIQUE (clinic_id, login)
) STRICT;
CREATE INDEX accounts_by_age ON accounts (clinic_id, created_at, ord);

CREATE TABLE account_keys (
    clinic_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    wrapped_account_key BLOB NOT NULL,
    wrapped_decryption_key BLOB NOT NULL,
    wrapped_signing_key BLOB NOT NULL,
    wrapped_cache_key BLOB NOT NULL,
    root_pin BLOB NOT NULL,
    encryption_public_key BLOB NOT NULL,
    verifying_key BLOB NOT NULL,
    PRIMARY KEY (clinic_id, user_id),
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;

CREATE TABLE opaque_records (
    clinic_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (clinic_id, user_id),
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;

CREATE TABLE sessions (
    token_hash BLOB NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    clinic_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;
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
    login_id BLOB NOT NULL PRIMARY KEY CHECK (length(login_id) = 16),
    clinic_id BLOB NOT NULL REFERENCES clinics (clinic_id),
    user_id BLOB,
    state BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;
CREATE INDEX pending_logins_by_expiry ON pending_logins (expires_at);

CREATE TABLE certificates (
    clinic_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    serial INTEGER NOT NULL CHECK (serial >= 1),
    body BLOB NOT NULL,
    signature BLOB NOT NULL,
    issuer_key BLOB NOT NULL CHECK (length(issuer_key) = 16),
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (clinic_id, user_id, serial),
    FOREIGN KEY (clinic_id, user_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;

CREATE TABLE charts (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL REFERENCES clinics (clinic_id),
    chart_id BLOB NOT NULL CHECK (length(chart_id) = 16),
    branch_id BLOB NOT NULL CHECK (length(branch_id) = 16),
    created_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, created_by) REFERENCES accounts (clinic_id, user_id)
) STRICT;
CREATE INDEX charts_by_branch ON charts (clinic_id, branch_id, created_at, ord);

-- An invite's invitee and binding are set exactly when it has been bound (a revoked invite
-- keeps them if it was bound before).
CREATE TABLE invites (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL REFERENCES clinics (clinic_id),
    invite_id BLOB NOT NULL CHECK (length(invite_id) = 16),
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'patient')),
    inviter_id BLOB NOT NULL,
    chart_id BLOB,
    body BLOB NOT NULL,
    signature BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'bound', 'completed', 'revoked')),
    invitee_id BLOB,
    binding BLOB,
    created_at INTEGER NOT NULL,
    UNIQUE (clinic_id, invite_id),
    CHECK ((invitee_id IS NULL) = (binding IS NULL)),
    CHECK (state <> 'open' OR invitee_id IS NULL),
    CHECK (state NOT IN ('bound', 'completed') OR invitee_id IS NOT NULL),
    FOREIGN KEY (clinic_id, inviter_id) REFERENCES accounts (clinic_id, user_id),
    FOREIGN KEY (clinic_id, invitee_id) REFERENCES accounts (clinic_id, user_id),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id)
) STRICT;
CREATE INDEX invites_by_inviter ON invites (clinic_id, inviter_id, created_at, ord);

CREATE TABLE chart_states (
    clinic_id BLOB NOT NULL,
    chart_id BLOB NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    body BLOB NOT NULL,
    signature BLOB NOT NULL,
    author_id BLOB NOT NULL,
    hash BLOB NOT NULL CHECK (length(hash) = 32),
    created_at INTEGER NOT NULL,
    -- Two writers appending the same seq cannot both succeed.
    PRIMARY KEY (clinic_id, chart_id, seq),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, author_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;

-- WrapScope and Recipient are flattened into nullable columns whose shape the CHECKs pin to the
-- variant. Uniqueness of (scope, recipient, recipient key) is an expression index, because
-- UNIQUE treats NULLs as distinct.
CREATE TABLE key_wraps (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL REFERENCES clinics (clinic_id),
    scope TEXT NOT NULL CHECK (scope IN ('case', 'identity', 'directory', 'root')),
    chart_id BLOB,
    branch_id BLOB,
    tier INTEGER CHECK (tier BETWEEN 0 AND 255),
    epoch INTEGER CHECK (epoch BETWEEN 0 AND 4294967295),
    recipient TEXT NOT NULL CHECK (recipient IN ('user', 'escrow')),
    recipient_user BLOB,
    recipient_key BLOB NOT NULL CHECK (length(recipient_key) = 16),
    wrap BLOB NOT NULL,
    signature BLOB NOT NULL,
    wrapped_by BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((scope IN ('case', 'identity')) = (chart_id IS NOT NULL)),
    CHECK ((scope = 'directory') = (branch_id IS NOT NULL)),
    CHECK ((scope = 'case') = (tier IS NOT NULL)),
    CHECK ((scope IN ('case', 'directory')) = (epoch IS NOT NULL)),
    CHECK ((recipient = 'user') = (recipient_user IS NOT NULL)),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, recipient_user) REFERENCES accounts (clinic_id, user_id),
    FOREIGN KEY (clinic_id, wrapped_by) REFERENCES accounts (clinic_id, user_id)
) STRICT;
CREATE UNIQUE INDEX key_wraps_unique ON key_wraps (
    clinic_id, scope, coalesce(chart_id, x''), coalesce(branch_id, x''), coalesce(tier, -1),
    coalesce(epoch, -1), recipient, coalesce(recipient_user, x''), recipient_key
);
-- key_wraps by recipient (+ chart) and charts_wrapped_to.
CREATE INDEX key_wraps_by_recipient ON key_wraps (clinic_id, recipient, recipient_user, chart_id);

CREATE TABLE directory_wraps (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL,
    chart_id BLOB NOT NULL,
    branch_id BLOB NOT NULL CHECK (length(branch_id) = 16),
    epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
    envelope BLOB NOT NULL,
    UNIQUE (clinic_id, chart_id, epoch),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id)
) STRICT;
CREATE INDEX directory_wraps_by_branch ON directory_wraps (clinic_id, branch_id, epoch, ord);

CREATE TABLE record_versions (
    ord INTEGER PRIMARY KEY,
    clinic_id BLOB NOT NULL,
    object_id BLOB NOT NULL CHECK (length(object_id) = 16),
    version INTEGER NOT NULL CHECK (version >= 1),
    kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 255),
    chart_id BLOB NOT NULL,
    tier INTEGER NOT NULL CHECK (tier BETWEEN 0 AND 255),
    epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
    author_id BLOB NOT NULL,
    author_key BLOB NOT NULL CHECK (length(author_key) = 16),
    created_at INTEGER NOT NULL,
    prev_version_hash BLOB NOT NULL CHECK (length(prev_version_hash) = 32),
    chart_state_hash BLOB NOT NULL CHECK (length(chart_state_hash) = 32),
    wrapped_key BLOB NOT NULL,
    envelope BLOB NOT NULL,
    signature BLOB NOT NULL,
    -- Two writers adding the same version cannot both succeed.
    UNIQUE (clinic_id, object_id, version),
    FOREIGN KEY (clinic_id, chart_id) REFERENCES charts (clinic_id, chart_id),
    FOREIGN KEY (clinic_id, author_id) REFERENCES accounts (clinic_id, user_id)
) STRICT;
-- latest_records by (clinic, chart, kind).
CREATE INDEX record_versions_by_chart ON record_versions (clinic_id, chart_id, kind, object_id, version);

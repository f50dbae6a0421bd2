-- Foundation: accounts, codes, sessions, staff, audit log, SMS outbox, jobs.
-- Portable SQL; @ID@ and @BLOB@ are replaced by the dialect (see src/migrate.rs).
-- Times are BIGINT milliseconds since the Unix epoch (UTC); flags are BIGINT 0/1.

CREATE TABLE users (
    id @ID@,
    phone_hash TEXT NOT NULL UNIQUE,
    phone_enc @BLOB@ NOT NULL,
    password_hash TEXT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE sms_codes (
    id @ID@,
    phone_hash TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX sms_codes_lookup ON sms_codes (phone_hash, purpose, id);

CREATE TABLE rate_counters (
    counter_key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);

CREATE TABLE staff (
    id @ID@,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_enc @BLOB@ NOT NULL,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    principal_kind TEXT NOT NULL,
    principal_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_principal ON sessions (principal_kind, principal_id);

-- The head row serialises appends (its UPDATE takes the write lock on both databases) and
-- remembers the last sequence number and hash, so rows removed from the end are noticed.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    ip TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE sms_outbox (
    id @ID@,
    phone_hash TEXT NOT NULL,
    phone_enc @BLOB@ NOT NULL,
    template TEXT NOT NULL,
    params_enc @BLOB@ NOT NULL,
    order_no TEXT,
    status TEXT NOT NULL,
    provider TEXT,
    provider_ref TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX sms_outbox_phone ON sms_outbox (phone_hash, id);

CREATE TABLE jobs (
    id @ID@,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs (status, run_at);

--@ sqlite
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

--@ postgres
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

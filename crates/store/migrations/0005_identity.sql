-- 经办人在线认证 (issue 5): one row per QR code. The link's token is kept as a SHA-256 (for
-- lookup) and sealed (so the PC page can show the same QR again); the phone that claimed the
-- link is known by the SHA-256 of its own cookie. Photos live in the blob store (sealed);
-- the row keeps their ids until the retention job deletes them, and their SHA-256 for good.
-- The result (reason, provider reference, per-number carrier results with masked numbers)
-- is sealed too: it is about a person.

CREATE TABLE identity_attempts (
    id @ID@,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    token_hash TEXT NOT NULL UNIQUE,
    token_enc @BLOB@ NOT NULL,
    phone_hash TEXT,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    scanned_at BIGINT,
    finished_at BIGINT,
    front_blob TEXT,
    front_sha256 TEXT,
    back_blob TEXT,
    back_sha256 TEXT,
    biz_token TEXT,
    result_enc @BLOB@,
    photos_purged_at BIGINT
);
CREATE INDEX identity_attempts_order ON identity_attempts (order_id, id);

-- 我的证书 and proof of possession (issue 14): the single-use challenges a holder answers with
-- the old key (stored only as SHA-256; five minutes; `used_at` set by one conditional update),
-- and the certificates an account claimed by serial (one account per certificate).

CREATE TABLE cert_challenges (
    id @ID@,
    user_id BIGINT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    challenge_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX cert_challenges_expiry ON cert_challenges (expires_at);

CREATE TABLE cert_claims (
    serial TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    claimed_at BIGINT NOT NULL
);
CREATE INDEX cert_claims_user ON cert_claims (user_id, claimed_at);

-- Expiry reminders (90, 30 and 7 days before notAfter): one row per certificate and step,
-- written in the transaction that queues the SMS, so each goes out once.
CREATE TABLE cert_reminders (
    serial TEXT NOT NULL,
    days BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (serial, days)
);

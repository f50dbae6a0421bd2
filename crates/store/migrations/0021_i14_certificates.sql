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

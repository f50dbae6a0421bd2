-- Production that survives a crash at any step (issue 13, item 2).
-- ca_requests: one row per pair the CA recorded for a caller's reference (the production line
-- `order:XB…:line:N`), written in the same transaction as the two TBS rows and the key
-- manager's escrow, before anything is signed. A restarted process finds the pair by its
-- reference: it signs a recorded TBS whose certificate was never stored, or returns the stored
-- certificates; the primary key makes a second pair for one reference impossible.
-- envelope: the encryption key enveloped to the subscriber's signing key (only its holder opens it).
CREATE TABLE ca_requests (
    issuer TEXT NOT NULL,
    reference TEXT NOT NULL,
    sign_serial TEXT NOT NULL,
    enc_serial TEXT NOT NULL,
    envelope @BLOB@ NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, reference)
);

-- The lease of a line being issued (签发中): until then the reserving process owns it; after,
-- a restart or 制证 pressed again takes it over (a guarded UPDATE, one winner). NULL on rows
-- reserved before this migration: taken over at once.
ALTER TABLE order_certs ADD COLUMN lease_until BIGINT;

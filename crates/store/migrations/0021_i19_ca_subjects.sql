-- Issue 19: what the CA must remember beyond the issuance log.
-- ca_subjects: which subject entity each subject DN was issued to (RFC 5280 §4.1.2.6, a DN
--   names one entity); both are personal data (a DN and an entity may carry a 身份证号码), so
--   only the vault's keyed lookup hashes are kept.
-- ca_blocked_keys: key identifiers (hex, SM3-based as in the certificates' SKI) of keys revoked
--   for keyCompromise, never certified again.
-- ca_pairs: the signing and the encryption certificate of one dual pair (revoked together).

CREATE TABLE ca_subjects (
    issuer TEXT NOT NULL,
    dn_hash TEXT NOT NULL,
    entity_hash TEXT NOT NULL,
    PRIMARY KEY (issuer, dn_hash)
);

CREATE TABLE ca_blocked_keys (
    key_id TEXT NOT NULL PRIMARY KEY,
    serial TEXT NOT NULL,
    blocked_at BIGINT NOT NULL
);

CREATE TABLE ca_pairs (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    partner TEXT NOT NULL,
    PRIMARY KEY (issuer, serial)
);

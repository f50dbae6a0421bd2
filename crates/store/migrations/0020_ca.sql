-- The certificate authority's durable state (pki issuance pipeline, revocation, CRLs, escrow).
-- A row is written with status 'recorded' and the TBS certificate BEFORE signing, and
-- completed with the certificate after; so no signed serial is ever missing (DESIGN.md rule 5).
-- Serials are upper-case hex. Times are BIGINT milliseconds since the Unix epoch (UTC).

CREATE TABLE ca_certificates (
    id @ID@,
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    profile TEXT NOT NULL,
    key_usage TEXT NOT NULL,
    subject TEXT NOT NULL,
    tbs @BLOB@ NOT NULL,
    cert @BLOB@,
    status TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    issued_at BIGINT,
    revoked_at BIGINT,
    revocation_reason BIGINT,
    UNIQUE (issuer, serial)
);
CREATE INDEX ca_certificates_revoked ON ca_certificates (issuer, revoked_at);

CREATE TABLE ca_crls (
    id @ID@,
    issuer TEXT NOT NULL,
    crl_number BIGINT NOT NULL,
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL,
    der @BLOB@ NOT NULL,
    UNIQUE (issuer, crl_number)
);

CREATE TABLE ca_key_escrow (
    id @ID@,
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    envelope @BLOB@ NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (issuer, serial)
);

-- The certificate authority's durable state (pki issuance pipeline, revocation, CRLs, escrow).
-- A row of ca_certificates is written (status 'recorded', with the TBS certificate) BEFORE
-- signing, and the certificate goes to ca_issued after; so no signed serial is ever missing
-- (DESIGN.md rule 5). Both steps are multi-row INSERTs, one transaction per batch.
-- Serials are upper-case hex. Times are BIGINT milliseconds since the Unix epoch (UTC).

CREATE TABLE ca_certificates (
    id @ID@,
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    profile TEXT NOT NULL,
    key_usage TEXT NOT NULL,
    subject TEXT NOT NULL,
    tbs @BLOB@ NOT NULL,
    status TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revocation_reason BIGINT,
    UNIQUE (issuer, serial)
);
CREATE INDEX ca_certificates_revoked ON ca_certificates (issuer, revoked_at);

CREATE TABLE ca_issued (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    cert @BLOB@ NOT NULL,
    issued_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, serial),
    FOREIGN KEY (issuer, serial) REFERENCES ca_certificates (issuer, serial)
);

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

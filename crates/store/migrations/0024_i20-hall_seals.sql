-- 电子印章 as a production line (issue 20): one seal per order, reserved (status 'making',
-- esID chosen) before it is made, so a retry finds the reservation and never makes a second;
-- the DER stored once by a guarded UPDATE (status 'made'); 'revoked' when the unit's signing
-- certificate (sign_serial) is revoked. The DER carries no personal data beyond the unit's
-- name and its public certificate, so it is stored in the clear (hex).

CREATE TABLE order_seals (
    order_id BIGINT PRIMARY KEY REFERENCES orders (id),
    es_id TEXT NOT NULL UNIQUE,
    sign_serial TEXT NOT NULL,
    status TEXT NOT NULL,
    reserved_at BIGINT NOT NULL,
    der_hex TEXT,
    made_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX order_seals_serial ON order_seals (sign_serial);

-- The CA's side of an order after payment (issue 7): review claims and decisions (with the
-- sealed draft as it was when rejected, so a resubmission can be compared), the certificates
-- issued per order line (unique per line: a line is never issued twice) with the PIN sealed
-- until it is sent, the shipment, the e-invoice, and the holiday schedules loaded at run time.

CREATE TABLE review_claims (
    order_id BIGINT PRIMARY KEY REFERENCES orders (id),
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    claimed_at BIGINT NOT NULL
);

CREATE TABLE review_decisions (
    id @ID@,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    at BIGINT NOT NULL,
    decision TEXT NOT NULL,
    reasons TEXT NOT NULL,
    snapshot_enc @BLOB@
);
CREATE INDEX review_decisions_order ON review_decisions (order_id, id);

CREATE TABLE order_certs (
    id @ID@,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    line BIGINT NOT NULL,
    kind TEXT NOT NULL,
    years BIGINT NOT NULL,
    status TEXT NOT NULL,
    sign_serial TEXT,
    enc_serial TEXT,
    sign_pem TEXT,
    enc_pem TEXT,
    envelope @BLOB@,
    pin_enc @BLOB@,
    pin_sent_at BIGINT,
    staff_id BIGINT,
    reserved_at BIGINT NOT NULL,
    issued_at BIGINT,
    UNIQUE (order_id, line)
);

CREATE TABLE shipments (
    order_id BIGINT PRIMARY KEY REFERENCES orders (id),
    courier TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    staff_id BIGINT NOT NULL,
    shipped_at BIGINT NOT NULL,
    delivered_at BIGINT
);

CREATE TABLE invoices (
    order_id BIGINT PRIMARY KEY REFERENCES orders (id),
    invoice_no TEXT NOT NULL,
    provider TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    data_enc @BLOB@ NOT NULL,
    issued_at BIGINT NOT NULL
);

CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    toml TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL
);

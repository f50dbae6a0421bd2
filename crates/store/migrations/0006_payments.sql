-- 在线支付 and 金融认证 (issue 6): payments (bank transfer vouchers and online payments),
-- imported bank statements and their credits (matched automatically or by finance), and the
-- micro-deposits (小额打款) whose memo code passes 金融认证. Amounts are integers in fen.
-- Bank accounts and memo codes are sealed by the Vault; equality uses keyed hashes.

CREATE TABLE payments (
    id @ID@,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    order_no TEXT NOT NULL,
    method TEXT NOT NULL,
    provider TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    trade_no TEXT NOT NULL UNIQUE,
    provider_ref TEXT,
    voucher_blob TEXT,
    created_at BIGINT NOT NULL,
    paid_at BIGINT,
    refunded_fen BIGINT NOT NULL DEFAULT 0,
    refund_ref TEXT,
    refunded_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX payments_order ON payments (order_id, id);
CREATE INDEX payments_paid ON payments (paid_at);

CREATE TABLE bank_statements (
    id @ID@,
    sha256 TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    file_name TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    entries BIGINT NOT NULL
);

CREATE TABLE bank_credits (
    id @ID@,
    statement_id BIGINT NOT NULL REFERENCES bank_statements (id),
    entry_ref TEXT NOT NULL UNIQUE,
    booked_on TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    currency TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    payer_account_enc @BLOB@ NOT NULL,
    payer_account_hash TEXT NOT NULL,
    memo TEXT NOT NULL,
    state TEXT NOT NULL,
    order_no TEXT,
    reason TEXT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX bank_credits_state ON bank_credits (state, id);

CREATE TABLE micro_deposits (
    id @ID@,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    order_no TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    account_name TEXT NOT NULL,
    account_enc @BLOB@ NOT NULL,
    memo_enc @BLOB@ NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX micro_deposits_order ON micro_deposits (order_id, id);

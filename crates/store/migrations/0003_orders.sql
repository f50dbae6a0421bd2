-- 证书新办 orders: the sealed draft, the history, and the per-day number sequence.
-- The draft holds personal data (ID numbers, phones, bank account) and is stored only sealed
-- by the Vault, bound to its order number; lists open it.

CREATE TABLE order_counters (
    day TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE orders (
    id @ID@,
    order_no TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    draft_enc @BLOB@ NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX orders_user ON orders (user_id, id);

CREATE TABLE order_events (
    id @ID@,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);

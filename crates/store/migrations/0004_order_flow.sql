-- What the steps after the wizard share on an order: when the payment arrived, the 金融认证
-- state (pending / passed / failed, FAQ 六), and since when the order waits for review (the
-- three-working-day due time counts from here). The payment, identity and staff use cases
-- keep their own tables; these columns are what the others read.

ALTER TABLE orders ADD COLUMN paid_at BIGINT;
ALTER TABLE orders ADD COLUMN fin_state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE orders ADD COLUMN review_since BIGINT;
CREATE INDEX orders_state ON orders (state, review_since, id);

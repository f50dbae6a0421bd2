-- The audit chain keyed from outside the database: each row and the head carry a MAC over
-- (seq, hash) with a key from the keys file, so rows cannot be rewritten and the chain
-- recomputed by someone who can only write to the database. Rows written before this
-- migration have none (audit verify says how many).

ALTER TABLE audit_log ADD COLUMN mac TEXT;
ALTER TABLE audit_head ADD COLUMN mac TEXT;

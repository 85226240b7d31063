-- One row per charge attempt, keyed by the caller's idempotency key.
CREATE TABLE payments (
    id TEXT NOT NULL PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    order_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    provider_ref TEXT,
    failure_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX payments_idempotency_key ON payments (idempotency_key);
CREATE INDEX payments_order_idx ON payments (order_id, created_at);
CREATE INDEX payments_user_idx ON payments (user_id, created_at);
CREATE INDEX payments_created_idx ON payments (created_at, id);

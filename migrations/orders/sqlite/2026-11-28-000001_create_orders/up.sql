CREATE TABLE orders (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'cancelled', 'refunded', 'expired')),
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    currency TEXT NOT NULL,
    ship_line1 TEXT,
    ship_line2 TEXT,
    ship_city TEXT,
    ship_postal_code TEXT,
    ship_country TEXT,
    payment_id TEXT,
    -- A charge was sent whose outcome the order has not taken in yet.
    payment_pending BOOLEAN NOT NULL DEFAULT 0,
    -- The catalog has not yet been told about the current status (commit, release, restock).
    stock_pending BOOLEAN NOT NULL DEFAULT 0,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at, id);
CREATE INDEX orders_created_idx ON orders (created_at, id);
CREATE INDEX orders_status_expires_idx ON orders (status, expires_at);
CREATE INDEX orders_payment_pending_idx ON orders (payment_pending, updated_at);
CREATE INDEX orders_stock_pending_idx ON orders (stock_pending, updated_at);

CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders (id),
    product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    line_total_cents BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

-- Replays of POST /orders and POST /orders/{id}/pay by Idempotency-Key, per user.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, scope, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

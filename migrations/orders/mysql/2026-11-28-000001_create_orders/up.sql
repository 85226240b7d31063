CREATE TABLE orders (
    id CHAR(36) NOT NULL PRIMARY KEY,
    user_id CHAR(36) NOT NULL,
    status VARCHAR(16) NOT NULL,
    total_cents BIGINT NOT NULL,
    currency CHAR(3) NOT NULL,
    ship_line1 VARCHAR(200) NULL,
    ship_line2 VARCHAR(200) NULL,
    ship_city VARCHAR(100) NULL,
    ship_postal_code VARCHAR(20) NULL,
    ship_country CHAR(2) NULL,
    payment_id CHAR(36) NULL,
    -- A charge was sent whose outcome the order has not taken in yet.
    payment_pending BOOLEAN NOT NULL DEFAULT FALSE,
    -- The catalog has not yet been told about the current status (commit, release, restock).
    stock_pending BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY orders_user_idx (user_id, created_at, id),
    KEY orders_created_idx (created_at, id),
    KEY orders_status_expires_idx (status, expires_at),
    KEY orders_payment_pending_idx (payment_pending, updated_at),
    KEY orders_stock_pending_idx (stock_pending, updated_at),
    CONSTRAINT orders_status_check CHECK (status IN ('pending_payment', 'paid', 'cancelled', 'refunded', 'expired')),
    CONSTRAINT orders_total_check CHECK (total_cents >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE order_items (
    order_id CHAR(36) NOT NULL,
    product_id CHAR(36) NOT NULL,
    name VARCHAR(200) NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    line_total_cents BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id),
    CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT order_items_quantity_check CHECK (quantity > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Replays of POST /orders and POST /orders/{id}/pay by Idempotency-Key, per user.
CREATE TABLE idempotency_keys (
    user_id CHAR(36) NOT NULL,
    scope VARCHAR(64) NOT NULL,
    idempotency_key VARCHAR(255) NOT NULL,
    fingerprint CHAR(64) NOT NULL,
    response_status INT NULL,
    response_body MEDIUMTEXT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id, scope, idempotency_key),
    KEY idempotency_keys_created_idx (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

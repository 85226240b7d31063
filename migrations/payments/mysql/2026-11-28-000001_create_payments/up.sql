-- One row per charge attempt, keyed by the caller's idempotency key.
CREATE TABLE payments (
    id CHAR(36) NOT NULL PRIMARY KEY,
    idempotency_key VARCHAR(200) NOT NULL,
    order_id CHAR(36) NOT NULL,
    user_id CHAR(36) NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency CHAR(3) NOT NULL,
    status VARCHAR(16) NOT NULL,
    provider_ref VARCHAR(255) NULL,
    failure_reason VARCHAR(255) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY payments_idempotency_key (idempotency_key),
    KEY payments_order_idx (order_id, created_at),
    KEY payments_user_idx (user_id, created_at),
    KEY payments_created_idx (created_at, id),
    CONSTRAINT payments_amount_check CHECK (amount_cents > 0),
    CONSTRAINT payments_status_check CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

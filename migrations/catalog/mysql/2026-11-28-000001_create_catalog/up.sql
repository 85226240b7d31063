CREATE TABLE categories (
    id CHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    slug VARCHAR(100) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY categories_slug_key (slug)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE products (
    id CHAR(36) NOT NULL PRIMARY KEY,
    sku VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    currency CHAR(3) NOT NULL,
    stock BIGINT NOT NULL,
    category_id CHAR(36) NULL,
    active BOOLEAN NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY products_sku_key (sku),
    -- One index per served sort over active products; category filter on its own.
    KEY products_active_created_idx (active, created_at, id),
    KEY products_active_price_idx (active, price_cents, id),
    KEY products_active_name_idx (active, name, id),
    KEY products_category_idx (category_id, active),
    CONSTRAINT products_category_fk FOREIGN KEY (category_id) REFERENCES categories (id),
    CONSTRAINT products_price_check CHECK (price_cents >= 0),
    CONSTRAINT products_stock_check CHECK (stock >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Stock held for an order; the lines say how much of which product.
CREATE TABLE reservations (
    order_id CHAR(36) NOT NULL PRIMARY KEY,
    status VARCHAR(16) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY reservations_status_expires_idx (status, expires_at),
    CONSTRAINT reservations_status_check CHECK (status IN ('held', 'committed', 'released', 'restocked'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE reservation_lines (
    order_id CHAR(36) NOT NULL,
    product_id CHAR(36) NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id),
    KEY reservation_lines_product_idx (product_id),
    CONSTRAINT reservation_lines_order_fk FOREIGN KEY (order_id) REFERENCES reservations (order_id),
    CONSTRAINT reservation_lines_product_fk FOREIGN KEY (product_id) REFERENCES products (id),
    CONSTRAINT reservation_lines_quantity_check CHECK (quantity > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Orders still being placed hold no confirmed stock: they are dropped.
DELETE FROM orders WHERE status = 'placing';
CREATE TABLE order_items_copy AS
    SELECT o.id AS order_id, json_extract(j.value, '$.product_id') AS product_id,
        json_extract(j.value, '$.name') AS name, json_extract(j.value, '$.unit_price_cents') AS unit_price_cents,
        json_extract(j.value, '$.quantity') AS quantity, json_extract(j.value, '$.line_total_cents') AS line_total_cents
    FROM orders o, json_each(o.items) j;
CREATE TABLE orders_rebuilt (
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
    payment_pending BOOLEAN NOT NULL DEFAULT 0,
    stock_pending BOOLEAN NOT NULL DEFAULT 0,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO orders_rebuilt
    SELECT id, user_id, status, total_cents, currency,
        json_extract(shipping_address, '$.line1'), json_extract(shipping_address, '$.line2'),
        json_extract(shipping_address, '$.city'), json_extract(shipping_address, '$.postal_code'),
        json_extract(shipping_address, '$.country'),
        payment_id, payment_pending, stock_pending, expires_at, created_at, updated_at
    FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;
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
INSERT INTO order_items SELECT * FROM order_items_copy;
DROP TABLE order_items_copy;

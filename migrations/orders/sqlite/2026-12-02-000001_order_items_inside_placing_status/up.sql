-- An order keeps its items in its own row, as JSON (name and price as they were
-- when it was placed, sorted by product id): an order is written once and read
-- whole, so one row instead of two tables saves statements on every order and every read.
-- 'placing': the order is written before its stock is reserved, so that a crash
-- in between is found and undone. Customers never see a placing order.
-- SQLite cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE orders_rebuilt (
    id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placing', 'pending_payment', 'paid', 'cancelled', 'refunded', 'expired')),
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    currency TEXT NOT NULL,
    items TEXT NOT NULL,
    -- The shipping address as it was when the order was placed, as JSON too (NULL: none).
    shipping_address TEXT,
    payment_id TEXT,
    -- A charge was sent whose outcome the order has not taken in yet.
    payment_pending BOOLEAN NOT NULL DEFAULT 0,
    -- The catalog has not yet been told about the current status (commit, release, restock).
    stock_pending BOOLEAN NOT NULL DEFAULT 0,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO orders_rebuilt
    SELECT o.id, o.user_id, o.status, o.total_cents, o.currency,
        COALESCE((
            SELECT json_group_array(json_object(
                'product_id', product_id, 'name', name, 'unit_price_cents', unit_price_cents,
                'quantity', quantity, 'line_total_cents', line_total_cents))
            FROM (SELECT * FROM order_items i WHERE i.order_id = o.id ORDER BY product_id)
        ), '[]'),
        CASE WHEN o.ship_line1 IS NULL THEN NULL ELSE json_object(
            'line1', o.ship_line1, 'line2', o.ship_line2, 'city', o.ship_city,
            'postal_code', o.ship_postal_code, 'country', o.ship_country) END,
        o.payment_id,
        o.payment_pending, o.stock_pending, o.expires_at, o.created_at, o.updated_at
    FROM orders o;
DROP TABLE order_items;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;
CREATE INDEX orders_user_idx ON orders (user_id, created_at, id);
CREATE INDEX orders_created_idx ON orders (created_at, id);
CREATE INDEX orders_status_expires_idx ON orders (status, expires_at);
CREATE INDEX orders_payment_pending_idx ON orders (payment_pending, updated_at);
CREATE INDEX orders_stock_pending_idx ON orders (stock_pending, updated_at);

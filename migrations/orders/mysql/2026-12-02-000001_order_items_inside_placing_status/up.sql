-- An order keeps its items in its own row, as JSON (name and price as they were
-- when it was placed, sorted by product id): an order is written once and read
-- whole, so one row instead of two tables saves statements on every order and every read.
ALTER TABLE orders ADD COLUMN items TEXT NULL AFTER currency;
UPDATE orders o SET items = (
    SELECT JSON_ARRAYAGG(JSON_OBJECT(
        'product_id', i.product_id, 'name', i.name, 'unit_price_cents', i.unit_price_cents,
        'quantity', i.quantity, 'line_total_cents', i.line_total_cents) ORDER BY i.product_id)
    FROM order_items i
    WHERE i.order_id = o.id
);
UPDATE orders SET items = '[]' WHERE items IS NULL;
ALTER TABLE orders MODIFY items TEXT NOT NULL;
DROP TABLE order_items;

-- The shipping address as it was when the order was placed, as JSON too (NULL: none).
ALTER TABLE orders ADD COLUMN shipping_address TEXT NULL AFTER items;
UPDATE orders SET shipping_address = JSON_OBJECT(
        'line1', ship_line1, 'line2', ship_line2, 'city', ship_city,
        'postal_code', ship_postal_code, 'country', ship_country)
    WHERE ship_line1 IS NOT NULL;
ALTER TABLE orders DROP COLUMN ship_line1, DROP COLUMN ship_line2, DROP COLUMN ship_city,
    DROP COLUMN ship_postal_code, DROP COLUMN ship_country;

-- 'placing': the order is written before its stock is reserved, so that a crash
-- in between is found and undone. Customers never see a placing order.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('placing', 'pending_payment', 'paid', 'cancelled', 'refunded', 'expired'));

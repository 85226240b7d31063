-- Orders still being placed hold no confirmed stock: they are dropped.
DELETE FROM orders WHERE status = 'placing';
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending_payment', 'paid', 'cancelled', 'refunded', 'expired'));

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
INSERT INTO order_items (order_id, product_id, name, unit_price_cents, quantity, line_total_cents)
    SELECT o.id, j.product_id, j.name, j.unit_price_cents, j.quantity, j.line_total_cents
    FROM orders o,
        JSON_TABLE(o.items, '$[*]' COLUMNS (
            product_id CHAR(36) PATH '$.product_id',
            name VARCHAR(200) PATH '$.name',
            unit_price_cents BIGINT PATH '$.unit_price_cents',
            quantity BIGINT PATH '$.quantity',
            line_total_cents BIGINT PATH '$.line_total_cents')) AS j;
ALTER TABLE orders DROP COLUMN items;

ALTER TABLE orders
    ADD COLUMN ship_line1 VARCHAR(200) NULL AFTER currency,
    ADD COLUMN ship_line2 VARCHAR(200) NULL AFTER ship_line1,
    ADD COLUMN ship_city VARCHAR(100) NULL AFTER ship_line2,
    ADD COLUMN ship_postal_code VARCHAR(20) NULL AFTER ship_city,
    ADD COLUMN ship_country CHAR(2) NULL AFTER ship_postal_code;
UPDATE orders SET
        ship_line1 = JSON_VALUE(shipping_address, '$.line1'),
        ship_line2 = JSON_VALUE(shipping_address, '$.line2'),
        ship_city = JSON_VALUE(shipping_address, '$.city'),
        ship_postal_code = JSON_VALUE(shipping_address, '$.postal_code'),
        ship_country = JSON_VALUE(shipping_address, '$.country')
    WHERE shipping_address IS NOT NULL;
ALTER TABLE orders DROP COLUMN shipping_address;

DROP TABLE product_counts;

CREATE TABLE reservation_lines (
    order_id TEXT NOT NULL REFERENCES reservations (order_id),
    product_id TEXT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);
INSERT INTO reservation_lines (order_id, product_id, quantity)
    SELECT r.order_id, json_extract(j.value, '$.product_id'), json_extract(j.value, '$.quantity')
    FROM reservations r, json_each(r.items) j;
ALTER TABLE reservations DROP COLUMN items;

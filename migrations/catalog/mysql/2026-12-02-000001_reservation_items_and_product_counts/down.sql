DROP TABLE product_counts;

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
INSERT INTO reservation_lines (order_id, product_id, quantity)
    SELECT r.order_id, j.product_id, j.quantity
    FROM reservations r,
        JSON_TABLE(r.items, '$[*]' COLUMNS (product_id CHAR(36) PATH '$.product_id', quantity BIGINT PATH '$.quantity')) AS j;
ALTER TABLE reservations DROP COLUMN items;

-- A reservation keeps its lines in its own row, as JSON
-- ([{"product_id": "…", "quantity": n}], sorted by product id): it is written
-- once and read whole, and one row instead of two tables saves a statement on every order.
ALTER TABLE reservations ADD COLUMN items TEXT NOT NULL DEFAULT '[]';
UPDATE reservations SET items = (
    SELECT json_group_array(json_object('product_id', product_id, 'quantity', quantity))
    FROM (SELECT product_id, quantity FROM reservation_lines l
          WHERE l.order_id = reservations.order_id ORDER BY product_id)
);
DROP TABLE reservation_lines;

-- How many active products each list scope holds ('all', or 'category:<id>'),
-- kept with every product write: the list's total without counting rows per request.
CREATE TABLE product_counts (
    scope TEXT NOT NULL PRIMARY KEY,
    active_products BIGINT NOT NULL CHECK (active_products >= 0)
);
INSERT INTO product_counts (scope, active_products)
    SELECT 'all', COUNT(*) FROM products WHERE active;
INSERT INTO product_counts (scope, active_products)
    SELECT 'category:' || c.id, (SELECT COUNT(*) FROM products p WHERE p.category_id = c.id AND p.active)
    FROM categories c;

-- Nothing to change: products_sku_key on a utf8mb4_unicode_ci column already
-- compares SKUs case-insensitively. Kept so both backends list the same migrations.
DO 0;

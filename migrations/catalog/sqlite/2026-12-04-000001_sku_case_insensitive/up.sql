-- SKUs are unique whatever their case, as on MySQL (whose utf8mb4_unicode_ci
-- collation already compares them so): "MUG-1" and "mug-1" are one SKU.
CREATE UNIQUE INDEX products_sku_nocase_key ON products (sku COLLATE NOCASE);

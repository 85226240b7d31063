DROP INDEX products_sku_nocase_key;

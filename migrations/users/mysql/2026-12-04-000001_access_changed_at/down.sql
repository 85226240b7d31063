ALTER TABLE users DROP INDEX users_access_changed_at, DROP COLUMN access_changed_at;

DROP INDEX users_access_changed_at;
ALTER TABLE users DROP COLUMN access_changed_at;

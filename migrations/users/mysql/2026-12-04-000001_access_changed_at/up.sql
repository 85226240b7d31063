-- When the account's role or disabled flag last changed: every token verifier
-- polls the changes to withdraw the powers of tokens issued before them.
ALTER TABLE users ADD COLUMN access_changed_at DATETIME(6) NULL, ADD INDEX users_access_changed_at (access_changed_at);

-- When the account's role or disabled flag last changed: every token verifier
-- polls the changes to withdraw the powers of tokens issued before them.
ALTER TABLE users ADD COLUMN access_changed_at TIMESTAMP;
CREATE INDEX users_access_changed_at ON users (access_changed_at);

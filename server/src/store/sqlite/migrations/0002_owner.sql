-- Verified identity: the user a session belongs to (its first verified
-- user), so after a restart another user cannot take it over.
ALTER TABLE sessions ADD COLUMN owner TEXT;

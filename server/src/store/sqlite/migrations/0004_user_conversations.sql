-- Verified users' lists of conversations (issue 24): one row per user and
-- session, so a user's list follows them to another browser and survives
-- a restart. `updated_at` is when it was last saved (unix ms); rows past
-- `--conversation-retention` are deleted.
CREATE TABLE user_conversations (
    user       TEXT NOT NULL,
    session    TEXT NOT NULL,
    title      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user, session)
) WITHOUT ROWID;
CREATE INDEX user_conversations_by_age ON user_conversations (updated_at);

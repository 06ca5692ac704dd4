-- The session store's first schema: what the memory store holds, written
-- through (see server/src/store/sqlite/mod.rs). Times are unix milliseconds.

-- Sessions remembered, and when each was last seen.
CREATE TABLE sessions (
    id        TEXT PRIMARY KEY,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;

-- Message ids seen: in flight (frame NULL) or settled (the final frame;
-- failed = an error). seq orders the outcomes, oldest first.
CREATE TABLE messages (
    seq         INTEGER PRIMARY KEY,
    session     TEXT NOT NULL,
    id          TEXT NOT NULL,
    frame       TEXT,
    failed      INTEGER NOT NULL DEFAULT 0,
    undelivered INTEGER NOT NULL DEFAULT 0,
    UNIQUE (session, id)
);

-- Pushes kept for a session's next connection, oldest first.
CREATE TABLE kept (
    seq     INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    frame   TEXT NOT NULL
);
CREATE INDEX kept_by_session ON kept (session);

-- Ids whose outcome was forgotten (see server/src/store/tombstones.rs),
-- oldest first, each until `expires`.
CREATE TABLE tombs (
    seq     INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    id      TEXT NOT NULL,
    failed  INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX tombs_by_expiry ON tombs (expires);

-- Sessions' transcripts (issue 24; see server/src/store/transcripts.rs):
-- what was said, so a page that resumes a session on another tab or
-- device shows the same conversation. One row per line, oldest first by
-- seq; role 0 = the user, 1 = the bot; `at` is when it was written (unix
-- ms). Rows go with the session (unless a signed-in user's list holds the
-- conversation: then --conversation-retention after its last line), with
-- `forget`, and at the bounds (200 lines, 64 KiB per session).
CREATE TABLE transcript_lines (
    seq     INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    role    INTEGER NOT NULL,
    text    TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX transcript_lines_by_session ON transcript_lines (session, seq);

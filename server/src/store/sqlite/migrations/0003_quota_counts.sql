-- The quota counters (`--quota-visitor`, `--quota-address`,
-- `--daily-budget`): one row per counter and window, so the counts of the
-- day survive a restart. `ends` is when the window ends (unix ms).
CREATE TABLE quota_counts (
    key    TEXT NOT NULL,
    window TEXT NOT NULL,
    start  INTEGER NOT NULL,
    ends   INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (key, window)
) WITHOUT ROWID;

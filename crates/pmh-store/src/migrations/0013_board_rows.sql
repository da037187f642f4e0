-- The reception page's list of today's check-ins, shared by every replica and kept across
-- restarts: one row per change (a check-in seen, its prefetch answered), in the order written
-- (`seq`, which the page's live feed follows), sealed under the store's secret; by service day.
CREATE TABLE board_rows (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    day    TEXT    NOT NULL,
    row    BLOB    NOT NULL,
    at_ms  INTEGER NOT NULL
);
CREATE INDEX board_rows_day ON board_rows (day, seq);

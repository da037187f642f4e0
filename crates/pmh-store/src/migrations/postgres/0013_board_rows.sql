-- The reception page's list of today's check-ins (PostgreSQL form of the SQLite migration of
-- the same version and name).
CREATE TABLE board_rows (
    seq    BIGSERIAL PRIMARY KEY,
    day    TEXT      NOT NULL,
    row    BYTEA     NOT NULL,
    at_ms  BIGINT    NOT NULL
);
CREATE INDEX board_rows_day ON board_rows (day, seq);

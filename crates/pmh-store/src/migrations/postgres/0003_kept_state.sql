-- What the service keeps across restarts and shares between replicas (PostgreSQL form of the
-- SQLite migration of the same version and name): under a keyed hash, sealed.
CREATE TABLE kept (
    item        TEXT    NOT NULL CHECK (item IN ('stand_in', 'check_in')),
    key         TEXT    NOT NULL,
    updated_ms  BIGINT  NOT NULL,
    expires_ms  BIGINT  NOT NULL,
    body        BYTEA   NOT NULL,
    PRIMARY KEY (item, key)
);
CREATE INDEX kept_expiry ON kept (expires_ms);

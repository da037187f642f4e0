-- What the service keeps across restarts, and shares between replicas: the last confirmed answer
-- per person (the stale stand-in) and the check-in index by 照会番号 (with the answer the check-in
-- prefetched). `key` is an HMAC of what the row is looked up by (the insured identity, the
-- 照会番号) under the store's secret; `body` is sealed (AES-256-GCM) under a key derived from the
-- same value, so a row reads nothing without both the secret and that value. Rows are replaced
-- when the service's memory changes and removed by the purge once expired.
CREATE TABLE kept (
    item        TEXT    NOT NULL CHECK (item IN ('stand_in', 'check_in')),
    key         TEXT    NOT NULL,
    updated_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    body        BLOB    NOT NULL,
    PRIMARY KEY (item, key)
);
CREATE INDEX kept_expiry ON kept (expires_ms);

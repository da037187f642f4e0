-- The hashing secret the database was written with, as a keyed hash of a fixed text: a gateway
-- (or a replica) started with another secret is refused, instead of writing hashes that match
-- nothing and sealing rows the others cannot open.
CREATE TABLE store_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key_check  TEXT    NOT NULL
);

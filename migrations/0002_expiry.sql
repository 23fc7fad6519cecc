-- Expiry of writes with a TTL (Events, as kube-apiserver's --event-ttl). One row per write that
-- carried a TTL, added in the same statement as the write (see `WRITE` in backends/postgres/src/sql.rs).
-- A later write or delete of the key leaves the row stale: the sweep deletes the key only if its
-- mod revision is still `mod_revision`, and removes the row either way (`EXPIRE` in sql.rs).
CREATE TABLE apiary_expiry (
    mod_revision bigint      PRIMARY KEY,
    key          bytea       NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- The sweep takes the earliest due rows.
CREATE INDEX apiary_expiry_expires_at ON apiary_expiry (expires_at);

ALTER TABLE apiary_expiry SET (autovacuum_vacuum_scale_factor = 0.05);

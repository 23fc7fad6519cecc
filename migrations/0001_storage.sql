-- Apiary's storage schema on PostgreSQL: an MVCC key/value store modelled on etcd.
-- See backends/postgres/README.md for how writes, reads, watches and compaction use it.

-- Named counters. `revision` is the store's current revision: every write transaction locks this
-- row first, so writers commit one after another and revisions become visible in commit order.
-- `compacted` is the compacted revision (history at and below it is gone); `purged` is how far the
-- superseded rows at or below `compacted` have been deleted.
CREATE TABLE apiary_meta (
    name  text   PRIMARY KEY,
    value bigint NOT NULL
) WITH (fillfactor = 50);

-- A fresh store starts at revision 1 (as etcd does), so 0 keeps meaning "no revision".
INSERT INTO apiary_meta (name, value) VALUES ('revision', 1), ('compacted', 0), ('purged', 0);

-- Every version of every key after the compacted revision (plus the current version of each live
-- key), one row per revision: the history for lists at older revisions and the log watches replay.
-- A delete is a row with `deleted` set and no value; `prev_revision` names the version a row
-- replaced (NULL for a create).
CREATE TABLE apiary_log (
    revision        bigint  PRIMARY KEY,
    key             bytea   NOT NULL,
    value           bytea,
    create_revision bigint  NOT NULL,
    prev_revision   bigint,
    deleted         boolean NOT NULL
);

-- Lists at an older revision: each key's latest version at or below the revision, by key range.
CREATE INDEX apiary_log_key_revision ON apiary_log (key, revision DESC);

-- The live keys: where each one's current version is in the log. Byte-wise ordered (bytea), so a
-- prefix is an index range.
CREATE TABLE apiary_kv (
    key             bytea  PRIMARY KEY,
    create_revision bigint NOT NULL,
    mod_revision    bigint NOT NULL
) WITH (fillfactor = 80);

-- Applies a group of writes in one transaction (group commit) and returns one row per write, in
-- order: `o_status` 0 written, 1 the key exists (create), 2 the key is missing, 3 the mod revision
-- differs from the expected one (`o_mod` is the actual one). Ops: 1 create, 2 update (expected mod
-- revision required), 3 delete (expected mod revision optional). Successful writes get consecutive
-- revisions; a delete returns the deleted version (`o_value`, `o_create`, `o_mod`). The new
-- revision is announced on channel `apiary_events` when the transaction commits.
CREATE FUNCTION apiary_write(p_ops smallint[], p_keys bytea[], p_values bytea[], p_expected bigint[])
RETURNS TABLE (o_index integer, o_status smallint, o_revision bigint, o_create bigint, o_mod bigint,
               o_value bytea)
LANGUAGE plpgsql AS $fn$
DECLARE
    rev        bigint;
    first_rev  bigint;
    cur_create bigint;
    cur_mod    bigint;
BEGIN
    -- The write lock of the store: held until commit, so the next writer reads this revision
    -- only after this transaction is visible.
    SELECT m.value INTO rev FROM apiary_meta m WHERE m.name = 'revision' FOR UPDATE;
    first_rev := rev;
    FOR i IN 1 .. coalesce(array_length(p_ops, 1), 0) LOOP
        o_index := i;
        o_status := 0;
        o_revision := NULL;
        o_create := NULL;
        o_mod := NULL;
        o_value := NULL;
        IF p_ops[i] = 1 THEN
            INSERT INTO apiary_kv (key, create_revision, mod_revision)
                VALUES (p_keys[i], rev + 1, rev + 1)
                ON CONFLICT (key) DO NOTHING;
            IF FOUND THEN
                rev := rev + 1;
                INSERT INTO apiary_log (revision, key, value, create_revision, prev_revision, deleted)
                    VALUES (rev, p_keys[i], p_values[i], rev, NULL, false);
                o_revision := rev;
            ELSE
                o_status := 1;
            END IF;
        ELSE
            IF p_ops[i] = 2 THEN
                UPDATE apiary_kv k SET mod_revision = rev + 1
                    WHERE k.key = p_keys[i] AND k.mod_revision = p_expected[i]
                    RETURNING k.create_revision, p_expected[i] INTO cur_create, cur_mod;
            ELSE
                DELETE FROM apiary_kv k
                    WHERE k.key = p_keys[i]
                      AND (p_expected[i] IS NULL OR k.mod_revision = p_expected[i])
                    RETURNING k.create_revision, k.mod_revision INTO cur_create, cur_mod;
            END IF;
            IF FOUND THEN
                rev := rev + 1;
                IF p_ops[i] = 2 THEN
                    INSERT INTO apiary_log (revision, key, value, create_revision, prev_revision, deleted)
                        VALUES (rev, p_keys[i], p_values[i], cur_create, cur_mod, false);
                ELSE
                    INSERT INTO apiary_log (revision, key, value, create_revision, prev_revision, deleted)
                        VALUES (rev, p_keys[i], NULL, cur_create, cur_mod, true);
                    SELECT l.value INTO o_value FROM apiary_log l WHERE l.revision = cur_mod;
                    o_create := cur_create;
                    o_mod := cur_mod;
                END IF;
                o_revision := rev;
            ELSE
                SELECT k.mod_revision INTO cur_mod FROM apiary_kv k WHERE k.key = p_keys[i];
                IF FOUND THEN
                    o_status := 3;
                    o_mod := cur_mod;
                ELSE
                    o_status := 2;
                END IF;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF rev > first_rev THEN
        UPDATE apiary_meta m SET value = rev WHERE m.name = 'revision';
        PERFORM pg_notify('apiary_events', rev::text);
    END IF;
END
$fn$;

-- Keep the planner's statistics fresh as the store grows, so key ranges are estimated well.
ALTER TABLE apiary_kv SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE apiary_log SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05);

//! Every SQL statement of the backend, in one place; public for tests and diagnostics (`EXPLAIN`).
//! All run as prepared statements (sqlx caches them per connection), with runtime-checked types.
//!
//! Statements that read over a key range come in two forms ([`Ranged`]): with an upper bound
//! (`key < $2`, the prefix's end) and without one (an empty or all-`0xff` prefix, where every key
//! at or above the lower bound is under the prefix). Both are bound with the same parameters, so
//! the bound is part of the index range in both, not a filter checked row by row.
//!
//! Reads that must agree with the store's revision read `apiary_meta` in the same statement, so
//! they see one snapshot: the revision they report is exactly the one their rows show. The data
//! part is a `LATERAL` subquery with its own `ORDER BY ... LIMIT`; the outer statement has a single
//! row of revisions, and the caller orders the rows it gets (they already are, in practice).
//! Values of other log rows (a live key's current version, an event's previous version) are
//! scalar subqueries, looked up by primary key for the rows returned only.

/// A statement over a key range, with and without the upper bound `$2`.
pub struct Ranged {
    bounded: &'static str,
    unbounded: &'static str,
}

impl Ranged {
    /// The form for a range with (`true`) or without an upper bound.
    pub fn get(&self, bounded: bool) -> &'static str {
        if bounded {
            self.bounded
        } else {
            self.unbounded
        }
    }
}

macro_rules! ranged {
    ($head:expr, $bound:expr, $tail:expr) => {
        Ranged {
            bounded: concat!($head, $bound, $tail),
            unbounded: concat!($head, $tail),
        }
    };
    // Two ranges over the same bounds (a page and a count).
    ($head:expr, $bound:expr, $mid:expr, $bound2:expr, $tail:expr) => {
        Ranged {
            bounded: concat!($head, $bound, $mid, $bound2, $tail),
            unbounded: concat!($head, $mid, $tail),
        }
    };
}

/// The current and the compacted revision, as a one-row subquery `m(cur, cmp)`.
macro_rules! revisions {
    () => {
        "(SELECT (SELECT value FROM apiary_meta WHERE name = 'revision') AS cur, \
                 (SELECT value FROM apiary_meta WHERE name = 'compacted') AS cmp) m "
    };
}

/// One counter of `apiary_meta` by name (`$1`).
pub const META: &str = "SELECT value FROM apiary_meta WHERE name = $1";

/// `$1` key → (current revision, create revision, mod revision, value); the key's columns are NULL
/// when it does not exist.
pub const GET: &str = "\
SELECT m.value, k.create_revision, k.mod_revision, l.value \
FROM apiary_meta m \
LEFT JOIN apiary_kv k ON k.key = $1 \
LEFT JOIN apiary_log l ON l.revision = k.mod_revision \
WHERE m.name = 'revision'";

/// The live keys in `[$1, $2)`, at most `$3` (NULL: all) → (current revision, key, create
/// revision, mod revision, value); one row of NULL key columns when there are none.
pub const LIST_CURRENT: Ranged = ranged!(
    "SELECT m.value, d.key, d.create_revision, d.mod_revision, d.value \
     FROM apiary_meta m \
     LEFT JOIN LATERAL ( \
         SELECT k.key, k.create_revision, k.mod_revision, \
                (SELECT l.value FROM apiary_log l WHERE l.revision = k.mod_revision) AS value \
         FROM apiary_kv k \
         WHERE k.key >= $1 ",
    "AND k.key < $2 ",
    "ORDER BY k.key LIMIT $3 \
     ) d ON true \
     WHERE m.name = 'revision'"
);

/// [`LIST_CURRENT`] with a last column: how many live keys are in `[$1, $2)`, counted once for the
/// statement (an init plan) in its snapshot.
pub const LIST_CURRENT_COUNTED: Ranged = ranged!(
    "SELECT m.value, d.key, d.create_revision, d.mod_revision, d.value, \
            (SELECT count(*) FROM apiary_kv c WHERE c.key >= $1 ",
    "AND c.key < $2 ",
    ") \
     FROM apiary_meta m \
     LEFT JOIN LATERAL ( \
         SELECT k.key, k.create_revision, k.mod_revision, \
                (SELECT l.value FROM apiary_log l WHERE l.revision = k.mod_revision) AS value \
         FROM apiary_kv k \
         WHERE k.key >= $1 ",
    "AND k.key < $2 ",
    "ORDER BY k.key LIMIT $3 \
     ) d ON true \
     WHERE m.name = 'revision'"
);

/// The lateral join of [`LIST_AT`] and [`LIST_AT_COUNTED`], in two parts around the range's
/// upper bound: each key's latest version at or below `$3` in `[$1, $2)`, unless that is a
/// delete, at most `$4`, only when `$3` is above the compacted and at most the current revision.
macro_rules! latest_at_from {
    () => {
        "LEFT JOIN LATERAL ( \
             SELECT s.key, s.create_revision, s.revision, s.value FROM ( \
                 SELECT DISTINCT ON (l.key) l.key, l.create_revision, l.revision, l.value, l.deleted \
                 FROM apiary_log l \
                 WHERE l.key >= $1 "
    };
}

macro_rules! latest_at_to {
    () => {
        "AND l.revision <= $3 AND $3 > m.cmp AND $3 <= m.cur \
                 ORDER BY l.key, l.revision DESC \
             ) s \
             WHERE NOT s.deleted \
             ORDER BY s.key LIMIT $4 \
         ) d ON true"
    };
}

/// The keys in `[$1, $2)` as they were at revision `$3`, at most `$4` (NULL: all) → (current
/// revision, compacted revision, key, create revision, mod revision, value). For each key, its
/// latest version at or below `$3` unless that is a delete. Empty unless `$3` is above the
/// compacted and at most the current revision (the caller reports which).
pub const LIST_AT: Ranged = ranged!(
    concat!(
        "SELECT m.cur, m.cmp, d.key, d.create_revision, d.revision, d.value FROM ",
        revisions!(),
        latest_at_from!()
    ),
    "AND l.key < $2 ",
    latest_at_to!()
);

/// [`LIST_AT`] with a last column: how many keys were live in `[$1, $2)` at revision `$3`.
pub const LIST_AT_COUNTED: Ranged = ranged!(
    concat!(
        "SELECT m.cur, m.cmp, d.key, d.create_revision, d.revision, d.value, \
                (SELECT count(*) FROM ( \
                     SELECT DISTINCT ON (c.key) c.deleted FROM apiary_log c \
                     WHERE c.key >= $1 "
    ),
    "AND c.key < $2 ",
    concat!(
        "AND c.revision <= $3 ORDER BY c.key, c.revision DESC \
                 ) v WHERE NOT v.deleted) \
         FROM ",
        revisions!(),
        latest_at_from!()
    ),
    "AND l.key < $2 ",
    latest_at_to!()
);

/// How many live keys are in `[$1, $2)`.
pub const COUNT: Ranged = ranged!(
    "SELECT count(*) FROM apiary_kv WHERE key >= $1 ",
    "AND key < $2",
    ""
);

/// The log after revision `$3` for keys in `[$1, $2)`, at most `$4` rows, in revision order →
/// (current revision, compacted revision, revision, key, value, create revision, deleted, prev
/// revision, prev value). The watch replay and the tailer read this.
pub const LOG_AFTER: Ranged = ranged!(
    concat!(
        "SELECT m.cur, m.cmp, e.revision, e.key, e.value, e.create_revision, e.deleted, \
                e.prev_revision, e.prev_value FROM ",
        revisions!(),
        "LEFT JOIN LATERAL ( \
             SELECT l.revision, l.key, l.value, l.create_revision, l.deleted, l.prev_revision, \
                    (SELECT p.value FROM apiary_log p WHERE p.revision = l.prev_revision) \
                        AS prev_value \
             FROM apiary_log l \
             WHERE l.revision > $3 AND l.key >= $1 "
    ),
    "AND l.key < $2 ",
    "ORDER BY l.revision LIMIT $4 \
         ) e ON true"
);

/// Applies a group of writes: `$1` ops (1 create, 2 update, 3 delete), `$2` keys, `$3` values,
/// `$4` expected mod revisions (NULL: none), `$5` TTLs in milliseconds (NULL: none). See the
/// function in `migrations/`. Each successful write with a TTL gets its `apiary_expiry` row in the
/// same statement (so the same transaction).
pub const WRITE: &str = "\
WITH w AS MATERIALIZED ( \
    SELECT o_index, o_status, o_revision, o_create, o_mod, o_value \
    FROM apiary_write($1, $2, $3, $4) \
), e AS ( \
    INSERT INTO apiary_expiry (mod_revision, key, expires_at) \
    SELECT w.o_revision, ($2::bytea[])[w.o_index], now() + t.ms * interval '1 millisecond' \
    FROM w JOIN unnest($5::bigint[]) WITH ORDINALITY AS t(ms, i) ON t.i = w.o_index \
    WHERE w.o_status = 0 AND t.ms IS NOT NULL \
) \
SELECT o_index, o_status, o_revision, o_create, o_mod, o_value FROM w ORDER BY o_index";

/// One expiry sweep step: claims up to `$1` due `apiary_expiry` rows (skipping rows another
/// replica's sweep holds), deletes them, and deletes their keys through `apiary_write` only where
/// the mod revision still matches (ordinary deletes: new revisions, `NOTIFY`), all in one
/// transaction → one row per claimed entry (`o_status` 0: deleted; 2 or 3: already gone or
/// rewritten), with the delete's revision.
pub const EXPIRE: &str = "\
WITH due AS ( \
    DELETE FROM apiary_expiry x WHERE x.mod_revision IN ( \
        SELECT d.mod_revision FROM apiary_expiry d WHERE d.expires_at <= now() \
        ORDER BY d.expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
    RETURNING x.key, x.mod_revision \
), batch AS ( \
    SELECT array_agg(3::smallint ORDER BY due.mod_revision) AS ops, \
           array_agg(due.key ORDER BY due.mod_revision) AS keys, \
           array_agg(NULL::bytea ORDER BY due.mod_revision) AS vals, \
           array_agg(due.mod_revision ORDER BY due.mod_revision) AS expected \
    FROM due HAVING count(*) > 0 \
) \
SELECT w.o_status, w.o_revision \
FROM batch b CROSS JOIN LATERAL apiary_write(b.ops, b.keys, b.vals, b.expected) w";

/// Raises the compacted revision to `$1` unless that exceeds the current revision → the compacted
/// revision afterwards; no row when `$1` is in the future.
pub const RAISE_COMPACTED: &str = "\
UPDATE apiary_meta c SET value = greatest(c.value, $1) \
WHERE c.name = 'compacted' \
  AND $1 <= (SELECT r.value FROM apiary_meta r WHERE r.name = 'revision') \
RETURNING c.value";

/// One compaction step: takes the next `$3` log rows after `$1` up to `$2`, deletes the versions
/// they replaced and the delete markers among them, and records how far it got → (new `purged`
/// revision, rows deleted). What stays at or below `$2` is the latest version of each live key and
/// the versions that later revisions replaced (their previous values).
pub const PURGE_STEP: &str = "\
WITH batch AS MATERIALIZED ( \
    SELECT l.revision, l.prev_revision, l.deleted FROM apiary_log l \
    WHERE l.revision > $1 AND l.revision <= $2 \
    ORDER BY l.revision LIMIT $3 \
), doomed AS ( \
    SELECT b.prev_revision AS revision FROM batch b WHERE b.prev_revision IS NOT NULL \
    UNION ALL \
    SELECT b.revision FROM batch b WHERE b.deleted \
), gone AS ( \
    DELETE FROM apiary_log l USING doomed d WHERE l.revision = d.revision RETURNING 1 \
), done AS ( \
    UPDATE apiary_meta SET value = greatest(value, \
        CASE WHEN (SELECT count(*) FROM batch) < $3 THEN $2 ELSE (SELECT max(revision) FROM batch) END) \
    WHERE name = 'purged' RETURNING value \
) \
SELECT (SELECT value FROM done), (SELECT count(*) FROM gone)";

/// For [`PostgresStore::verify`](crate::PostgresStore::verify): live keys in `[$1, $2)` whose
/// `apiary_kv` row disagrees with the log (no such version, another key, a delete, another create
/// revision, or a newer version exists) → key.
pub const VERIFY_KV: Ranged = ranged!(
    "SELECT k.key FROM apiary_kv k LEFT JOIN apiary_log l ON l.revision = k.mod_revision \
     WHERE k.key >= $1 ",
    "AND k.key < $2 ",
    "AND (l.revision IS NULL OR l.key <> k.key OR l.deleted \
          OR l.create_revision <> k.create_revision \
          OR EXISTS (SELECT 1 FROM apiary_log n WHERE n.key = k.key AND n.revision > k.mod_revision) \
          OR k.mod_revision > (SELECT value FROM apiary_meta WHERE name = 'revision')) \
     LIMIT 1"
);

/// For `verify`: keys in `[$1, $2)` whose latest log version is not a delete but which are not
/// live → key.
pub const VERIFY_LOG: Ranged = ranged!(
    "SELECT s.key FROM ( \
         SELECT DISTINCT ON (l.key) l.key, l.deleted FROM apiary_log l WHERE l.key >= $1 ",
    "AND l.key < $2 ",
    "ORDER BY l.key, l.revision DESC \
     ) s LEFT JOIN apiary_kv k ON k.key = s.key \
     WHERE NOT s.deleted AND k.key IS NULL LIMIT 1"
);

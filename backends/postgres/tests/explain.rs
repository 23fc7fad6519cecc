//! The statements of the store use indexes on a big table: with 100 000 keys and 20 000 older
//! versions (filled with one `INSERT ... SELECT generate_series`), `EXPLAIN (FORMAT JSON)` of get,
//! a prefix list with a limit (current and at an older revision), count, the watch catch-up (with
//! and without a prefix) and a compaction step shows no sequential scan of `apiary_log` or
//! `apiary_kv` — neither with the parameters' values (custom plans) nor without (generic plans,
//! which PostgreSQL may switch a prepared statement to).

use apiary_postgres::sql;
use apiary_postgres::testing::TempPostgres;
use apiary_postgres::{open, PostgresOptions};
use serde_json::Value;
use sqlx::Row;

const FILL: &str = "
INSERT INTO apiary_log (revision, key, value, create_revision, prev_revision, deleted)
SELECT g + 1, convert_to('/registry/pods/ns' || (g % 100) || '/pod-' || g, 'UTF8'),
       convert_to(repeat('x', 200), 'UTF8'), g + 1, NULL, false
FROM generate_series(1, 100000) g;
INSERT INTO apiary_kv (key, create_revision, mod_revision)
SELECT key, revision, revision FROM apiary_log;
INSERT INTO apiary_log (revision, key, value, create_revision, prev_revision, deleted)
SELECT 100001 + g, convert_to('/registry/pods/ns' || (g % 100) || '/pod-' || g, 'UTF8'),
       convert_to(repeat('y', 200), 'UTF8'), g + 1, g + 1, false
FROM generate_series(1, 20000) g;
UPDATE apiary_kv k SET mod_revision = l.revision FROM apiary_log l
WHERE l.revision > 100001 AND l.key = k.key;
UPDATE apiary_meta SET value = 120001 WHERE name = 'revision';
";

fn hex(bytes: &[u8]) -> String {
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("'\\x{digits}'::bytea")
}

/// (what, parameter types, statement, parameter values as SQL literals)
fn statements() -> Vec<(&'static str, &'static str, &'static str, String)> {
    let prefix = b"/registry/pods/ns7/";
    let (lo, hi) = (hex(prefix), hex(b"/registry/pods/ns70"));
    let empty = hex(b"");
    let key = hex(b"/registry/pods/ns7/pod-507");
    vec![
        ("get", "bytea", sql::GET, key),
        (
            "list a prefix, limit 500",
            "bytea, bytea, bigint",
            sql::LIST_CURRENT.get(true),
            format!("{lo}, {hi}, 501"),
        ),
        (
            "list a prefix at an older revision, limit 500",
            "bytea, bytea, bigint, bigint",
            sql::LIST_AT.get(true),
            format!("{lo}, {hi}, 110000, 501"),
        ),
        (
            "list everything, limit 500",
            "bytea, bytea, bigint",
            sql::LIST_CURRENT.get(false),
            format!("{empty}, NULL, 501"),
        ),
        (
            "count a prefix",
            "bytea, bytea",
            sql::COUNT.get(true),
            format!("{lo}, {hi}"),
        ),
        (
            "watch catch-up of a prefix, recent",
            "bytea, bytea, bigint, bigint",
            sql::LOG_AFTER.get(true),
            format!("{lo}, {hi}, 119000, 512"),
        ),
        (
            "watch catch-up of a prefix, from long ago",
            "bytea, bytea, bigint, bigint",
            sql::LOG_AFTER.get(true),
            format!("{lo}, {hi}, 1000, 512"),
        ),
        (
            "the tailer",
            "bytea, bytea, bigint, bigint",
            sql::LOG_AFTER.get(false),
            format!("{empty}, NULL, 119900, 512"),
        ),
        (
            "a compaction step",
            "bigint, bigint, bigint",
            sql::PURGE_STEP,
            "0, 60000, 1000".into(),
        ),
    ]
}

/// Every (node type, relation or index) in a JSON plan.
fn nodes(plan: &Value, out: &mut Vec<(String, String)>) {
    let field = |name: &str| {
        plan.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let relation = field("Relation Name");
    out.push((
        field("Node Type"),
        if relation.is_empty() {
            field("Index Name")
        } else {
            relation
        },
    ));
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for child in children {
            nodes(child, out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_use_indexes() {
    let url = TempPostgres::shared().create_database("explain");
    // Opening applies the schema; the plans are those of the store's own sessions.
    let store = open(PostgresOptions::new(&url)).await.expect("open");
    let mut conn = store.pool().acquire().await.expect("connect");
    sqlx::raw_sql(FILL).execute(&mut *conn).await.expect("fill");
    // The settled state autovacuum keeps a live table in: statistics and a visibility map. With
    // statistics only, the plan depended on whether autovacuum had processed the UPDATE's dead
    // rows yet (an index-only count then looked dearer than a sequential scan), so it varied.
    sqlx::raw_sql("VACUUM ANALYZE")
        .execute(&mut *conn)
        .await
        .expect("vacuum");

    let mut failures = Vec::new();
    for (i, (what, types, stmt, args)) in statements().into_iter().enumerate() {
        sqlx::raw_sql(&format!("PREPARE q{i}({types}) AS {stmt}"))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("prepare {what}: {e}"));
        for mode in ["force_custom_plan", "force_generic_plan"] {
            sqlx::raw_sql(&format!("SET plan_cache_mode = {mode}"))
                .execute(&mut *conn)
                .await
                .expect("plan_cache_mode");
            let row = sqlx::query(&format!("EXPLAIN (FORMAT JSON) EXECUTE q{i}({args})"))
                .fetch_one(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("explain {what}: {e}"));
            let text: String = row.try_get_unchecked(0).expect("plan");
            let json: Value = serde_json::from_str(&text).expect("JSON plan");
            let mut found = Vec::new();
            nodes(&json[0]["Plan"], &mut found);
            let seq: Vec<_> = found
                .iter()
                .filter(|(node, rel)| {
                    node == "Seq Scan" && rel.starts_with("apiary_") && rel != "apiary_meta"
                })
                .collect();
            let indexed = found.iter().any(|(node, rel)| {
                node.contains("Index")
                    && (rel.starts_with("apiary_log") || rel.starts_with("apiary_kv"))
            });
            eprintln!("{what} ({mode}): {found:?}");
            if !seq.is_empty() || !indexed {
                failures.push(format!("{what} ({mode}): {found:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "statements without index use:\n{}",
        failures.join("\n")
    );
}

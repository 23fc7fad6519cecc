//! Two Apiary replicas over one PostgreSQL database: a write through one is shown at once by a
//! consistent read from the other's watch cache (its storage watch reports progress through the
//! database's current revision after a progress request).

use std::sync::Arc;
use std::time::Duration;

use apiary_postgres::testing::TempPostgres;
use apiary_postgres::PostgresOptions;
use apiary_storage::Storage;
use serde_json::{json, Value};

use super::wait_ready;
use super::{configmap, configmaps, rv, Fixture};
use crate::registry::options::{ListOptions, WriteOptions};

async fn replica(url: &str) -> Arc<dyn Storage> {
    apiary_postgres::open(PostgresOptions {
        max_connections: 8,
        compaction_interval: Duration::ZERO,
        ..PostgresOptions::new(url)
    })
    .await
    .expect("open postgres")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_replica_is_read_at_once_through_the_other() {
    let url = TempPostgres::shared().create_database("watch_cache_replicas");
    let a = Fixture {
        storage: replica(&url).await,
    }
    .store(configmaps());
    let b = Fixture {
        storage: replica(&url).await,
    }
    .store(configmaps());
    wait_ready(&a).await;
    wait_ready(&b).await;
    let w = WriteOptions::default();
    for i in 0..200 {
        let name = format!("cm{}", i % 25);
        let written: Value = if i < 25 {
            a.create(Some("ns"), configmap(&name, json!({})), &w)
                .await
                .unwrap()
        } else {
            let mut obj = a.get(Some("ns"), &name).await.unwrap();
            obj["data"] = json!({"k": format!("write {i}")});
            a.update(Some("ns"), &name, obj, &w).await.unwrap().0
        };
        let got = b.get(Some("ns"), &name).await.unwrap();
        assert_eq!(rv(&got), rv(&written), "get through B after write {i}");
        assert_eq!(
            got["data"], written["data"],
            "get through B after write {i}"
        );

        let list = b.list(Some("ns"), &ListOptions::default()).await.unwrap();
        let listed = list
            .items
            .iter()
            .find(|obj| obj["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} listed through B after write {i}"));
        assert_eq!(listed, &got, "list through B after write {i}");
        let at: i64 = list.resource_version.parse().unwrap();
        assert!(at >= rv(&written), "list at {at} after write {i}");
    }
    assert!(b.cache.is_ready(), "B's cache served throughout");
    assert_eq!(
        b.cache.storage_fallbacks(),
        0,
        "no consistent read through B had to go to storage"
    );
}

//! The storage conformance suite on one throwaway PostgreSQL cluster shared by every case (each
//! case opens its own store on the same database under its own random key prefix), with the
//! store's invariant check after every case.

use std::sync::OnceLock;
use std::time::Duration;

use apiary_postgres::testing::TempPostgres;
use apiary_postgres::{open, PostgresOptions};
use apiary_storage::testkit::TestStore;

/// The database every case uses, created once per test binary.
fn url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| TempPostgres::shared().create_database("conformance"))
}

async fn store() -> TestStore {
    let opts = PostgresOptions {
        max_connections: 8,
        connect_timeout: Duration::from_secs(10),
        compaction_interval: Duration::ZERO,
        poll_interval: Duration::from_millis(200),
        // Small, so the slow-watcher case really lags (it makes ~180 tailer messages), yet roomy
        // enough for the cases that write a few times before reading while other cases run.
        watch_buffer: 64,
        ..PostgresOptions::new(url())
    };
    let store = open(opts).await.expect("open postgres");
    let checked = store.clone();
    TestStore::new(store).check_with(move |ctx| {
        let store = checked.clone();
        async move {
            store
                .verify(&ctx.prefix)
                .await
                .expect("postgres invariants")
        }
    })
}

apiary_storage::conformance_tests!(store().await);

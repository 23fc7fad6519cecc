//! The storage conformance suite on a RocksDB store in a temporary directory, with the store's own
//! invariant check after every case.

use std::time::Duration;

use apiary_rocksdb::{open, RocksDbOptions};
use apiary_storage::testkit::TestStore;

async fn store() -> TestStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let opts = RocksDbOptions {
        compaction_interval: Duration::ZERO,
        // Small, so the slow-watcher case really lags.
        watch_buffer: 64,
        ..RocksDbOptions::new(dir.path())
    };
    let store = open(opts).await.expect("open rocksdb");
    let checked = store.clone();
    TestStore::new(store).keep(dir).check_with(move |ctx| {
        let store = checked.clone();
        async move { store.verify(&ctx.prefix).await.expect("rocksdb invariants") }
    })
}

apiary_storage::conformance_tests!(store().await);

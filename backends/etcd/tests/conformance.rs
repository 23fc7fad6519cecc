//! The storage conformance suite on the test binary's shared etcd member: every case under its
//! own random prefix (the suite's), empty strip and prefix, no compaction loop, and a small watch
//! buffer so the slow-watcher case really lags.

use std::time::Duration;

use apiary_etcd::testing::TempEtcd;
use apiary_etcd::{open, EtcdOptions};
use apiary_storage::testkit::TestStore;

async fn store() -> TestStore {
    let opts = EtcdOptions {
        compaction_interval: Duration::ZERO,
        watch_buffer: 64,
        ..EtcdOptions::new(TempEtcd::shared().endpoints())
    };
    TestStore::new(open(opts).await.expect("open etcd"))
}

apiary_storage::conformance_tests!(store().await);

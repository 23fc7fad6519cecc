//! The conformance suite against the in-memory reference store, and proof that the suite catches
//! broken stores: each mutant below breaks one rule and must fail the case that checks it.

use apiary_storage::testkit::memory::{MemoryStorage, Mutant};
use apiary_storage::testkit::{run_case, TestStore};

/// The buffer that makes the slow-watcher case overflow it.
const SMALL_WATCH_BUFFER: usize = 256;

fn store(mutant: Mutant) -> TestStore {
    TestStore::new(MemoryStorage::with(mutant, SMALL_WATCH_BUFFER))
}

apiary_storage::conformance_tests!(TestStore::new(MemoryStorage::new()));

#[test]
#[should_panic]
fn suite_catches_lost_updates() {
    run_case("concurrent_compare_and_swap", || async {
        store(Mutant::LostUpdate)
    });
}

#[test]
#[should_panic(expected = "silent gap")]
fn suite_catches_silent_watch_gaps() {
    run_case("watch_slow_watcher", || async { store(Mutant::SilentLag) });
}

#[test]
#[should_panic]
fn suite_catches_lists_ignoring_the_revision() {
    run_case("list_at_older_revision", || async {
        store(Mutant::ListIgnoresRevision)
    });
}

#[test]
#[should_panic(expected = "come before its progress")]
fn suite_catches_progress_before_events() {
    run_case("watch_progress_after_events", || async {
        store(Mutant::ProgressBeforeEvents)
    });
}

#[test]
#[should_panic(expected = "above the current revision")]
fn suite_catches_progress_ahead_of_the_store() {
    run_case("watch_progress_bounded", || async {
        store(Mutant::ProgressAhead)
    });
}

#[test]
#[should_panic(expected = "did not expire")]
fn suite_catches_keys_that_never_expire() {
    run_case("expiry_deletes_key", || async { store(Mutant::NoExpiry) });
}

#[test]
#[should_panic(expected = "only the explicit delete")]
fn suite_catches_updates_keeping_the_old_expiry() {
    run_case("expiry_follows_the_latest_write", || async {
        store(Mutant::ExpiryKeptOnUpdate)
    });
}

#[test]
fn run_all_runs_every_case() {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            apiary_storage::testkit::run_all(|| async { store(Mutant::None) }).await;
        });
}

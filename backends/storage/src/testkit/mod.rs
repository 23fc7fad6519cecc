//! The conformance suite: one set of behaviour tests every backend runs (feature `testkit`), and
//! the in-memory reference store ([`memory::MemoryStorage`]) that passes it, for tests of code above
//! the storage trait.
//!
//! # Using it from a backend
//!
//! In the backend's `tests/conformance.rs`:
//!
//! ```ignore
//! async fn store() -> apiary_storage::testkit::TestStore {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = my_backend::open(dir.path()).await.unwrap();
//!     apiary_storage::testkit::TestStore::new(store).keep(dir)
//! }
//! apiary_storage::conformance_tests!(store().await);
//! ```
//!
//! [`conformance_tests!`](crate::conformance_tests) generates one `#[test]` per case, so each case
//! passes or fails on its own. [`run_all`] runs every case in sequence instead, for harnesses that
//! select backends at run time.
//!
//! # Rules every case follows
//!
//! * **A fresh random prefix** (`/conformance/<random>/`) per case, so backends that share one store
//!   among tests (PostgreSQL, etcd) can run the suite in parallel. No case assumes an empty store or
//!   a particular revision number; only the relative order of revisions is checked.
//! * **Time-bound**: each case runs under [`CASE_TIMEOUT`] and each single call under
//!   [`OP_TIMEOUT`], so a broken backend fails fast instead of hanging.
//! * **Compaction is exclusive**: cases that compact the store hold a process-wide write lock, the
//!   others a read lock, so a compaction never removes history another running case relies on.
//! * **Backend invariants**: a [`TestStore`] may carry a check run after every case
//!   ([`TestStore::check_with`]), like the invariant callback of Kubernetes' `store_tests.go`.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;

use crate::{Error, Event, Result, Revision, Storage, WatchStream};

mod crud;
mod expiry;
mod list;
pub mod memory;
mod watch;

/// The longest a whole case may run.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest a single storage call (or waiting for one watch event) may take.
pub const OP_TIMEOUT: Duration = Duration::from_secs(20);

/// A check of backend-specific invariants, run after every case with the case's context.
pub type Check = Arc<dyn Fn(Ctx) -> BoxFuture<'static, ()> + Send + Sync>;

/// A store under test, with what must live as long as it (a temporary directory) and an optional
/// invariant check.
pub struct TestStore {
    store: Arc<dyn Storage>,
    check: Option<Check>,
    keep: Vec<Box<dyn Any + Send>>,
}

impl TestStore {
    pub fn new(store: Arc<dyn Storage>) -> Self {
        Self {
            store,
            check: None,
            keep: Vec::new(),
        }
    }

    /// Keeps `guard` alive until the case ends (after the store is dropped).
    pub fn keep(mut self, guard: impl Any + Send) -> Self {
        self.keep.push(Box::new(guard));
        self
    }

    /// Runs `check` after every case; it panics to fail the case.
    pub fn check_with<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.check = Some(Arc::new(move |ctx| Box::pin(check(ctx))));
        self
    }
}

/// What a case works with: the store and the case's own key prefix.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Storage>,
    /// `/conformance/<random>/`; every key a case writes starts with it.
    pub prefix: Vec<u8>,
}

impl Ctx {
    /// The prefix followed by `suffix`.
    pub fn key(&self, suffix: impl AsRef<[u8]>) -> Vec<u8> {
        let mut key = self.prefix.clone();
        key.extend_from_slice(suffix.as_ref());
        key
    }
}

/// One conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    /// Whether the case compacts the store (and so must run alone).
    pub compacts: bool,
    pub run: fn(Ctx) -> BoxFuture<'static, ()>,
}

macro_rules! cases {
    ($($module:ident :: $name:ident $(($compacts:tt))?),* $(,)?) => {
        /// Every case of the suite, in a stable order.
        pub fn cases() -> Vec<Case> {
            vec![$(Case {
                name: stringify!($name),
                compacts: cases!(@compacts $($compacts)?),
                run: |ctx| Box::pin($module::$name(ctx)),
            }),*]
        }
    };
    (@compacts) => { false };
    (@compacts compacts) => { true };
}

cases! {
    crud::create_and_get,
    crud::create_existing_fails,
    crud::update_preconditions,
    crud::delete_preconditions,
    crud::revisions_increase,
    crud::count_keys,
    crud::unusual_keys,
    crud::concurrent_creates_one_winner,
    crud::concurrent_compare_and_swap,
    list::list_current,
    list::list_at_older_revision,
    list::list_future_revision,
    list::list_pagination,
    list::list_pagination_with_writers,
    list::list_remaining_count,
    list::empty_prefix,
    list::compaction_keeps_current_values(compacts),
    list::list_compacted_revision(compacts),
    watch::watch_replays_history,
    watch::watch_from_now,
    watch::watch_event_fields,
    watch::watch_prefix_isolation,
    watch::watch_with_concurrent_writers,
    watch::watch_slow_watcher,
    watch::watch_compacted_revision(compacts),
    watch::watch_progress_on_request,
    watch::watch_progress_after_events,
    watch::watch_progress_bounded,
    watch::watch_hides_progress,
    expiry::expiry_deletes_key,
    expiry::expiry_follows_the_latest_write,
    expiry::expiry_sweeps_many_keys,
}

/// Runs one case by name on a fresh store from `make`: on its own multi-threaded runtime, under a
/// fresh prefix and [`CASE_TIMEOUT`], then the store's invariant check. Panics when the case fails.
pub fn run_case<F, Fut>(name: &str, make: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = TestStore>,
{
    let case = cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no conformance case named {name}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("build a tokio runtime");
    runtime.block_on(async {
        let store = make().await;
        run_one(&case, &store).await;
        // Fields drop in order: the store before what it needs (a temporary directory).
        drop(store);
    });
    runtime.shutdown_timeout(Duration::from_secs(10));
}

/// Runs every case in sequence, each on a fresh store from `make`. Panics at the first failure,
/// naming the case.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = TestStore>,
{
    for case in cases() {
        let store = make().await;
        run_one(&case, &store).await;
    }
}

/// The names [`conformance_tests!`](crate::conformance_tests) must generate, to catch drift.
pub fn case_names() -> Vec<&'static str> {
    cases().iter().map(|c| c.name).collect()
}

static COMPACTION: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn run_one(case: &Case, store: &TestStore) {
    let (_shared, _exclusive);
    if case.compacts {
        _exclusive = COMPACTION.write().await;
    } else {
        _shared = COMPACTION.read().await;
    }
    let ctx = Ctx {
        store: store.store.clone(),
        prefix: random_prefix(),
    };
    if tokio::time::timeout(CASE_TIMEOUT, (case.run)(ctx.clone()))
        .await
        .is_err()
    {
        panic!(
            "conformance case {} did not finish within {CASE_TIMEOUT:?}",
            case.name
        );
    }
    if let Some(check) = &store.check {
        if tokio::time::timeout(CASE_TIMEOUT, check(ctx))
            .await
            .is_err()
        {
            panic!(
                "invariant check after {} did not finish within {CASE_TIMEOUT:?}",
                case.name
            );
        }
    }
}

/// `/conformance/<16 hex digits>/`, unique per call within a process and random across processes.
pub fn random_prefix() -> Vec<u8> {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    format!("/conformance/{:016x}/", hasher.finish()).into_bytes()
}

/// Awaits a storage call under [`OP_TIMEOUT`], panicking with `what` on timeout.
pub(crate) async fn op<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: no answer within {OP_TIMEOUT:?}"),
    }
}

/// The next item of a watch, under [`OP_TIMEOUT`]; `None` when the stream ended.
pub(crate) async fn next_item(stream: &mut WatchStream, what: &str) -> Option<Result<Event>> {
    op(what, stream.next()).await
}

/// The next event of a watch, which must be there and not an error.
pub(crate) async fn next_event(stream: &mut WatchStream, what: &str) -> Event {
    match next_item(stream, what).await {
        Some(Ok(event)) => event,
        Some(Err(err)) => panic!("{what}: watch failed: {err}"),
        None => panic!("{what}: watch ended"),
    }
}

/// Asserts that `result` is `Err(Compacted)`.
pub(crate) fn assert_compacted<T: std::fmt::Debug>(result: Result<T>, what: &str) {
    match result {
        Err(Error::Compacted { .. }) => {}
        other => panic!("{what}: expected Compacted, got {other:?}"),
    }
}

/// The revision after which nothing this case did is visible: the current one.
pub(crate) async fn current(ctx: &Ctx) -> Revision {
    op("current_revision", ctx.store.current_revision())
        .await
        .expect("current_revision")
}

/// Generates one `#[test]` per conformance case, each on a fresh store built by `$make` (an
/// expression of type [`TestStore`](crate::testkit::TestStore), evaluated inside the test's tokio
/// runtime, so it may `.await`).
///
/// ```ignore
/// apiary_storage::conformance_tests!(my_store().await);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            create_and_get,
            create_existing_fails,
            update_preconditions,
            delete_preconditions,
            revisions_increase,
            count_keys,
            unusual_keys,
            concurrent_creates_one_winner,
            concurrent_compare_and_swap,
            list_current,
            list_at_older_revision,
            list_future_revision,
            list_pagination,
            list_pagination_with_writers,
            list_remaining_count,
            empty_prefix,
            compaction_keeps_current_values,
            list_compacted_revision,
            watch_replays_history,
            watch_from_now,
            watch_event_fields,
            watch_prefix_isolation,
            watch_with_concurrent_writers,
            watch_slow_watcher,
            watch_compacted_revision,
            watch_progress_on_request,
            watch_progress_after_events,
            watch_progress_bounded,
            watch_hides_progress,
            expiry_deletes_key,
            expiry_follows_the_latest_write,
            expiry_sweeps_many_keys,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::testkit::run_case(stringify!($case), || async { $make });
            }
        )*

        #[test]
        fn conformance_suite_is_complete() {
            assert_eq!(vec![$(stringify!($case)),*], $crate::testkit::case_names());
        }
    };
}

//! Single-flight of a storage round trip whose answer must be as new as the request that wants
//! it: the storage's current revision for a consistent read, a progress request.
//!
//! A request joins only a call that started after it arrived; an answer read before the request
//! arrived could miss a write that completed before it (the plan's consistent-read rule). A
//! request that finds an older call in flight waits for it to end, then starts the next call or
//! joins the one another request started meanwhile: at most two round trips.

use std::sync::{Mutex, MutexGuard};

use futures::future::{BoxFuture, FutureExt, Shared};

/// One call's answer, shared by the requests that joined it.
type Call<T> = Shared<BoxFuture<'static, T>>;

/// One call at a time of a storage round trip answering `T`, shared by the requests it serves.
pub(super) struct Flight<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    /// How many calls started; a call's number is this count just after it started.
    started: u64,
    /// The latest call: its number and its shared answer (complete once it ended).
    latest: Option<(u64, Call<T>)>,
}

/// What a request does with the latest call.
enum Step<T> {
    /// It started after the request arrived: its answer is the request's.
    Join(Call<T>),
    /// It started before and is still running: wait for it to end, then look again.
    Outlive(Call<T>),
}

impl<T: Clone + Send + Sync + 'static> Flight<T> {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                started: 0,
                latest: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The answer of a call of `start` that started after this request arrived: one another
    /// request started, or one this request starts. The lock is never held across an await;
    /// a call whose requests all went away is driven by the next request that finds it.
    pub async fn run(&self, start: impl Fn() -> BoxFuture<'static, T>) -> T {
        let arrived = self.lock().started;
        loop {
            let step = {
                let mut state = self.lock();
                match state.latest.clone() {
                    Some((number, call)) if number > arrived => Step::Join(call),
                    Some((_, call)) if call.peek().is_none() => Step::Outlive(call),
                    _ => {
                        state.started += 1;
                        let number = state.started;
                        let call = start().shared();
                        state.latest = Some((number, call.clone()));
                        Step::Join(call)
                    }
                }
            };
            match step {
                Step::Join(call) => return call.await,
                Step::Outlive(call) => {
                    let _ = call.await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use futures::future::{join_all, BoxFuture};
    use futures::FutureExt;

    use super::Flight;

    /// Calls that answer their own number (1, 2, ...) 50 ms after they started.
    fn numbered(calls: &Arc<AtomicU64>) -> impl Fn() -> BoxFuture<'static, u64> {
        let calls = calls.clone();
        move || {
            let number = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                number
            }
            .boxed()
        }
    }

    #[tokio::test]
    async fn requests_join_only_calls_that_started_after_they_arrived() {
        let flight = Arc::new(Flight::<u64>::new());
        let calls = Arc::new(AtomicU64::new(0));
        let first = tokio::spawn({
            let flight = flight.clone();
            let start = numbered(&calls);
            async move { flight.run(start).await }
        });
        // The first request starts call 1 and waits for it.
        for _ in 0..100 {
            if calls.load(Ordering::SeqCst) > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // Ten requests arrive while call 1 runs: none takes its answer; they share call 2.
        let later = (0..10).map(|_| flight.run(numbered(&calls)));
        assert_eq!(join_all(later).await, vec![2; 10]);
        assert_eq!(first.await.unwrap(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // With nothing in flight, a request starts a call of its own.
        assert_eq!(flight.run(numbered(&calls)).await, 3);
    }
}

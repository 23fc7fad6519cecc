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

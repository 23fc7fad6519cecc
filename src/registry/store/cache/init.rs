//! The watch initialization signal (upstream's `utilflowcontrol.InitializationSignal`): priority
//! and fairness holds a watch's seats until its initial events are sent, and the watcher says
//! when that is. The filter puts a [`WatchInitSignal`] in the request's extensions; the watch
//! handler hands it to the store's watch; the watcher fires it after its synthetic ADDED events
//! (at once when it sends none). Dropped unfired (the watch failed or ended), it releases too.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// The sending half, shared by its clones; the first [`signal`](Self::signal) fires it.
#[derive(Debug, Clone)]
pub struct WatchInitSignal(Arc<Mutex<Option<oneshot::Sender<()>>>>);

impl WatchInitSignal {
    /// A signal and the receiver that completes when it fires or every clone is dropped.
    pub fn new() -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (Self(Arc::new(Mutex::new(Some(tx)))), rx)
    }

    /// Says the watch's initial events were sent (later calls do nothing).
    pub fn signal(&self) {
        let sender = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(sender) = sender {
            let _ = sender.send(());
        }
    }
}

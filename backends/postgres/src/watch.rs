//! Watches: one `LISTEN` connection and one log tailer per store, fanned out in-process.
//!
//! * The **listener** task holds `LISTEN apiary_events` and raises the store's *committed* revision
//!   to each notification's payload (the revision a write transaction committed). When its
//!   connection is lost it reconnects and wakes the tailer, since notifications sent meanwhile are
//!   gone.
//! * The **tailer** task wakes on every change of the committed revision (this replica's own writes
//!   raise it too) and every `poll_interval`, reads the log after its position in pages, and
//!   broadcasts each page as a [`Msg::Batch`]: every change in `(after, upto]`. Revisions become
//!   visible in commit order, so reading `revision > position` never skips a later-committing
//!   smaller revision. With nobody watching it does not read: it moves its position to the
//!   committed revision.
//! * A **watch** subscribes to the broadcast first, then replays the log after its start revision
//!   from the database (in pages, each one statement that also checks the compacted revision),
//!   up to a snapshot taken after subscribing. From then on it takes the broadcast's batches: a
//!   batch starting beyond what the watch has seen is a gap (only compaction makes one) and ends
//!   the watch with `Compacted`; a watcher more than `watch_buffer` messages behind ends with
//!   `WatchLagged`; a tailer that cannot read the database ends every watch with its error
//!   (`Unavailable`).
//! * **Progress**: a progress stream yields `Progress(seen)` after each batch. A progress request
//!   wakes the tailer, which reads the log through the database's current revision (writes of
//!   every replica included), broadcasts what it found, then a [`Msg::Progress`]; each stream
//!   answers it with its position once it has taken the batches before it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use apiary_storage::{
    prefix_end, Error, Event, EventKind, ProgressStream, Result, Revision, WatchItem,
};
use bytes::Bytes;
use sqlx::postgres::{PgListener, PgPool, PgRow};
use sqlx::Row;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::watch;

use crate::sql;
use crate::store::{decode_err, ranged, Inner};

/// The notification channel `apiary_write` announces committed revisions on.
pub(crate) const CHANNEL: &str = "apiary_events";

/// Log rows read per statement, by the tailer and by watch replays.
const PAGE: i64 = 512;

/// The pause before the listener connects again after a failure.
const RETRY: Duration = Duration::from_millis(500);

/// What the tailer broadcasts to the watchers of a store.
#[derive(Clone)]
pub(crate) enum Msg {
    /// Every change in `(after, upto]`, in revision order.
    Batch {
        after: Revision,
        upto: Revision,
        events: Arc<Vec<Event>>,
    },
    /// Every change up to this revision was broadcast before this message: the answer to a
    /// progress request.
    Progress(Revision),
    /// The tailer could not read the log: every watch following it ends with this error.
    Failed(Error),
}

/// Raises the committed revision to `revision`, waking the tailer when it moved.
fn raise(committed: &watch::Sender<Revision>, revision: Revision) {
    committed.send_if_modified(|known| {
        let newer = revision > *known;
        if newer {
            *known = revision;
        }
        newer
    });
}

/// The listener task: `LISTEN` on its own one-connection pool, forever (aborted with the store).
pub(crate) async fn listen(pool: PgPool, committed: watch::Sender<Revision>) {
    let wake = || committed.send_modify(|_| {});
    loop {
        let mut listener = match subscribe(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::debug!("postgres: LISTEN failed: {err}");
                wake();
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        // Whatever committed before LISTEN took effect was not announced to us.
        wake();
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => match note.payload().parse::<Revision>() {
                    Ok(revision) => raise(&committed, revision),
                    Err(_) => wake(),
                },
                // The connection was lost and has been re-established: catch up.
                Ok(None) => wake(),
                Err(err) => {
                    tracing::debug!("postgres: the LISTEN connection failed: {err}");
                    break;
                }
            }
        }
        wake();
        tokio::time::sleep(RETRY).await;
    }
}

async fn subscribe(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The tailer task: follows the committed revision and broadcasts the log after `position`;
/// answers progress requests (a change of `requests`) with [`Msg::Progress`].
pub(crate) async fn tail(
    inner: Arc<Inner>,
    events: broadcast::Sender<Msg>,
    mut committed: watch::Receiver<Revision>,
    mut requests: watch::Receiver<u64>,
    mut position: Revision,
) {
    loop {
        let mut requested = false;
        tokio::select! {
            changed = committed.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            changed = requests.changed() => {
                if changed.is_err() {
                    return;
                }
                requested = true;
            }
            _ = tokio::time::sleep(inner.opts.poll_interval) => {}
        }
        // Taken before reading the log, so the read below starts after every request it answers
        // (`changed` marked a request seen; one that came with another wake-up is still unseen).
        requested |= requests.has_changed().unwrap_or(false);
        drop(requests.borrow_and_update());
        let known = *committed.borrow_and_update();
        if events.receiver_count() == 0 {
            // Nobody to tell: every revision up to `known` committed before anyone who
            // subscribes from now on takes the snapshot its replay reads.
            position = position.max(known);
            continue;
        }
        if catch_up(&inner, &events, &mut position).await && requested {
            let _ = events.send(Msg::Progress(position));
        }
    }
}

/// Reads and broadcasts the log after `position` until a page is not full; `false` when the
/// database could not be read.
async fn catch_up(inner: &Inner, events: &broadcast::Sender<Msg>, position: &mut Revision) -> bool {
    loop {
        let page = match read_log(inner, b"", &None, *position).await {
            Ok(page) => page,
            Err(err) => {
                let _ = events.send(Msg::Failed(err));
                return false;
            }
        };
        let mut after = *position;
        if page.compacted > after {
            // The history after our position is partly gone (`read_log` dropped those rows):
            // watchers that have not seen up to the compacted revision cannot continue (they see
            // the gap and end with Compacted).
            after = page.compacted;
        }
        let batch = page.events;
        let upto = match page.last {
            Some(last) if page.full => last,
            _ => page.current,
        }
        .max(after);
        if upto > *position {
            let _ = events.send(Msg::Batch {
                after,
                upto,
                events: Arc::new(batch),
            });
            *position = upto;
        }
        if !page.full {
            return true;
        }
    }
}

/// One page of the log, read in one snapshot.
struct Page {
    /// The store's current and compacted revision in that snapshot.
    current: Revision,
    compacted: Revision,
    events: Vec<Event>,
    /// The last revision read, and whether the page was full (more may follow).
    last: Option<Revision>,
    full: bool,
}

/// Reads up to [`PAGE`] log rows after `after` for keys in `[lower, upper)`.
async fn read_log(
    inner: &Inner,
    lower: &[u8],
    upper: &Option<Vec<u8>>,
    after: Revision,
) -> Result<Page> {
    let rows = inner
        .read(|| {
            ranged(&sql::LOG_AFTER, lower, upper)
                .bind(after)
                .bind(PAGE)
                .fetch_all(&inner.pool)
        })
        .await?;
    let first = rows
        .first()
        .ok_or_else(|| Error::Internal("postgres: no revision row".into()))?;
    let current: i64 = first.try_get(0).map_err(decode_err)?;
    let compacted: i64 = first.try_get(1).map_err(decode_err)?;
    let (mut events, mut read, mut last) = (Vec::with_capacity(rows.len()), 0, None);
    for row in &rows {
        let Some(revision) = row.try_get::<Option<i64>, _>(2).map_err(decode_err)? else {
            continue;
        };
        read += 1;
        last = last.max(Some(revision));
        // At or below the compacted revision a version's predecessor may be gone; the callers
        // never deliver these rows anyway.
        if revision > compacted {
            events.push(event(row, revision)?);
        }
    }
    events.sort_by_key(|e| e.revision);
    Ok(Page {
        current,
        compacted,
        full: read == PAGE,
        last,
        events,
    })
}

/// The event of one `LOG_AFTER` row with a log row at `revision`.
fn event(row: &PgRow, revision: Revision) -> Result<Event> {
    let key: Vec<u8> = row.try_get(3).map_err(decode_err)?;
    let value: Option<Vec<u8>> = row.try_get(4).map_err(decode_err)?;
    let create_revision: i64 = row.try_get(5).map_err(decode_err)?;
    let deleted: bool = row.try_get(6).map_err(decode_err)?;
    let prev_revision: Option<i64> = row.try_get(7).map_err(decode_err)?;
    let prev_value: Option<Vec<u8>> = row.try_get(8).map_err(decode_err)?;
    let prev = || {
        prev_value.map(Bytes::from).ok_or_else(|| {
            Error::Internal(format!(
                "postgres: the version before revision {revision} is missing"
            ))
        })
    };
    let (kind, value, prev_value) = if deleted {
        let prev = prev()?;
        (EventKind::Delete, prev.clone(), Some(prev))
    } else if prev_revision.is_some() {
        (
            EventKind::Update,
            Bytes::from(value.unwrap_or_default()),
            Some(prev()?),
        )
    } else {
        (
            EventKind::Create,
            Bytes::from(value.unwrap_or_default()),
            None,
        )
    };
    Ok(Event {
        kind,
        key,
        revision,
        value,
        prev_value,
        create_revision,
    })
}

/// A watch in progress.
struct State {
    inner: Arc<Inner>,
    prefix: Vec<u8>,
    upper: Option<Vec<u8>>,
    /// Every change at or below this revision was delivered (or was outside the prefix).
    seen: Revision,
    /// The highest revision known to be committed; progress never exceeds it (a watch from a
    /// future revision reports none until the store reaches it).
    known: Revision,
    /// Reading history from the database rather than following the broadcast.
    replaying: bool,
    ready: VecDeque<WatchItem>,
    rx: broadcast::Receiver<Msg>,
    done: bool,
}

/// Starts a watch of `prefix` after revision `after` (`0`: from now). The first page of the
/// replay is read here, so a compacted start revision or an unreachable database fails the call.
pub(crate) async fn watch(
    inner: Arc<Inner>,
    events: &broadcast::Sender<Msg>,
    prefix: &[u8],
    after: Revision,
) -> Result<ProgressStream> {
    if after < 0 {
        return Err(Error::InvalidArgument(format!("negative revision {after}")));
    }
    let rx = events.subscribe();
    let mut st = State {
        prefix: prefix.to_vec(),
        upper: prefix_end(prefix),
        seen: after,
        known: 0,
        replaying: after != 0,
        ready: VecDeque::new(),
        rx,
        done: false,
        inner,
    };
    if after == 0 {
        // Everything the broadcast still brings from before now is at or below it.
        st.seen = st.inner.meta("revision").await?;
        st.known = st.seen;
    } else {
        replay_step(&mut st, true).await?;
    }
    Ok(Box::pin(futures::stream::unfold(st, next)))
}

async fn next(mut st: State) -> Option<(Result<WatchItem>, State)> {
    loop {
        if let Some(item) = st.ready.pop_front() {
            return Some((Ok(item), st));
        }
        if st.done {
            return None;
        }
        let failed = if st.replaying {
            replay_step(&mut st, false).await.err()
        } else {
            match st.rx.recv().await {
                Ok(msg) => st.apply(msg).err(),
                Err(RecvError::Lagged(_)) => Some(Error::WatchLagged),
                Err(RecvError::Closed) => {
                    Some(Error::Unavailable("the postgres store was closed".into()))
                }
            }
        };
        if let Some(err) = failed {
            st.done = true;
            st.ready.clear();
            return Some((Err(err), st));
        }
    }
}

/// Reads the next page of history after `seen`; on the last page, switches to the broadcast.
async fn replay_step(st: &mut State, first: bool) -> Result<()> {
    let page = read_log(&st.inner, &st.prefix, &st.upper, st.seen).await?;
    // A watch from the compacted revision itself fails too (the contract), later pages only when
    // compaction overtook them.
    if page.compacted > st.seen || (first && page.compacted >= st.seen) {
        return Err(Error::Compacted {
            requested: st.seen,
            compacted: page.compacted,
        });
    }
    st.known = st.known.max(page.current);
    st.ready
        .extend(page.events.into_iter().map(WatchItem::Event));
    match page.last {
        Some(last) if page.full => st.seen = last,
        _ => {
            st.seen = st.seen.max(page.current);
            st.go_live()?;
        }
    }
    Ok(())
}

impl State {
    /// Ends the replay: takes what the broadcast holds already. If it overflowed while the replay
    /// read history, subscribes afresh and replays again from `seen` (the database still has it).
    fn go_live(&mut self) -> Result<()> {
        self.replaying = false;
        loop {
            match self.rx.try_recv() {
                Ok(msg) => self.apply(msg)?,
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Lagged(_)) => {
                    self.rx = self.rx.resubscribe();
                    self.replaying = true;
                    return Ok(());
                }
                Err(TryRecvError::Closed) => {
                    return Err(Error::Unavailable("the postgres store was closed".into()))
                }
            }
        }
    }

    /// Queues `Progress(seen)` when the store is known to have reached `seen`.
    fn progress(&mut self) {
        if self.seen <= self.known {
            self.ready.push_back(WatchItem::Progress(self.seen));
        }
    }

    /// Takes one broadcast message: the events above `seen` under the prefix, then the progress.
    fn apply(&mut self, msg: Msg) -> Result<()> {
        match msg {
            Msg::Failed(err) => Err(err),
            Msg::Progress(upto) => {
                // Every batch up to `upto` came before this message, so `seen >= upto` here.
                self.known = self.known.max(upto);
                self.progress();
                Ok(())
            }
            Msg::Batch {
                after,
                upto,
                events,
            } => {
                self.known = self.known.max(upto);
                if upto <= self.seen {
                    return Ok(());
                }
                if after > self.seen {
                    return Err(Error::Compacted {
                        requested: self.seen,
                        compacted: after,
                    });
                }
                for event in events.iter() {
                    if event.revision > self.seen && event.key.starts_with(&self.prefix) {
                        self.ready.push_back(WatchItem::Event(event.clone()));
                    }
                }
                self.seen = upto;
                self.progress();
                Ok(())
            }
        }
    }
}

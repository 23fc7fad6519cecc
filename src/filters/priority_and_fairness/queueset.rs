//! One priority level's queues: shuffle sharding, fair queuing and seats, after upstream's
//! `fairqueuing/queueset/queueset.go`.
//!
//! * A flow (a hash of the FlowSchema's name and the flow distinguisher) is dealt a hand of
//!   `hand_size` distinct queues out of `queues` ([`deal`], upstream's `shufflesharding.Dealer`);
//!   its request joins the queue of the hand with the fewest seats waiting and executing.
//! * A queue holds at most `queue_length_limit` waiting requests; a request beyond is rejected
//!   (`queue-full`). A level without queues rejects at once what does not fit
//!   (`concurrency-limit`).
//! * Fair queuing by virtual finish time, with seats as the work of a request: each queue has the
//!   virtual start of its next request; a queue that was idle starts at the level's virtual time.
//!   The next request dispatched is the head whose queue's start plus its seats is smallest; the
//!   virtual time moves to that start. This is self-clocked fair queuing: upstream's virtual time
//!   also advances with the wall clock and corrects estimates by measured durations, which here
//!   are left out (every request's work is its seat count).
//! * A request wider than the whole limit runs when nothing else of the level is executing.
//!
//! The set is plain data behind the level's `std::sync::Mutex`; no lock is held across an await.

use std::collections::VecDeque;
use std::time::Instant;

use tokio::sync::oneshot;

/// Why a request was not admitted (upstream's `reason` label values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Its queue was full.
    QueueFull,
    /// A level without queues had no free seats.
    ConcurrencyLimit,
    /// It waited longer than its wait limit.
    TimeOut,
}

impl RejectReason {
    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::QueueFull => "queue-full",
            Self::ConcurrencyLimit => "concurrency-limit",
            Self::TimeOut => "time-out",
        }
    }
}

/// The outcome of [`QueueSet::arrive`].
#[derive(Debug)]
pub enum Arrival {
    /// Dispatched at once; the caller holds `seats` until it calls [`QueueSet::finish`].
    Dispatched,
    /// Waiting in queue `queue` as `id`; the receiver fires when it is dispatched.
    Queued {
        queue: usize,
        id: u64,
        dispatched: oneshot::Receiver<()>,
    },
    /// Not admitted.
    Rejected(RejectReason),
}

/// Deals the hand of `hand_size` distinct queues of `deck_size` for `hash`, upstream's
/// `shufflesharding.Dealer.Deal`: the hash is read as mixed-radix digits
/// (`deck_size`, `deck_size - 1`, ...), each digit picks among the cards not dealt yet.
pub fn deal(hash: u64, deck_size: usize, hand_size: usize) -> Vec<usize> {
    let hand_size = hand_size.clamp(1, deck_size.max(1));
    let mut remainders = Vec::with_capacity(hand_size);
    let mut value = hash;
    for i in 0..hand_size {
        let radix = (deck_size - i) as u64;
        remainders.push((value % radix) as usize);
        value /= radix;
    }
    let mut hand = Vec::with_capacity(hand_size);
    for i in 0..hand_size {
        let mut card = remainders[i];
        for j in (1..=i).rev() {
            if card >= remainders[j - 1] {
                card += 1;
            }
        }
        hand.push(card);
    }
    hand
}

/// A request waiting in a queue.
#[derive(Debug)]
struct Waiting {
    id: u64,
    seats: u32,
    dispatch: oneshot::Sender<()>,
}

/// One queue.
#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    waiting_seats: u32,
    executing_seats: u32,
    /// The virtual start of the next request dispatched from this queue.
    next_start: f64,
}

impl Queue {
    fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.executing_seats == 0
    }
}

/// Seat demand (seats executing plus waiting) integrated over time, for borrowing.
#[derive(Debug, Clone, Copy)]
pub struct DemandStats {
    /// Time-weighted average since the last [`QueueSet::take_demand`].
    pub average: f64,
    /// Time-weighted standard deviation.
    pub std_dev: f64,
    /// The highest demand seen.
    pub high_watermark: u32,
}

#[derive(Debug)]
struct DemandIntegrator {
    since: Instant,
    last: Instant,
    current: u32,
    sum: f64,
    sum_squares: f64,
    high: u32,
}

impl DemandIntegrator {
    fn new(now: Instant) -> Self {
        Self {
            since: now,
            last: now,
            current: 0,
            sum: 0.0,
            sum_squares: 0.0,
            high: 0,
        }
    }

    fn set(&mut self, now: Instant, demand: u32) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        let x = f64::from(self.current);
        self.sum += x * dt;
        self.sum_squares += x * x * dt;
        self.last = now;
        self.current = demand;
        self.high = self.high.max(demand);
    }

    fn take(&mut self, now: Instant) -> DemandStats {
        let current = self.current;
        self.set(now, current);
        let span = now.saturating_duration_since(self.since).as_secs_f64();
        let (average, std_dev) = if span > 0.0 {
            let average = self.sum / span;
            let variance = (self.sum_squares / span - average * average).max(0.0);
            (average, variance.sqrt())
        } else {
            (f64::from(current), 0.0)
        };
        let stats = DemandStats {
            average,
            std_dev,
            high_watermark: self.high,
        };
        *self = Self::new(now);
        self.current = current;
        self.high = current;
        stats
    }
}

/// The queues and seats of one priority level.
#[derive(Debug)]
pub struct QueueSet {
    queues: Vec<Queue>,
    /// Whether arrivals queue (false: what does not fit is rejected at once).
    queuing: bool,
    hand_size: usize,
    queue_length_limit: usize,
    /// Seats that may execute at once (the level's current limit).
    limit: u32,
    executing_seats: u32,
    executing_requests: u32,
    waiting_requests: u32,
    virtual_time: f64,
    next_id: u64,
    enqueues: u64,
    demand: DemandIntegrator,
}

impl QueueSet {
    /// A set of `queues` queues (0: no queuing) dealing hands of `hand_size`, each holding at most
    /// `queue_length_limit` requests, executing at most `limit` seats.
    pub fn new(queues: usize, hand_size: usize, queue_length_limit: usize, limit: u32) -> Self {
        Self {
            queues: (0..queues).map(|_| Queue::default()).collect(),
            queuing: queues > 0,
            hand_size,
            queue_length_limit,
            limit,
            executing_seats: 0,
            executing_requests: 0,
            waiting_requests: 0,
            virtual_time: 0.0,
            next_id: 0,
            enqueues: 0,
            demand: DemandIntegrator::new(Instant::now()),
        }
    }

    /// Changes the queue shape; waiting requests move to the queue of the same index modulo the
    /// new count. When queuing is switched off, those already waiting stay in one queue and are
    /// dispatched as seats free up; new arrivals no longer queue.
    pub fn reconfigure(&mut self, queues: usize, hand_size: usize, queue_length_limit: usize) {
        self.queuing = queues > 0;
        self.hand_size = hand_size;
        self.queue_length_limit = queue_length_limit;
        if queues == self.queues.len() {
            return;
        }
        let old = std::mem::take(&mut self.queues);
        let count = queues.max(usize::from(self.waiting_requests > 0));
        self.queues = (0..count).map(|_| Queue::default()).collect();
        for (index, queue) in old.into_iter().enumerate() {
            if self.queues.is_empty() {
                break;
            }
            let target = &mut self.queues[index % count];
            target.next_start = target.next_start.max(queue.next_start);
            target.executing_seats += queue.executing_seats;
            target.waiting_seats += queue.waiting_seats;
            target.waiting.extend(queue.waiting);
        }
    }

    /// Sets the seats that may execute at once and dispatches what now fits.
    pub fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
        self.dispatch();
    }

    /// The current limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Seats executing now.
    pub fn executing_seats(&self) -> u32 {
        self.executing_seats
    }

    /// Requests executing now.
    pub fn executing_requests(&self) -> u32 {
        self.executing_requests
    }

    /// Requests waiting now.
    pub fn waiting_requests(&self) -> u32 {
        self.waiting_requests
    }

    /// The seat demand since the last call, for the periodic reallocation.
    pub fn take_demand(&mut self) -> DemandStats {
        self.demand.take(Instant::now())
    }

    fn note_demand(&mut self) {
        let waiting: u32 = self.queues.iter().map(|q| q.waiting_seats).sum();
        self.demand
            .set(Instant::now(), self.executing_seats.saturating_add(waiting));
    }

    fn fits(&self, seats: u32) -> bool {
        self.executing_seats == 0 || self.executing_seats.saturating_add(seats) <= self.limit
    }

    /// A request of flow `hash` asking for `seats`.
    pub fn arrive(&mut self, hash: u64, seats: u32) -> Arrival {
        let seats = seats.max(1);
        if !self.queuing {
            if !self.fits(seats) {
                return Arrival::Rejected(RejectReason::ConcurrencyLimit);
            }
            self.executing_seats += seats;
            self.executing_requests += 1;
            self.note_demand();
            return Arrival::Dispatched;
        }
        let queue = self.choose_queue(hash);
        if self.queues[queue].waiting.len() >= self.queue_length_limit {
            return Arrival::Rejected(RejectReason::QueueFull);
        }
        let (sender, receiver) = oneshot::channel();
        let id = self.next_id;
        self.next_id += 1;
        self.enqueues += 1;
        let virtual_time = self.virtual_time;
        let target = &mut self.queues[queue];
        if target.is_idle() {
            target.next_start = target.next_start.max(virtual_time);
        }
        target.waiting.push_back(Waiting {
            id,
            seats,
            dispatch: sender,
        });
        target.waiting_seats += seats;
        self.waiting_requests += 1;
        self.dispatch();
        Arrival::Queued {
            queue,
            id,
            dispatched: receiver,
        }
    }

    /// The queue of the flow's hand with the fewest seats waiting and executing; ties go to the
    /// first from a rotating offset, as upstream.
    fn choose_queue(&self, hash: u64) -> usize {
        let hand = deal(hash, self.queues.len(), self.hand_size);
        let offset = (self.enqueues as usize) % hand.len();
        let mut best = hand[offset];
        let load = |q: &Queue| q.waiting_seats + q.executing_seats;
        for step in 1..hand.len() {
            let candidate = hand[(offset + step) % hand.len()];
            if load(&self.queues[candidate]) < load(&self.queues[best]) {
                best = candidate;
            }
        }
        best
    }

    /// Dispatches waiting requests, fairest first, while they fit.
    pub fn dispatch(&mut self) {
        loop {
            let mut best: Option<(usize, f64)> = None;
            for (index, queue) in self.queues.iter().enumerate() {
                let Some(head) = queue.waiting.front() else {
                    continue;
                };
                let finish = queue.next_start + f64::from(head.seats);
                if best.is_none_or(|(_, f)| finish < f) {
                    best = Some((index, finish));
                }
            }
            let Some((index, _)) = best else { break };
            let seats = self.queues[index].waiting.front().map_or(1, |w| w.seats);
            if !self.fits(seats) {
                break;
            }
            let queue = &mut self.queues[index];
            let Some(head) = queue.waiting.pop_front() else {
                break;
            };
            queue.waiting_seats -= head.seats;
            self.waiting_requests -= 1;
            self.virtual_time = self.virtual_time.max(queue.next_start);
            queue.next_start += f64::from(head.seats);
            // A waiter that is gone still owns its seats now: its ticket's drop gives them back
            // (see the filter), so a failed send needs nothing more here.
            let _ = head.dispatch.send(());
            queue.executing_seats += head.seats;
            self.executing_seats += head.seats;
            self.executing_requests += 1;
        }
        self.note_demand();
    }

    /// Removes a waiting request (its wait limit passed or it was cancelled). False when it was
    /// dispatched meanwhile: the caller then executes it and must [`Self::finish`] it.
    pub fn cancel(&mut self, queue: usize, id: u64) -> bool {
        let Some(q) = self.queues.get_mut(queue) else {
            return self.remove_anywhere(id);
        };
        if let Some(position) = q.waiting.iter().position(|w| w.id == id) {
            if let Some(removed) = q.waiting.remove(position) {
                q.waiting_seats -= removed.seats;
                self.waiting_requests -= 1;
                self.note_demand();
            }
            return true;
        }
        self.remove_anywhere(id)
    }

    /// After a reconfiguration a request may sit in another queue than the one it joined.
    fn remove_anywhere(&mut self, id: u64) -> bool {
        for queue in &mut self.queues {
            if let Some(position) = queue.waiting.iter().position(|w| w.id == id) {
                if let Some(removed) = queue.waiting.remove(position) {
                    queue.waiting_seats -= removed.seats;
                    self.waiting_requests -= 1;
                }
                self.note_demand();
                return true;
            }
        }
        false
    }

    /// A dispatched request of `seats` from `queue` (`None`: dispatched without queuing) ended.
    pub fn finish(&mut self, queue: Option<usize>, seats: u32) {
        let seats = seats.max(1);
        self.executing_seats = self.executing_seats.saturating_sub(seats);
        self.executing_requests = self.executing_requests.saturating_sub(1);
        if let Some(index) = queue {
            let count = self.queues.len();
            if count > 0 {
                let q = &mut self.queues[index % count];
                q.executing_seats = q.executing_seats.saturating_sub(seats);
            }
        }
        self.dispatch();
    }
}

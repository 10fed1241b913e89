//! One viewer's bounded, lossy queue of messages, and its drop counters.
//!
//! The loop thread is the only producer; one viewer (the TUI, a file writer,
//! an attach connection) consumes. The rule, learnt from tokio-console, is that
//! a slow viewer must never slow the loop: [`Outbox::push`] never blocks. When
//! the queue is full the event is dropped and counted by kind, and the queue
//! remembers that its viewer needs resynchronising; the tracer then sends a
//! [`Drops`](super::model::Drops) message and a fresh snapshot as soon as there
//! is room ([`Outbox::resync_room`]).
//!
//! # Asking before building
//!
//! Also from tokio-console: the loop asks whether a viewer will take an event
//! ([`Outbox::takes_events`]) *before* it builds the event's payload, so an
//! event that would only be dropped costs almost nothing. The question must
//! not cost a lock, so the queue's length is mirrored in an atomic the
//! producer reads, and everything only the producer changes (the drop
//! counters, the resync flag) lives on the producer's side, unshared.
//!
//! Messages that are not probe events (hello, snapshots, gate status, acks,
//! errors) are few and matter more, so [`Outbox::push_forced`] may go past the
//! capacity by a fixed slack. A viewer that lets even the slack fill up is not
//! reading at all: its queue is closed and it is disconnected.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::model::{Drops, Message, ProbeKind};

/// How far watched events ([`Outbox::push_watched`]) may go past the
/// capacity: generous, since each is an event a guide waits for, yet a hard
/// bound, so a viewer that watches something frequent and reads nothing
/// cannot make the loop hold memory without end.
pub const WATCHED_ALLOWANCE: usize = 16 * 1024;

/// How far forced messages may go past the capacity and the watched allowance.
const FORCED_SLACK: usize = 1024;

/// A sleeping consumer is woken once this many events wait (or at once for a
/// forced message). Waking it for every event would cost the loop a system
/// call per probe; tokio-console's aggregator learnt the same.
const WAKE_BATCH: usize = 64;

/// A sleeping consumer looks at its queue at least this often, so a trickle
/// of events smaller than [`WAKE_BATCH`] is not held back for long.
const MAX_LATENCY: Duration = Duration::from_millis(20);

struct Inner {
    buf: VecDeque<Arc<Message>>,
    /// The consumer is gone (or was cut off): pushes are pointless.
    consumer_closed: bool,
    /// The producer is gone: after the buffer drains, there is nothing more.
    producer_closed: bool,
    /// The consumer sleeps on `ready` (so a push must notify it).
    consumer_waiting: bool,
}

struct Queue {
    inner: Mutex<Inner>,
    ready: Condvar,
    /// `inner.buf.len()`, stored whenever it changes (under the lock), so the
    /// producer can see whether there is room without taking the lock.
    len: AtomicUsize,
    /// `inner.consumer_closed`, mirrored the same way.
    closed: AtomicBool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic on the other side must not take this side down too: the
        // data (a queue of immutable messages) stays consistent regardless.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Mirrors the buffer's length and the closed flag after a change.
    fn publish(&self, q: &Inner) {
        self.len.store(q.buf.len(), Ordering::Relaxed);
        self.closed.store(q.consumer_closed, Ordering::Relaxed);
    }

    fn close(&self) {
        let mut q = self.lock();
        q.consumer_closed = true;
        self.publish(&q);
        drop(q);
        self.ready.notify_all();
    }
}

/// Creates a queue for `capacity` probe events: the producer and consumer ends.
pub fn channel(capacity: usize) -> (Outbox, Inbox) {
    let q = Arc::new(Queue {
        inner: Mutex::new(Inner {
            buf: VecDeque::with_capacity(capacity.min(4096)),
            consumer_closed: false,
            producer_closed: false,
            consumer_waiting: false,
        }),
        ready: Condvar::new(),
        len: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
    });
    let outbox = Outbox {
        q: q.clone(),
        capacity: capacity.max(1),
        dropped: [0; ProbeKind::ALL.len()],
        watched_dropped: 0,
        needs_resync: false,
    };
    (outbox, Inbox(q))
}

/// What happened to a pushed message.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    Dropped,
    /// The consumer is gone; forget this queue.
    Closed,
}

/// The loop thread's end of a viewer queue.
pub struct Outbox {
    q: Arc<Queue>,
    capacity: usize,
    /// Events dropped for this viewer so far, by kind (cumulative).
    dropped: [u64; ProbeKind::ALL.len()],
    /// Watched events dropped all the same (the allowance was full).
    watched_dropped: u64,
    /// Events were dropped since the last resynchronisation.
    needs_resync: bool,
}

impl Outbox {
    /// True if an event pushed now would be queued: the viewer is there, is
    /// not waiting for a resynchronisation, and has room. No lock is taken,
    /// so the answer may be a moment old; [`Outbox::push`] decides for good.
    pub fn takes_events(&self) -> bool {
        !self.needs_resync
            && self.q.len.load(Ordering::Relaxed) < self.capacity
            && !self.q.closed.load(Ordering::Relaxed)
    }

    /// Counts an event of `kind` this viewer did not get (it was not even
    /// built, because [`Outbox::takes_events`] said no). Returns false if the
    /// consumer is gone.
    pub fn skip(&mut self, kind: ProbeKind) -> bool {
        if self.q.closed.load(Ordering::Relaxed) {
            return false;
        }
        self.count_drop(kind);
        true
    }

    fn count_drop(&mut self, kind: ProbeKind) {
        let n = &mut self.dropped[kind.index()];
        *n = n.saturating_add(1);
        self.needs_resync = true;
    }

    /// Queues a probe event, or drops and counts it if the queue is full.
    /// A viewer that lost events gets none until it is resynchronised: an
    /// event applied to a state that missed the ones before it would lie.
    pub fn push(&mut self, msg: &Arc<Message>, kind: ProbeKind) -> Pushed {
        if self.needs_resync {
            return if self.skip(kind) {
                Pushed::Dropped
            } else {
                Pushed::Closed
            };
        }
        let q = self.q.lock();
        if q.consumer_closed {
            return Pushed::Closed;
        }
        if q.buf.len() >= self.capacity {
            drop(q);
            self.count_drop(kind);
            return Pushed::Dropped;
        }
        self.enqueue(q, msg.clone(), false);
        Pushed::Queued
    }

    /// Queues an event the viewer's `watch` list asked for: past a full
    /// queue and past a pending resynchronisation (the viewer's state may
    /// lack the events before it, but its guide must not miss it), up to
    /// [`WATCHED_ALLOWANCE`] beyond the capacity. Past that it is dropped,
    /// and counted apart ([`Drops::watched`]).
    pub fn push_watched(&mut self, msg: &Arc<Message>, kind: ProbeKind) -> Pushed {
        let q = self.q.lock();
        if q.consumer_closed {
            return Pushed::Closed;
        }
        if q.buf.len() >= self.capacity.saturating_add(WATCHED_ALLOWANCE) {
            drop(q);
            self.count_drop(kind);
            self.watched_dropped = self.watched_dropped.saturating_add(1);
            return Pushed::Dropped;
        }
        self.enqueue(q, msg.clone(), true);
        Pushed::Queued
    }

    /// Queues a message that must not be dropped. Returns `Closed` if the
    /// consumer is gone or has stopped reading altogether (then it is cut off).
    pub fn push_forced(&self, msg: Arc<Message>) -> Pushed {
        let mut q = self.q.lock();
        if q.consumer_closed {
            return Pushed::Closed;
        }
        let limit = self
            .capacity
            .saturating_add(WATCHED_ALLOWANCE)
            .saturating_add(FORCED_SLACK);
        if q.buf.len() >= limit {
            q.consumer_closed = true;
            self.q.publish(&q);
            drop(q);
            self.q.ready.notify_all();
            return Pushed::Closed;
        }
        self.enqueue(q, msg, true);
        Pushed::Queued
    }

    /// If this viewer lost events and now has room for `n` more messages,
    /// returns its cumulative drop counts and clears the resync flag: the caller
    /// must then push the drops and a snapshot (forced).
    pub fn resync_room(&mut self, n: usize) -> Option<Drops> {
        if !self.needs_resync
            || self.q.closed.load(Ordering::Relaxed)
            || self.q.len.load(Ordering::Relaxed).saturating_add(n) > self.capacity
        {
            return None;
        }
        self.needs_resync = false;
        let mut drops = Drops {
            watched: self.watched_dropped,
            ..Drops::default()
        };
        for (kind, &count) in ProbeKind::ALL.iter().zip(self.dropped.iter()) {
            if count > 0 {
                drops.by_kind.insert(*kind, count);
                drops.total = drops.total.saturating_add(count);
            }
        }
        Some(drops)
    }

    fn enqueue(&self, mut q: MutexGuard<'_, Inner>, msg: Arc<Message>, urgent: bool) {
        q.buf.push_back(msg);
        self.q.publish(&q);
        let wake = q.consumer_waiting && (urgent || q.buf.len() >= WAKE_BATCH);
        drop(q);
        // Only a sleeping consumer needs the (system-call) notification.
        if wake {
            self.q.ready.notify_one();
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.q.lock().producer_closed = true;
        self.q.ready.notify_all();
    }
}

/// Why [`Inbox::recv_timeout`] returned nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum RecvError {
    Timeout,
    /// The loop is gone (or this viewer was cut off) and everything was read.
    Closed,
}

/// A viewer's end of its queue.
pub struct Inbox(Arc<Queue>);

impl Inbox {
    /// Waits for the next message, at most until `timeout` (`None`: forever).
    pub fn recv_timeout(&self, timeout: Option<Duration>) -> Result<Arc<Message>, RecvError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut q = self.0.lock();
        loop {
            if let Some(m) = q.buf.pop_front() {
                self.0.publish(&q);
                return Ok(m);
            }
            if q.producer_closed || q.consumer_closed {
                return Err(RecvError::Closed);
            }
            let left = match deadline {
                None => MAX_LATENCY,
                Some(d) => d.saturating_duration_since(Instant::now()).min(MAX_LATENCY),
            };
            if left.is_zero() {
                return Err(RecvError::Timeout);
            }
            q.consumer_waiting = true;
            q = self
                .0
                .ready
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            q.consumer_waiting = false;
        }
    }

    /// Takes every queued message at once (for writers that batch).
    pub fn drain_into(&self, out: &mut Vec<Arc<Message>>) {
        // Swap the buffer out so the lock (which the loop needs to push) is
        // held for a pointer swap, not for moving every message.
        let taken = {
            let mut q = self.0.lock();
            let taken = std::mem::take(&mut q.buf);
            self.0.publish(&q);
            taken
        };
        out.extend(taken);
    }

    /// Queues a message from the viewer's own side (an attach connection's
    /// reader answering a malformed line), ahead of nothing and behind
    /// everything already queued.
    pub fn injector(&self) -> Injector {
        Injector(self.0.clone())
    }

    /// Stops the queue: the producer forgets it at its next push.
    pub fn close(&self) {
        self.0.close();
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.close();
    }
}

/// Lets another thread of the same viewer add messages to its queue.
#[derive(Clone)]
pub struct Injector(Arc<Queue>);

impl Injector {
    pub fn push(&self, msg: Message) {
        let mut q = self.0.lock();
        if q.consumer_closed {
            return;
        }
        q.buf.push_back(Arc::new(msg));
        self.0.publish(&q);
        drop(q);
        self.0.ready.notify_all();
    }

    /// Wakes the consumer and makes it return `Closed` once drained.
    pub fn close(&self) {
        self.0.close();
    }

    /// Pushes `msg` and closes the queue under one lock, so `msg` is the
    /// last thing the consumer gets: nothing the loop sends in between can
    /// come after it (a viewer's "why you were dropped").
    pub fn push_last(&self, msg: Message) {
        let mut q = self.0.lock();
        if !q.consumer_closed {
            q.buf.push_back(Arc::new(msg));
            q.consumer_closed = true;
            self.0.publish(&q);
        }
        drop(q);
        self.0.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{Ack, ErrorReply};
    use std::borrow::Cow;

    fn msg(n: u64) -> Arc<Message> {
        Arc::new(Message::Error(ErrorReply {
            id: Some(n),
            error: String::new(),
        }))
    }

    fn ack() -> Arc<Message> {
        Arc::new(Message::Ack(Ack {
            id: None,
            cmd: Cow::Borrowed("pause"),
            breakpoint: None,
        }))
    }

    #[test]
    fn full_queue_drops_and_counts_per_kind() {
        let (mut out, inbox) = channel(2);
        assert_eq!(out.push(&msg(1), ProbeKind::Command), Pushed::Queued);
        assert_eq!(out.push(&msg(2), ProbeKind::Command), Pushed::Queued);
        assert_eq!(out.push(&msg(3), ProbeKind::Command), Pushed::Dropped);
        assert_eq!(out.push(&msg(4), ProbeKind::Read), Pushed::Dropped);
        assert_eq!(out.push(&msg(5), ProbeKind::Command), Pushed::Dropped);
        assert_eq!(out.resync_room(1), None, "no room yet");

        assert_eq!(inbox.recv_timeout(Some(Duration::ZERO)), Ok(msg(1)));
        assert_eq!(inbox.recv_timeout(Some(Duration::ZERO)), Ok(msg(2)));
        assert_eq!(
            inbox.recv_timeout(Some(Duration::ZERO)),
            Err(RecvError::Timeout)
        );

        let drops = out.resync_room(2).expect("room now, and drops to report");
        assert_eq!(drops.total, 3);
        assert_eq!(drops.by_kind.get(&ProbeKind::Command), Some(&2));
        assert_eq!(drops.by_kind.get(&ProbeKind::Read), Some(&1));
        assert_eq!(out.resync_room(2), None, "reported once");

        // Counts are cumulative for the viewer's lifetime.
        out.push(&msg(6), ProbeKind::Read);
        out.push(&msg(7), ProbeKind::Read);
        assert_eq!(out.push(&msg(8), ProbeKind::Read), Pushed::Dropped);
        inbox.drain_into(&mut Vec::new());
        assert_eq!(out.resync_room(2).map(|d| d.total), Some(4));
    }

    #[test]
    fn takes_events_answers_without_the_lock_and_skips_count_as_drops() {
        let (mut out, inbox) = channel(2);
        assert!(out.takes_events());
        out.push(&msg(1), ProbeKind::Command);
        out.push(&msg(2), ProbeKind::Command);
        assert!(!out.takes_events(), "full");
        assert!(out.skip(ProbeKind::Command));
        inbox.drain_into(&mut Vec::new());
        assert!(
            !out.takes_events(),
            "room again, but the viewer lost an event: resync first"
        );
        assert_eq!(
            out.push(&msg(3), ProbeKind::Read),
            Pushed::Dropped,
            "no event reaches a viewer that waits for its resync"
        );
        let drops = out.resync_room(2).expect("room and drops");
        assert_eq!(drops.by_kind.get(&ProbeKind::Command), Some(&1));
        assert_eq!(drops.by_kind.get(&ProbeKind::Read), Some(&1));
        assert!(out.takes_events());
        drop(inbox);
        assert!(!out.takes_events());
        assert!(!out.skip(ProbeKind::Command), "the consumer is gone");
    }

    #[test]
    fn forced_messages_use_the_slack_then_cut_off_a_dead_reader() {
        let (mut out, inbox) = channel(1);
        out.push(&msg(1), ProbeKind::Command);
        assert_eq!(
            out.push_forced(ack()),
            Pushed::Queued,
            "past capacity, within slack"
        );
        for _ in 0..WATCHED_ALLOWANCE + FORCED_SLACK - 1 {
            assert_eq!(out.push_forced(ack()), Pushed::Queued);
        }
        assert_eq!(out.push_forced(ack()), Pushed::Closed);
        assert_eq!(out.push(&msg(2), ProbeKind::Command), Pushed::Closed);
        // What was queued can still be read, then the viewer sees the end.
        let mut all = Vec::new();
        inbox.drain_into(&mut all);
        assert_eq!(all.len(), WATCHED_ALLOWANCE + FORCED_SLACK + 1);
        assert_eq!(inbox.recv_timeout(None), Err(RecvError::Closed));
    }

    #[test]
    fn watched_events_pass_a_full_queue_up_to_the_allowance_then_are_counted() {
        let (mut out, inbox) = channel(4);
        for i in 1..=4 {
            out.push(&msg(i), ProbeKind::Command);
        }
        assert_eq!(out.push(&msg(3), ProbeKind::Command), Pushed::Dropped);
        // Lossy events now wait for a resync; a watched one does not.
        assert_eq!(out.push(&msg(4), ProbeKind::Command), Pushed::Dropped);
        assert_eq!(out.push_watched(&msg(5), ProbeKind::Read), Pushed::Queued);
        for i in 1..WATCHED_ALLOWANCE {
            assert_eq!(
                out.push_watched(&msg(5 + i as u64), ProbeKind::Read),
                Pushed::Queued
            );
        }
        assert_eq!(out.push_watched(&msg(0), ProbeKind::Read), Pushed::Dropped);
        let mut all = Vec::new();
        inbox.drain_into(&mut all);
        assert_eq!(all.len(), 4 + WATCHED_ALLOWANCE, "nothing else was lost");
        let drops = out.resync_room(3).expect("lost events: a resync is due");
        assert_eq!((drops.total, drops.watched), (3, 1));
        assert_eq!(drops.by_kind.get(&ProbeKind::Read), Some(&1));
    }

    #[test]
    fn consumer_drop_closes_and_producer_drop_ends_after_drain() {
        let (mut out, inbox) = channel(4);
        drop(inbox);
        assert_eq!(out.push(&msg(1), ProbeKind::Command), Pushed::Closed);

        let (mut out, inbox) = channel(4);
        out.push(&msg(1), ProbeKind::Command);
        drop(out);
        assert_eq!(inbox.recv_timeout(None), Ok(msg(1)));
        assert_eq!(inbox.recv_timeout(None), Err(RecvError::Closed));
    }

    #[test]
    fn blocked_consumer_is_woken_by_a_push() {
        let (mut out, inbox) = channel(4);
        let reader = std::thread::spawn(move || inbox.recv_timeout(Some(Duration::from_secs(10))));
        std::thread::sleep(Duration::from_millis(50));
        out.push(&msg(9), ProbeKind::Command);
        assert_eq!(reader.join().ok(), Some(Ok(msg(9))));
    }

    #[test]
    fn injected_messages_arrive_in_order() {
        let (mut out, inbox) = channel(4);
        out.push(&msg(1), ProbeKind::Command);
        inbox.injector().push(Message::Error(ErrorReply {
            id: Some(2),
            error: String::new(),
        }));
        assert_eq!(inbox.recv_timeout(None), Ok(msg(1)));
        assert_eq!(inbox.recv_timeout(None), Ok(msg(2)));
    }

    #[test]
    fn a_last_message_stays_last() {
        let (mut out, inbox) = channel(4);
        let last = Message::Error(ErrorReply {
            id: Some(7),
            error: String::new(),
        });
        inbox.injector().push_last(last);
        assert_eq!(out.push(&msg(8), ProbeKind::Command), Pushed::Closed);
        assert_eq!(out.push_forced(msg(9)), Pushed::Closed);
        assert_eq!(inbox.recv_timeout(None), Ok(msg(7)));
        assert_eq!(inbox.recv_timeout(None), Err(RecvError::Closed));
    }
}

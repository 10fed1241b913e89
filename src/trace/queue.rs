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
//! Messages that are not probe events (hello, snapshots, gate status, acks,
//! errors) are few and matter more, so [`Outbox::push_forced`] may go past the
//! capacity by a fixed slack. A viewer that lets even the slack fill up is not
//! reading at all: its queue is closed and it is disconnected.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::model::{Drops, Message, ProbeKind};

/// How far forced messages may go past the capacity.
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
    capacity: usize,
    dropped: [u64; ProbeKind::ALL.len()],
    /// Events were dropped since the last resynchronisation.
    needs_resync: bool,
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
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic on the other side must not take this side down too: the
        // data (a queue of immutable messages) stays consistent regardless.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates a queue for `capacity` probe events: the producer and consumer ends.
pub fn channel(capacity: usize) -> (Outbox, Inbox) {
    let q = Arc::new(Queue {
        inner: Mutex::new(Inner {
            buf: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            dropped: [0; ProbeKind::ALL.len()],
            needs_resync: false,
            consumer_closed: false,
            producer_closed: false,
            consumer_waiting: false,
        }),
        ready: Condvar::new(),
    });
    (Outbox(q.clone()), Inbox(q))
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
pub struct Outbox(Arc<Queue>);

impl Outbox {
    /// Queues a probe event, or drops and counts it if the queue is full.
    pub fn push(&self, msg: &Arc<Message>, kind: ProbeKind) -> Pushed {
        let mut q = self.0.lock();
        if q.consumer_closed {
            return Pushed::Closed;
        }
        if q.buf.len() >= q.capacity {
            q.dropped[kind.index()] = q.dropped[kind.index()].saturating_add(1);
            q.needs_resync = true;
            return Pushed::Dropped;
        }
        self.enqueue(q, msg.clone(), false);
        Pushed::Queued
    }

    /// Queues a message that must not be dropped. Returns `Closed` if the
    /// consumer is gone or has stopped reading altogether (then it is cut off).
    pub fn push_forced(&self, msg: Arc<Message>) -> Pushed {
        let mut q = self.0.lock();
        if q.consumer_closed {
            return Pushed::Closed;
        }
        if q.buf.len() >= q.capacity.saturating_add(FORCED_SLACK) {
            q.consumer_closed = true;
            drop(q);
            self.0.ready.notify_all();
            return Pushed::Closed;
        }
        self.enqueue(q, msg, true);
        Pushed::Queued
    }

    /// If this viewer lost events and now has room for `n` more messages,
    /// returns its cumulative drop counts and clears the resync flag: the caller
    /// must then push the drops and a snapshot (forced).
    pub fn resync_room(&self, n: usize) -> Option<Drops> {
        let mut q = self.0.lock();
        if !q.needs_resync || q.consumer_closed || q.buf.len().saturating_add(n) > q.capacity {
            return None;
        }
        q.needs_resync = false;
        let mut drops = Drops::default();
        for (kind, &count) in ProbeKind::ALL.iter().zip(q.dropped.iter()) {
            if count > 0 {
                drops.by_kind.insert(*kind, count);
                drops.total = drops.total.saturating_add(count);
            }
        }
        Some(drops)
    }

    fn enqueue(&self, mut q: MutexGuard<'_, Inner>, msg: Arc<Message>, urgent: bool) {
        q.buf.push_back(msg);
        let wake = q.consumer_waiting && (urgent || q.buf.len() >= WAKE_BATCH);
        drop(q);
        // Only a sleeping consumer needs the (system-call) notification.
        if wake {
            self.0.ready.notify_one();
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.0.lock().producer_closed = true;
        self.0.ready.notify_all();
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
        let taken = std::mem::take(&mut self.0.lock().buf);
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
        self.0.lock().consumer_closed = true;
        self.0.ready.notify_all();
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
        drop(q);
        self.0.ready.notify_all();
    }

    /// Wakes the consumer and makes it return `Closed` once drained.
    pub fn close(&self) {
        self.0.lock().consumer_closed = true;
        self.0.ready.notify_all();
    }

    /// Pushes `msg` and closes the queue under one lock, so `msg` is the
    /// last thing the consumer gets: nothing the loop sends in between can
    /// come after it (a viewer's "why you were dropped").
    pub fn push_last(&self, msg: Message) {
        let mut q = self.0.lock();
        if !q.consumer_closed {
            q.buf.push_back(Arc::new(msg));
            q.consumer_closed = true;
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
        let (out, inbox) = channel(2);
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
    fn forced_messages_use_the_slack_then_cut_off_a_dead_reader() {
        let (out, inbox) = channel(1);
        out.push(&msg(1), ProbeKind::Command);
        assert_eq!(
            out.push_forced(ack()),
            Pushed::Queued,
            "past capacity, within slack"
        );
        for _ in 0..FORCED_SLACK - 1 {
            assert_eq!(out.push_forced(ack()), Pushed::Queued);
        }
        assert_eq!(out.push_forced(ack()), Pushed::Closed);
        assert_eq!(out.push(&msg(2), ProbeKind::Command), Pushed::Closed);
        // What was queued can still be read, then the viewer sees the end.
        let mut all = Vec::new();
        inbox.drain_into(&mut all);
        assert_eq!(all.len(), FORCED_SLACK + 1);
        assert_eq!(inbox.recv_timeout(None), Err(RecvError::Closed));
    }

    #[test]
    fn consumer_drop_closes_and_producer_drop_ends_after_drain() {
        let (out, inbox) = channel(4);
        drop(inbox);
        assert_eq!(out.push(&msg(1), ProbeKind::Command), Pushed::Closed);

        let (out, inbox) = channel(4);
        out.push(&msg(1), ProbeKind::Command);
        drop(out);
        assert_eq!(inbox.recv_timeout(None), Ok(msg(1)));
        assert_eq!(inbox.recv_timeout(None), Err(RecvError::Closed));
    }

    #[test]
    fn blocked_consumer_is_woken_by_a_push() {
        let (out, inbox) = channel(4);
        let reader = std::thread::spawn(move || inbox.recv_timeout(Some(Duration::from_secs(10))));
        std::thread::sleep(Duration::from_millis(50));
        out.push(&msg(9), ProbeKind::Command);
        assert_eq!(reader.join().ok(), Some(Ok(msg(9))));
    }

    #[test]
    fn injected_messages_arrive_in_order() {
        let (out, inbox) = channel(4);
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
        let (out, inbox) = channel(4);
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

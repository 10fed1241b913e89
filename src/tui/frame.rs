//! A [`Frame`]: everything the panes draw, at one point of the trace stream.
//!
//! The trace model's [`Snapshot`] already rebuilds the loop's arrays from probe
//! events. A learner also wants to know *where in the iteration* the loop is:
//! which phase, which fired entry is being dispatched, what the poll waited
//! for, what the last `beforeSleep` did. None of that is loop state that Redis
//! keeps, so the snapshot does not carry it; a frame derives it from the same
//! events, with the same rule: [`Frame::apply`] is a pure function of the frame
//! and the event. That is what makes history exact: a frame rebuilt from an
//! earlier frame plus the recorded events is identical to the one that was on
//! screen at the time.

use crate::trace::model::{
    BeforeSleepSummary, Event, Fd, FileEventInfo, Fired, PollReason, ProbeData, ProbeKind, Snapshot,
};

/// Where in `aeProcessEvents` the loop is. The five middle ones are the phases
/// of an iteration, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nothing seen yet (a fresh snapshot).
    Unknown,
    /// Top of the iteration.
    Start,
    BeforeSleep,
    Polling,
    AfterSleep,
    FileEvents,
    TimeEvents,
    /// The iteration's bookkeeping is done.
    End,
}

impl Phase {
    /// The phases of one iteration, in order (the header draws them as a strip).
    pub const STRIP: [Phase; 5] = [
        Phase::BeforeSleep,
        Phase::Polling,
        Phase::AfterSleep,
        Phase::FileEvents,
        Phase::TimeEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Unknown => "?",
            Phase::Start => "iteration start",
            Phase::BeforeSleep => "before sleep",
            Phase::Polling => "polling",
            Phase::AfterSleep => "after sleep",
            Phase::FileEvents => "file events",
            Phase::TimeEvents => "time events",
            Phase::End => "iteration end",
        }
    }

    /// The name in the phase strip: Redis's own words where it has them.
    pub fn short(self) -> &'static str {
        match self {
            Phase::BeforeSleep => "beforeSleep",
            Phase::Polling => "poll",
            Phase::AfterSleep => "afterSleep",
            other => other.name(),
        }
    }

    /// The phase a probe of `kind` announces. Kinds that can happen in more
    /// than one phase (a write happens in `beforeSleep` or in a write handler)
    /// announce none and leave the phase as it was.
    fn of(kind: ProbeKind) -> Option<Phase> {
        Some(match kind {
            ProbeKind::IterationBegin => Phase::Start,
            ProbeKind::BeforeSleepBegin | ProbeKind::BeforeSleepEnd => Phase::BeforeSleep,
            ProbeKind::PollEnter | ProbeKind::PollReturn => Phase::Polling,
            ProbeKind::AfterSleep => Phase::AfterSleep,
            ProbeKind::FileEvent => Phase::FileEvents,
            ProbeKind::TimeEvent => Phase::TimeEvents,
            ProbeKind::IterationEnd => Phase::End,
            _ => return None,
        })
    }
}

/// This iteration's call to poll.
#[derive(Clone, Debug, PartialEq)]
pub struct PollInfo {
    /// `None`: wait as long as it takes.
    pub timeout_ms: Option<u64>,
    pub reason: PollReason,
    /// Set once poll returned.
    pub slept_us: Option<u64>,
}

/// What the most recent finished `beforeSleep` did.
#[derive(Clone, Debug, PartialEq)]
pub struct BeforeSleepInfo {
    pub iter: u64,
    pub did: BeforeSleepSummary,
    pub duration_us: u64,
}

/// The state of the loop at one point of the stream, as the panes draw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// The loop's arrays, rebuilt by the trace model's reducer.
    pub snap: Snapshot,
    /// The probe this frame stops at; `None` right after a snapshot.
    pub at: Option<Event>,
    pub phase: Phase,
    /// This iteration's poll, once the loop reached it.
    pub poll: Option<PollInfo>,
    /// Fired entries dispatched so far this iteration, in order; the last one
    /// is being dispatched while the phase is [`Phase::FileEvents`].
    pub dispatched: Vec<Fired>,
    /// `beforeSleep` has begun and not yet ended.
    pub in_before_sleep: bool,
    pub before_sleep: Option<BeforeSleepInfo>,
    /// Events were lost since the last snapshot: some facts may be out of date.
    pub stale: bool,
}

impl Frame {
    /// A frame from a full snapshot. What the snapshot cannot say (phase, poll,
    /// dispatching) is kept from `prev` when it describes the same iteration.
    pub fn from_snapshot(snap: Snapshot, prev: Option<&Frame>) -> Frame {
        let same_iter = prev.filter(|p| p.snap.iter == snap.iter);
        Frame {
            at: None,
            phase: same_iter.map_or(Phase::Unknown, |p| p.phase),
            poll: same_iter.and_then(|p| p.poll.clone()),
            dispatched: same_iter.map(|p| p.dispatched.clone()).unwrap_or_default(),
            in_before_sleep: same_iter.is_some_and(|p| p.in_before_sleep),
            before_sleep: prev.and_then(|p| p.before_sleep.clone()),
            stale: false,
            snap,
        }
    }

    /// Applies one probe event: the snapshot's reducer plus the derived
    /// facts. The caller keeps the event as [`Frame::at`] if it wants to.
    pub fn apply_facts(&mut self, ev: &Event) {
        self.snap.apply(ev);
        if let Some(p) = Phase::of(ev.data.kind()) {
            self.phase = p;
        }
        match &ev.data {
            ProbeData::IterationBegin {} => {
                self.poll = None;
                self.dispatched.clear();
            }
            ProbeData::BeforeSleepBegin {} => self.in_before_sleep = true,
            ProbeData::BeforeSleepEnd {
                duration_us, did, ..
            } => {
                self.in_before_sleep = false;
                self.before_sleep = Some(BeforeSleepInfo {
                    iter: ev.iter,
                    did: did.clone(),
                    duration_us: *duration_us,
                });
            }
            ProbeData::PollEnter { timeout_ms, reason } => {
                self.poll = Some(PollInfo {
                    timeout_ms: *timeout_ms,
                    reason: reason.clone(),
                    slept_us: None,
                });
            }
            ProbeData::PollReturn { slept_us, .. } => {
                if let Some(p) = self.poll.as_mut() {
                    p.slept_us = Some(*slept_us);
                }
            }
            ProbeData::FileEvent {
                fd, mask, refired, ..
            } => self.dispatched.push(Fired {
                fd: *fd,
                mask: *mask,
                refired: *refired,
            }),
            _ => {}
        }
    }

    /// Applies recorded events in order, keeping only the last as `at`.
    pub fn apply_all<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        let mut last = None;
        for ev in events {
            self.apply_facts(ev);
            last = Some(ev);
        }
        if let Some(ev) = last {
            self.at = Some(ev.clone());
        }
    }

    /// The fd whose handler is running, while file events are dispatched.
    pub fn dispatching(&self) -> Option<Fd> {
        match self.phase {
            Phase::FileEvents => self.dispatched.last().map(|f| f.fd),
            _ => None,
        }
    }

    /// The index in `fired` of the entry dispatched last. Entries run in
    /// order, and one entry may run two handlers (read, then write), so the
    /// dispatched fds are matched against `fired` front to back.
    pub fn fired_reached(&self) -> Option<usize> {
        let mut i = 0;
        let mut reached = None;
        for d in &self.dispatched {
            while i < self.snap.fired.len() && self.snap.fired[i].fd != d.fd {
                i += 1;
            }
            if i < self.snap.fired.len() {
                reached = Some(i);
            }
        }
        reached
    }

    /// The time event whose due time bounds this iteration's poll, if one does.
    pub fn bounding_timer(&self) -> Option<i64> {
        match self.poll.as_ref().map(|p| &p.reason) {
            Some(PollReason::Timer { id, .. }) => Some(*id),
            _ => None,
        }
    }

    /// A rough count of the heap bytes this frame holds (history's budget).
    pub fn approx_bytes(&self) -> usize {
        let s = &self.snap;
        std::mem::size_of::<Frame>()
            + s.file_events.len() * (std::mem::size_of::<FileEventInfo>() + 48)
            + s.fired.len() * std::mem::size_of::<Fired>()
            + s.time_events.len() * 96
            + s.listeners.len() * 64
            + s.clients
                .iter()
                .map(|c| {
                    160 + c.addr.len() + c.last_cmd.len() + c.name.as_ref().map_or(0, String::len)
                })
                .sum::<usize>()
            + s.keyspace.len() * 24
            + self.dispatched.len() * std::mem::size_of::<Fired>()
            + self.at.as_ref().map_or(0, approx_event_bytes)
    }
}

/// A rough count of the bytes one recorded event holds (history's budget).
pub fn approx_event_bytes(ev: &Event) -> usize {
    use std::borrow::Cow;
    let site = match &ev.site {
        Cow::Borrowed(_) => 0,
        Cow::Owned(s) => s.file.len() + s.function.len() + s.mirrors.len(),
    };
    let data = match &ev.data {
        ProbeData::Command {
            argv,
            keys,
            reply,
            name,
            client_name,
            ..
        } => {
            argv.iter().chain(keys).map(|a| a.len() + 24).sum::<usize>()
                + reply.preview.len()
                + name.as_ref().map_or(0, |n| n.len())
                + client_name.as_ref().map_or(0, String::len)
        }
        ProbeData::PollReturn { fired, .. } => fired.len() * std::mem::size_of::<Fired>(),
        ProbeData::PollEnter {
            reason: PollReason::StillReady { fds },
            ..
        } => fds.len() * 4,
        ProbeData::ClientConnected { addr, .. } => addr.len(),
        ProbeData::ClientClosed { addr, reason, .. } => addr.len() + reason.len(),
        ProbeData::ClientBlocked { keys, .. } => keys.iter().map(String::len).sum(),
        ProbeData::CommandQueued { name, .. } => name.len(),
        ProbeData::ClientUnblocked { reason, .. } => reason.len(),
        ProbeData::Published { channel, .. } => channel.len(),
        ProbeData::BeforeSleepEnd { keyspace, .. } => keyspace.len() * 24,
        _ => 0,
    };
    std::mem::size_of::<Event>() + site + data
}

//! History: the recorded past of the stream, to travel back through.
//!
//! A visualiser that drives a real server cannot go back by running the
//! server backwards; it can only show what it recorded. Storing a full
//! [`Frame`] for every probe would be exact but huge, so history keeps
//! *keyframes and deltas*, the way video does: a [`Segment`] is one full frame
//! (its base) followed by the events that came after it. The frame at any
//! recorded position is its segment's base with the first `k` events applied
//! again through [`Frame::apply`] (which is deterministic), so it is exactly
//! the frame that was live at the time. Nothing is executed: only the reducer
//! runs.
//!
//! A new segment starts at every snapshot (the stream re-synchronised, so the
//! base must be the snapshot itself) and at the first iteration start after
//! [`Limits::keyframe_every`] events (so rebuilding a frame never replays
//! more than about that many events).
//!
//! Memory is bounded twice: whole segments are dropped from the front once
//! the rest still holds [`Limits::iterations`] iterations, or once history
//! holds more than [`Limits::bytes`] (estimated). In a tour the first bound
//! applies; under a benchmark, with hundreds of events per iteration, the
//! second one does and fewer iterations are kept.

use std::collections::VecDeque;

use super::frame::{Frame, approx_event_bytes};
use crate::trace::model::{Event, ProbeKind};

/// How much history to keep.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Keep at least this many iterations (memory permitting).
    pub iterations: u64,
    /// Never hold more than this many bytes (estimated).
    pub bytes: usize,
    /// Start a new keyframe after this many events.
    pub keyframe_every: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            iterations: 10_000,
            bytes: 256 << 20,
            keyframe_every: 256,
        }
    }
}

/// A keyframe and the events recorded after it.
#[derive(Debug)]
struct Segment {
    base: Frame,
    /// True if the base is a state of its own (a snapshot), false if it is
    /// just the end of the previous segment (then position 0 is not a stop).
    base_is_stop: bool,
    events: Vec<Event>,
    /// Iteration starts among `events`.
    iterations: u64,
    bytes: usize,
}

impl Segment {
    fn first_k(&self) -> usize {
        usize::from(!self.base_is_stop)
    }
}

/// A recorded position: segment `seg` (a number that never repeats) with its
/// first `k` events applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    seg: u64,
    k: usize,
}

/// The recorded past. See the module doc.
#[derive(Debug)]
pub struct History {
    segments: VecDeque<Segment>,
    /// The number of `segments[0]`.
    first_seg: u64,
    bytes: usize,
    iterations: u64,
    limits: Limits,
}

impl History {
    pub fn new(limits: Limits) -> History {
        History {
            segments: VecDeque::new(),
            first_seg: 0,
            bytes: 0,
            iterations: 0,
            limits,
        }
    }

    /// Records a snapshot; `frame` is the frame built from it.
    pub fn record_snapshot(&mut self, frame: &Frame) {
        self.push_segment(frame.clone(), true);
        self.evict();
    }

    /// Records `ev`; `before` is the live frame before `ev` is applied to it.
    /// Events before the first snapshot are not recorded (there is no base).
    pub fn record_event(&mut self, before: &Frame, ev: &Event) {
        let is_iter = ev.data.kind() == ProbeKind::IterationBegin;
        let full = self
            .segments
            .back()
            .is_some_and(|s| s.events.len() >= self.limits.keyframe_every);
        if self.segments.is_empty() {
            return;
        }
        if is_iter && full {
            self.push_segment(before.clone(), false);
        }
        let bytes = approx_event_bytes(ev);
        if let Some(seg) = self.segments.back_mut() {
            seg.events.push(ev.clone());
            seg.bytes += bytes;
            if is_iter {
                seg.iterations += 1;
                self.iterations += 1;
            }
        }
        self.bytes += bytes;
        if is_iter {
            self.evict();
        }
    }

    fn push_segment(&mut self, base: Frame, base_is_stop: bool) {
        let bytes = base.approx_bytes();
        self.bytes += bytes;
        self.segments.push_back(Segment {
            base,
            base_is_stop,
            events: Vec::new(),
            iterations: 0,
            bytes,
        });
    }

    fn evict(&mut self) {
        while self.segments.len() > 1 {
            let front = &self.segments[0];
            let enough_without = self.iterations - front.iterations >= self.limits.iterations;
            if !(enough_without || self.bytes > self.limits.bytes) {
                break;
            }
            self.bytes -= front.bytes;
            self.iterations -= front.iterations;
            self.segments.pop_front();
            self.first_seg += 1;
            // The new front's base is now the oldest state we have: it is a stop.
            if let Some(f) = self.segments.front_mut() {
                f.base_is_stop = true;
            }
        }
    }

    /// Iteration starts recorded.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn seg(&self, n: u64) -> Option<&Segment> {
        let i = usize::try_from(n.checked_sub(self.first_seg)?).ok()?;
        self.segments.get(i)
    }

    /// The oldest recorded position.
    pub fn oldest(&self) -> Option<Pos> {
        let s = self.segments.front()?;
        Some(Pos {
            seg: self.first_seg,
            k: s.first_k().min(s.events.len()),
        })
    }

    /// The newest recorded position (the live state).
    pub fn newest(&self) -> Option<Pos> {
        let s = self.segments.back()?;
        Some(Pos {
            seg: self.first_seg + self.segments.len() as u64 - 1,
            k: s.events.len(),
        })
    }

    /// `pos` if it is still recorded, else the oldest position (history moved on).
    pub fn clamp(&self, pos: Pos) -> Option<Pos> {
        let oldest = self.oldest()?;
        if pos < oldest {
            Some(oldest)
        } else {
            Some(pos)
        }
    }

    /// The position one step before `pos`.
    pub fn prev(&self, pos: Pos) -> Option<Pos> {
        let s = self.seg(pos.seg)?;
        if pos.k > s.first_k() {
            return Some(Pos {
                k: pos.k - 1,
                ..pos
            });
        }
        let seg = pos.seg.checked_sub(1)?;
        let p = self.seg(seg)?;
        Some(Pos {
            seg,
            k: p.events.len(),
        })
    }

    /// The position one step after `pos`.
    pub fn next(&self, pos: Pos) -> Option<Pos> {
        let s = self.seg(pos.seg)?;
        if pos.k < s.events.len() {
            return Some(Pos {
                k: pos.k + 1,
                ..pos
            });
        }
        let seg = pos.seg + 1;
        let n = self.seg(seg)?;
        let k = n.first_k();
        // A segment cut at an iteration start always has its first event.
        (k <= n.events.len()).then_some(Pos { seg, k })
    }

    /// The event a position stops at (`None` at a snapshot).
    pub fn event_at(&self, pos: Pos) -> Option<&Event> {
        let s = self.seg(pos.seg)?;
        s.events.get(pos.k.checked_sub(1)?)
    }

    /// The first position after `pos` whose event satisfies `pred`.
    pub fn find_next(&self, mut pos: Pos, pred: impl Fn(&Event) -> bool) -> Option<Pos> {
        loop {
            pos = self.next(pos)?;
            if self.event_at(pos).is_some_and(&pred) {
                return Some(pos);
            }
        }
    }

    /// The last position before `pos` whose event satisfies `pred`.
    pub fn find_prev(&self, mut pos: Pos, pred: impl Fn(&Event) -> bool) -> Option<Pos> {
        loop {
            pos = self.prev(pos)?;
            if self.event_at(pos).is_some_and(&pred) {
                return Some(pos);
            }
        }
    }

    /// The frame at `pos`, rebuilt from its keyframe.
    pub fn frame_at(&self, pos: Pos) -> Option<Frame> {
        let s = self.seg(pos.seg)?;
        let mut f = s.base.clone();
        f.apply_all(s.events.get(..pos.k)?);
        Some(f)
    }

    /// How many steps `pos` is behind the newest position.
    pub fn behind(&self, pos: Pos) -> u64 {
        let mut n = 0u64;
        let Some(newest) = self.newest() else {
            return 0;
        };
        if pos.seg == newest.seg {
            return newest.k.saturating_sub(pos.k) as u64;
        }
        if let Some(s) = self.seg(pos.seg) {
            n += s.events.len().saturating_sub(pos.k) as u64;
        }
        for seg in pos.seg + 1..=newest.seg {
            if let Some(s) = self.seg(seg) {
                n += (s.events.len() + 1 - s.first_k()) as u64;
            }
        }
        n
    }
}

//! Bounded, append-only logs of what the stream did, readable "as of" any point.
//!
//! The command flow and the activity chart show things that happened *before*
//! the frame on screen. Both are logs ordered by the event `seq` that produced
//! each entry, so the view of the past simply hides the entries newer than the
//! frame it shows (a binary search), and the live view shows them all.

use std::collections::VecDeque;

use crate::trace::model::{Fd, ReplyInfo};

/// A log entry knows the event that produced it.
pub trait Seq {
    fn seq(&self) -> u64;
}

/// The newest `cap` entries of a log.
#[derive(Debug)]
pub struct Log<T> {
    entries: VecDeque<T>,
    cap: usize,
    /// Entries pushed out by newer ones: the first kept entry is number
    /// `forgotten` of all that were ever pushed.
    forgotten: u64,
}

impl<T: Seq> Log<T> {
    pub fn new(cap: usize) -> Log<T> {
        Log {
            entries: VecDeque::new(),
            cap: cap.max(1),
            forgotten: 0,
        }
    }

    pub fn push(&mut self, entry: T) {
        if self.entries.len() == self.cap {
            self.entries.pop_front();
            self.forgotten += 1;
        }
        self.entries.push_back(entry);
    }

    /// How many entries were produced at or before event `seq`.
    pub fn count_upto(&self, seq: u64) -> usize {
        self.entries.partition_point(|e| e.seq() <= seq)
    }

    /// How many older entries were let go to keep the log within its cap.
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.entries.get(i)
    }

    /// The newest entry that satisfies `pred`, to complete it.
    pub fn newest_mut(&mut self, pred: impl Fn(&T) -> bool) -> Option<&mut T> {
        self.entries.iter_mut().rev().find(|e| pred(e))
    }

    /// The entries `range` (clamped to what exists).
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &T> {
        let end = end.min(self.entries.len());
        self.entries.range(start.min(end)..end)
    }
}

/// One command the loop ran, for the command flow pane.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandEntry {
    pub seq: u64,
    pub iter: u64,
    pub t_us: u64,
    pub client: u64,
    pub client_name: Option<String>,
    pub fd: Fd,
    pub db: u32,
    pub name: Option<std::borrow::Cow<'static, str>>,
    pub argv: Vec<String>,
    pub argc: u32,
    pub keys: Vec<String>,
    pub reply: ReplyInfo,
    pub duration_us: u64,
    /// Set when the command blocked its client (BLPOP on an empty list).
    pub wait: Option<Wait>,
}

/// A blocking command's wait: what it waits on and, once the client resumed,
/// how it ended. The command's own reply is empty; the real one comes here.
#[derive(Clone, Debug, PartialEq)]
pub struct Wait {
    pub keys: Vec<String>,
    pub ended: Option<WaitEnd>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WaitEnd {
    /// The `client_unblocked` event: the end shows only from there on.
    pub seq: u64,
    pub t_us: u64,
    pub reason: String,
    /// `None` if the reply had already left when the client resumed.
    pub reply: Option<ReplyInfo>,
}

impl CommandEntry {
    /// The keys a blocked command waits on, for a sentence.
    pub fn wait_keys(&self) -> String {
        self.wait
            .as_ref()
            .map_or_else(String::new, |w| w.keys.join(" "))
    }

    /// How the wait stands as of event `seq`: `None` for a command that did
    /// not block, else the end if it had come by then.
    pub fn wait_as_of(&self, seq: u64) -> Option<Option<&WaitEnd>> {
        let w = self.wait.as_ref()?;
        Some(w.ended.as_ref().filter(|e| e.seq <= seq))
    }
}

impl Seq for CommandEntry {
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// What one finished iteration did, for the activity chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IterStats {
    /// The `iteration_end` event.
    pub seq: u64,
    pub iter: u64,
    pub t_us: u64,
    /// Entries poll put in `fired`, and how many of them the emulation added.
    pub fired: u32,
    pub refired: u32,
    pub file_events: u32,
    pub commands: u32,
    pub time_events: u32,
    /// The whole iteration on the wall clock, the part of it the gate held
    /// the loop paused, and the part spent waiting in poll.
    pub duration_us: u64,
    pub paused_us: u64,
    pub slept_us: u64,
}

impl IterStats {
    /// How long the iteration took by itself: the wall clock without the
    /// time a viewer kept it paused.
    pub fn active_us(&self) -> u64 {
        self.duration_us.saturating_sub(self.paused_us)
    }

    /// Time the loop was busy (neither paused nor waiting in poll).
    pub fn busy_us(&self) -> u64 {
        self.active_us().saturating_sub(self.slept_us)
    }
}

impl Log<IterStats> {
    /// The `k` busiest of the last `window` iterations finished by event
    /// `seq`, busiest first (the newer first among equals). Busy time leaves
    /// out the wait in poll and any pause, so what ranks high is work.
    pub fn slowest(&self, seq: u64, window: usize, k: usize) -> Vec<&IterStats> {
        let n = self.count_upto(seq);
        let mut recent: Vec<&IterStats> = self.range(n.saturating_sub(window), n).collect();
        recent.sort_by(|a, b| b.busy_us().cmp(&a.busy_us()).then(b.seq.cmp(&a.seq)));
        recent.truncate(k);
        recent
    }
}

impl Seq for IterStats {
    fn seq(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct E(u64);
    impl Seq for E {
        fn seq(&self) -> u64 {
            self.0
        }
    }

    fn stats(seq: u64, duration_us: u64, paused_us: u64, slept_us: u64) -> IterStats {
        IterStats {
            seq,
            iter: seq,
            duration_us,
            paused_us,
            slept_us,
            ..IterStats::default()
        }
    }

    #[test]
    fn the_slowest_iterations_rank_by_work_not_by_sleep_or_pause() {
        let mut log = Log::new(100);
        log.push(stats(1, 100_000, 0, 99_000)); // slept: 1 ms of work
        log.push(stats(2, 5_000_000, 4_990_000, 0)); // paused: 10 ms of work
        log.push(stats(3, 1_002_000, 0, 1_000)); // a slow command: 1001 ms
        log.push(stats(4, 3_000, 0, 0));
        let seqs = |v: Vec<&IterStats>| v.iter().map(|s| s.seq).collect::<Vec<_>>();
        assert_eq!(seqs(log.slowest(u64::MAX, 10, 3)), [3, 2, 4]);
        // As of seq 2, iteration 3 has not happened.
        assert_eq!(seqs(log.slowest(2, 10, 3)), [2, 1]);
        // Only the last two iterations are looked at.
        assert_eq!(seqs(log.slowest(u64::MAX, 2, 5)), [3, 4]);
        assert_eq!(log.get(2).map(IterStats::busy_us), Some(1_001_000));
    }

    #[test]
    fn bounded_and_readable_as_of_a_seq() {
        let mut log = Log::new(3);
        for s in [2, 4, 6, 8] {
            log.push(E(s));
        }
        assert_eq!(log.get(0), Some(&E(4)));
        assert_eq!(log.forgotten(), 1);
        assert_eq!(log.count_upto(3), 0);
        assert_eq!(log.count_upto(6), 2);
        assert_eq!(log.count_upto(100), 3);
        let v: Vec<u64> = log.range(1, 99).map(|e| e.0).collect();
        assert_eq!(v, [6, 8]);
        assert_eq!(log.range(5, 2).count(), 0);
    }
}

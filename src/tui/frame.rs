//! A [`Frame`]: everything the panes draw, at one point of the trace stream.
//!
//! The trace model's [`Snapshot`] already rebuilds the loop's arrays from probe
//! events. A learner also wants to know *where in the iteration* the loop is:
//! which phase, which fired entry is being dispatched, what the poll waited
//! for, what the current or last `beforeSleep` did.
//!
//! Every fact is the one true *at the probe the frame stops at*: inside a
//! `beforeSleep` the frame describes that `beforeSleep` so far, counted probe
//! by probe, and not the one before it. None of that is loop state that Redis
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
            ProbeKind::TimeEventStart | ProbeKind::TimeEvent => Phase::TimeEvents,
            ProbeKind::PollEnter | ProbeKind::PollReturn => Phase::Polling,
            ProbeKind::AfterSleep => Phase::AfterSleep,
            ProbeKind::FileEvent => Phase::FileEvents,
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

/// What the `beforeSleep` the frame is in did so far, or, between two of
/// them, what the last one did.
#[derive(Clone, Debug, PartialEq)]
pub struct BeforeSleepInfo {
    pub iter: u64,
    pub did: BeforeSleepSummary,
    /// Trace time of its `before_sleep_begin`.
    pub began_us: u64,
    /// Set by its `before_sleep_end`: the time it took, pauses left out.
    /// `None` while it is still running.
    pub took_us: Option<u64>,
}

impl BeforeSleepInfo {
    pub fn running(&self) -> bool {
        self.took_us.is_none()
    }
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
    /// The running `beforeSleep`, else the last finished one.
    pub before_sleep: Option<BeforeSleepInfo>,
    /// Until this iteration's poll returns: the previous iteration and the
    /// entries its poll put in `fired`. ae never clears `fired` (poll
    /// overwrites it), so the array really still holds them; the snapshot
    /// empties its copy at each iteration start to say "nothing new yet".
    pub earlier_fired: Option<(u64, Vec<Fired>)>,
    /// Events were lost since the last snapshot: some facts may be out of date.
    pub stale: bool,
    /// This iteration was run by `processEventsWhileBlocked` from inside a
    /// long operation (the AOF loader): the Redis caller, and which of the
    /// at most four iterations it is. `None` for the loop's own iterations.
    pub while_blocked: Option<(String, u32)>,
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
            earlier_fired: same_iter.and_then(|p| p.earlier_fired.clone()),
            // A beforeSleep caught running in an earlier iteration ended
            // unseen: what it did is unknown, so it is not shown as if known.
            before_sleep: prev
                .and_then(|p| p.before_sleep.clone())
                .filter(|b| same_iter.is_some() || !b.running()),
            stale: false,
            while_blocked: same_iter.and_then(|p| p.while_blocked.clone()),
            snap,
        }
    }

    /// Applies one probe event: the snapshot's reducer plus the derived
    /// facts. The caller keeps the event as [`Frame::at`] if it wants to.
    pub fn apply_facts(&mut self, ev: &Event) {
        match ev.data {
            ProbeData::IterationBegin {} => {
                let fired = std::mem::take(&mut self.snap.fired);
                self.earlier_fired = (!fired.is_empty()).then_some((self.snap.iter, fired));
            }
            ProbeData::PollReturn { .. } => self.earlier_fired = None,
            _ => {}
        }
        // An iteration that ran the loop from inside (DEBUG LOADAOF) goes on
        // once its inner iterations are over: its events carry its earlier
        // number again. It is back in the file event whose handler made the
        // call, and no longer run from inside anything.
        let resumed = ev.iter < self.snap.iter && ev.data.kind() != ProbeKind::IterationBegin;
        self.snap.apply(ev);
        if resumed {
            self.phase = Phase::FileEvents;
            self.while_blocked = None;
        }
        if let Some(p) = Phase::of(ev.data.kind()) {
            self.phase = p;
        }
        match &ev.data {
            ProbeData::IterationBegin {} => {
                self.poll = None;
                self.dispatched.clear();
                self.while_blocked = None;
            }
            ProbeData::EventsWhileBlocked { caller, round, .. } => {
                self.while_blocked = Some((caller.clone(), *round));
            }
            ProbeData::BeforeSleepBegin {} => {
                self.before_sleep = Some(BeforeSleepInfo {
                    iter: ev.iter,
                    did: BeforeSleepSummary::default(),
                    began_us: ev.t_us,
                    took_us: None,
                });
            }
            ProbeData::BeforeSleepEnd {
                duration_us,
                paused_us,
                did,
                ..
            } => {
                // The tracer's count is the reference: it saw every event,
                // even those this viewer lost.
                self.before_sleep = Some(BeforeSleepInfo {
                    iter: ev.iter,
                    did: did.clone(),
                    began_us: self
                        .before_sleep
                        .as_ref()
                        .filter(|b| b.running())
                        .map_or(ev.t_us.saturating_sub(*duration_us), |b| b.began_us),
                    took_us: Some(duration_us.saturating_sub(*paused_us)),
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
        if let Some(b) = self.before_sleep.as_mut().filter(|b| b.running()) {
            b.did.count(&ev.data);
        }
    }

    /// True between a `before_sleep_begin` and its `before_sleep_end`.
    pub fn in_before_sleep(&self) -> bool {
        self.before_sleep
            .as_ref()
            .is_some_and(BeforeSleepInfo::running)
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

    /// What the fired pane lists: this iteration's entries once poll
    /// returned, else the previous iteration's (with its number) if it had any.
    pub fn fired_shown(&self) -> (&[Fired], Option<u64>) {
        match &self.earlier_fired {
            Some((iter, fired)) if self.snap.fired.is_empty() => (fired, Some(*iter)),
            _ => (&self.snap.fired, None),
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
            + self
                .earlier_fired
                .as_ref()
                .map_or(0, |(_, f)| f.len() * std::mem::size_of::<Fired>())
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
        ProbeData::LazyExpired { key, .. } => key.len(),
        ProbeData::CommandQueued { name, .. } => name.len(),
        ProbeData::ClientUnblocked { reason, .. } => reason.len(),
        ProbeData::Published { channel, .. } => channel.len(),
        ProbeData::BeforeSleepEnd { keyspace, .. } => keyspace.len() * 24,
        _ => 0,
    };
    std::mem::size_of::<Event>() + site + data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{IoOutcome, Mask};
    use crate::tui::keys::Action;
    use crate::tui::panes::{self, Pane};
    use crate::tui::state::App;
    use crate::tui::testkit::{CLIENT_FD, Script, app_with, cron};

    /// The beforeSleep pane as "what: how much" lines.
    fn before_sleep_pane(app: &App) -> Vec<String> {
        panes::rows(Pane::BeforeSleep, app, 0, 20)
            .into_iter()
            .map(|r| r.cells.join(": "))
            .collect()
    }

    /// The story, then a beforeSleep that writes a big reply partly and
    /// installs a write handler for the rest, cut after `upto` of its events.
    fn inside_before_sleep(upto: usize) -> App {
        let mut s = Script::story();
        s.iter += 1;
        s.ev(ProbeData::IterationBegin {});
        let mut steps = vec![
            ProbeData::BeforeSleepBegin {},
            ProbeData::Write {
                client: 1,
                fd: CLIENT_FD,
                bytes: 65_536,
                pending: 100,
                outcome: IoOutcome::Drained,
            },
            ProbeData::FileEventCreated {
                fd: CLIENT_FD,
                mask: Mask::WRITABLE,
                handler: crate::trace::model::Handler::new(
                    "send_reply_to_client",
                    "sendReplyToClient",
                ),
                now: Mask(3),
            },
            ProbeData::BeforeSleepEnd {
                duration_us: 5_000_040,
                paused_us: 5_000_000,
                did: BeforeSleepSummary {
                    clients_written: 1,
                    bytes_written: 65_536,
                    write_handlers_installed: 1,
                    ..BeforeSleepSummary::default()
                },
                keyspace: Vec::new(),
            },
        ];
        steps.truncate(upto);
        for d in steps {
            s.ev(d);
        }
        app_with(&s.out, false)
    }

    #[test]
    fn the_before_sleep_pane_shows_the_running_one_probe_by_probe() {
        let app = inside_before_sleep(1);
        let f = app.frame().expect("frame");
        assert!(f.in_before_sleep());
        assert_eq!(
            before_sleep_pane(&app)[..4],
            [
                "iteration: 5 (in progress: so far)",
                "written: 0 clients, 0 bytes",
                "installed: 0 write handlers",
                "closed: 0 clients",
            ]
        );
        let app = inside_before_sleep(2);
        assert_eq!(before_sleep_pane(&app)[1], "written: 1 client, 65536 bytes");
        assert_eq!(before_sleep_pane(&app)[2], "installed: 0 write handlers");
        let app = inside_before_sleep(3);
        assert_eq!(before_sleep_pane(&app)[2], "installed: 1 write handler");
        assert!(before_sleep_pane(&app).contains(&"took: still running".to_string()));
        // Done: the tracer's summary, and the time without the pause.
        let app = inside_before_sleep(4);
        let lines = before_sleep_pane(&app);
        assert_eq!(lines[0], "iteration: 5 (done)");
        assert_eq!(lines[2], "installed: 1 write handler");
        assert!(lines.contains(&"took: 40 us".to_string()), "{lines:?}");
        assert!(!app.frame().expect("frame").in_before_sleep());
    }

    #[test]
    fn the_aof_write_and_fsync_show_before_the_reply_while_before_sleep_runs() {
        // Chapter 12 pauses at the reply's write and points at this pane.
        let mut s = Script::story();
        s.iter += 1;
        s.ev(ProbeData::IterationBegin {});
        s.ev(ProbeData::BeforeSleepBegin {});
        s.ev(ProbeData::AofFlushed {
            bytes: 27,
            postponed: None,
            fsync: "always".into(),
        });
        s.ev(ProbeData::AofFsynced {
            mode: "always".into(),
            background: false,
        });
        s.ev(ProbeData::Write {
            client: 1,
            fd: CLIENT_FD,
            bytes: 5,
            pending: 0,
            outcome: IoOutcome::Drained,
        });
        let lines = before_sleep_pane(&app_with(&s.out, false));
        assert_eq!(
            lines[..3],
            [
                "iteration: 5 (in progress: so far)",
                "AOF first: 27 bytes, fsynced",
                "written: 1 client, 5 bytes",
            ]
        );
    }

    #[test]
    fn the_past_shows_the_before_sleep_as_it_was_at_that_probe() {
        let mut app = inside_before_sleep(4);
        // Back from the end: at the write handler, then at the write.
        app.on_action(Action::Back);
        assert_eq!(
            before_sleep_pane(&app)[0],
            "iteration: 5 (in progress: so far)"
        );
        assert_eq!(before_sleep_pane(&app)[2], "installed: 1 write handler");
        app.on_action(Action::Back);
        assert_eq!(before_sleep_pane(&app)[1], "written: 1 client, 65536 bytes");
        assert_eq!(before_sleep_pane(&app)[2], "installed: 0 write handlers");
        app.on_action(Action::Back);
        assert_eq!(before_sleep_pane(&app)[1], "written: 0 clients, 0 bytes");
        // Before this beforeSleep began: the finished one of iteration 4.
        app.on_action(Action::Back);
        assert_eq!(before_sleep_pane(&app)[0], "iteration: 4 (done)");
        assert_eq!(before_sleep_pane(&app)[1], "written: 1 client, 5 bytes");
    }

    #[test]
    fn a_running_before_sleep_cut_off_by_a_later_snapshot_is_not_shown_as_known() {
        let app = inside_before_sleep(2);
        let mut f = app.frame().cloned().expect("frame");
        let mut later = f.snap.clone();
        later.iter += 1;
        f = Frame::from_snapshot(later, Some(&f));
        assert_eq!(f.before_sleep, None);
        // The same iteration keeps what was counted.
        let same = app.frame().expect("frame");
        let f = Frame::from_snapshot(same.snap.clone(), Some(same));
        assert!(f.in_before_sleep());
    }

    #[test]
    fn until_poll_returns_the_fired_pane_shows_the_last_iterations_entries() {
        let mut s = Script::start();
        s.idle();
        s.connect();
        s.iter += 1;
        s.ev(ProbeData::IterationBegin {});
        let mut app = app_with(&s.out, false);
        let f = app.frame().expect("frame");
        assert!(f.snap.fired.is_empty());
        assert_eq!(
            f.fired_shown().1,
            Some(2),
            "iteration 2 accepted the client"
        );
        let rows = panes::rows(Pane::Fired, &app, 0, 10);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].cells.contains(&"last iter".to_string()), "{rows:?}");
        // Poll returns nothing this time: the pane is this iteration's, empty.
        let n = s.out.len();
        s.ev(ProbeData::BeforeSleepBegin {});
        s.ev(ProbeData::PollReturn {
            fired: Vec::new(),
            slept_us: 5,
        });
        for m in s.out[n..].iter().cloned() {
            app.on_message(m);
        }
        assert_eq!(app.frame().expect("frame").fired_shown(), (&[][..], None));
        assert_eq!(panes::len(Pane::Fired, &app), 0);
        // An idle iteration leaves nothing to show at the next start.
        let mut s = Script::start();
        s.idle();
        s.iter += 1;
        s.ev(ProbeData::IterationBegin {});
        let app = app_with(&s.out, false);
        assert_eq!(app.frame().expect("frame").fired_shown().1, None);
    }

    #[test]
    fn an_fd_between_its_read_handler_and_its_client_is_a_new_client() {
        let mut s = Script::start();
        s.idle();
        // The real order in createClient: the handler first, then the client.
        s.ev(ProbeData::FileEventCreated {
            fd: CLIENT_FD,
            mask: Mask::READABLE,
            handler: crate::tui::testkit::read_query(),
            now: Mask::READABLE,
        });
        let mut app = app_with(&s.out, false);
        let row = |app: &App| {
            panes::rows(Pane::Events, app, 0, 10)
                .into_iter()
                .find(|r| r.cells[0] == CLIENT_FD.to_string())
                .expect("the client's row")
                .cells
        };
        assert_eq!(row(&app)[2], "new client");
        assert_eq!(row(&app)[6], "(createClient links it next)");
        let n = s.out.len();
        s.ev(ProbeData::ClientConnected {
            client: 1,
            fd: CLIENT_FD,
            addr: "127.0.0.1:50000".into(),
        });
        for m in s.out[n..].iter().cloned() {
            app.on_message(m);
        }
        assert_eq!(row(&app)[2], "client 1");
    }

    #[test]
    fn the_phase_follows_the_probes_into_the_time_events() {
        let mut s = Script::start();
        s.begin(Vec::new(), (0, 0), 100_000);
        let mut phases = Vec::new();
        let mut app = app_with(&s.out, false);
        let mut feed = |app: &mut App, s: &mut Script, d: ProbeData| {
            let n = s.out.len();
            s.ev(d);
            for m in s.out[n..].iter().cloned() {
                app.on_message(m);
            }
            phases.push(app.frame().expect("frame").phase);
        };
        feed(
            &mut app,
            &mut s,
            ProbeData::TimeEventStart {
                id: 0,
                handler: cron(),
            },
        );
        // The slow expire cycle runs inside serverCron.
        feed(
            &mut app,
            &mut s,
            ProbeData::ExpireCycle {
                fast: false,
                sampled: 20,
                expired: 3,
                duration_us: 50,
            },
        );
        feed(
            &mut app,
            &mut s,
            ProbeData::TimeEvent {
                id: 0,
                handler: cron(),
                next_us: None,
                period_ms: Some(100),
                duration_us: 60,
            },
        );
        assert_eq!(phases, [Phase::TimeEvents; 3]);
    }
}

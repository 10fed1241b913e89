//! The UI's state, and the two ways it changes: a trace message arrives
//! ([`App::on_message`]) or the user acts ([`App::on_key`], [`App::on_action`]).
//!
//! This is the "model" and "update" of the Elm architecture: nothing here
//! draws, and drawing (`view`) reads this state and nothing else. Control
//! messages for the loop are not sent from here either: they are queued in
//! [`App::outbox`] and the runner hands them to whatever transport feeds the
//! UI (an in-process channel, an attach socket, a replay file), which is why
//! the same state serves all three.
//!
//! The state keeps the live [`Frame`] up to date event by event, records every
//! event in [`History`], and, while the user looks at the past, a second frame
//! rebuilt from history for the position they chose. The live loop goes on
//! underneath; `End` comes back to it.

use super::code::{self, CodeState};
use super::control::{self, Role, Viewing};
use super::frame::Frame;
use super::guide::{Guide, News};
use super::history::{History, Limits, Pos};
use super::keys::{self, Action, Key, Mode};
use super::logs::{CommandEntry, IterStats, Log, Wait, WaitEnd};
use super::panes::{self, Pane};
use super::probelog::{PROBE_LOG_CAP, ProbeFilter, ProbeLog};
use super::theme::Theme;
use crate::trace::gate::step_ends_at;
use crate::trace::model::{
    BreakOn, Control, Drops, Event, FORMAT_VERSION, GateState, GateStatus, Hello, Message,
    ProbeData, ProbeKind, StepUnit, StopPoint,
};

/// The play speeds `+` and `-` move between: milliseconds between iterations.
pub const PLAY_SPEEDS_MS: [u64; 9] = [2000, 1000, 500, 250, 100, 50, 20, 10, 0];

/// Commands kept for the flow pane, iterations kept for the activity chart.
const LOG_CAP: usize = 10_000;

/// The activity pane lists the busiest of this many recent iterations...
const SLOWEST_WINDOW: usize = 1_000;
/// ...this many of them.
const SLOWEST_SHOWN: usize = 5;

/// A line for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Info(String),
    Error(String),
}

/// A popup over the panes; it takes the keyboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help {
        scroll: usize,
    },
    Details {
        pane: Pane,
        row: usize,
    },
    Breakpoints {
        selected: usize,
    },
    Prompt {
        input: String,
    },
    /// Typing the probe log's filter.
    LogFilter {
        input: String,
    },
    /// The guide's chapter list.
    Chapters {
        selected: usize,
    },
    /// The URLs on screen, each alone (`y`).
    Links,
}

/// A pane that fills the screen's body (`s`, `z`), and the pane that had
/// the focus before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zoom {
    pub pane: Pane,
    pub focus_before: Pane,
}

/// Scroll and selection of one pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaneState {
    /// The selected row; `None` shows the top (or, for the command flow, follows
    /// the newest entries).
    pub selected: Option<usize>,
    /// Columns scrolled off to the left.
    pub hscroll: usize,
}

/// Everything the UI knows. See the module doc.
#[derive(Debug)]
pub struct App {
    pub theme: Theme,
    /// What feeds the UI, for the header ("live", "attach 127.0.0.1:7380", "replay f.jsonl").
    pub source: String,
    /// A standing hint for the status bar (how to connect a client).
    pub hint: String,
    /// Where diagnostics go, for the `?` help (the status line may be too
    /// narrow to show it).
    pub log_path: Option<std::path::PathBuf>,
    /// The stream is a recording (a replay): no server stands behind it.
    pub recording: bool,
    pub hello: Option<Hello>,
    live: Option<Frame>,
    history: History,
    /// `None`: following the live loop; `Some`: looking at a recorded position.
    cursor: Option<Pos>,
    past: Option<Frame>,
    pub commands: Log<CommandEntry>,
    pub activity: Log<IterStats>,
    /// Every recent probe, for the probe log pane.
    pub probes: ProbeLog,
    /// The probe log pane is open (in the source pane's place).
    pub log_open: bool,
    /// The iteration in progress, counted until its `iteration_end`.
    pending_stats: IterStats,
    /// A client just blocked, and the keys it waits on: its command's
    /// event comes right after and takes this.
    just_blocked: Option<(u64, Vec<String>)>,
    pub gate: Option<GateStatus>,
    pub drops: Drops,
    /// Events missing from the stream (holes in `seq`) seen by this viewer.
    pub gaps: u64,
    /// Trace time of the last event that came after a hole.
    last_gap_us: Option<u64>,
    pub status: Option<Status>,
    /// The stream ended (replay at end of file, attach connection closed).
    pub ended: Option<String>,
    /// The source is cut off for now and trying to come back (an attach
    /// port that went away): why, and when it tries next.
    pub link: Option<String>,
    pub focus: Pane,
    pub panes: [PaneState; Pane::ALL.len()],
    pub overlay: Overlay,
    /// The source pane: full screen, Redis view, scrolling, anchors.
    pub code: CodeState,
    pub zoom: Option<Zoom>,
    /// The projector preset (`V`, `--projector`): a few large panes, and
    /// only the columns that matter most, so the back of a classroom can
    /// read them (the view's `projector` module lays it out).
    pub projector: bool,
    /// The play speed: milliseconds between iterations.
    pub play_ms: u64,
    /// Control messages for the loop, taken by the runner.
    pub outbox: Vec<Control>,
    pub quit: bool,
    /// The guided chapters, when loaded (see [`super::guide`]).
    pub guide: Option<Guide>,
    /// Who controls the loop, for a viewer that shares it (see [`control`]).
    pub viewing: Viewing,
    /// How the learner last set the loop going (step, continue, play,
    /// pause): the guide's own stops must not undo it.
    run_intent: Option<Control>,
}

impl App {
    pub fn new(theme: Theme, source: impl Into<String>, hint: impl Into<String>) -> App {
        App::with_limits(theme, source, hint, Limits::default())
    }

    pub fn with_limits(
        theme: Theme,
        source: impl Into<String>,
        hint: impl Into<String>,
        limits: Limits,
    ) -> App {
        App {
            theme,
            source: source.into(),
            hint: hint.into(),
            log_path: None,
            recording: false,
            hello: None,
            live: None,
            history: History::new(limits),
            cursor: None,
            past: None,
            commands: Log::new(LOG_CAP),
            activity: Log::new(LOG_CAP),
            probes: ProbeLog::new(PROBE_LOG_CAP),
            log_open: false,
            pending_stats: IterStats::default(),
            just_blocked: None,
            gate: None,
            drops: Drops::default(),
            gaps: 0,
            last_gap_us: None,
            status: None,
            ended: None,
            link: None,
            focus: Pane::Events,
            panes: [PaneState::default(); Pane::ALL.len()],
            overlay: Overlay::None,
            code: CodeState::new(None),
            zoom: None,
            projector: false,
            play_ms: 250,
            outbox: Vec::new(),
            quit: false,
            guide: None,
            viewing: Viewing::alone(),
            run_intent: None,
        }
    }

    // -----------------------------------------------------------------------
    // What the view reads
    // -----------------------------------------------------------------------

    /// The frame on screen: the recorded one while viewing the past, else live.
    pub fn frame(&self) -> Option<&Frame> {
        match self.cursor {
            Some(_) => self.past.as_ref(),
            None => self.live.as_ref(),
        }
    }

    pub fn live_frame(&self) -> Option<&Frame> {
        self.live.as_ref()
    }

    /// While viewing the past: how many recorded steps behind live the screen is.
    pub fn behind(&self) -> Option<u64> {
        self.cursor.map(|p| self.history.behind(p))
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// The `seq` of the frame on screen: log entries up to it are visible.
    pub fn visible_seq(&self) -> u64 {
        match self.cursor {
            Some(_) => self.frame().map_or(0, |f| f.snap.seq),
            None => u64::MAX,
        }
    }

    /// Who has the keyboard.
    pub fn mode(&self) -> Mode {
        match self.overlay {
            Overlay::None => Mode::Normal,
            Overlay::Help { .. } => Mode::Help,
            Overlay::Details { .. } => Mode::Details,
            Overlay::Breakpoints { .. } => Mode::Breakpoints,
            Overlay::Prompt { .. } => Mode::Prompt,
            Overlay::LogFilter { .. } => Mode::LogFilter,
            Overlay::Chapters { .. } => Mode::Chapters,
            Overlay::Links => Mode::Links,
        }
    }

    pub fn pane(&self, pane: Pane) -> &PaneState {
        &self.panes[pane.index()]
    }

    /// The busiest recent iterations as of the frame on screen, busiest
    /// first: the rows of the activity pane, each one a way into history.
    pub fn slowest_iterations(&self) -> Vec<&IterStats> {
        self.activity
            .slowest(self.visible_seq(), SLOWEST_WINDOW, SLOWEST_SHOWN)
    }

    /// Commands per second, as of the frame on screen: the commands of the
    /// iterations that ended in the last second of trace time. The second
    /// value is true when events were lost in that second, so the count is
    /// only a lower bound.
    pub fn ops_per_sec(&self) -> (u64, bool) {
        let n = self.activity.count_upto(self.visible_seq());
        let Some(last) = n.checked_sub(1).and_then(|i| self.activity.get(i)) else {
            return (0, false);
        };
        let from = last.t_us.saturating_sub(1_000_000);
        let ops = self
            .activity
            .range(0, n)
            .rev()
            .take_while(|s| s.t_us > from)
            .map(|s| u64::from(s.commands))
            .sum();
        let lossy = self.last_gap_us.is_some_and(|t| t > from && t <= last.t_us);
        (ops, lossy)
    }

    // -----------------------------------------------------------------------
    // Trace messages
    // -----------------------------------------------------------------------

    pub fn on_message(&mut self, msg: Message) {
        let stop = match &msg {
            Message::Gate(g) if g.state == GateState::Paused => g.at.clone(),
            _ => None,
        };
        let news = self.guide.as_mut().and_then(|g| g.on_message(&msg));
        if let Message::Error(e) = &msg {
            self.viewing.on_error(&e.error);
        }
        if let Some(at) = stop {
            self.keep_the_learners_run(&at);
        }
        match msg {
            Message::Hello(h) => {
                if h.format != FORMAT_VERSION {
                    self.status = Some(Status::Error(format!(
                        "the stream speaks trace format v{}, this viewer reads v{FORMAT_VERSION}",
                        h.format
                    )));
                }
                if !h.anchors.is_empty() {
                    self.code.anchors = h.anchors.clone();
                }
                self.hello = Some(h);
            }
            Message::Snapshot(s) => {
                let frame = Frame::from_snapshot(s, self.live.as_ref());
                self.history.record_snapshot(&frame);
                self.live = Some(frame);
                self.follow_history();
            }
            Message::Event(ev) => self.on_event(ev),
            Message::Drops(d) => self.drops = d,
            Message::Gate(g) => {
                self.outbox.extend(self.viewing.on_gate(&g));
                self.gate = Some(g);
            }
            // Requests with an id are the guide's: it reads their answers.
            Message::Ack(a) if a.id.is_some() => {}
            Message::Error(e) if e.id.is_some() && self.guide.is_some() => {}
            Message::Ack(a) => {
                if let Some(id) = a.breakpoint {
                    self.status = Some(Status::Info(format!("breakpoint {id} added")));
                }
            }
            Message::Error(e) => self.status = Some(Status::Error(e.error)),
            // The guide follows it (see `Guide::on_message`).
            Message::Guide(_) => {}
        }
        if let Some(news) = news {
            self.on_guide_news(news);
        }
    }

    /// The guide lets the loop go on after it stopped at the guide's
    /// breakpoint for an event that was not the step's moment. That stop may
    /// also have been where the learner's own step ended (the gate names only
    /// the breakpoint), or it may have interrupted a step or a play: then the
    /// loop goes on as the learner asked, not as the guide would.
    fn keep_the_learners_run(&mut self, at: &StopPoint) {
        let Some(g) = self.guide.as_mut() else {
            return;
        };
        let Some(i) = g
            .requests
            .iter()
            .position(|r| r.control == Control::Continue)
        else {
            return;
        };
        match &self.run_intent {
            Some(Control::Step { unit }) if !step_ends_at(*unit, at.kind) => {
                g.requests[i].control = Control::Step { unit: *unit };
            }
            Some(Control::Step { .. } | Control::Pause) => {
                g.requests.remove(i);
            }
            Some(play @ Control::Play { .. }) => g.requests[i].control = play.clone(),
            _ => {}
        }
    }

    /// A message the runner skipped to keep up: only the guide sees it, so
    /// that no step misses the event it waits for.
    pub fn on_skipped(&mut self, msg: &Message) {
        if let Some(g) = self.guide.as_mut() {
            g.on_skipped(msg);
        }
    }

    /// What the built-in client got back for the step's action.
    pub fn on_client_event(&mut self, ev: &crate::walkthrough::client::ClientEvent) {
        if let Some(g) = self.guide.as_mut() {
            g.on_reply(ev);
            if let Some(r) = &g.last_reply {
                self.status = Some(Status::Info(format!("reply: {r}")));
            }
        }
    }

    fn on_guide_news(&mut self, news: News) {
        let Some(g) = self.guide.as_ref() else {
            return;
        };
        let title = |step: usize| {
            g.walk
                .current_chapter()
                .and_then(|c| c.steps.get(step))
                .map_or_else(String::new, |s| format!(" \"{}\"", s.title))
        };
        self.status = Some(match news {
            News::Done {
                step,
                holding: true,
            } => {
                // The loop stands at the step's moment: show the line it is at.
                self.code.pin = None;
                Status::Info(format!(
                    "step {}{} done: the loop is paused right there, look around (. next step, c continues)",
                    step + 1,
                    title(step)
                ))
            }
            News::Done { step, .. } => Status::Info(format!(
                "step {}{} done: the loop did it (. next step)",
                step + 1,
                title(step)
            )),
            News::Refused(why) => Status::Error(format!(
                "the guide cannot stop the loop at each step's moment ({why}): steps still tick off"
            )),
            News::MissedWatched(n) => Status::Error(format!(
                "the loop lost {} the guide watches for (this viewer read too slowly): \
                 if a step does not tick, do it again",
                super::panes::plural(n, "event")
            )),
            News::Followed => {
                let at = g.walk.position().map_or(0, |p| p.step);
                self.code.pin = g.anchor_name().map(str::to_string);
                Status::Info(format!(
                    "following the class: step {}{} (F to go your own way)",
                    at + 1,
                    title(at)
                ))
            }
            News::UnknownLead(id) => Status::Error(format!(
                "the class is on chapter `{id}`, which this loopscope does not have \
                 (another version?): the guide stays where it is"
            )),
        });
    }

    fn on_event(&mut self, ev: Event) {
        let Some(live) = self.live.as_mut() else {
            return; // No snapshot yet: nothing to apply the event to.
        };
        if ev.seq <= live.snap.seq {
            return; // Already part of the snapshot.
        }
        let missing = ev.seq - live.snap.seq - 1;
        if missing > 0 {
            self.gaps = self.gaps.saturating_add(missing);
            self.last_gap_us = Some(ev.t_us);
            live.stale = true;
        }
        self.history.record_event(live, &ev);
        live.apply_facts(&ev);
        self.count(&ev);
        self.probes.push(&ev);
        if let Some(live) = self.live.as_mut() {
            live.at = Some(ev);
        }
        self.follow_history();
    }

    /// Feeds the command log and the activity chart.
    fn count(&mut self, ev: &Event) {
        let p = &mut self.pending_stats;
        match &ev.data {
            ProbeData::IterationBegin {} => *p = IterStats::default(),
            ProbeData::PollReturn { fired, slept_us } => {
                p.fired = u32::try_from(fired.len()).unwrap_or(u32::MAX);
                p.refired =
                    u32::try_from(fired.iter().filter(|f| f.refired).count()).unwrap_or(u32::MAX);
                p.slept_us = *slept_us;
            }
            ProbeData::IterationEnd {
                duration_us,
                file_events,
                commands,
                time_events,
                paused_us,
            } => {
                let stats = IterStats {
                    seq: ev.seq,
                    iter: ev.iter,
                    t_us: ev.t_us,
                    file_events: *file_events,
                    commands: *commands,
                    time_events: *time_events,
                    duration_us: *duration_us,
                    paused_us: *paused_us,
                    ..std::mem::take(p)
                };
                self.activity.push(stats);
            }
            ProbeData::Command {
                client,
                client_name,
                fd,
                db,
                name,
                argv,
                argc,
                keys,
                reply,
                duration_us,
            } => self.commands.push(CommandEntry {
                seq: ev.seq,
                iter: ev.iter,
                t_us: ev.t_us,
                client: *client,
                client_name: client_name.clone(),
                fd: *fd,
                db: *db,
                name: name.clone(),
                argv: argv.clone(),
                argc: *argc,
                keys: keys.clone(),
                reply: reply.clone(),
                duration_us: *duration_us,
                wait: self
                    .just_blocked
                    .take()
                    .filter(|(c, _)| c == client)
                    .map(|(_, keys)| Wait { keys, ended: None }),
            }),
            ProbeData::ClientBlocked { client, keys, .. } => {
                self.just_blocked = Some((*client, keys.clone()));
            }
            ProbeData::ClientUnblocked {
                client,
                reason,
                reply,
                ..
            } => {
                let waiting = self.commands.newest_mut(|c| {
                    c.client == *client && c.wait.as_ref().is_some_and(|w| w.ended.is_none())
                });
                if let Some(w) = waiting.and_then(|c| c.wait.as_mut()) {
                    w.ended = Some(WaitEnd {
                        seq: ev.seq,
                        t_us: ev.t_us,
                        reason: reason.clone(),
                        reply: reply.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    /// After history recorded something: keep the past cursor on a position
    /// that still exists (old segments may have been dropped).
    fn follow_history(&mut self) {
        if let Some(pos) = self.cursor {
            let clamped = self.history.clamp(pos);
            if clamped != Some(pos) {
                self.set_cursor(clamped);
            }
        }
    }

    fn set_cursor(&mut self, pos: Option<Pos>) {
        // The newest position is the live state: follow it instead of freezing it.
        let pos = pos.filter(|p| Some(*p) != self.history.newest());
        self.cursor = pos;
        self.past = pos.and_then(|p| self.history.frame_at(p));
    }

    /// The stream ended; the state stays on screen.
    pub fn on_source_end(&mut self, why: String) {
        self.status = Some(Status::Info(why.clone()));
        self.ended = Some(why);
    }

    // -----------------------------------------------------------------------
    // Input
    // -----------------------------------------------------------------------

    pub fn on_key(&mut self, key: Key) {
        if let Overlay::Prompt { input } | Overlay::LogFilter { input } = &mut self.overlay {
            match key {
                Key::Char(c) => {
                    input.push(c);
                    return;
                }
                Key::Backspace => {
                    input.pop();
                    return;
                }
                _ => {}
            }
        }
        match keys::lookup(self.mode(), key) {
            Some(action) => {
                self.status = None;
                self.on_action(action);
            }
            None if self.mode() == Mode::Normal => {
                self.status = Some(Status::Info("unknown key: ? shows every key".into()));
            }
            None => {}
        }
    }

    /// This viewer's role in controlling the loop (see [`control`]).
    pub fn role(&self) -> Role {
        self.viewing.role(self.hello.as_ref(), self.gate.as_ref())
    }

    /// True if `action` does something for this viewer now: the footer
    /// shows only such keys. A viewer that does not control the loop can
    /// still step through the past, which moves nothing but the view.
    pub fn key_works(&self, action: Action) -> bool {
        match action {
            Action::TakeControl => !matches!(self.role(), Role::Alone | Role::ReadOnly),
            Action::Step(_) if self.behind().is_some() => true,
            a if control::moves_the_loop(a) => self.role().refusal().is_none(),
            _ => true,
        }
    }

    pub fn on_action(&mut self, action: Action) {
        if control::moves_the_loop(action)
            && !self.key_works(action)
            && let Some(why) = self.role().refusal()
        {
            self.status = Some(Status::Info(why.into()));
            return;
        }
        // Moving the loop, or the view of it, shows the running line again.
        if matches!(
            action,
            Action::Step(_)
                | Action::Continue
                | Action::Pause
                | Action::Play
                | Action::Back
                | Action::BackIteration
                | Action::Forward
                | Action::ForwardIteration
                | Action::Oldest
                | Action::Live
        ) {
            self.code.pin = None;
        }
        match action {
            Action::Step(unit) => self.step(unit),
            Action::Continue => {
                self.set_cursor(None);
                self.run(Control::Continue);
            }
            Action::Pause => self.run(Control::Pause),
            Action::Play => {
                self.set_cursor(None);
                self.run(Control::Play {
                    interval_ms: self.play_ms,
                });
                self.status = Some(Status::Info(self.speed_text()));
            }
            Action::Faster | Action::Slower => self.change_speed(action == Action::Faster),
            Action::Back => self.travel(|h, p| h.prev(p), "the oldest recorded state"),
            Action::BackIteration => self.travel(
                |h, p| h.find_prev(p, |e| e.data.kind() == ProbeKind::IterationBegin),
                "no earlier iteration is recorded",
            ),
            Action::Forward => self.forward(|h, p| h.next(p)),
            Action::ForwardIteration => {
                self.forward(|h, p| h.find_next(p, |e| e.data.kind() == ProbeKind::IterationBegin))
            }
            Action::Oldest => {
                let oldest = self.history.oldest();
                self.set_cursor(oldest);
            }
            Action::Live => self.set_cursor(None),
            Action::FocusNext | Action::FocusPrev => {
                // Full screen shows one pane: moving the focus leaves it.
                if let Some(z) = self.zoom.take() {
                    self.focus = z.focus_before;
                }
                // A pane left behind is not left scrolled sideways, where
                // nothing says so once it has lost the focus.
                self.panes[self.focus.index()].hscroll = 0;
                let guide_open = self.guide.as_ref().is_some_and(|g| g.open);
                loop {
                    self.focus = if action == Action::FocusNext {
                        self.focus.next()
                    } else {
                        self.focus.prev()
                    };
                    let closed = (self.focus == Pane::Guide && !guide_open)
                        || (self.focus == Pane::Log && !self.log_open);
                    if !closed {
                        break;
                    }
                }
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => self.scroll(action),
            Action::Left | Action::Right => {
                let p = &mut self.panes[self.focus.index()];
                p.hscroll = if action == Action::Left {
                    p.hscroll.saturating_sub(8)
                } else {
                    p.hscroll.saturating_add(8).min(400)
                };
            }
            Action::Details if self.focus == Pane::Activity => self.visit_slow_iteration(),
            Action::Details if self.focus == Pane::Log => self.visit_logged_probe(),
            Action::Details if self.focus == Pane::Source => {
                self.overlay = Overlay::Details {
                    pane: Pane::Source,
                    row: 0,
                }
            }
            Action::Zoom => self.zoom(Pane::Source),
            Action::ZoomFocused => self.zoom(self.focus),
            Action::Projector => self.toggle_projector(),
            Action::RedisView => self.redis_view(),
            Action::Details => match self.pane(self.focus).selected {
                Some(row) if row < panes::len(self.focus, self) => {
                    self.overlay = Overlay::Details {
                        pane: self.focus,
                        row,
                    }
                }
                _ => {
                    self.status = Some(Status::Info(
                        "select a row first (up/down in the focused pane)".into(),
                    ))
                }
            },
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::Links => self.overlay = Overlay::Links,
            Action::Breakpoints => self.overlay = Overlay::Breakpoints { selected: 0 },
            Action::Guide => self.toggle_guide(),
            Action::NextStep | Action::PrevStep => self.guide_step(action == Action::NextStep),
            Action::SendAction => self.send_action(),
            Action::Follow => self.toggle_follow(),
            Action::GuideEarlier => self.show_earlier(),
            Action::NextAnchor => self.next_anchor(),
            Action::ChapterList => self.chapter_list(),
            Action::OpenChapter => self.open_chapter(),
            Action::Close => {
                self.overlay = match self.overlay {
                    Overlay::Prompt { .. } => Overlay::Breakpoints { selected: 0 },
                    _ => Overlay::None,
                }
            }
            Action::Quit => self.quit = true,
            Action::BreakAdd => {
                self.overlay = Overlay::Prompt {
                    input: String::new(),
                }
            }
            Action::BreakToggle | Action::BreakRemove => self.break_edit(action),
            Action::Submit => match self.overlay {
                Overlay::LogFilter { .. } => self.submit_log_filter(),
                _ => self.submit_breakpoint(),
            },
            Action::ProbeLog => self.toggle_log(),
            Action::LogFilter => {
                if !self.log_open {
                    self.toggle_log();
                }
                self.overlay = Overlay::LogFilter {
                    input: String::new(),
                };
            }
            Action::ClearLogFilter => self.set_log_filter(None),
            Action::TakeControl => {
                let (control, said) = self.viewing.toggle(self.role());
                self.outbox.extend(control);
                self.status = Some(Status::Info(said.into()));
            }
        }
    }

    fn step(&mut self, unit: StepUnit) {
        let Some(pos) = self.cursor else {
            self.run(Control::Step { unit });
            return;
        };
        // In the past a step replays the recording: move to the next recorded
        // position the same step would have stopped at.
        let target = self.history.find_next(pos, |e| match unit {
            StepUnit::Probe => true,
            StepUnit::FileEvent => e.data.kind() == ProbeKind::FileEvent,
            StepUnit::Iteration => e.data.kind() == ProbeKind::IterationBegin,
        });
        if target.is_none() {
            self.status = Some(Status::Info(
                "back at the live state: step again to run the loop".into(),
            ));
        }
        self.set_cursor(target);
    }

    /// Sends a control that sets the loop going (or stops it), and remembers it.
    fn run(&mut self, control: Control) {
        self.run_intent = Some(control.clone());
        self.outbox.push(control);
    }

    fn travel(&mut self, to: impl Fn(&History, Pos) -> Option<Pos>, at_end: &str) {
        let Some(from) = self.cursor.or_else(|| self.history.newest()) else {
            return;
        };
        match to(&self.history, from) {
            Some(p) => self.set_cursor(Some(p)),
            None => self.status = Some(Status::Info(format!("{at_end}: nothing before it"))),
        }
    }

    fn forward(&mut self, to: impl Fn(&History, Pos) -> Option<Pos>) {
        let Some(from) = self.cursor else {
            self.status = Some(Status::Info(
                "already live: step (space) to run the loop".into(),
            ));
            return;
        };
        let target = to(&self.history, from);
        self.set_cursor(target);
    }

    /// Travels to the end of the slow iteration selected in the activity
    /// pane: the screen then shows what it did, and the list still holds it.
    fn visit_slow_iteration(&mut self) {
        let selected = self.pane(Pane::Activity).selected.unwrap_or(0);
        let Some(slow) = self
            .slowest_iterations()
            .get(selected)
            .map(|s| (*s).clone())
        else {
            self.status = Some(Status::Info("no iteration finished yet".into()));
            return;
        };
        if !self.travel_to_event(slow.seq) {
            self.status = Some(Status::Info(format!(
                "iteration {} is no longer in history",
                slow.iter
            )));
            return;
        }
        self.status = Some(Status::Info(format!(
            "iteration {}: busy {}{}; {{ goes to its start, End back to live",
            slow.iter,
            self.theme.duration(slow.busy_us()),
            match slow.paused_us {
                0 => String::new(),
                p => format!(" (and {} paused)", self.theme.duration(p)),
            }
        )));
    }

    /// Moves the screen to the moment event `seq` happened, if history
    /// still holds it.
    fn travel_to_event(&mut self, seq: u64) -> bool {
        let is_it = |e: &Event| e.seq == seq;
        let newest = self.history.newest();
        let found = newest
            .filter(|&p| self.history.event_at(p).is_some_and(is_it))
            .or_else(|| newest.and_then(|p| self.history.find_prev(p, is_it)));
        let Some(pos) = found else {
            return false;
        };
        self.code.pin = None;
        self.set_cursor(Some(pos));
        true
    }

    /// Travels to the probe selected in the probe log: the whole screen
    /// then shows that moment, and the log ends at it.
    fn visit_logged_probe(&mut self) {
        let visible = self.probes.shown_upto(self.visible_seq());
        let Some(row) = self
            .pane(Pane::Log)
            .selected
            .or_else(|| visible.checked_sub(1))
        else {
            self.status = Some(Status::Info("no probe in the log yet".into()));
            return;
        };
        let Some((seq, kind)) = self
            .probes
            .shown(row)
            .filter(|_| row < visible)
            .map(|e| (e.seq, e.data.kind()))
        else {
            return;
        };
        let kind = probe_kind_name(kind);
        self.status = Some(Status::Info(if self.travel_to_event(seq) {
            // The list now ends at this probe: keep it selected.
            self.panes[Pane::Log.index()].selected =
                Some(self.probes.shown_upto(seq).saturating_sub(1));
            format!("at probe {seq} ({kind}) in history; [ ] step around it, End back to live")
        } else {
            format!("probe {seq} ({kind}) is no longer in history")
        }));
    }

    /// Opens the probe log in the source pane's place with the focus, or
    /// closes it.
    fn toggle_log(&mut self) {
        if let Some(z) = self.zoom.take() {
            self.focus = z.focus_before;
        }
        self.log_open = !self.log_open;
        if self.log_open {
            self.focus = Pane::Log;
        } else if self.focus == Pane::Log {
            self.focus = Pane::Events;
        }
    }

    fn submit_log_filter(&mut self) {
        let Overlay::LogFilter { input } = &self.overlay else {
            return;
        };
        match ProbeFilter::parse(input) {
            Ok(filter) => {
                self.set_log_filter(filter);
                self.overlay = Overlay::None;
            }
            Err(e) => self.status = Some(Status::Error(e)),
        }
    }

    fn set_log_filter(&mut self, filter: Option<ProbeFilter>) {
        self.probes.set_filter(filter);
        // Row numbers change with the filter: follow the newest again.
        self.panes[Pane::Log.index()].selected = None;
    }

    fn change_speed(&mut self, faster: bool) {
        let i = PLAY_SPEEDS_MS
            .iter()
            .position(|&ms| ms <= self.play_ms)
            .unwrap_or(PLAY_SPEEDS_MS.len() - 1);
        let i = if faster {
            (i + 1).min(PLAY_SPEEDS_MS.len() - 1)
        } else {
            i.saturating_sub(1)
        };
        self.play_ms = PLAY_SPEEDS_MS[i];
        let playing = matches!(
            self.gate.as_ref().map(|g| g.state),
            Some(GateState::Playing { .. })
        );
        if playing {
            self.run(Control::Play {
                interval_ms: self.play_ms,
            });
        }
        self.status = Some(Status::Info(self.speed_text()));
    }

    fn speed_text(&self) -> String {
        match self.play_ms {
            0 => "play: iterations back to back (+/- change the speed)".into(),
            ms => format!("play: one iteration every {ms} ms (+/- change the speed)"),
        }
    }

    /// `pane` full screen (with the keyboard), or, when a pane is already
    /// full screen, back as it was.
    fn zoom(&mut self, pane: Pane) {
        match self.zoom.take() {
            Some(z) => self.focus = z.focus_before,
            None => {
                self.zoom = Some(Zoom {
                    pane,
                    focus_before: self.focus,
                });
                self.focus = pane;
            }
        }
    }

    /// The projector preset on or off; the status line says what it does,
    /// since the screen changes all at once.
    fn toggle_projector(&mut self) {
        self.projector = !self.projector;
        self.status = Some(Status::Info(
            if self.projector {
                "projector: few, large panes (Tab: the others, l: hidden columns, V: back)"
            } else {
                "projector off: every pane in its usual place (V: on again)"
            }
            .into(),
        ));
    }

    fn redis_view(&mut self) {
        if self.code.redis.is_none() {
            self.status = Some(Status::Info(
                "start loopscope with --redis-src DIR (a Redis checkout) to read Redis's own code \
                 here; Enter on the source pane shows the permalink"
                    .into(),
            ));
            return;
        }
        self.code.flip = !self.code.flip;
        self.status = Some(Status::Info(
            if self.code.flip {
                "r: Redis's function instead of ours on a narrow pane, and not beside it on a wide one"
            } else {
                "r: our code, with Redis's function beside it when the pane is wide enough"
            }
            .into(),
        ));
    }

    // -----------------------------------------------------------------------
    // The guide
    // -----------------------------------------------------------------------

    /// The guide, or a status line saying there is none.
    fn guide_or_say(&mut self) -> Option<&mut Guide> {
        if self.guide.is_none() {
            self.status = Some(Status::Info(
                "no chapters are loaded (loopscope chapters --check says why)".into(),
            ));
        }
        self.guide.as_mut()
    }

    /// After the guide moved to another step: its first anchor in the source pane.
    fn guide_moved(&mut self) {
        let Some(g) = self.guide.as_mut() else {
            return;
        };
        g.moved();
        self.code.pin = g.anchor_name().map(str::to_string);
    }

    fn toggle_guide(&mut self) {
        let Some(g) = self.guide_or_say() else {
            return;
        };
        g.set_open(!g.open);
        let opened = g.open;
        if opened && g.walk.position().is_none() {
            let c = g.resume_chapter();
            g.open_chapter(c);
            self.guide_moved();
        }
        // Open, it has the keyboard (up/down scroll its text); closed, it
        // hands it back.
        if opened {
            self.focus = Pane::Guide;
        } else if self.focus == Pane::Guide {
            self.focus = Pane::Events;
        }
    }

    fn guide_step(&mut self, forward: bool) {
        self.leave_class();
        let Some(g) = self.guide_or_say() else {
            return;
        };
        g.set_open(true);
        let moved = if g.walk.position().is_none() {
            let c = g.resume_chapter();
            g.open_chapter(c)
        } else if forward {
            g.next_step()
        } else {
            g.walk.prev_step()
        };
        if moved {
            self.guide_moved();
        } else {
            self.status = Some(Status::Info(
                if forward {
                    "this is the last step (o lists the chapters)"
                } else {
                    "this is the chapter's first step (o lists the chapters)"
                }
                .into(),
            ));
        }
    }

    fn send_action(&mut self) {
        let port = self.hello.as_ref().map(|h| h.port);
        let paused = self.loop_paused();
        let Some(g) = self.guide_or_say() else {
            return;
        };
        if g.class.following {
            // The leader's guide sends it; twice would be another lesson.
            self.status = Some(Status::Info(
                "following the class: the leader sends this step's command (F to go your own way)"
                    .into(),
            ));
            return;
        }
        self.status = Some(match g.send_action(port) {
            Ok(shown) if paused => Status::Info(format!(
                "sent {shown}: the loop is paused, so it waits unread; c lets the loop run"
            )),
            Ok(shown) => Status::Info(format!("sent {shown}")),
            Err(e) => Status::Info(e),
        });
    }

    /// `F`: follows the class's leader, or goes one's own way.
    fn toggle_follow(&mut self) {
        let relays = self.relays_guides();
        let role = self.role();
        let recording = self.recording;
        let Some(g) = self.guide_or_say() else {
            return;
        };
        if g.class.following {
            g.set_following(false);
            self.status = Some(Status::Info(
                "your own way from here: the guide is yours (F follows the class again)".into(),
            ));
            return;
        }
        let refusal = match role {
            Role::Alone if recording => Some("a recording has no class to follow"),
            Role::Alone => Some(
                "this UI runs the loop, so it leads: a class follows it \
                 with loopscope attach --follow",
            ),
            Role::Controller => Some("you control the loop, so you lead: the class follows you"),
            _ if !relays => Some("this server does not pass a guide on (an older loopscope)"),
            _ => None,
        };
        if let Some(why) = refusal {
            self.status = Some(Status::Info(why.into()));
            return;
        }
        match g.set_following(true) {
            Some(news) => self.on_guide_news(news),
            None if g.class.lead.is_none() => {
                g.set_open(true);
                self.focus = Pane::Guide;
                self.status = Some(Status::Info(
                    "following the class: waiting for the leader to open a chapter".into(),
                ));
            }
            None => self.on_guide_news(News::Followed),
        }
    }

    /// A learner's own move while following: the guide is theirs again.
    fn leave_class(&mut self) {
        if let Some(g) = self.guide.as_mut().filter(|g| g.class.following) {
            g.set_following(false);
            self.status = Some(Status::Info(
                "you left the class's step: F follows it again".into(),
            ));
        }
    }

    /// The loop passes a leading guide's place on to every viewer.
    fn relays_guides(&self) -> bool {
        self.hello
            .as_ref()
            .is_some_and(|h| h.features.iter().any(|f| f == "guide"))
    }

    /// Tells the loop where the guide is, when this viewer leads: it moves
    /// the loop (the tour, or the attached viewer in control), and a class
    /// may be following. A replay has nobody to tell.
    pub fn publish_guide(&mut self) {
        let leads = matches!(self.role(), Role::Alone | Role::Controller)
            && !self.recording
            && self.relays_guides();
        if let Some(g) = self.guide.as_mut() {
            g.publish(leads);
        }
    }

    /// True while the gate holds the loop still.
    pub fn loop_paused(&self) -> bool {
        self.gate
            .as_ref()
            .is_some_and(|g| g.state == GateState::Paused)
    }

    /// `e`: to the moment in history where the current step's wait was
    /// met before the learner got to it.
    fn show_earlier(&mut self) {
        let Some(seen) = self.guide.as_ref().and_then(|g| g.walk.earlier()) else {
            self.status = Some(Status::Info(
                "this step's moment has not happened before it opened".into(),
            ));
            return;
        };
        let at = self
            .history
            .newest()
            .and_then(|newest| match self.history.event_at(newest) {
                Some(e) if e.seq == seen.seq => Some(newest),
                _ => self.history.find_prev(newest, |e| e.seq == seen.seq),
            });
        self.status = Some(Status::Info(match at {
            Some(pos) => {
                self.set_cursor(Some(pos));
                format!(
                    "history, iteration {}: where this step's moment went by (End: back to live)",
                    seen.iter
                )
            }
            None => format!(
                "iteration {} is no longer in history (or the busy loop's feed skipped it): \
                 the step waits for the next time",
                seen.iter
            ),
        }));
    }

    fn next_anchor(&mut self) {
        let Some(g) = self.guide_or_say() else {
            return;
        };
        match g.next_anchor().map(str::to_string) {
            Some(name) => self.code.pin = Some(name),
            None => {
                self.status = Some(Status::Info(
                    "this step points at no place in the code".into(),
                ))
            }
        }
    }

    fn chapter_list(&mut self) {
        let Some(g) = self.guide_or_say() else {
            return;
        };
        let selected = g.walk.position().map_or(g.resume_chapter(), |p| p.chapter);
        self.overlay = Overlay::Chapters { selected };
    }

    fn open_chapter(&mut self) {
        let Overlay::Chapters { selected } = self.overlay else {
            return;
        };
        self.overlay = Overlay::None;
        self.leave_class();
        if let Some(g) = self.guide.as_mut()
            && g.open_chapter(selected)
        {
            g.set_open(true);
            self.focus = Pane::Guide;
            self.guide_moved();
        }
    }

    fn scroll(&mut self, action: Action) {
        if self.overlay == Overlay::None && self.focus == Pane::Guide {
            if let Some(g) = self.guide.as_mut() {
                g.scroll_by(match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -10,
                    _ => 10,
                });
            }
            return;
        }
        if self.overlay == Overlay::None && self.focus == Pane::Source {
            let delta = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -10,
                _ => 10,
            };
            if let Some(place) = code::place(self) {
                self.code.scroll_by(&place, delta);
            }
            return;
        }
        let (len, page) = match self.overlay {
            Overlay::Breakpoints { .. } => (self.breakpoints_len(), 5),
            Overlay::Chapters { .. } => (
                self.guide.as_ref().map_or(0, |g| g.walk.chapters().len()),
                5,
            ),
            Overlay::Help { .. } => (usize::MAX, 10),
            _ => (panes::len(self.focus, self), 5),
        };
        let step = |at: usize| -> usize {
            match action {
                Action::Up => at.saturating_sub(1),
                Action::Down => at.saturating_add(1),
                Action::PageUp => at.saturating_sub(page),
                _ => at.saturating_add(page),
            }
        };
        let last = len.saturating_sub(1);
        match &mut self.overlay {
            Overlay::Help { scroll } => *scroll = step(*scroll).min(400),
            Overlay::Breakpoints { selected } | Overlay::Chapters { selected } => {
                *selected = step(*selected).min(last)
            }
            _ if len == 0 => self.panes[self.focus.index()].selected = None,
            _ => {
                let follows_end = matches!(self.focus, Pane::Flow | Pane::Log);
                let p = &mut self.panes[self.focus.index()];
                p.selected = match (p.selected, action) {
                    // The flow log follows its newest entry until you move up into it.
                    (None, _) if follows_end => Some(last),
                    (None, _) => Some(0),
                    (Some(at), Action::Down | Action::PageDown) if follows_end && at >= last => {
                        None
                    }
                    (Some(at), _) => Some(step(at).min(last)),
                };
            }
        }
    }

    fn breakpoints_len(&self) -> usize {
        self.gate.as_ref().map_or(0, |g| g.breakpoints.len())
    }

    fn break_edit(&mut self, action: Action) {
        let Overlay::Breakpoints { selected } = self.overlay else {
            return;
        };
        let Some(bp) = self.gate.as_ref().and_then(|g| g.breakpoints.get(selected)) else {
            self.status = Some(Status::Info("no breakpoint selected (a adds one)".into()));
            return;
        };
        self.outbox.push(match (action, bp.enabled) {
            (Action::BreakRemove, _) => Control::BreakRemove { bp: bp.id },
            (_, true) => Control::BreakDisable { bp: bp.id },
            (_, false) => Control::BreakEnable { bp: bp.id },
        });
    }

    fn submit_breakpoint(&mut self) {
        let Overlay::Prompt { input } = &self.overlay else {
            return;
        };
        match parse_breakpoint(input) {
            Ok(on) => {
                self.outbox.push(Control::BreakAdd { on });
                self.overlay = Overlay::Breakpoints { selected: 0 };
            }
            Err(e) => self.status = Some(Status::Error(e)),
        }
    }
}

/// Every kind of breakpoint the prompt takes, with an example.
pub const BREAKPOINT_KINDS: &str = "command NAME (command set) | fd N (fd 8) | \
     handler NAME (handler readQueryFromClient) | kind KIND (kind poll_return) | \
     key PATTERN (key user:*) | when CONDITION (when read bytes>=16384)";

/// Parses what the user typed in the breakpoint prompt (see
/// [`BREAKPOINT_KINDS`]). Names are checked against the server's command
/// table and handlers, conditions against the guide's condition language.
pub fn parse_breakpoint(text: &str) -> Result<BreakOn, String> {
    use crate::walkthrough::check::{known_command, known_handler};
    let text = text.trim();
    let (what, arg) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(format!(
            "type what to break on and a value: {BREAKPOINT_KINDS}"
        ));
    }
    match what.to_ascii_lowercase().as_str() {
        "command" | "cmd" => {
            let name = arg.to_ascii_lowercase();
            known_command(&name).map(|()| BreakOn::Command { name })
        }
        "when" => crate::walkthrough::condition::Condition::parse(arg)
            .map(|c| BreakOn::When { when: c.text })
            .map_err(|e| e.to_string()),
        "fd" => arg
            .parse()
            .map(|fd| BreakOn::Fd { fd })
            .map_err(|_| format!("not an fd number: {arg}")),
        "handler" => known_handler(arg).map(|()| BreakOn::Handler { name: arg.into() }),
        "key" => Ok(BreakOn::Key {
            pattern: arg.into(),
        }),
        "kind" | "probe" => {
            let wanted = arg.to_ascii_lowercase().replace('-', "_");
            ProbeKind::ALL
                .iter()
                .find(|k| probe_kind_name(**k) == wanted)
                .map(|&kind| BreakOn::Kind { kind })
                .ok_or_else(|| {
                    let names: Vec<String> =
                        ProbeKind::ALL.iter().map(|k| probe_kind_name(*k)).collect();
                    format!("unknown probe kind {arg}; one of: {}", names.join(" "))
                })
        }
        other => Err(format!("cannot break on `{other}`: {BREAKPOINT_KINDS}")),
    }
}

/// The wire name of a probe kind (`poll_return`), as serde spells it.
pub fn probe_kind_name(kind: ProbeKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{Breakpoint, Drops, Mask, Snapshot};
    use crate::tui::testkit::{CLIENT_FD, Script, app_with};

    fn small_history_app(limits: Limits) -> App {
        App::with_limits(Theme::new(false, true), "live", "", limits)
    }

    /// Feeds every message, remembering the live frame after each event.
    fn feed_recording(app: &mut App, msgs: &[Message]) -> Vec<Frame> {
        let mut seen = Vec::new();
        for m in msgs {
            let is_event = matches!(m, Message::Event(_));
            app.on_message(m.clone());
            if is_event {
                seen.push(app.frame().cloned().expect("frame"));
            }
        }
        seen
    }

    #[test]
    fn scrubbing_back_and_forth_shows_exactly_the_recorded_frames() {
        let script = Script::story();
        for every in [1, 3, 4, 256] {
            let mut app = small_history_app(Limits {
                keyframe_every: every,
                ..Limits::default()
            });
            let seen = feed_recording(&mut app, &script.out);
            assert!(seen.len() > 30);
            // Back one probe at a time, down to the snapshot.
            for want in seen.iter().rev().skip(1) {
                app.on_action(Action::Back);
                assert_eq!(app.frame(), Some(want), "keyframe_every {every}");
                assert!(app.behind().is_some());
            }
            app.on_action(Action::Back);
            let snap_frame = app.frame().cloned().expect("snapshot frame");
            assert!(
                snap_frame.at.is_none(),
                "the oldest stop is the snapshot itself"
            );
            app.on_action(Action::Back);
            assert_eq!(app.frame(), Some(&snap_frame), "nothing before the oldest");
            // And forward again to live.
            for want in &seen[..seen.len() - 1] {
                app.on_action(Action::Forward);
                assert_eq!(app.frame(), Some(want));
            }
            app.on_action(Action::Forward);
            assert_eq!(app.behind(), None, "the newest position is live");
            assert_eq!(app.frame(), seen.last());
        }
    }

    #[test]
    fn the_past_does_not_move_while_the_loop_goes_on() {
        let mut s = Script::story();
        let mut app = app_with(&s.out, false);
        app.on_action(Action::BackIteration);
        app.on_action(Action::BackIteration);
        let frozen = app.frame().cloned();
        let behind = app.behind().expect("in the past");
        let n = s.out.len();
        s.idle();
        s.idle();
        for m in &s.out[n..] {
            app.on_message(m.clone());
        }
        assert_eq!(app.frame().cloned(), frozen);
        assert!(app.behind().expect("still in the past") > behind);
        // The command flow as of that frame hides the SET that came later.
        let at = frozen.expect("frame").snap.seq;
        assert!(app.commands.get(0).is_some_and(|c| c.seq > at));
        assert_eq!(crate::tui::panes::len(Pane::Flow, &app), 0);
        app.on_action(Action::Live);
        assert_eq!(crate::tui::panes::len(Pane::Flow, &app), 1);
        assert_eq!(app.frame(), app.live_frame());
    }

    #[test]
    fn iteration_travel_and_home() {
        let s = Script::story();
        let mut app = app_with(&s.out, false);
        app.on_action(Action::BackIteration);
        let f = app.frame().expect("frame");
        assert_eq!(
            f.at.as_ref().map(|e| e.data.kind()),
            Some(ProbeKind::IterationBegin)
        );
        assert_eq!(f.snap.iter, 4);
        app.on_action(Action::BackIteration);
        assert_eq!(app.frame().map(|f| f.snap.iter), Some(3));
        app.on_action(Action::ForwardIteration);
        assert_eq!(app.frame().map(|f| f.snap.iter), Some(4));
        app.on_action(Action::Oldest);
        assert_eq!(app.frame().map(|f| f.snap.seq), Some(0));
        app.on_action(Action::Live);
        assert_eq!(app.behind(), None);
    }

    #[test]
    fn stepping_in_the_past_replays_the_recording_and_live_steps_the_loop() {
        let s = Script::story();
        let mut app = app_with(&s.out, false);
        app.on_action(Action::Step(StepUnit::FileEvent));
        assert_eq!(
            app.outbox.drain(..).collect::<Vec<_>>(),
            [Control::Step {
                unit: StepUnit::FileEvent
            }]
        );
        app.on_action(Action::Oldest);
        app.on_action(Action::Step(StepUnit::FileEvent));
        assert!(app.outbox.is_empty(), "the past never runs the loop");
        let f = app.frame().expect("frame");
        assert_eq!(f.dispatching(), Some(crate::tui::testkit::LISTENER));
        app.on_action(Action::Step(StepUnit::FileEvent));
        assert_eq!(app.frame().and_then(|f| f.dispatching()), Some(CLIENT_FD));
        // No later file event is recorded: the step lands on live.
        app.on_action(Action::Step(StepUnit::FileEvent));
        assert_eq!(app.behind(), None);
        assert!(app.outbox.is_empty());
    }

    #[test]
    fn history_is_bounded_by_iterations_and_keeps_at_least_the_limit() {
        let mut s = Script::start();
        for _ in 0..60 {
            s.idle();
        }
        let limits = Limits {
            iterations: 10,
            keyframe_every: 16,
            ..Limits::default()
        };
        let mut app = small_history_app(limits);
        let seen = feed_recording(&mut app, &s.out);
        let h = app.history();
        assert!(h.iterations() >= 10, "{}", h.iterations());
        assert!(h.iterations() < 20, "{}", h.iterations());
        app.on_action(Action::Oldest);
        let oldest = app.frame().cloned().expect("frame");
        assert!(oldest.snap.iter > 30, "old iterations were dropped");
        // Still exact: the oldest recorded frame is one that was live.
        assert!(seen.contains(&oldest));
    }

    #[test]
    fn default_history_keeps_the_last_ten_thousand_iterations() {
        let mut s = Script::start();
        let mut app = app_with(&s.out, false);
        for _ in 0..10_300 {
            s.out.clear();
            s.idle();
            for m in s.out.drain(..) {
                app.on_message(m);
            }
        }
        let h = app.history();
        assert!(h.iterations() >= 10_000, "{}", h.iterations());
        assert!(h.iterations() < 10_300, "old iterations are dropped");
        app.on_action(Action::Oldest);
        let oldest = app.frame().map_or(0, |f| f.snap.iter);
        assert!((2..=301).contains(&oldest), "{oldest}");
    }

    #[test]
    fn history_is_bounded_by_memory() {
        let mut s = Script::start();
        for _ in 0..200 {
            s.idle();
        }
        let limits = Limits {
            bytes: 64 << 10,
            keyframe_every: 16,
            ..Limits::default()
        };
        let mut app = small_history_app(limits);
        feed_recording(&mut app, &s.out);
        // The segment being written is never dropped, so the bound is the
        // budget plus one segment.
        assert!(
            app.history().bytes() <= (64 << 10) + (16 << 10),
            "{}",
            app.history().bytes()
        );
        assert!(app.history().iterations() < 200);
    }

    #[test]
    fn gaps_mark_the_state_stale_until_a_snapshot() {
        let mut s = Script::start();
        s.idle();
        let mut app = app_with(&s.out, false);
        s.out.clear();
        s.seq += 5; // five events lost
        s.idle();
        for m in &s.out {
            app.on_message(m.clone());
        }
        assert_eq!(app.gaps, 5);
        assert!(app.ops_per_sec().1, "ops/s after a hole is a lower bound");
        assert!(app.frame().is_some_and(|f| f.stale));
        let snap = app.live_frame().map(|f| f.snap.clone()).expect("snap");
        app.on_message(Message::Snapshot(snap));
        assert!(!app.frame().is_some_and(|f| f.stale));
        app.on_message(Message::Drops(Drops {
            total: 5,
            ..Drops::default()
        }));
        assert_eq!(app.drops.total, 5);
    }

    #[test]
    fn events_before_any_snapshot_or_already_in_it_are_ignored() {
        let mut app = small_history_app(Limits::default());
        let mut s = Script::start();
        s.idle();
        let events: Vec<Message> = s
            .out
            .iter()
            .filter(|m| matches!(m, Message::Event(_)))
            .cloned()
            .collect();
        for m in &events {
            app.on_message(m.clone());
        }
        assert!(app.frame().is_none());
        let mut snap = Snapshot {
            seq: 3,
            ..Snapshot::default()
        };
        snap.maxfd = -1;
        app.on_message(Message::Snapshot(snap));
        for m in &events {
            app.on_message(m.clone());
        }
        assert_eq!(app.gaps, 0);
        assert_eq!(app.frame().map(|f| f.snap.seq), Some(s.seq));
    }

    #[test]
    fn derived_facts_follow_the_iteration() {
        let mut s = Script::start();
        s.idle();
        s.connect();
        let mut app = app_with(&s.out, false);
        app.on_action(Action::BackIteration);
        // Walk forward through the connect iteration and check each phase.
        let mut phases = Vec::new();
        while app.behind().is_some() {
            app.on_action(Action::Forward);
            phases.push(app.frame().expect("frame").phase);
        }
        phases.dedup();
        use crate::tui::frame::Phase::*;
        assert_eq!(phases, [BeforeSleep, Polling, AfterSleep, FileEvents, End]);
        let f = app.frame().expect("frame");
        assert_eq!(f.bounding_timer(), Some(0));
        assert!(
            f.snap
                .file_events
                .iter()
                .any(|e| e.fd == CLIENT_FD && e.mask == Mask::READABLE)
        );
        assert_eq!(f.fired_reached(), Some(0));
    }

    #[test]
    fn activity_and_ops() {
        let s = Script::story();
        let app = app_with(&s.out, false);
        assert_eq!(app.activity.count_upto(u64::MAX), 4);
        let set_iter = app.activity.get(2).expect("stats");
        assert_eq!((set_iter.fired, set_iter.commands), (1, 1));
        assert_eq!(app.ops_per_sec(), (1, false));
    }

    #[test]
    fn breakpoint_prompt_sends_controls() {
        let mut app = app_with(&Script::start().out, false);
        app.on_key(Key::Char('b'));
        assert_eq!(app.mode(), Mode::Breakpoints);
        app.on_key(Key::Char('a'));
        for c in "command SET".chars() {
            app.on_key(Key::Char(c));
        }
        app.on_key(Key::Backspace);
        app.on_key(Key::Char('T'));
        app.on_key(Key::Enter);
        assert_eq!(
            app.outbox.drain(..).collect::<Vec<_>>(),
            [Control::BreakAdd {
                on: BreakOn::Command { name: "set".into() }
            }]
        );
        assert_eq!(app.mode(), Mode::Breakpoints);
        app.on_message(Message::Gate(GateStatus {
            state: GateState::Running,
            at: None,
            breakpoints: vec![Breakpoint {
                id: 4,
                enabled: true,
                on: BreakOn::Fd { fd: 8 },
            }],
            controller: Some(0),
        }));
        app.on_key(Key::Char(' '));
        app.on_key(Key::Char('d'));
        assert_eq!(
            app.outbox.drain(..).collect::<Vec<_>>(),
            [
                Control::BreakDisable { bp: 4 },
                Control::BreakRemove { bp: 4 }
            ]
        );
        app.on_key(Key::Esc);
        assert_eq!(app.mode(), Mode::Normal);
        // A bad breakpoint keeps the prompt open and says why.
        app.on_key(Key::Char('b'));
        app.on_key(Key::Char('a'));
        for c in "fd eight".chars() {
            app.on_key(Key::Char(c));
        }
        app.on_key(Key::Enter);
        assert_eq!(app.mode(), Mode::Prompt);
        assert!(matches!(app.status, Some(Status::Error(_))));
        assert!(app.outbox.is_empty());
    }

    #[test]
    fn breakpoint_parser() {
        assert_eq!(parse_breakpoint("fd 8"), Ok(BreakOn::Fd { fd: 8 }));
        assert_eq!(
            parse_breakpoint(" kind poll-return "),
            Ok(BreakOn::Kind {
                kind: ProbeKind::PollReturn
            })
        );
        assert_eq!(
            parse_breakpoint("key user:*"),
            Ok(BreakOn::Key {
                pattern: "user:*".into()
            })
        );
        assert_eq!(
            parse_breakpoint("handler readQueryFromClient"),
            Ok(BreakOn::Handler {
                name: "readQueryFromClient".into()
            })
        );
        assert_eq!(
            parse_breakpoint("when command name=set key=foo"),
            Ok(BreakOn::When {
                when: "command name=set key=foo".into()
            })
        );
        for bad in [
            "",
            "fd",
            "fd x",
            "kind nope",
            "colour red",
            "\u{0}\u{ffff}",
            "command nosuchcmd",
            "handler foo",
            "when read bytes>=lots",
        ] {
            assert!(parse_breakpoint(bad).is_err(), "{bad:?}");
        }
        let every_kind = parse_breakpoint("colour red").expect_err("no such kind");
        for kind in ["command", "fd", "handler", "kind", "key", "when"] {
            assert!(every_kind.contains(&format!("{kind} ")), "{every_kind}");
        }
    }

    #[test]
    fn play_speed_steps_and_resends_while_playing() {
        let mut app = app_with(&Script::start().out, false);
        assert_eq!(app.play_ms, 250);
        app.on_action(Action::Faster);
        assert_eq!(app.play_ms, 100);
        assert!(
            app.outbox.is_empty(),
            "not playing: only the setting changes"
        );
        app.on_action(Action::Play);
        assert_eq!(app.outbox.pop(), Some(Control::Play { interval_ms: 100 }));
        app.on_message(Message::Gate(GateStatus {
            state: GateState::Playing { interval_ms: 100 },
            at: None,
            breakpoints: Vec::new(),
            controller: Some(0),
        }));
        app.on_action(Action::Slower);
        assert_eq!(app.outbox.pop(), Some(Control::Play { interval_ms: 250 }));
        for _ in 0..20 {
            app.on_action(Action::Slower);
        }
        assert_eq!(app.play_ms, PLAY_SPEEDS_MS[0]);
        for _ in 0..20 {
            app.on_action(Action::Faster);
        }
        assert_eq!(app.play_ms, 0);
    }

    #[test]
    fn focus_selection_and_details() {
        let s = Script::story();
        let mut app = app_with(&s.out, false);
        app.on_action(Action::Details);
        assert_eq!(app.overlay, Overlay::None, "no row selected yet");
        app.on_action(Action::Down);
        app.on_action(Action::Down);
        app.on_action(Action::Details);
        assert_eq!(
            app.overlay,
            Overlay::Details {
                pane: Pane::Events,
                row: 1
            }
        );
        let d = crate::tui::panes::details(Pane::Events, &app, 1);
        assert!(
            d.iter()
                .any(|(k, v)| k == "read handler" && v.contains("acceptTcpHandler"))
        );
        app.on_key(Key::Esc);
        // Every pane but the guide and the probe log, which are closed.
        for _ in 0..Pane::ALL.len() - 2 {
            app.on_action(Action::FocusNext);
        }
        assert_eq!(app.focus, Pane::Events);
        app.on_action(Action::FocusPrev);
        assert_eq!(app.focus, Pane::Source);
        // The flow pane follows its end until you move up into it.
        app.focus = Pane::Flow;
        app.on_action(Action::Up);
        assert_eq!(app.pane(Pane::Flow).selected, Some(0));
        app.on_action(Action::Down);
        assert_eq!(app.pane(Pane::Flow).selected, None);
    }

    #[test]
    fn a_blocked_client_is_flagged_and_its_wait_ends_in_the_flow_with_its_reply() {
        use crate::trace::model::ReplyInfo;
        let mut s = Script::start();
        s.idle();
        s.connect();
        s.iter += 1;
        s.ev(ProbeData::IterationBegin {});
        s.ev(ProbeData::ClientBlocked {
            client: 1,
            fd: CLIENT_FD,
            keys: vec!["q".into()],
            deadline_ms: 0,
        });
        s.ev(ProbeData::Command {
            client: 1,
            client_name: None,
            fd: CLIENT_FD,
            db: 0,
            name: Some("blpop".into()),
            argv: vec!["BLPOP".into(), "q".into(), "0".into()],
            argc: 3,
            keys: vec!["q".into()],
            reply: ReplyInfo::from_resp(b""),
            duration_us: 2,
        });
        s.ev(ProbeData::AfterSleep {});
        s.ev(ProbeData::ClientUnblocked {
            client: 1,
            fd: CLIENT_FD,
            reason: "served: the key got data".into(),
            reply: Some(ReplyInfo::from_resp(b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n")),
        });
        let mut app = app_with(&s.out, false);
        let flow = |app: &App| panes::rows(Pane::Flow, app, 0, 10)[0].cells[2].clone();
        let cmd_cell = |app: &App| panes::rows(Pane::Clients, app, 0, 10)[0].cells[7].clone();
        assert!(flow(&app).starts_with("BLPOP q 0 -> *2"), "{}", flow(&app));
        assert!(
            flow(&app).contains("served: the key got data"),
            "{}",
            flow(&app)
        );
        assert_eq!(cmd_cell(&app), "blpop");
        // One probe back, before it resumed: blocked, flagged, no reply.
        app.on_action(Action::Back);
        assert_eq!(flow(&app), "BLPOP q 0 -> (blocked, waiting on q)");
        assert_eq!(cmd_cell(&app), "blpop (blocked)");
        let details = panes::details(Pane::Flow, &app, 0);
        assert!(
            details
                .iter()
                .any(|(k, v)| k == "wait" && v.contains("no reply yet")),
            "{details:?}"
        );
    }

    #[test]
    fn the_probe_log_filters_by_prompt_and_enter_travels_to_the_probe() {
        let mut app = app_with(&Script::story().out, false);
        let all = panes::len(Pane::Log, &app);
        assert!(all > 10, "{all}");
        app.on_key(Key::Char('/'));
        assert!(app.log_open && app.focus == Pane::Log);
        assert_eq!(app.mode(), Mode::LogFilter);
        for c in "command".chars() {
            app.on_key(Key::Char(c));
        }
        app.on_key(Key::Enter);
        assert_eq!(app.mode(), Mode::Normal);
        assert_eq!(panes::len(Pane::Log, &app), 1);
        let set = panes::rows(Pane::Log, &app, 0, 1);
        assert!(set[0].cells[4].contains("runs SET foo bar"), "{set:?}");
        // A mistyped filter says why and keeps the prompt open.
        app.on_key(Key::Char('/'));
        for c in "fd=x".chars() {
            app.on_key(Key::Char(c));
        }
        app.on_key(Key::Enter);
        assert_eq!(app.mode(), Mode::LogFilter);
        assert!(matches!(&app.status, Some(Status::Error(e)) if e.contains("number")));
        app.on_key(Key::Esc);
        assert_eq!(
            app.probes.filter().map(|f| f.describe()),
            Some("command".into())
        );
        // Enter on the selected probe travels there: the frame is at it, and
        // the log, as of that moment, ends with it marked.
        app.on_action(Action::Up);
        app.on_action(Action::Details);
        let f = app.frame().expect("frame");
        assert_eq!(
            f.at.as_ref().map(|e| e.data.kind()),
            Some(ProbeKind::Command)
        );
        assert!(app.behind().is_some());
        assert_eq!(panes::pinned(Pane::Log, &app), [0]);
        assert_eq!(
            panes::rows(Pane::Log, &app, 0, 1)[0].mark,
            panes::Mark::Current
        );
        // Without the filter, the log of the past ends at the command.
        app.on_key(Key::Esc);
        let n = panes::len(Pane::Log, &app);
        assert!(n < all, "{n} of {all}");
        assert_eq!(panes::pinned(Pane::Log, &app), [n - 1]);
        // Live again: the newest probes are back.
        app.on_action(Action::Live);
        assert_eq!(panes::len(Pane::Log, &app), all);
        // L closes it and hands the focus back.
        app.on_key(Key::Char('L'));
        assert!(!app.log_open && app.focus != Pane::Log);
    }

    #[test]
    fn enter_on_a_slow_iteration_in_the_activity_pane_travels_to_it() {
        let mut s = Script::story();
        // A slow command: a whole second of work in one iteration.
        s.begin(Vec::new(), (0, 0), 1_000);
        s.ev(ProbeData::IterationEnd {
            duration_us: 1_001_000,
            file_events: 1,
            commands: 1,
            time_events: 0,
            paused_us: 0,
        });
        s.idle();
        let mut app = app_with(&s.out, false);
        let slowest = app.slowest_iterations();
        assert_eq!(
            slowest.first().map(|s| (s.iter, s.busy_us())),
            Some((5, 1_000_000))
        );
        app.focus = Pane::Activity;
        app.on_action(Action::Down);
        assert_eq!(app.pane(Pane::Activity).selected, Some(0));
        app.on_action(Action::Details);
        let f = app.frame().expect("frame");
        assert_eq!(f.snap.iter, 5);
        assert_eq!(
            f.at.as_ref().map(|e| e.data.kind()),
            Some(ProbeKind::IterationEnd)
        );
        assert!(app.behind().is_some());
        assert!(
            matches!(&app.status, Some(Status::Info(m)) if m.contains("iteration 5: busy 1000 ms")),
            "{:?}",
            app.status
        );
        // Still listed there, first; { goes to its start.
        assert_eq!(app.slowest_iterations().first().map(|s| s.iter), Some(5));
        app.on_action(Action::BackIteration);
        assert_eq!(app.frame().map(|f| f.snap.iter), Some(5));
    }

    #[test]
    fn quit_from_every_mode() {
        for keys in [
            vec![Key::Char('q')],
            vec![Key::Char('?'), Key::Ctrl('c')],
            vec![Key::Char('b'), Key::Char('a'), Key::Ctrl('c')],
        ] {
            let mut app = app_with(&Script::start().out, false);
            for k in keys {
                app.on_key(k);
            }
            assert!(app.quit);
        }
    }
}

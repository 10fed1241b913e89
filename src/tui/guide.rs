//! The guide: the walkthrough's chapters, in the UI.
//!
//! The chapter engine ([`crate::walkthrough`]) knows the chapters, where the
//! learner is, what each step waits for, and what has been done. This is the
//! UI's side of it:
//!
//! - every trace message goes to the engine through a [`PauseDriver`], which
//!   also keeps a gate breakpoint at the moment the next pausing step waits
//!   for, so the loop stops *at* it; the driver's requests wait in
//!   [`Guide::requests`] for the runner, like the keys' controls do;
//! - `t` queues the step's action in [`Guide::jobs`]; the runner hands it to
//!   the built-in client's thread ([`super::sender`]), which sends it to the
//!   server and reports the reply back ([`Guide::on_reply`]);
//! - the step's anchors pin the source pane ([`super::code::CodeState`]) to
//!   the code the step talks about, until the learner steps the loop again;
//! - the step names the panes to look at ([`Guide::looks_at`]), and the view
//!   highlights them.
//!
//! Like the rest of the state, nothing here draws or does I/O, so tests can
//! drive a guide with synthetic messages.

use crate::trace::model::{
    Breakpoint, Control, ControlRequest, GateStatus, GuidePosition, Message,
};
use crate::walkthrough::pause::PauseDriver;
use crate::walkthrough::{self, Action, StepOutcome, Walkthrough};

use super::panes::Pane;

/// Work for the built-in client, taken by the runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientJob {
    /// Send this action to the server at `addr` (`host:port`).
    Send { addr: String, action: Action },
    /// Close every connection: a chapter starts with new clients. The
    /// chapter left behind may have a cleanup to write first, on its own
    /// connection of that name (see [`Guide::open_chapter`]).
    CloseAll { cleanup: Option<Action> },
}

/// What a trace message meant for the guide, for the status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum News {
    /// A step's wait-condition was met (its number, 0-based); `holding`: the
    /// loop is stopped at that very moment.
    Done { step: usize, holding: bool },
    /// The gate refused the driver's breakpoints.
    Refused(String),
    /// The loop lost events the guide had asked to watch (this many, in
    /// all): a step may have missed its moment.
    MissedWatched(u64),
    /// Following the class, the guide moved to the leader's step.
    Followed,
    /// The leader is on a chapter this loopscope does not have (its id).
    UnknownLead(String),
}

/// Following a class: the leading viewer's guide, as the loop passes its
/// place on (see [`GuidePosition`]), and what this guide last told the loop
/// when it leads.
#[derive(Debug, Default)]
pub struct Class {
    /// This guide shows the leader's step instead of its own.
    pub following: bool,
    /// The leader's last place.
    pub lead: Option<GuidePosition>,
    /// This guide's place as it last published it (when it leads).
    published: Option<GuidePosition>,
    /// The gate's breakpoints lately seen (the latest [`LEADER_BREAKPOINTS_KEPT`]):
    /// the leader's guide may replace the one the loop stopped at before a
    /// follower names the stop.
    breakpoints: Vec<Breakpoint>,
}

/// How many of the gate's breakpoints a follower remembers.
const LEADER_BREAKPOINTS_KEPT: usize = 16;

impl Class {
    /// Remembers the breakpoints of a gate status.
    fn saw(&mut self, gate: &GateStatus) {
        for bp in &gate.breakpoints {
            if !self.breakpoints.iter().any(|b| b.id == bp.id) {
                if self.breakpoints.len() == LEADER_BREAKPOINTS_KEPT {
                    self.breakpoints.remove(0);
                }
                self.breakpoints.push(bp.clone());
            }
        }
    }
}

/// The guide's state. See the module doc.
pub struct Guide {
    pub walk: Walkthrough,
    driver: PauseDriver,
    /// The guide pane is on screen.
    pub open: bool,
    /// Lines of the guide pane scrolled off the top.
    pub scroll: usize,
    /// The most it can scroll, as the view last drew it (it alone knows
    /// how many lines the step's text wraps to).
    max_scroll: std::cell::Cell<usize>,
    /// Which of the step's anchors the source pane shows.
    pub anchor: usize,
    /// Control requests for the gate, taken by the runner.
    pub requests: Vec<ControlRequest>,
    /// Jobs for the built-in client, taken by the runner.
    pub jobs: Vec<ClientJob>,
    /// Where the server runs (the port comes from the stream's hello);
    /// `None` for a replay, which has no server.
    pub server_host: Option<String>,
    /// The outcome of the last action sent.
    pub last_reply: Option<String>,
    /// The built-in client's connections (name, local address), closed
    /// (and told apart from the learner's) when the next chapter opens.
    own_connections: Vec<(String, String)>,
    /// The server's port, from the stream's hello.
    port: Option<u16>,
    /// Watched events lost so far (from the stream's `drops`).
    watched_lost: u64,
    /// Leading or following a class.
    pub class: Class,
}

impl std::fmt::Debug for Guide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guide")
            .field("position", &self.walk.position())
            .field("open", &self.open)
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl Guide {
    /// A guide over `walk`, closed, on no chapter yet.
    pub fn new(mut walk: Walkthrough, server_host: Option<String>) -> Guide {
        let driver = PauseDriver::new(&mut walk);
        Guide {
            walk,
            driver,
            open: false,
            scroll: 0,
            max_scroll: std::cell::Cell::new(usize::MAX),
            anchor: 0,
            requests: Vec::new(),
            jobs: Vec::new(),
            server_host,
            last_reply: None,
            own_connections: Vec::new(),
            port: None,
            watched_lost: 0,
            class: Class::default(),
        }
    }

    /// The first chapter with a step not done (or the first chapter).
    pub fn resume_chapter(&self) -> usize {
        (0..self.walk.chapters().len())
            .find(|&c| {
                let (done, total) = self.walk.chapter_progress(c);
                done < total
            })
            .unwrap_or(0)
    }

    /// Opens chapter `chapter`: new client connections, its first step not done.
    pub fn open_chapter(&mut self, chapter: usize) -> bool {
        let leaving = self.walk.current_chapter().and_then(|c| c.cleanup.clone());
        if !self.walk.open(chapter) {
            return false;
        }
        self.left_chapter(leaving);
        self.moved();
        self.send_setup_if_due();
        true
    }

    /// A chapter opened at a later step (where progress resumed it) first
    /// re-creates what that step needs, with the step's `setup:` lines, once
    /// the loop watches the step (see [`Walkthrough::take_setup`]). A replay
    /// has no server: there is nothing to set up.
    fn send_setup_if_due(&mut self) {
        if !self.walk.setup_pending() {
            return;
        }
        let Some(addr) = self.server_addr(self.port) else {
            return;
        };
        if let Some(action) = self.walk.take_setup() {
            self.last_reply = Some(format!("set up for this step: {action}"));
            self.jobs.push(ClientJob::Send { addr, action });
        }
    }

    /// After leaving a chapter: its cleanup is written on one of its own
    /// connections (never a new one, whose events the next chapter would
    /// take for the learner's) as every connection is closed, and the guide
    /// knows their last events are its own.
    fn left_chapter(&mut self, cleanup: Option<Action>) {
        let cleanup = match (cleanup, self.own_connections.first()) {
            (Some(mut action), Some((client, _))) => {
                action.client = client.clone();
                Some(action)
            }
            _ => None,
        };
        let own = self.own_connections.drain(..).map(|(_, local)| local);
        self.walk.closing_own(own);
        self.jobs.push(ClientJob::CloseAll { cleanup });
    }

    /// `host:port` of the server, if there is one and its port is known.
    fn server_addr(&self, port: Option<u16>) -> Option<String> {
        let host = self.server_host.as_deref()?;
        let port = port?;
        Some(match host.contains(':') {
            true => format!("[{host}]:{port}"),
            false => format!("{host}:{port}"),
        })
    }

    /// `.`: the next step, or the next chapter's first, which (like
    /// [`Guide::open_chapter`]) starts with new client connections.
    pub fn next_step(&mut self) -> bool {
        let chapter = self.walk.position().map(|p| p.chapter);
        let leaving = self.walk.current_chapter().and_then(|c| c.cleanup.clone());
        let moved = self.walk.next_step();
        if moved && self.walk.position().map(|p| p.chapter) != chapter {
            self.left_chapter(leaving);
        }
        moved
    }

    /// Shows or hides the guide. A hidden guide lifts its pausing breakpoint,
    /// so the loop never stops for a step nobody is reading; showing it puts
    /// the breakpoint back.
    pub fn set_open(&mut self, open: bool) {
        self.open = open;
        let sync = self.driver.set_suspended(&self.walk, !open);
        self.requests.extend(sync);
    }

    /// After any move: the new step's breakpoint, the top of its text, its
    /// first anchor.
    pub fn moved(&mut self) {
        let sync = self.driver.sync(&self.walk);
        self.requests.extend(sync);
        self.scroll = 0;
        self.anchor = 0;
        self.last_reply = None;
    }

    /// Scrolls the step's text by `delta` lines.
    pub fn scroll_by(&mut self, delta: i64) {
        let to = i64::try_from(self.scroll)
            .unwrap_or(i64::MAX)
            .saturating_add(delta)
            .max(0);
        self.scroll = usize::try_from(to).unwrap_or(0).min(self.max_scroll.get());
    }

    /// Called by the view with how far the text can scroll at its size.
    pub fn set_max_scroll(&self, max: usize) {
        self.max_scroll.set(max);
    }

    /// Feeds one trace message; says what the status line should tell.
    pub fn on_message(&mut self, msg: &Message) -> Option<News> {
        if let Message::Hello(h) = msg {
            self.port = Some(h.port);
        }
        if let Message::Gate(gate) = msg {
            self.class.saw(gate);
        }
        if let Message::Guide(place) = msg {
            self.class.lead = Some(place.clone());
            return self.follow_lead();
        }
        if let Message::Drops(d) = msg
            && d.watched > self.watched_lost
        {
            self.watched_lost = d.watched;
            return Some(News::MissedWatched(d.watched));
        }
        let refused_before = self.driver.refused().is_some();
        let handled = self.driver.handle(&mut self.walk, msg);
        self.requests.extend(handled.controls);
        self.send_setup_if_due();
        if let Some(step) = handled.holding {
            // The loop stopped for a later step of the watched run: show
            // that step, so the pane explains the pause the header names.
            if self.walk.position().is_some_and(|p| p.step < step) && self.walk.goto(step) {
                self.moved();
            }
            return Some(News::Done {
                step,
                holding: true,
            });
        }
        if !refused_before && let Some(why) = self.driver.refused() {
            return Some(News::Refused(why.to_string()));
        }
        match handled.outcome {
            // A pausing step's moment is announced when the loop stops there.
            Some(StepOutcome::Met { step, pause, .. }) if !pause || refused_before => {
                Some(News::Done {
                    step,
                    holding: false,
                })
            }
            _ => None,
        }
    }

    /// Feeds a message the UI skipped to keep up: the guide still sees
    /// every event, so no step waits for one that went by unseen.
    pub fn on_skipped(&mut self, msg: &Message) {
        let handled = self.driver.handle(&mut self.walk, msg);
        self.requests.extend(handled.controls);
    }

    /// Starts or stops following the class's leader (`F`, `attach
    /// --follow`). A follower shows the leader's chapter and step, ticks the
    /// steps the leader shows done, and judges nothing itself: its breakpoint
    /// and watch list are lifted. Stopping leaves the guide where the leader
    /// was, the learner's own from then on.
    pub fn set_following(&mut self, following: bool) -> Option<News> {
        self.class.following = following;
        let sync = self.driver.set_following(&self.walk, following);
        self.requests.extend(sync);
        if !following {
            self.moved();
            return None;
        }
        self.follow_lead()
    }

    /// While following, moves to the leader's place.
    fn follow_lead(&mut self) -> Option<News> {
        if !self.class.following {
            return None;
        }
        let lead = self.class.lead.as_ref()?;
        let Some(chapter) = self
            .walk
            .chapters()
            .iter()
            .position(|c| c.id == lead.chapter)
        else {
            return Some(News::UnknownLead(lead.chapter.clone()));
        };
        let target = walkthrough::Position {
            chapter,
            step: lead.step,
        };
        if self.walk.position() == Some(target) && self.open {
            return None;
        }
        let opened = self.walk.position().map(|p| p.chapter) == Some(chapter);
        let moved = match opened {
            true => self.walk.goto(target.step),
            false => self.walk.open_at(chapter, target.step),
        };
        if !moved {
            return None;
        }
        self.open = true;
        self.moved();
        Some(News::Followed)
    }

    /// True if step `step` of the open chapter is done, as this guide shows
    /// it: a follower shows the leader's ticks.
    pub fn step_done(&self, step: usize) -> bool {
        let lead = self.class.lead.as_ref().filter(|_| self.class.following);
        match (lead, self.walk.current_chapter()) {
            (Some(lead), Some(c)) if lead.chapter == c.id => lead.done.contains(&step),
            _ => self.walk.is_done(step),
        }
    }

    /// How many of chapter `chapter`'s steps are done, and how many it has,
    /// as this guide shows them (see [`Guide::step_done`]).
    pub fn progress_of(&self, chapter: usize) -> (usize, usize) {
        let (done, total) = self.walk.chapter_progress(chapter);
        let open = self.walk.position().is_some_and(|p| p.chapter == chapter);
        match open && self.class.following {
            true => ((0..total).filter(|&i| self.step_done(i)).count(), total),
            false => (done, total),
        }
    }

    /// Tells the loop where this guide is, when it moved since it last did,
    /// so a class can follow; `leads` says whether this viewer moves the
    /// loop (only the leader's place is passed on).
    pub fn publish(&mut self, leads: bool) {
        let place = self.walk.position().zip(self.walk.current_chapter());
        let (Some((pos, chapter)), true, false) = (place, leads, self.class.following) else {
            // Whoever leads next hears from this guide afresh.
            self.class.published = None;
            return;
        };
        // Called every turn of the UI: compare before building anything.
        let done = || (0..chapter.steps.len()).filter(|&i| self.walk.is_done(i));
        let unchanged = self.class.published.as_ref().is_some_and(|p| {
            p.chapter == chapter.id && p.step == pos.step && p.done.iter().copied().eq(done())
        });
        if unchanged {
            return;
        }
        let place = GuidePosition {
            chapter: chapter.id.clone(),
            step: pos.step,
            done: done().collect(),
            viewer: 0,
        };
        self.class.published = Some(place.clone());
        self.requests.push(ControlRequest {
            id: None,
            control: Control::Guide(place),
        });
    }

    /// `t`: queues the current step's action for the server on `port`.
    pub fn send_action(&mut self, port: Option<u16>) -> Result<String, String> {
        let action = self
            .walk
            .current_action()
            .cloned()
            .ok_or("this step has nothing to send")?;
        if self.server_host.is_none() {
            return Err(
                "a replay has no server to send to: the recording already holds what was sent"
                    .into(),
            );
        }
        let addr = self
            .server_addr(port)
            .ok_or("the stream has not said the server's port yet")?;
        let shown = action.to_string();
        self.jobs.push(ClientJob::Send { addr, action });
        self.last_reply = Some(format!("sent {shown}, waiting for the reply"));
        Ok(shown)
    }

    /// What the built-in client got back.
    pub fn on_reply(&mut self, ev: &walkthrough::client::ClientEvent) {
        use walkthrough::client::ClientEvent;
        self.last_reply = Some(match ev {
            ClientEvent::Connected { client, local } => {
                self.own_connections.push((client.clone(), local.clone()));
                return;
            }
            ClientEvent::Replied {
                action,
                first,
                replies,
                errors,
                ..
            } => match (replies, errors) {
                (0, _) => format!("{action}: sent, no reply awaited"),
                (1, _) => format!("{action} -> {first}"),
                (n, 0) => format!("{action} -> {n} replies, the first {first}"),
                (n, e) => format!("{action} -> {n} replies, {e} errors, the first {first}"),
            },
            ClientEvent::Failed { client, error } => {
                format!("client {client}: {error}")
            }
        });
    }

    /// What the guide's breakpoint `id` is for, as the header says it after
    /// "PAUSED": "by the guide: chapter 6, step 2 (`command name=set`)".
    /// A follower names the leader's breakpoints the same way, from what
    /// the gate said each stops at. `None` if `id` is not a guide's.
    pub fn breakpoint_label(&self, id: u32) -> Option<String> {
        let leaders = || {
            let bp = self.class.breakpoints.iter().find(|b| b.id == id)?;
            Some(&bp.on).filter(|_| self.class.following)
        };
        let on = self.driver.breakpoint_of(id).or_else(leaders)?;
        let pos = self.walk.position()?;
        let chapter = self.walk.current_chapter()?;
        let (step, wait) = chapter.steps.iter().enumerate().find_map(|(i, s)| {
            let last = s.wait.conditions.last()?;
            let same = match on {
                crate::trace::model::BreakOn::When { when } => *when == last.text,
                coarse => *coarse == last.breakpoint(),
            };
            (s.pause && same).then_some((i, last.text.as_str()))
        })?;
        let whose = match self.class.following {
            true => "the leader's guide",
            false => "the guide",
        };
        Some(format!(
            "by {whose}: chapter {}, step {} (`{wait}`)",
            pos.chapter + 1,
            step + 1
        ))
    }

    /// The name of the anchor the source pane should show for this step.
    pub fn anchor_name(&self) -> Option<&str> {
        let anchors = self.walk.anchors();
        anchors
            .get(self.anchor.min(anchors.len().saturating_sub(1)))
            .map(|a| a.name.as_str())
    }

    /// Moves to the step's next anchor (round the list).
    pub fn next_anchor(&mut self) -> Option<&str> {
        let n = self.walk.anchors().len();
        if n == 0 {
            return None;
        }
        self.anchor = (self.anchor + 1) % n;
        self.anchor_name()
    }

    /// True if the current step tells the learner to look at `pane`.
    pub fn looks_at(&self, pane: Pane) -> bool {
        self.walk.look().iter().any(|p| tui_pane(*p) == Some(pane))
    }

    /// True if the current step tells the learner to look at the header.
    pub fn looks_at_header(&self) -> bool {
        self.walk.look().contains(&walkthrough::Pane::Header)
    }

    /// The loop panes the current step names, in its order.
    pub fn look_panes(&self) -> Vec<Pane> {
        self.walk
            .look()
            .iter()
            .filter_map(|p| tui_pane(*p))
            .collect()
    }

    /// The note the current step gives its anchor `name`.
    pub fn anchor_note(&self, name: &str) -> Option<&str> {
        self.walk
            .anchors()
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.note.as_str())
            .filter(|n| !n.is_empty())
    }
}

/// The UI pane a chapter's pane name means (the header is not a pane).
pub fn tui_pane(p: walkthrough::Pane) -> Option<Pane> {
    use walkthrough::Pane as W;
    Some(match p {
        W::Header => return None,
        W::Events => Pane::Events,
        W::Fired => Pane::Fired,
        W::TimeEvents => Pane::Timers,
        W::BeforeSleep => Pane::BeforeSleep,
        W::Flow => Pane::Flow,
        W::Clients => Pane::Clients,
        W::Activity => Pane::Activity,
        W::Source => Pane::Source,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::trace::model::{
        Ack, BreakOn, Control, ErrorReply, GateState, GateStatus, ProbeData, ProbeKind, StopPoint,
        StopReason,
    };
    use crate::tui::keys::{Action, Key};
    use crate::tui::state::{App, Overlay, Status};
    use crate::tui::testkit::{Script, app_with};
    use crate::walkthrough::{Loaded, Progress, parse};

    /// A chapter of our own for the tests: it does not change when the
    /// real chapters do.
    pub const CHAPTER: &str = "---
id: test-chapter
title: A test chapter
summary: Two steps to test the guide.
minutes: 2
---
An introduction.

## The listener fires
look: events, fired
action: SET foo bar
wait: file_event handler=accept_tcp_handler
pause: yes
anchor: net.accept_tcp_handler — accept up to 1000 connections
anchor: ae.dispatch_fired

Send it with `t` or `redis-cli -p {port}`. The listening socket becomes **readable**: a
client is knocking.

- the kernel says so
- the loop asks

## The command runs
look: flow
setup: DEL foo
wait: command name=set
anchor: server.call

The command runs, and its reply waits in the client's buffer.
";

    pub fn walk(progress: Progress) -> Walkthrough {
        walk_of(CHAPTER, progress)
    }

    /// The guide's chapters: just the one written in `text`.
    pub fn walk_of(text: &str, progress: Progress) -> Walkthrough {
        let chapter = parse::parse_chapter("test.md", text).expect("the test chapter parses");
        let loaded = Loaded {
            chapters: vec![chapter],
            diagnostics: Vec::new(),
        };
        Walkthrough::with_progress(loaded, progress)
    }

    /// An app at the start of the story, with the test chapter's guide open.
    pub fn guided(progress: Progress, host: Option<&str>) -> App {
        guided_on(&Script::start().out, progress, host)
    }

    /// An app fed with `msgs`, with the test chapter's guide open.
    pub fn guided_on(msgs: &[Message], progress: Progress, host: Option<&str>) -> App {
        let mut app = app_with(msgs, true);
        app.guide = Some(Guide::new(walk(progress), host.map(str::to_string)));
        app.on_key(Key::Char('g'));
        app
    }

    fn guide(app: &App) -> &Guide {
        app.guide.as_ref().expect("guide")
    }

    /// The gate acknowledges the guide's breakpoint, as the loop would.
    fn ack_breakpoint(app: &mut App, gate_id: u32) -> BreakOn {
        let g = app.guide.as_mut().expect("guide");
        let (id, on) = g
            .requests
            .drain(..)
            .find_map(|r| match r.control {
                Control::BreakAdd { on } => Some((r.id, on)),
                _ => None,
            })
            .expect("the guide asked for a breakpoint");
        app.on_message(Message::Ack(Ack {
            id,
            cmd: "break_add".into(),
            breakpoint: Some(gate_id),
        }));
        on
    }

    #[test]
    fn g_opens_the_chapter_shows_its_anchor_and_arms_its_pause() {
        let app = guided(Progress::in_memory(), Some("127.0.0.1"));
        let g = guide(&app);
        assert!(g.open);
        assert_eq!(g.walk.position().map(|p| (p.chapter, p.step)), Some((0, 0)));
        assert_eq!(app.code.pin.as_deref(), Some("net.accept_tcp_handler"));
        assert!(g.looks_at(Pane::Events) && g.looks_at(Pane::Fired));
        assert!(!g.looks_at(Pane::Flow));
        // The step waits for a file event: the gate stops at each one until
        // it is the accept (the driver lets the others go).
        assert!(g.requests.iter().any(|r| r.control
            == Control::BreakAdd {
                on: BreakOn::Kind {
                    kind: ProbeKind::FileEvent
                }
            }));
        assert_eq!(
            g.jobs,
            [ClientJob::CloseAll { cleanup: None }],
            "a chapter starts with new clients"
        );
    }

    #[test]
    fn a_hidden_guide_lifts_its_breakpoint_and_showing_it_puts_it_back() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        let on = ack_breakpoint(&mut app, 7);
        app.on_action(Action::Guide);
        let g = guide(&app);
        assert!(!g.open);
        assert!(
            g.requests
                .iter()
                .any(|r| r.control == Control::BreakRemove { bp: 7 }),
            "hiding the guide removes its breakpoint: {:?}",
            g.requests
        );
        app.guide.as_mut().unwrap().requests.clear();
        app.on_action(Action::Guide);
        assert!(
            guide(&app)
                .requests
                .iter()
                .any(|r| r.control == Control::BreakAdd { on: on.clone() }),
            "showing it again puts the breakpoint back"
        );
    }

    #[test]
    fn t_queues_the_steps_action_for_the_server() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        app.guide.as_mut().expect("guide").jobs.clear();
        app.on_key(Key::Char('t'));
        let g = guide(&app);
        let want = g.walk.current_action().cloned().expect("action");
        assert_eq!(
            g.jobs,
            [ClientJob::Send {
                addr: "127.0.0.1:6380".into(),
                action: want
            }]
        );
        // The story starts paused: the learner is told what else it takes.
        assert!(app.loop_paused());
        assert!(
            matches!(&app.status, Some(Status::Info(s)) if s.starts_with("sent SET foo bar: the loop is paused") && s.contains("c lets the loop run")),
            "{:?}",
            app.status
        );
        // A replay has no server: t says so and sends nothing.
        let mut replay = guided(Progress::in_memory(), None);
        replay.guide.as_mut().expect("guide").jobs.clear();
        replay.on_key(Key::Char('t'));
        assert!(guide(&replay).jobs.is_empty());
        assert!(matches!(&replay.status, Some(Status::Info(s)) if s.contains("replay")));
        // The reply comes back through the runner.
        app.on_client_event(&crate::walkthrough::client::ClientEvent::Replied {
            client: "main".into(),
            action: "SET foo bar".into(),
            first: "OK".into(),
            replies: 1,
            errors: 0,
        });
        assert_eq!(guide(&app).last_reply.as_deref(), Some("SET foo bar -> OK"));
    }

    /// Plays the story's connect through a guided app, with the gate
    /// stopping at the guide's breakpoint the way the loop does.
    fn meet_first_step(app: &mut App) {
        let bp = ack_breakpoint(app, 7);
        assert_eq!(
            bp,
            BreakOn::Kind {
                kind: ProbeKind::FileEvent
            }
        );
        let mut s = Script::start();
        s.seq = app.live_frame().map_or(0, |f| f.snap.seq);
        s.iter = app.live_frame().map_or(0, |f| f.snap.iter);
        s.connect();
        for m in s.out.drain(3..) {
            let stop = match &m {
                Message::Event(e) if e.data.kind() == ProbeKind::FileEvent => Some(e.seq),
                _ => None,
            };
            app.on_message(m);
            if let Some(seq) = stop {
                app.on_message(Message::Gate(GateStatus {
                    state: GateState::Paused,
                    at: Some(StopPoint {
                        seq,
                        kind: ProbeKind::FileEvent,
                        reason: StopReason::Breakpoint { id: 7 },
                    }),
                    breakpoints: Vec::new(),
                    controller: Some(0),
                }));
                return;
            }
        }
        panic!("the story has no file event");
    }

    #[test]
    fn the_step_is_done_when_the_loop_does_it_and_the_loop_is_held_there() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        // An event before the gate confirmed the breakpoint does not count:
        // the loop could not have stopped there.
        let mut early = Script::start();
        early.connect();
        for m in early.out.drain(3..) {
            app.on_message(m);
        }
        assert!(!guide(&app).walk.is_done(0));
        meet_first_step(&mut app);
        let g = guide(&app);
        assert!(g.walk.is_done(0));
        assert!(!g.walk.is_done(1));
        assert!(
            matches!(&app.status, Some(Status::Info(s)) if s.contains("step 1") && s.contains("paused")),
            "{:?}",
            app.status
        );
        assert_eq!(
            app.code.pin, None,
            "the pane shows the line the loop stopped at"
        );
        // The driver keeps the loop there: no continue was asked for.
        assert!(
            !guide(&app)
                .requests
                .iter()
                .any(|r| r.control == Control::Continue)
        );
        // The next step is watched already, and its command arrives.
        let mut s = Script::start();
        s.seq = app.live_frame().map_or(0, |f| f.snap.seq);
        s.iter = app.live_frame().map_or(0, |f| f.snap.iter);
        s.set_foo_bar();
        for m in s.out.drain(3..) {
            app.on_message(m);
        }
        assert!(guide(&app).walk.is_done(1));
        assert!(
            matches!(&app.status, Some(Status::Info(s)) if s.contains("step 2")),
            "{:?}",
            app.status
        );
    }

    /// The whole screen at 200×50, as text.
    fn screen_of(app: &App) -> String {
        let backend = ratatui::backend::TestBackend::new(200, 50);
        let mut term = ratatui::Terminal::new(backend).expect("terminal");
        term.draw(|f| crate::tui::view::draw(f, app)).expect("draw");
        term.backend().to_string()
    }

    #[test]
    fn a_stop_at_the_guides_breakpoint_says_which_step_made_it() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        meet_first_step(&mut app);
        let label = guide(&app).breakpoint_label(7);
        assert_eq!(
            label.as_deref(),
            Some("by the guide: chapter 1, step 1 (`file_event handler=accept_tcp_handler`)")
        );
        assert_eq!(guide(&app).breakpoint_label(8), None, "not the guide's");
        let screen = screen_of(&app);
        assert!(
            screen.contains("PAUSED by the guide: chapter 1, step 1"),
            "{screen}"
        );
        // Nothing went by before this step opened: e says so.
        app.on_key(Key::Char('e'));
        assert!(
            matches!(&app.status, Some(Status::Info(s)) if s.contains("has not happened")),
            "{:?}",
            app.status
        );
    }

    #[test]
    fn the_first_step_follows_the_introduction_and_the_last_ends_the_chapter() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        let screen = screen_of(&app);
        let intro = screen.find("An introduction.").expect("the intro is shown");
        let step = screen.find("Step 1: The listener fires").expect("step 1");
        assert!(intro < step, "the introduction comes first");
        assert!(screen.contains("steps ▶-  0 of 2 done"), "{screen}");
        app.on_key(Key::Char('.'));
        let screen = screen_of(&app);
        assert!(!screen.contains("An introduction."));
        assert!(
            screen.contains("End of chapter 1: 0 of 2 steps done"),
            "{screen}"
        );
        assert!(screen.contains("Two steps to test the guide."));
        assert!(screen.contains("That was the last chapter."));
    }

    #[test]
    fn the_guides_stops_never_undo_the_learners_own_step_or_play() {
        use crate::trace::model::StepUnit;
        let cases = [
            (Key::Char('f'), None),
            (Key::Char('n'), None),
            (
                Key::Char('i'),
                Some(Control::Step {
                    unit: StepUnit::Iteration,
                }),
            ),
            (Key::Char('P'), Some(Control::Play { interval_ms: 250 })),
            (Key::Char('c'), Some(Control::Continue)),
        ];
        for (key, want) in cases {
            let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
            ack_breakpoint(&mut app, 7);
            app.on_key(key);
            // A client's read: a file event, the guide's breakpoint stops
            // there, and it is not the accept the step waits for.
            let mut s = Script::start();
            s.set_foo_bar();
            for m in s.out.drain(3..) {
                let stop = match &m {
                    Message::Event(e) if e.data.kind() == ProbeKind::FileEvent => Some(e.seq),
                    _ => None,
                };
                app.on_message(m);
                if let Some(seq) = stop {
                    app.on_message(Message::Gate(GateStatus {
                        state: GateState::Paused,
                        at: Some(StopPoint {
                            seq,
                            kind: ProbeKind::FileEvent,
                            reason: StopReason::Breakpoint { id: 7 },
                        }),
                        breakpoints: Vec::new(),
                        controller: Some(0),
                    }));
                    break;
                }
            }
            let goes_on: Vec<Control> = guide(&app)
                .requests
                .iter()
                .map(|r| r.control.clone())
                .filter(|c| !matches!(c, Control::BreakAdd { .. } | Control::BreakRemove { .. }))
                .collect();
            assert_eq!(goes_on, want.into_iter().collect::<Vec<_>>(), "{key:?}");
            assert!(!guide(&app).walk.is_done(0));
        }
    }

    #[test]
    fn progress_is_saved_and_read_back() {
        let dir = std::env::temp_dir().join(format!("loopscope-guide-{}", std::process::id()));
        let path = dir.join("progress.json");
        let _ = std::fs::remove_dir_all(&dir);
        let mut app = guided(Progress::load(path.clone()), Some("127.0.0.1"));
        meet_first_step(&mut app);
        drop(app);
        // A new session, the same file: step 1 is done, and the guide
        // opens the chapter at step 2.
        let app = guided(Progress::load(path.clone()), Some("127.0.0.1"));
        let g = guide(&app);
        assert_eq!(g.walk.chapter_progress(0), (1, 2));
        assert_eq!(g.walk.position().map(|p| p.step), Some(1));
        assert_eq!(app.code.pin.as_deref(), Some("server.call"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_chapter_resumed_at_a_later_step_sends_its_setup_once() {
        let sends = |app: &App| -> Vec<walkthrough::Action> {
            guide(app)
                .jobs
                .iter()
                .filter_map(|j| match j {
                    ClientJob::Send { action, .. } => Some(action.clone()),
                    _ => None,
                })
                .collect()
        };
        // Opened at its first step: nothing to set up.
        let app = guided(Progress::in_memory(), Some("127.0.0.1"));
        assert!(sends(&app).is_empty());
        // Progress says step 1 is done: the chapter opens at step 2, whose
        // set-up goes out as soon as the loop watches the step.
        let mut progress = Progress::in_memory();
        progress.mark_done("test-chapter", 1).expect("in memory");
        let mut app = guided(progress.clone(), Some("127.0.0.1"));
        assert_eq!(guide(&app).walk.position().map(|p| p.step), Some(1));
        // The stream's hello says the port and that the loop takes watches.
        let hello = Script::start().out.into_iter().find_map(|m| match m {
            Message::Hello(mut h) => {
                h.features = vec!["watch".into()];
                Some(Message::Hello(h))
            }
            _ => None,
        });
        app.on_message(hello.expect("the script starts with a hello"));
        assert!(
            sends(&app).is_empty(),
            "not before the loop watches the step"
        );
        let acks: Vec<Message> = guide(&app)
            .requests
            .iter()
            .filter_map(|r| match &r.control {
                Control::Watch { .. } => Some(Message::Ack(Ack {
                    id: r.id,
                    cmd: "watch".into(),
                    breakpoint: None,
                })),
                _ => None,
            })
            .collect();
        for ack in acks {
            app.on_message(ack);
        }
        let sent = sends(&app);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].lines(), ["DEL foo"]);
        assert!(!guide(&app).walk.setup_pending());
        // Only once, and never for a replay, which has no server.
        app.on_message(Message::Ack(Ack {
            id: None,
            cmd: "watch".into(),
            breakpoint: None,
        }));
        assert_eq!(sends(&app).len(), 1);
        let replay = guided(progress, None);
        assert!(sends(&replay).is_empty());
    }

    #[test]
    fn steps_anchors_and_chapters_by_key() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        app.on_key(Key::Char('a'));
        assert_eq!(app.code.pin.as_deref(), Some("ae.dispatch_fired"));
        app.on_key(Key::Char('a'));
        assert_eq!(app.code.pin.as_deref(), Some("net.accept_tcp_handler"));
        // Stepping the loop shows the running line again.
        app.on_key(Key::Char('n'));
        assert_eq!(app.code.pin, None);
        app.on_key(Key::Char('.'));
        assert_eq!(guide(&app).walk.position().map(|p| p.step), Some(1));
        assert_eq!(app.code.pin.as_deref(), Some("server.call"));
        assert!(guide(&app).looks_at(Pane::Flow));
        app.on_key(Key::Char('.'));
        assert!(matches!(&app.status, Some(Status::Info(s)) if s.contains("last step")));
        app.on_key(Key::Char(','));
        assert_eq!(guide(&app).walk.position().map(|p| p.step), Some(0));
        // The chapter list opens a chapter.
        app.on_key(Key::Char('o'));
        assert_eq!(app.overlay, Overlay::Chapters { selected: 0 });
        app.on_key(Key::Down);
        assert_eq!(
            app.overlay,
            Overlay::Chapters { selected: 0 },
            "one chapter"
        );
        app.on_key(Key::Enter);
        assert_eq!(app.overlay, Overlay::None);
        assert!(guide(&app).open);
        // g closes the guide, and Tab skips it while it is closed.
        app.focus = Pane::Guide;
        app.on_key(Key::Char('g'));
        assert!(!guide(&app).open);
        assert_ne!(app.focus, Pane::Guide);
        for _ in 0..20 {
            app.on_action(Action::FocusNext);
            assert_ne!(app.focus, Pane::Guide);
        }
    }

    #[test]
    fn a_gate_that_refuses_is_said_once_and_steps_still_tick_off() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        let id = guide(&app).requests.iter().find_map(|r| r.id).expect("id");
        app.on_message(Message::Error(ErrorReply {
            id: Some(id),
            error: "another viewer controls the loop".into(),
        }));
        assert!(
            matches!(&app.status, Some(Status::Error(s)) if s.contains("another viewer")),
            "{:?}",
            app.status
        );
        let mut s = Script::start();
        s.connect();
        for m in s.out.drain(3..) {
            app.on_message(m);
        }
        assert!(guide(&app).walk.is_done(0));
    }

    #[test]
    fn without_chapters_the_keys_say_so() {
        let mut app = app_with(&Script::start().out, true);
        for k in ['g', 't', '.', 'a', 'o'] {
            app.status = None;
            app.on_key(Key::Char(k));
            assert!(
                matches!(&app.status, Some(Status::Info(s)) if s.contains("no chapters")),
                "{k}"
            );
        }
    }

    #[test]
    fn events_the_ui_skipped_still_reach_the_guide() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        ack_breakpoint(&mut app, 7);
        app.on_key(Key::Char('.'));
        let mut s = Script::start();
        s.set_foo_bar();
        for m in s.out.iter().skip(3) {
            if matches!(m, Message::Event(e) if matches!(e.data, ProbeData::Command { .. })) {
                app.on_skipped(m);
            }
        }
        assert!(guide(&app).walk.is_done(1));
    }

    /// An attached viewer (nobody controls the loop yet) of a loop that
    /// passes guides on, with the test chapter loaded and the guide closed.
    fn classroom() -> App {
        let mut msgs = Script::start().out;
        if let Some(Message::Hello(h)) = msgs.first_mut() {
            h.features = vec!["guide".into()];
            h.viewer = 5;
        }
        let mut app = app_with(&msgs, true);
        app.viewing = crate::tui::control::Viewing::attached(false);
        app.guide = Some(Guide::new(
            walk(Progress::in_memory()),
            Some("127.0.0.1".into()),
        ));
        app
    }

    fn leader_at(step: usize, done: Vec<usize>) -> Message {
        Message::Guide(GuidePosition {
            chapter: "test-chapter".into(),
            step,
            done,
            viewer: 1,
        })
    }

    fn published(g: &mut Guide) -> Vec<GuidePosition> {
        g.requests
            .drain(..)
            .filter_map(|r| match r.control {
                Control::Guide(place) => Some(place),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_follower_shows_the_leaders_step_and_ticks_and_judges_nothing_itself() {
        let mut app = classroom();
        app.on_key(Key::Char('F'));
        assert!(guide(&app).class.following && guide(&app).open);
        assert!(
            matches!(&app.status, Some(Status::Info(s)) if s.contains("waiting for the leader")),
            "{:?}",
            app.status
        );
        app.on_message(leader_at(1, vec![0]));
        let g = guide(&app);
        assert_eq!(g.walk.position().map(|p| (p.chapter, p.step)), Some((0, 1)));
        assert!(g.step_done(0) && !g.step_done(1), "the leader's ticks");
        assert!(
            !g.walk.is_done(0),
            "the learner's own progress is untouched"
        );
        assert_eq!(g.progress_of(0), (1, 2));
        assert!(
            g.requests
                .iter()
                .all(|r| !matches!(r.control, Control::BreakAdd { .. })),
            "a follower stops the loop for nobody: {:?}",
            g.requests
        );
        assert!(
            matches!(&app.status, Some(Status::Info(s)) if s.starts_with("following the class: step 2"))
        );
        // The leader's step 2 is met: the follower's tick comes from the leader.
        app.on_message(leader_at(1, vec![0, 1]));
        assert!(guide(&app).step_done(1));
        // A follower never speaks for the class, and sends no step's command.
        app.publish_guide();
        assert!(published(app.guide.as_mut().unwrap()).is_empty());
        app.guide.as_mut().unwrap().jobs.clear();
        app.on_key(Key::Char('t'));
        assert!(guide(&app).jobs.is_empty());
        // A move of one's own leaves the class, and the guide is one's own again.
        app.on_key(Key::Char(','));
        let g = guide(&app);
        assert!(!g.class.following);
        assert_eq!(g.walk.position().map(|p| p.step), Some(0));
        assert!(!g.step_done(0), "its own ticks again");
        app.on_message(leader_at(1, vec![0]));
        assert_eq!(
            guide(&app).walk.position().map(|p| p.step),
            Some(0),
            "no longer follows"
        );
    }

    #[test]
    fn a_follower_never_sets_up_a_step_for_the_class() {
        // The learner's own progress would resume the chapter at step 2,
        // whose set-up (DEL foo) would then go to the server.
        let mut progress = Progress::in_memory();
        progress.mark_done("test-chapter", 1).expect("in memory");
        let mut app = classroom();
        app.guide = Some(Guide::new(walk(progress), Some("127.0.0.1".into())));
        app.on_key(Key::Char('F'));
        app.on_message(leader_at(1, vec![0]));
        assert_eq!(guide(&app).walk.position().map(|p| p.step), Some(1));
        assert!(
            !guide(&app).walk.setup_pending(),
            "the class's server holds what the leader's step needs"
        );
        app.on_key(Key::Char('F'));
        assert!(
            !guide(&app).walk.setup_pending(),
            "nor on going one's own way"
        );
    }

    #[test]
    fn a_follower_names_the_leaders_pause_and_an_unknown_chapter() {
        let mut app = classroom();
        app.on_key(Key::Char('F'));
        app.on_message(leader_at(0, vec![]));
        let on = BreakOn::Kind {
            kind: ProbeKind::FileEvent,
        };
        let gate = GateStatus {
            state: GateState::Paused,
            at: None,
            breakpoints: vec![crate::trace::model::Breakpoint {
                id: 3,
                enabled: true,
                on,
            }],
            controller: Some(1),
        };
        app.on_message(Message::Gate(gate));
        // The leader's guide moves on to its next breakpoint before the
        // follower names the stop at this one.
        app.on_message(Message::Gate(GateStatus {
            breakpoints: Vec::new(),
            ..app.gate.clone().unwrap()
        }));
        assert_eq!(
            guide(&app).breakpoint_label(3).as_deref(),
            Some(
                "by the leader's guide: chapter 1, step 1 (`file_event handler=accept_tcp_handler`)"
            )
        );
        app.on_message(Message::Guide(GuidePosition {
            chapter: "not-here".into(),
            ..GuidePosition::default()
        }));
        assert!(
            matches!(&app.status, Some(Status::Error(s)) if s.contains("`not-here`")),
            "{:?}",
            app.status
        );
        assert_eq!(
            guide(&app).walk.position().map(|p| p.step),
            Some(0),
            "stays put"
        );
    }

    #[test]
    fn a_leader_tells_the_loop_its_place_once_per_change() {
        let mut app = guided(Progress::in_memory(), Some("127.0.0.1"));
        app.publish_guide();
        assert!(
            published(app.guide.as_mut().unwrap()).is_empty(),
            "a loop that does not pass guides on is told nothing"
        );
        if let Some(h) = app.hello.as_mut() {
            h.features = vec!["guide".into()];
        }
        app.publish_guide();
        let first = published(app.guide.as_mut().unwrap());
        assert_eq!(
            first,
            [GuidePosition {
                chapter: "test-chapter".into(),
                ..GuidePosition::default()
            }]
        );
        app.publish_guide();
        assert!(
            published(app.guide.as_mut().unwrap()).is_empty(),
            "unchanged"
        );
        app.on_key(Key::Char('.'));
        app.publish_guide();
        let next = published(app.guide.as_mut().unwrap());
        assert_eq!(next.iter().map(|p| p.step).collect::<Vec<_>>(), [1]);
        // F on the loop's own UI: it leads, there is nobody to follow.
        app.on_key(Key::Char('F'));
        assert!(!guide(&app).class.following);
        assert!(matches!(&app.status, Some(Status::Info(s)) if s.contains("it leads")));
    }
}

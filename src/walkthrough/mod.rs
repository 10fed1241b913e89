//! Guided chapters: a walkthrough of the event loop that waits for the
//! learner, and for the loop, to do each thing.
//!
//! A chapter is a plain text file (`walkthrough/*.md`, format in
//! `walkthrough/README.md`). It is a sequence of steps; a step explains one
//! idea, points at places in our code (anchors, see [`crate::source`]), may
//! give the learner a command to send (an [`Action`]) and may wait until the
//! loop really does something (a wait-condition, see [`condition`]). The
//! walkthrough never looks inside the server: it learns what the loop did only
//! from trace events ([`crate::trace::model::Message`]), so the same guide
//! works on a live loop, an attached one and a replayed trace.
//!
//! # Layout
//! - [`chapter`]: the model (chapter, step, action, anchor reference, pane).
//! - [`parse`]: reading a chapter file; errors name file and line.
//! - [`condition`]: the wait-condition language, matched against trace events.
//! - [`load`]: the embedded chapters or a `--walkthrough DIR`.
//! - [`check`]: `loopscope chapters --check` (anchors, commands, links).
//! - [`progress`]: done steps, saved per user.
//! - [`argv`], [`reply`], [`client`]: the built-in client that sends actions.
//!
//! # Using it from a UI
//!
//! ```no_run
//! use loopscope::walkthrough::{Origin, Walkthrough, StepOutcome, client::ActionClient};
//! # fn next_message() -> loopscope::trace::model::Message { unimplemented!() }
//! # let server_addr: std::net::SocketAddr = "127.0.0.1:6380".parse().unwrap();
//! let mut guide = Walkthrough::load(&Origin::Embedded);   // or Origin::Dir(path)
//! for d in guide.diagnostics() { eprintln!("{d}"); }      // broken files, if any
//! guide.open(0);                                          // chapter 1, first step not done
//! let mut client = ActionClient::new(server_addr);
//!
//! // The guide pane shows guide.current_chapter(), guide.current_step()
//! // (title, text, anchors, links), guide.look() (panes to highlight) and
//! // guide.current_action() (the line to type; `t` sends it):
//! if let Some(action) = guide.current_action() {
//!     let _ = client.send(action);                        // never blocks
//! }
//! // Every trace message the UI receives also goes to the guide:
//! match guide.observe(&next_message()) {
//!     StepOutcome::Met { pause: true, .. } => { /* keep (or get) the loop paused */ }
//!     StepOutcome::Met { .. } | StepOutcome::Progressed { .. } => { /* redraw */ }
//!     StepOutcome::Nothing => {}
//! }
//! // Replies to actions arrive later: client.try_event().
//! guide.next_step();                                      // or prev_step(), goto(i), open(c)
//! ```
//!
//! **Pausing exactly at the moment.** A step with `pause: yes` wants the loop
//! stopped at the very event that completes it. The trace runs behind the
//! loop, so that takes a gate breakpoint installed beforehand; a viewer that
//! controls the gate lets a [`pause::PauseDriver`] keep it in step with the
//! guide, and feeds it every message instead of calling `observe` itself:
//!
//! ```no_run
//! # use loopscope::walkthrough::{Origin, Walkthrough, pause::PauseDriver};
//! # fn next_message() -> loopscope::trace::model::Message { unimplemented!() }
//! # fn send(_: loopscope::trace::model::ControlRequest) {}
//! # let mut guide = Walkthrough::load(&Origin::Embedded);
//! let mut driver = PauseDriver::new(&mut guide);
//! let handled = driver.handle(&mut guide, &next_message()); // observes events too
//! for c in handled.controls { send(c) }       // Subscription::control
//! if let Some(step) = handled.holding { /* the loop stands at step's moment */ }
//! // After any navigation (open, goto, next_step, prev_step):
//! for c in driver.sync(&guide) { send(c) }
//! ```
//!
//! A viewer that cannot control the gate (read-only, or a replay) calls
//! `observe` directly; `Met { pause: true }` is then only a hint.
//!
//! **Connections.** Each chapter expects its `client:` connections to be
//! new when it starts (its first action connects, and a step may wait for
//! that accept): close the [`client::ActionClient`]'s connections
//! ([`client::ActionClient::close_with`], writing the chapter left behind's
//! `cleanup:` on the way) when opening a chapter, and give their local
//! addresses (from [`client::ClientEvent::Connected`]) to
//! [`Walkthrough::closing_own`] first, so their end of file is not taken for
//! the learner's.
//!
//! **Which step is watched.** Only the step on screen, and the steps that
//! follow it without a reading step between: events are matched against
//! the first of those not met yet. So a consequence that follows right
//! after (the command runs microseconds after its read; the write handler
//! removes itself after being installed) is not missed while the learner is
//! still reading, but a step behind prose the learner has not read yet is
//! never watched, nor paused for.
//!
//! **Which events count.** Only those caused after the step opened, and
//! none about the guide's own connections it closed when the chapter opened
//! ([`own`]). A viewer that installs watch lists loop-side (see "Never
//! missing the event" below) judges only events after the loop acknowledged
//! the current step's list: the acknowledgement travels in the same ordered
//! stream, so everything after it happened after the step opened. A
//! condition that was met before, while another step was on screen, is
//! remembered ([`Walkthrough::earlier`]) so the guide can say so and offer
//! the moment from history; the step still waits for the next time.
//!
//! **Never missing the event.** A viewer's feed drops events when the loop
//! is busy. The conditions of the watched steps ([`Walkthrough::watch_list`])
//! go to the loop as a `watch` control, and the loop delivers every event
//! meeting one of them whatever the queue holds; [`pause::PauseDriver`]
//! keeps that list in step with the guide.
//!
//! **Resuming.** [`Walkthrough::open`] opens a chapter at its first step not
//! done, on a server that holds none of what the steps before it made. A
//! step's `setup:` ([`Step::setup`]) re-creates it: when the chapter was
//! opened at a step other than its first, [`Walkthrough::take_setup`] gives
//! that step's set-up out once, as soon as the loop watches the step (so
//! what the set-up causes counts), and the viewer sends it with the
//! built-in client.
//!
//! **Progress.** A step is done when its condition is met, or, for a step
//! without a condition, when the learner moves on from it. Done steps are
//! saved at once ([`progress`]); [`Walkthrough::reset_progress`] forgets them
//! (`--reset-progress`); [`Walkthrough::chapter_progress`] feeds the chapter list.

pub mod argv;
pub mod chapter;
pub mod check;
pub mod client;
pub mod condition;
pub mod load;
pub mod own;
pub mod parse;
pub mod pause;
pub mod progress;
pub mod reply;
#[cfg(test)]
pub(crate) mod testkit;

pub use chapter::{Action, AnchorRef, Chapter, Link, Pane, Step};
pub use load::{Loaded, Origin};
pub use parse::Diagnostic;
pub use progress::Progress;

use crate::trace::model::{BreakOn, Message};

/// Where the guide is: chapter and step, both 0-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub chapter: usize,
    pub step: usize,
}

/// What one trace message meant for the walkthrough.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// Nothing changed.
    Nothing,
    /// The message met one condition of a step that waits for several, in order.
    Progressed { step: usize, met: usize, of: usize },
    /// The message completed step `step`'s wait-condition (it is now done).
    /// `pause`: the step asks for the loop to stay paused here. `current`:
    /// it is the step on screen (else it is the one after it).
    Met {
        step: usize,
        pause: bool,
        current: bool,
    },
}

/// The loaded chapters, where the learner is, and what has been done.
pub struct Walkthrough {
    chapters: Vec<Chapter>,
    diagnostics: Vec<Diagnostic>,
    progress: Progress,
    pos: Option<Position>,
    /// For each step of the open chapter: how far its wait-condition got in
    /// this session, and whether it was met.
    matching: Vec<condition::Progress>,
    met: Vec<bool>,
    save_error: Option<String>,
    /// A viewer installs pause breakpoints in the gate (see the module doc).
    gate_breakpoints: bool,
    /// The breakpoint the gate last confirmed installed.
    armed: Option<BreakOn>,
    /// The gate takes `when` breakpoints (the condition itself), else the
    /// coarser [`condition::Condition::breakpoint`] is installed.
    exact_breakpoints: bool,
    /// A viewer installs [`Walkthrough::watch_list`] loop-side: events are
    /// judged only once the loop confirmed the current list.
    loop_watch: bool,
    /// The watch list the loop last confirmed.
    watch_armed: Option<Vec<String>>,
    /// The guide's own closing connections (see [`own`]).
    closing: own::Closing,
    /// For each step of the open chapter: where its wait was last seen met
    /// while it was not the watched step, and how far it got meanwhile.
    sightings: Vec<Option<Sighting>>,
    shadow: Vec<condition::Progress>,
    /// Where the current step's wait was seen met before it opened.
    earlier: Option<Sighting>,
    /// The step the chapter was opened at, when that is not its first and
    /// the step has a `setup:` not sent yet (see [`Walkthrough::take_setup`]).
    setup_due: Option<usize>,
}

/// Where a step's wait-condition was met: the completing event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub seq: u64,
    pub iter: u64,
}

impl Walkthrough {
    /// Loads the chapters from `origin`, with the progress saved for this user.
    pub fn load(origin: &Origin) -> Walkthrough {
        Walkthrough::with_progress(load::load(origin), Progress::load_default())
    }

    /// A walkthrough over already loaded chapters and the given progress.
    pub fn with_progress(loaded: Loaded, progress: Progress) -> Walkthrough {
        Walkthrough {
            chapters: loaded.chapters,
            diagnostics: loaded.diagnostics,
            progress,
            pos: None,
            matching: Vec::new(),
            met: Vec::new(),
            save_error: None,
            gate_breakpoints: false,
            armed: None,
            exact_breakpoints: false,
            loop_watch: false,
            watch_armed: None,
            closing: own::Closing::default(),
            sightings: Vec::new(),
            shadow: Vec::new(),
            earlier: None,
            setup_due: None,
        }
    }

    /// Says whether the gate takes `when` breakpoints (the hello's features).
    pub fn set_exact_breakpoints(&mut self, on: bool) {
        self.exact_breakpoints = on;
    }

    /// Says whether a viewer installs [`Walkthrough::watch_list`] loop-side.
    /// While it does, events are judged only after the loop confirmed the
    /// current list ([`Walkthrough::watch_installed`]).
    pub fn set_loop_watch(&mut self, on: bool) {
        self.loop_watch = on;
        self.watch_armed = None;
    }

    /// The loop confirmed this watch list.
    pub fn watch_installed(&mut self, list: &[String]) {
        self.watch_armed = Some(list.to_vec());
    }

    /// True unless the loop has not confirmed a watch list holding every
    /// condition of the current one. The last confirmed list stays in force
    /// loop-side until the next is confirmed, so after a move to a step
    /// whose conditions it already held (the next step of a run), nothing
    /// was ever missed and there is nothing to wait for.
    pub fn watch_armed(&self) -> bool {
        let in_force = self.watch_armed.as_deref().unwrap_or_default();
        !self.loop_watch || self.watch_list().iter().all(|c| in_force.contains(c))
    }

    /// The guide is closing its connections from these addresses: events
    /// about them are not the learner's (see [`own`]).
    pub fn closing_own(&mut self, addrs: impl IntoIterator<Item = String>) {
        self.closing.close(addrs);
    }

    /// Where the current step's wait-condition was met before the step
    /// opened, if it was (the learner was reading another step then).
    pub fn earlier(&self) -> Option<Sighting> {
        self.earlier
    }

    /// Says whether a viewer installs [`Walkthrough::pause_breakpoint`] in the
    /// gate. While it does, a pausing step completes only at events after the
    /// gate acknowledged that breakpoint ([`Walkthrough::breakpoint_installed`]):
    /// an event the loop could not have stopped at must not complete a step
    /// that promises to stop there. [`pause::PauseDriver`] sets this.
    pub fn set_gate_breakpoints(&mut self, on: bool) {
        self.gate_breakpoints = on;
    }

    /// The gate acknowledged this breakpoint: it stops there from now on.
    pub fn breakpoint_installed(&mut self, on: &BreakOn) {
        self.armed = Some(on.clone());
    }

    /// True unless the next pausing step waits for a breakpoint the gate has
    /// not confirmed yet (only with [`Walkthrough::set_gate_breakpoints`]). A
    /// viewer that acts by itself (a test) waits for this before acting.
    pub fn pause_armed(&self) -> bool {
        match self.pause_breakpoint() {
            Some(bp) if self.gate_breakpoints => self.armed.as_ref() == Some(&bp),
            _ => true,
        }
    }

    pub fn chapters(&self) -> &[Chapter] {
        &self.chapters
    }

    /// Problems of chapter files that could not be loaded (shown, not fatal).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The last failure to save progress, if any (the guide may show it).
    pub fn save_error(&self) -> Option<&str> {
        self.save_error.as_deref()
    }

    /// `(done, total)` steps of chapter `chapter`.
    pub fn chapter_progress(&self, chapter: usize) -> (usize, usize) {
        self.chapters.get(chapter).map_or((0, 0), |c| {
            (
                self.progress.done_count(&c.id, c.steps.len()),
                c.steps.len(),
            )
        })
    }

    /// Forgets every done step, here and on disk.
    pub fn reset_progress(&mut self) -> std::io::Result<()> {
        self.met.iter_mut().for_each(|m| *m = false);
        self.matching
            .iter_mut()
            .for_each(|m| *m = Default::default());
        self.progress.reset()
    }

    pub fn position(&self) -> Option<Position> {
        self.pos
    }

    pub fn current_chapter(&self) -> Option<&Chapter> {
        self.chapters.get(self.pos?.chapter)
    }

    pub fn current_step(&self) -> Option<&Step> {
        let pos = self.pos?;
        self.chapters.get(pos.chapter)?.steps.get(pos.step)
    }

    /// The command the current step asks the learner to send.
    pub fn current_action(&self) -> Option<&Action> {
        self.current_action_from().map(|(_, action)| action)
    }

    /// The action `t` sends, and the index of the step that wrote it.
    ///
    /// A step with no action of its own that still waits for the loop is
    /// usually waiting for what an earlier step sent (chapter 1 sends PING
    /// once, then follows it through three steps). A learner who comes back
    /// to such a step later, or whose client was closed meanwhile, needs a
    /// way to make it happen again, so the nearest earlier action in the
    /// chapter is offered.
    pub fn current_action_from(&self) -> Option<(usize, &Action)> {
        let pos = self.pos?;
        let steps = &self.chapters.get(pos.chapter)?.steps;
        let step = steps.get(pos.step)?;
        if let Some(action) = &step.action {
            return Some((pos.step, action));
        }
        if step.wait.conditions.is_empty() || self.is_done(pos.step) {
            return None;
        }
        steps[..pos.step]
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, s)| s.action.as_ref().map(|a| (i, a)))
    }

    /// The anchors of the current step (the source pane shows the first).
    pub fn anchors(&self) -> &[AnchorRef] {
        self.current_step().map_or(&[], |s| &s.anchors)
    }

    /// The panes the current step tells the learner to look at.
    pub fn look(&self) -> &[Pane] {
        self.current_step().map_or(&[], |s| &s.look)
    }

    /// True if step `step` of the open chapter is done (this session or before).
    pub fn is_done(&self, step: usize) -> bool {
        self.met.get(step).copied().unwrap_or(false)
            || self
                .current_chapter()
                .is_some_and(|c| self.progress.is_done(&c.id, step + 1))
    }

    /// True if step `step`'s wait-condition was met in this session.
    pub fn is_met(&self, step: usize) -> bool {
        self.met.get(step).copied().unwrap_or(false)
    }

    /// How many of the current step's wait-conditions are met so far.
    pub fn current_wait_progress(&self) -> Option<(usize, usize)> {
        let pos = self.pos?;
        let step = self.current_step()?;
        let got = self.matching.get(pos.step)?;
        Some((
            got.met.min(step.wait.conditions.len()),
            step.wait.conditions.len(),
        ))
    }

    /// Opens chapter `chapter` at its first step not yet done (or its first
    /// step). Returns false if there is no such chapter.
    pub fn open(&mut self, chapter: usize) -> bool {
        let Some(c) = self.chapters.get(chapter) else {
            return false;
        };
        let mut first_open = (0..c.steps.len())
            .find(|&s| !self.progress.is_done(&c.id, s + 1))
            .unwrap_or(0);
        // A step that goes on from the moment the one before stopped at
        // cannot be opened by itself: the learner redoes the one before.
        while first_open > 0 && c.steps[first_open].continues {
            first_open -= 1;
        }
        let setup = first_open > 0 && c.steps[first_open].setup.is_some();
        self.open_at(chapter, first_open);
        self.setup_due = setup.then_some(first_open);
        true
    }

    /// Opens chapter `chapter` at step `step`, with nothing to set up: the
    /// guide follows another's place (a class's leader), whose server
    /// already holds what the step needs. Returns false if there is no such
    /// chapter or step.
    pub fn open_at(&mut self, chapter: usize, step: usize) -> bool {
        let Some(steps) = self.chapters.get(chapter).map(|c| c.steps.len()) else {
            return false;
        };
        if step >= steps {
            return false;
        }
        self.pos = Some(Position { chapter, step });
        self.matching = vec![condition::Progress::default(); steps];
        self.met = vec![false; steps];
        self.sightings = vec![None; steps];
        self.shadow = vec![condition::Progress::default(); steps];
        self.earlier = None;
        self.setup_due = None;
        true
    }

    /// The `setup:` of the step the chapter was just opened at, once it is
    /// time to send it: the chapter opened at a step other than its first
    /// (progress resumed it there), the learner is still on that step, and
    /// the loop watches it (the watch list and the pause breakpoint are
    /// confirmed), so what the set-up causes counts for the step. Given out
    /// once; `None` otherwise. Leaving the step first drops it.
    pub fn take_setup(&mut self) -> Option<Action> {
        let due = self.setup_due?;
        if self.pos.map(|p| p.step) != Some(due) {
            self.setup_due = None;
            return None;
        }
        if !(self.watch_armed() && self.pause_armed()) {
            return None;
        }
        self.setup_due = None;
        self.current_step()?.setup.clone()
    }

    /// True while the step the chapter opened at still has a set-up to send.
    pub fn setup_pending(&self) -> bool {
        self.setup_due.is_some()
    }

    /// Goes to step `step` of the open chapter.
    pub fn goto(&mut self, step: usize) -> bool {
        match self.pos {
            Some(pos) if step < self.met.len() => {
                self.pos = Some(Position { step, ..pos });
                self.earlier = self.sightings.get_mut(step).and_then(Option::take);
                true
            }
            _ => false,
        }
    }

    /// Moves to the next step, or the first step of the next chapter. Leaving
    /// a step that waits for nothing marks it done. Returns false at the end.
    pub fn next_step(&mut self) -> bool {
        let Some(pos) = self.pos else {
            return self.open(0);
        };
        if self.current_step().is_some_and(|s| s.wait.is_empty()) {
            self.mark_done(pos.step);
        }
        if pos.step + 1 < self.met.len() {
            self.goto(pos.step + 1)
        } else if pos.chapter + 1 < self.chapters.len() {
            self.open(pos.chapter + 1) && self.goto(0)
        } else {
            false
        }
    }

    /// Moves to the previous step (staying in this chapter).
    pub fn prev_step(&mut self) -> bool {
        match self.pos {
            Some(pos) if pos.step > 0 => self.goto(pos.step - 1),
            _ => false,
        }
    }

    /// The steps watched from where the learner is: the current step and
    /// those right after it that wait too (a reading step ends the run).
    fn watch_run(&self) -> std::ops::Range<usize> {
        let Some((pos, chapter)) = self.pos.zip(self.current_chapter()) else {
            return 0..0;
        };
        let end = (pos.step..chapter.steps.len())
            .find(|&i| chapter.steps[i].wait.is_empty())
            .unwrap_or(chapter.steps.len());
        pos.step..end
    }

    /// The step whose wait-condition events are matched against: the first
    /// step of the watched run not met in this session (see the module doc).
    pub fn watched_step(&self) -> Option<usize> {
        self.watch_run().find(|&i| !self.is_met(i))
    }

    /// The gate breakpoint to keep installed: the one of the first pausing
    /// step not met of the watched run. Not only the watched step's, because
    /// a pausing step's moment may follow the watched step's within
    /// microseconds (a command runs right after its read), too soon for a
    /// viewer to install anything in between (see "Pausing exactly at the
    /// moment" in the module doc).
    pub fn pause_breakpoint(&self) -> Option<BreakOn> {
        let steps = &self.current_chapter()?.steps;
        let from = self.watched_step()?;
        let last = (from..self.watch_run().end)
            .find(|&i| steps[i].pause && !self.is_met(i))
            .and_then(|i| steps[i].wait.conditions.last())?;
        Some(match self.exact_breakpoints {
            true => BreakOn::When {
                when: last.text.clone(),
            },
            false => last.breakpoint(),
        })
    }

    /// The conditions the loop must deliver without loss while the learner
    /// is here: every wait of the watched run, and the connects and closes
    /// that tell the guide's own connections apart ([`own`]). Empty when
    /// nothing is watched. It depends only on where the learner is, so it
    /// does not change (and need not be confirmed again) as steps are met.
    pub fn watch_list(&self) -> Vec<String> {
        let Some(chapter) = self.current_chapter() else {
            return Vec::new();
        };
        let mut list: Vec<String> = Vec::new();
        for i in self.watch_run() {
            for c in &chapter.steps[i].wait.conditions {
                if !list.contains(&c.text) {
                    list.push(c.text.clone());
                }
            }
        }
        if !list.is_empty() {
            list.extend(["client_connected".to_string(), "client_closed".into()]);
        }
        list
    }

    /// Feeds one trace message to the watched step's wait-condition.
    pub fn observe(&mut self, message: &Message) -> StepOutcome {
        self.closing.learn(message);
        let Message::Event(ev) = message else {
            return StepOutcome::Nothing;
        };
        if self.closing.is_ours(ev) {
            return StepOutcome::Nothing;
        }
        let Some(pos) = self.pos else {
            return StepOutcome::Nothing;
        };
        let watched = self.watched_step().filter(|_| self.watch_armed());
        self.note_sightings(ev, watched);
        let Some(w) = watched else {
            return StepOutcome::Nothing;
        };
        let Some(step) = self.chapters.get(pos.chapter).and_then(|c| c.steps.get(w)) else {
            return StepOutcome::Nothing;
        };
        let armed = self.armed.as_ref() == self.pause_breakpoint().as_ref();
        let Some(got) = self.matching.get_mut(w) else {
            return StepOutcome::Nothing;
        };
        let before = got.met;
        let last = step.wait.conditions.len().saturating_sub(1);
        let final_needs_gate = self.gate_breakpoints && step.pause && got.met == last;
        if final_needs_gate && !armed {
            return StepOutcome::Nothing;
        }
        if got.advance(&step.wait, ev) {
            let pause = step.pause;
            self.mark_done(w);
            return StepOutcome::Met {
                step: w,
                pause,
                current: w == pos.step,
            };
        }
        if got.met > before {
            return StepOutcome::Progressed {
                step: w,
                met: got.met,
                of: step.wait.conditions.len(),
            };
        }
        StepOutcome::Nothing
    }

    /// Follows every step but the judged one, to remember where its wait
    /// was met while the learner was elsewhere.
    fn note_sightings(&mut self, ev: &crate::trace::model::Event, judged: Option<usize>) {
        let Some(chapter) = self.pos.and_then(|p| self.chapters.get(p.chapter)) else {
            return;
        };
        for (i, step) in chapter.steps.iter().enumerate() {
            let Some(shadow) = self.shadow.get_mut(i) else {
                return;
            };
            if Some(i) == judged || step.wait.is_empty() {
                continue;
            }
            if shadow.advance(&step.wait, ev) {
                *shadow = condition::Progress::default();
                if let Some(seen) = self.sightings.get_mut(i) {
                    *seen = Some(Sighting {
                        seq: ev.seq,
                        iter: ev.iter,
                    });
                }
            }
        }
    }

    fn mark_done(&mut self, step: usize) {
        if let Some(m) = self.met.get_mut(step) {
            *m = true;
        }
        let Some(id) = self.current_chapter().map(|c| c.id.clone()) else {
            return;
        };
        if let Err(e) = self.progress.mark_done(&id, step + 1) {
            self.save_error = Some(format!("cannot save progress: {e}"));
        }
    }
}

/// The table `loopscope chapters` prints: every chapter with its progress.
pub fn chapter_list(guide: &Walkthrough) -> String {
    let mut out = format!(
        "{:>3}  {:<52} {:>7}  {:>5}\n",
        "#", "chapter", "minutes", "done"
    );
    for (i, c) in guide.chapters().iter().enumerate() {
        let (done, total) = guide.chapter_progress(i);
        let minutes = c.minutes.map_or(String::new(), |m| m.to_string());
        let mark = if done == total { " ✓" } else { "" };
        out.push_str(&format!(
            "{:>3}  {:<52} {:>7}  {:>5}{mark}\n",
            i + 1,
            c.title,
            minutes,
            format!("{done}/{total}")
        ));
    }
    match guide.progress().path() {
        Some(path) => out.push_str(&format!("\nProgress is kept in {}.\n", path.display())),
        None => out.push_str("\nProgress is not saved.\n"),
    }
    out.push_str(
        "`loopscope chapters --show N` prints chapter N; in the TUI, g opens the guide.\n",
    );
    out
}

/// A chapter as plain text, the way the guide pane lays it out: for
/// `loopscope chapters --show` and for reading a chapter without the TUI.
///
/// `port` is the server's port the prose names (see [`chapter::prose_for_port`]).
pub fn render_chapter(number: usize, chapter: &Chapter, port: u16) -> String {
    let mut out = format!("Chapter {number}: {}\n{}\n", chapter.title, chapter.summary);
    if !chapter.intro.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            chapter::prose_for_port(&chapter.intro, port)
        ));
    }
    for (i, step) in chapter.steps.iter().enumerate() {
        out.push_str(&format!(
            "\n── Step {}/{}: {}\n",
            i + 1,
            chapter.steps.len(),
            step.title
        ));
        out.push_str(&render_step(step, port));
    }
    out
}

/// One step as plain text: prose, then what to look at, do and wait for.
pub fn render_step(step: &Step, port: u16) -> String {
    let mut out = String::new();
    if !step.text.is_empty() {
        out.push_str(&format!("{}\n", chapter::prose_for_port(&step.text, port)));
    }
    if !step.look.is_empty() {
        let panes: Vec<&str> = step.look.iter().map(|p| p.name()).collect();
        out.push_str(&format!("  look:   {}\n", panes.join(", ")));
    }
    for a in &step.anchors {
        match a.note.is_empty() {
            true => out.push_str(&format!("  source: {}\n", a.name)),
            false => out.push_str(&format!("  source: {} — {}\n", a.name, a.note)),
        }
    }
    if let Some(action) = &step.action {
        out.push_str(&format!("  do:     {action}   (t sends it)\n"));
    }
    if let Some(setup) = &step.setup {
        out.push_str(&format!(
            "  setup:  {setup}   (sent first when the chapter opens here)\n"
        ));
    }
    for c in &step.wait.conditions {
        out.push_str(&format!("  wait:   {}\n", c.text));
    }
    if step.pause {
        out.push_str("  then:   the loop pauses there\n");
    }
    for l in &step.links {
        out.push_str(&format!("  link:   {} {}\n", l.label, l.url));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::trace::model::{Event, Handler, Mask, ProbeData, ReplyInfo, Site};

    static SITE: Site = Site {
        file: Cow::Borrowed("src/ae/mod.rs"),
        line: 1,
        function: Cow::Borrowed("f"),
        mirrors: Cow::Borrowed("f"),
    };

    fn msg(data: ProbeData) -> Message {
        Message::Event(Event {
            seq: 1,
            iter: 1,
            t_us: 0,
            site: Cow::Borrowed(&SITE),
            data,
        })
    }

    fn command(name: &str) -> Message {
        msg(ProbeData::Command {
            client: 1,
            client_name: None,
            fd: 8,
            db: 0,
            name: Some(name.to_string().into()),
            argv: vec![name.into()],
            argc: 1,
            keys: vec![],
            reply: ReplyInfo::from_resp(b"+OK\r\n"),
            duration_us: 1,
        })
    }

    fn write_handler(installed: bool) -> Message {
        if installed {
            msg(ProbeData::FileEventCreated {
                fd: 8,
                mask: Mask::WRITABLE,
                handler: Handler::new("send_reply_to_client", "sendReplyToClient"),
                now: Mask(3),
            })
        } else {
            msg(ProbeData::FileEventDeleted {
                fd: 8,
                mask: Mask::WRITABLE,
                now: Mask::READABLE,
            })
        }
    }

    const CHAPTER: &str = "---\ntitle: T\nsummary: S\nid: t\n---\n\
## Read me\nJust prose.\n\
## Set\naction: SET k v\nwait: command name=set\nwait: command name=get\npause: yes\n\
## Big reply\naction: GET big\nwait: write_handler installed\npause: yes\n\
## Drained\nwait: write_handler removed\n";

    fn guide() -> Walkthrough {
        let chapter = parse::parse_chapter("t.md", CHAPTER).expect("parses");
        let loaded = Loaded {
            chapters: vec![chapter],
            diagnostics: vec![],
        };
        let mut w = Walkthrough::with_progress(loaded, Progress::in_memory());
        assert!(w.open(0));
        w
    }

    #[test]
    fn a_waiting_step_without_an_action_offers_the_one_before_it() {
        let mut w = guide();
        assert_eq!(
            w.current_action_from(),
            None,
            "a reading step sends nothing"
        );
        assert!(w.next_step());
        let own = w.current_action_from().map(|(i, a)| (i, a.to_string()));
        assert_eq!(own, Some((1, "SET k v".to_string())));
        assert!(w.next_step() && w.next_step());
        assert_eq!(w.current_step().map(|s| s.title.as_str()), Some("Drained"));
        let inherited = w.current_action_from().map(|(i, a)| (i, a.to_string()));
        assert_eq!(inherited, Some((2, "GET big".to_string())));
        w.observe(&write_handler(false));
        assert!(w.is_done(3));
        assert_eq!(
            w.current_action(),
            None,
            "a done step needs nothing sent again"
        );
    }

    #[test]
    fn steps_complete_from_events_in_order() {
        let mut w = guide();
        assert_eq!(w.current_step().map(|s| s.title.as_str()), Some("Read me"));
        // A step behind prose not read yet is neither watched nor paused for.
        assert_eq!(w.watched_step(), None);
        assert_eq!(w.pause_breakpoint(), None);
        assert!(w.watch_list().is_empty());
        assert_eq!(w.observe(&command("set")), StepOutcome::Nothing);
        assert!(w.next_step());
        assert_eq!(w.watched_step(), Some(1));
        assert_eq!(
            w.pause_breakpoint(),
            Some(BreakOn::Command { name: "get".into() })
        );
        w.set_exact_breakpoints(true);
        assert_eq!(
            w.pause_breakpoint(),
            Some(BreakOn::When {
                when: "command name=get".into()
            })
        );
        w.set_exact_breakpoints(false);
        // The set before the step opened was seen, and is remembered.
        assert_eq!(w.earlier(), None, "half a sequence is no sighting");
        assert_eq!(
            w.watch_list(),
            [
                "command name=set",
                "command name=get",
                "write_handler installed",
                "write_handler removed",
                "client_connected",
                "client_closed"
            ]
        );
        assert!(w.is_done(0), "leaving a reading step marks it done");
        assert_eq!(
            w.observe(&command("get")),
            StepOutcome::Nothing,
            "out of order"
        );
        assert_eq!(
            w.observe(&command("set")),
            StepOutcome::Progressed {
                step: 1,
                met: 1,
                of: 2
            }
        );
        assert_eq!(w.current_wait_progress(), Some((1, 2)));
        assert_eq!(
            w.observe(&command("get")),
            StepOutcome::Met {
                step: 1,
                pause: true,
                current: true
            }
        );
        assert!(w.is_done(1));
        assert_eq!(w.chapter_progress(0), (2, 4));
        // Met: the next step is watched before the learner gets there...
        assert_eq!(w.watched_step(), Some(2));
        assert_eq!(
            w.observe(&write_handler(true)),
            StepOutcome::Met {
                step: 2,
                pause: true,
                current: false
            }
        );
        // ...and so is the one after, while the learner still reads step 2.
        assert!(w.next_step());
        assert_eq!(w.pause_breakpoint(), None, "step 4 does not pause");
        assert_eq!(
            w.observe(&write_handler(false)),
            StepOutcome::Met {
                step: 3,
                pause: false,
                current: false
            }
        );
        assert_eq!(w.watched_step(), None);
        assert_eq!(w.chapter_progress(0), (4, 4));
        assert!(w.next_step());
        assert!(!w.next_step(), "the end");
    }

    fn at(seq: u64, mut m: Message) -> Message {
        if let Message::Event(e) = &mut m {
            e.seq = seq;
            e.iter = seq;
        }
        m
    }

    #[test]
    fn only_events_after_the_loop_confirmed_the_watch_list_count() {
        let mut w = guide();
        w.set_loop_watch(true);
        assert!(w.watch_armed(), "nothing watched on a reading step");
        w.next_step();
        assert!(!w.watch_armed());
        assert_eq!(w.observe(&command("set")), StepOutcome::Nothing);
        w.watch_installed(&["command name=set".to_string()]);
        assert!(
            !w.watch_armed(),
            "a list without the step's other conditions"
        );
        w.watch_installed(&w.watch_list());
        assert!(matches!(
            w.observe(&command("set")),
            StepOutcome::Progressed { met: 1, .. }
        ));
        // The next step's conditions are in the list in force already.
        w.next_step();
        assert!(w.watch_armed());
    }

    #[test]
    fn a_moment_met_while_another_step_was_read_is_remembered() {
        let mut w = guide();
        // On "Read me": the SET and GET of step 2 go by, and a removal.
        w.observe(&at(4, command("set")));
        w.observe(&at(5, command("get")));
        w.observe(&at(6, write_handler(false)));
        assert!(w.next_step());
        assert_eq!(w.earlier(), Some(Sighting { seq: 5, iter: 5 }));
        assert!(!w.is_done(1), "it still waits for the next time");
        assert!(w.goto(3));
        assert_eq!(w.earlier(), Some(Sighting { seq: 6, iter: 6 }));
        assert!(w.goto(1));
        assert_eq!(w.earlier(), None, "told once");
    }

    #[test]
    fn the_guides_own_closing_connections_complete_nothing() {
        let mut w = guide();
        w.next_step();
        let mut from_us = at(
            3,
            msg(ProbeData::ClientConnected {
                client: 1,
                fd: 8,
                addr: "127.0.0.1:40000".into(),
            }),
        );
        w.observe(&from_us);
        w.closing_own(["127.0.0.1:40000".to_string()]);
        assert_eq!(
            w.observe(&command("set")),
            StepOutcome::Nothing,
            "fd 8 is ours"
        );
        from_us = msg(ProbeData::ClientClosed {
            client: 1,
            fd: 8,
            addr: "127.0.0.1:40000".into(),
            reason: "eof".into(),
        });
        w.observe(&from_us);
        assert!(matches!(
            w.observe(&command("set")),
            StepOutcome::Progressed { met: 1, .. }
        ));
    }

    #[test]
    fn progress_reopens_at_the_first_open_step_and_resets() {
        let mut w = guide();
        w.next_step();
        w.observe(&command("set"));
        w.observe(&command("get"));
        assert!(w.open(0));
        assert_eq!(
            w.position(),
            Some(Position {
                chapter: 0,
                step: 2
            })
        );
        assert!(
            w.is_done(1) && !w.is_met(1),
            "done before, not met this session"
        );
        w.reset_progress().expect("reset");
        assert!(w.open(0));
        assert_eq!(
            w.position(),
            Some(Position {
                chapter: 0,
                step: 0
            })
        );
        assert_eq!(w.chapter_progress(0), (0, 4));
    }

    #[test]
    fn a_step_that_continues_the_one_before_resumes_there() {
        let text = "---\ntitle: T\nsummary: S\nid: c\n---\n\
## Start\naction: PING\nwait: command name=ping\n\
## Reload\naction: DEBUG LOADAOF\nwait: events_while_blocked\npause: yes\n\
## Meanwhile\ncontinues: yes\nclient: other\naction: PING\nwait: command name=ping\n\
## After\ncontinues: yes\nwait: command name=debug\n\
## Later\nJust prose.\n";
        let chapter = parse::parse_chapter("c.md", text).expect("parses");
        let loaded = Loaded {
            chapters: vec![chapter],
            diagnostics: vec![],
        };
        for (done, opens_at) in [(0, 0), (1, 1), (2, 1), (3, 1), (4, 4)] {
            let mut progress = Progress::in_memory();
            for step in 1..=done {
                progress.mark_done("c", step).expect("in memory");
            }
            let mut w = Walkthrough::with_progress(loaded.clone(), progress);
            assert!(w.open(0));
            assert_eq!(
                w.position().map(|p| p.step),
                Some(opens_at),
                "with {done} steps done"
            );
        }
    }

    #[test]
    fn the_breakpoint_is_the_next_pausing_steps_even_before_it_is_watched() {
        let text = "---\ntitle: T\nsummary: S\n---\n\
## Read\naction: SET k v\nwait: read\n\
## Run\nwait: command name=set\npause: yes\n";
        let chapter = parse::parse_chapter("t.md", text).expect("parses");
        let loaded = Loaded {
            chapters: vec![chapter],
            diagnostics: vec![],
        };
        let mut w = Walkthrough::with_progress(loaded, Progress::in_memory());
        w.open(0);
        assert_eq!(w.watched_step(), Some(0));
        // The command runs right after the read, inside the same handler: the
        // breakpoint must already be there while the read is awaited.
        assert_eq!(
            w.pause_breakpoint(),
            Some(BreakOn::Command { name: "set".into() })
        );
    }

    #[test]
    fn with_gate_breakpoints_a_pause_waits_until_the_gate_is_armed() {
        let mut w = guide();
        w.set_gate_breakpoints(true);
        w.next_step();
        w.observe(&command("set"));
        let bp = w.pause_breakpoint().expect("step 2 pauses");
        assert!(!w.pause_armed());
        // The gate has not confirmed the breakpoint: this GET could not have
        // been stopped at, so it does not complete a pausing step.
        assert_eq!(w.observe(&command("get")), StepOutcome::Nothing);
        w.breakpoint_installed(&BreakOn::Kind {
            kind: crate::trace::model::ProbeKind::Command,
        });
        assert!(!w.pause_armed(), "another breakpoint is not this one");
        w.breakpoint_installed(&bp);
        assert!(w.pause_armed());
        assert_eq!(
            w.observe(&command("get")),
            StepOutcome::Met {
                step: 1,
                pause: true,
                current: true
            }
        );
        w.next_step();
        assert_eq!(
            w.observe(&write_handler(true)),
            StepOutcome::Nothing,
            "not armed"
        );
        let bp = w.pause_breakpoint().expect("step 3 pauses");
        w.breakpoint_installed(&bp);
        assert!(matches!(
            w.observe(&write_handler(true)),
            StepOutcome::Met { step: 2, .. }
        ));
        // Step 4 does not pause: nothing to arm.
        assert!(w.pause_armed());
        assert!(matches!(
            w.observe(&write_handler(false)),
            StepOutcome::Met { step: 3, .. }
        ));
    }

    #[test]
    fn non_events_and_no_chapter_do_nothing() {
        let mut empty = Walkthrough::with_progress(Loaded::default(), Progress::in_memory());
        assert_eq!(empty.observe(&command("set")), StepOutcome::Nothing);
        assert!(!empty.open(0) && !empty.next_step() && !empty.prev_step());
        assert!(empty.current_action().is_none() && empty.anchors().is_empty());
        let mut w = guide();
        let gate = Message::Drops(Default::default());
        assert_eq!(w.observe(&gate), StepOutcome::Nothing);
    }

    #[test]
    fn renders_a_step_as_text() {
        let w = guide();
        let text = render_chapter(1, &w.chapters()[0], 6380);
        assert!(text.contains("── Step 2/4: Set\n"), "{text}");
        assert!(
            text.contains("  do:     SET k v   (t sends it)\n"),
            "{text}"
        );
        assert!(
            text.contains("  wait:   command name=set\n  wait:   command name=get\n"),
            "{text}"
        );
    }
}

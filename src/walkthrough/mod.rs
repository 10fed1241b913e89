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
//! guide.next();                                           // or prev(), goto(i), open(c)
//! ```
//!
//! **Pausing exactly at the moment.** A step with `pause: yes` wants the loop
//! stopped where its condition is met. [`Walkthrough::pause_breakpoint`] gives
//! a gate breakpoint that stops at every event that might meet it; keep that
//! breakpoint installed (`Control::BreakAdd`) while it is returned, replacing
//! it when it changes (check after each `observe` and each navigation). When
//! the gate stops at it, `observe` of that same event says `Met { pause: true }`
//! (stay paused: the loop stands right at the event) or something else (the
//! event was not the one: send `Control::Continue`). Without the breakpoint, a
//! `Met { pause: true }` can still be honoured with `Control::Pause`, which
//! stops at the next probe.
//!
//! **Which step is watched.** Events are matched against the current step
//! until it is met, and from then on against the next step, so a consequence
//! that follows right after (the write handler removing itself after being
//! installed) is not missed while the learner is still reading.
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
pub mod parse;
pub mod progress;
pub mod reply;

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
            (self.progress.done_count(&c.id, c.steps.len()), c.steps.len())
        })
    }

    /// Forgets every done step, here and on disk.
    pub fn reset_progress(&mut self) -> std::io::Result<()> {
        self.met.iter_mut().for_each(|m| *m = false);
        self.matching.iter_mut().for_each(|m| *m = Default::default());
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
        self.current_step()?.action.as_ref()
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
        Some((got.met.min(step.wait.conditions.len()), step.wait.conditions.len()))
    }

    /// Opens chapter `chapter` at its first step not yet done (or its first
    /// step). Returns false if there is no such chapter.
    pub fn open(&mut self, chapter: usize) -> bool {
        let Some(c) = self.chapters.get(chapter) else {
            return false;
        };
        let first_open = (0..c.steps.len())
            .find(|&s| !self.progress.is_done(&c.id, s + 1))
            .unwrap_or(0);
        let steps = c.steps.len();
        self.pos = Some(Position {
            chapter,
            step: first_open,
        });
        self.matching = vec![condition::Progress::default(); steps];
        self.met = vec![false; steps];
        true
    }

    /// Goes to step `step` of the open chapter.
    pub fn goto(&mut self, step: usize) -> bool {
        match self.pos {
            Some(pos) if step < self.met.len() => {
                self.pos = Some(Position { step, ..pos });
                true
            }
            _ => false,
        }
    }

    /// Moves to the next step, or the first step of the next chapter. Leaving
    /// a step that waits for nothing marks it done. Returns false at the end.
    pub fn next(&mut self) -> bool {
        let Some(pos) = self.pos else {
            return self.open(0);
        };
        if self
            .current_step()
            .is_some_and(|s| s.wait.is_empty())
        {
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
    pub fn prev(&mut self) -> bool {
        match self.pos {
            Some(pos) if pos.step > 0 => self.goto(pos.step - 1),
            _ => false,
        }
    }

    /// The step whose wait-condition events are matched against: the current
    /// step until it is met, then the next one (see the module doc).
    pub fn watched_step(&self) -> Option<usize> {
        let pos = self.pos?;
        let chapter = self.chapters.get(pos.chapter)?;
        let waits = |i: usize| chapter.steps.get(i).is_some_and(|s| !s.wait.is_empty());
        let cur = pos.step;
        if waits(cur) && !self.is_met(cur) {
            Some(cur)
        } else if waits(cur + 1) && !self.is_met(cur + 1) {
            Some(cur + 1)
        } else {
            None
        }
    }

    /// The gate breakpoint to keep installed so the loop stops where the
    /// watched step's condition may be met, if that step asks to pause
    /// (see "Pausing exactly at the moment" in the module doc).
    pub fn pause_breakpoint(&self) -> Option<BreakOn> {
        let pos = self.pos?;
        let step = self.chapters.get(pos.chapter)?.steps.get(self.watched_step()?)?;
        if !step.pause {
            return None;
        }
        step.wait.conditions.last().map(|c| c.breakpoint())
    }

    /// Feeds one trace message to the watched step's wait-condition.
    pub fn observe(&mut self, message: &Message) -> StepOutcome {
        let Message::Event(ev) = message else {
            return StepOutcome::Nothing;
        };
        let (Some(pos), Some(w)) = (self.pos, self.watched_step()) else {
            return StepOutcome::Nothing;
        };
        let Some(step) = self.chapters.get(pos.chapter).and_then(|c| c.steps.get(w)) else {
            return StepOutcome::Nothing;
        };
        let Some(got) = self.matching.get_mut(w) else {
            return StepOutcome::Nothing;
        };
        let before = got.met;
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
    let mut out = format!("{:>3}  {:<52} {:>7}  {:>5}\n", "#", "chapter", "minutes", "done");
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
    out.push_str("`loopscope chapters --show N` prints chapter N; in the TUI, g opens the guide.\n");
    out
}

/// A chapter as plain text, the way the guide pane lays it out: for
/// `loopscope chapters --show` and for reading a chapter without the TUI.
pub fn render_chapter(number: usize, chapter: &Chapter) -> String {
    let mut out = format!("Chapter {number}: {}\n{}\n", chapter.title, chapter.summary);
    if !chapter.intro.is_empty() {
        out.push_str(&format!("\n{}\n", chapter.intro));
    }
    for (i, step) in chapter.steps.iter().enumerate() {
        out.push_str(&format!("\n── Step {}/{}: {}\n", i + 1, chapter.steps.len(), step.title));
        out.push_str(&render_step(step));
    }
    out
}

/// One step as plain text: prose, then what to look at, do and wait for.
pub fn render_step(step: &Step) -> String {
    let mut out = String::new();
    if !step.text.is_empty() {
        out.push_str(&format!("{}\n", step.text));
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
            name: Some(name.into()),
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
    fn steps_complete_from_events_in_order() {
        let mut w = guide();
        assert_eq!(w.current_step().map(|s| s.title.as_str()), Some("Read me"));
        // The reading step waits for nothing, so the next step is watched already.
        assert_eq!(w.watched_step(), Some(1));
        assert_eq!(w.pause_breakpoint(), Some(BreakOn::Command { name: "get".into() }));
        assert!(w.next());
        assert!(w.is_done(0), "leaving a reading step marks it done");
        assert_eq!(w.observe(&command("get")), StepOutcome::Nothing, "out of order");
        assert_eq!(
            w.observe(&command("set")),
            StepOutcome::Progressed { step: 1, met: 1, of: 2 }
        );
        assert_eq!(w.current_wait_progress(), Some((1, 2)));
        assert_eq!(
            w.observe(&command("get")),
            StepOutcome::Met { step: 1, pause: true, current: true }
        );
        assert!(w.is_done(1));
        assert_eq!(w.chapter_progress(0), (2, 4));
        // Met: the next step is watched before the learner gets there...
        assert_eq!(w.watched_step(), Some(2));
        assert_eq!(
            w.observe(&write_handler(true)),
            StepOutcome::Met { step: 2, pause: true, current: false }
        );
        // ...and so is the one after, while the learner still reads step 2.
        assert!(w.next());
        assert_eq!(w.pause_breakpoint(), None, "step 4 does not pause");
        assert_eq!(
            w.observe(&write_handler(false)),
            StepOutcome::Met { step: 3, pause: false, current: false }
        );
        assert_eq!(w.watched_step(), None);
        assert_eq!(w.chapter_progress(0), (4, 4));
        assert!(w.next());
        assert!(!w.next(), "the end");
    }

    #[test]
    fn progress_reopens_at_the_first_open_step_and_resets() {
        let mut w = guide();
        w.next();
        w.observe(&command("set"));
        w.observe(&command("get"));
        assert!(w.open(0));
        assert_eq!(w.position(), Some(Position { chapter: 0, step: 2 }));
        assert!(w.is_done(1) && !w.is_met(1), "done before, not met this session");
        w.reset_progress().expect("reset");
        assert!(w.open(0));
        assert_eq!(w.position(), Some(Position { chapter: 0, step: 0 }));
        assert_eq!(w.chapter_progress(0), (0, 4));
    }

    #[test]
    fn non_events_and_no_chapter_do_nothing() {
        let mut empty = Walkthrough::with_progress(Loaded::default(), Progress::in_memory());
        assert_eq!(empty.observe(&command("set")), StepOutcome::Nothing);
        assert!(!empty.open(0) && !empty.next() && !empty.prev());
        assert!(empty.current_action().is_none() && empty.anchors().is_empty());
        let mut w = guide();
        let gate = Message::Drops(Default::default());
        assert_eq!(w.observe(&gate), StepOutcome::Nothing);
    }

    #[test]
    fn renders_a_step_as_text() {
        let w = guide();
        let text = render_chapter(1, &w.chapters()[0]);
        assert!(text.contains("── Step 2/4: Set\n"), "{text}");
        assert!(text.contains("  do:     SET k v   (t sends it)\n"), "{text}");
        assert!(text.contains("  wait:   command name=set\n  wait:   command name=get\n"), "{text}");
    }
}

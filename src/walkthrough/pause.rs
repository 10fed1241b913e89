//! Making the loop stop exactly where a step says `pause: yes`.
//!
//! The guide learns what the loop does from the trace stream, which runs
//! behind the loop: by the time a viewer sees "the command ran", the loop may
//! be several iterations further. So a viewer cannot pause the loop *after*
//! seeing the moment; the loop has to be told beforehand, with a gate
//! breakpoint, and stopped *at* it. [`PauseDriver`] does that bookkeeping for
//! a viewer that controls the gate (the TUI, the chapter test):
//!
//! - it keeps the breakpoint of the next pausing step installed
//!   ([`Walkthrough::pause_breakpoint`]), replacing it as the guide moves on;
//! - it tells the guide when the gate has acknowledged it, so the guide
//!   counts only events the loop could have stopped at (acks travel in the
//!   same ordered stream as events, so every event after the ack was checked
//!   against the breakpoint);
//! - when the loop stops at that breakpoint, it keeps it stopped if the event
//!   completed the step, and lets it go on otherwise, once per stop (gate
//!   status messages repeat while the loop stands still).
//!
//! It also keeps the loop's *watch list* for this viewer equal to the
//! guide's [`Walkthrough::watch_list`], when the stream's hello says the
//! loop has the `watch` feature: the loop then delivers every event those
//! conditions match even while it drops others for a busy viewer, and the
//! guide judges only events after the loop confirmed the list. A refused
//! watch (an older server) leaves the guide on the lossy feed alone.
//!
//! Stops it did not cause (the learner's own pause, step or breakpoints) are
//! left alone. If the gate refuses (another viewer controls the loop), the
//! driver gives up and the guide falls back to matching every event; pauses
//! are then only hints.

use crate::trace::model::{
    BreakOn, Control, ControlRequest, GateState, Hello, Message, StopReason,
};

use super::{StepOutcome, Walkthrough};

/// How many of its own breakpoint ids the driver remembers.
const MINE_KEPT: usize = 16;

/// Request ids the driver uses, far from the small ids a viewer counts up
/// from, so its answers are never mistaken for the viewer's.
const FIRST_ID: u64 = 1 << 48;

/// What one message meant, and what to send to the gate because of it.
#[derive(Debug, Default, PartialEq)]
pub struct Handled {
    /// The guide's verdict on the message (events only).
    pub outcome: Option<StepOutcome>,
    /// Control messages to send, in order.
    pub controls: Vec<ControlRequest>,
    /// The loop stopped at the event that completed a pausing step, and the
    /// driver leaves it stopped for the learner. Carries the step.
    pub holding: Option<usize>,
}

/// Keeps the gate's breakpoint in step with the guide. See the module doc.
#[derive(Debug)]
pub struct PauseDriver {
    /// The breakpoint asked for, and the gate's id for it once acknowledged.
    installed: Option<(BreakOn, Option<u32>)>,
    /// BreakAdd requests not answered yet: request id → breakpoint.
    adding: Vec<(u64, BreakOn)>,
    next_id: u64,
    /// The event (sequence number) that completed a pausing step.
    met_at: Option<(u64, usize)>,
    /// The stop already handled: continue once per stop.
    handled_stop: Option<u64>,
    /// Gate ids of the breakpoints this driver added (the latest few), with
    /// what each stops at: a stop at one of them is the driver's to release,
    /// even if it was just replaced by the next step's.
    mine: Vec<(u32, BreakOn)>,
    /// Why the gate refused us, if it did.
    refused: Option<String>,
    /// While set (the guide is hidden), no breakpoint is kept: the loop
    /// should not stop for a guide nobody is reading.
    suspended: bool,
    /// The loop has the `watch` feature (from the hello), and it was not refused.
    can_watch: bool,
    /// The watch list last sent, and its request id.
    watching: Option<(Vec<String>, Option<u64>)>,
    /// The guide follows another viewer's (a class following its teacher):
    /// it judges nothing itself, so it keeps no breakpoint and watches nothing.
    following: bool,
}

impl Default for PauseDriver {
    fn default() -> Self {
        PauseDriver {
            installed: None,
            adding: Vec::new(),
            next_id: FIRST_ID,
            met_at: None,
            handled_stop: None,
            mine: Vec::new(),
            refused: None,
            suspended: false,
            can_watch: false,
            watching: None,
            following: false,
        }
    }
}

impl PauseDriver {
    /// A driver for `guide`, which from now on completes pausing steps only at
    /// events the gate stops at.
    pub fn new(guide: &mut Walkthrough) -> PauseDriver {
        guide.set_gate_breakpoints(true);
        PauseDriver::default()
    }

    /// Suspends (or resumes) the driver's breakpoint, returning the controls
    /// that remove (or put back) the one at the gate.
    pub fn set_suspended(&mut self, guide: &Walkthrough, suspended: bool) -> Vec<ControlRequest> {
        self.suspended = suspended;
        self.sync(guide)
    }

    /// Stands the driver down while the guide follows another viewer's (or
    /// back up when it stops), returning the controls that lift (or put back)
    /// its breakpoint and its watch list.
    pub fn set_following(&mut self, guide: &Walkthrough, following: bool) -> Vec<ControlRequest> {
        self.following = following;
        self.sync(guide)
    }

    /// Why the gate refused the driver's breakpoints, if it did.
    pub fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    fn request(&mut self, control: Control) -> ControlRequest {
        let id = self.next_id;
        self.next_id += 1;
        ControlRequest {
            id: Some(id),
            control,
        }
    }

    /// The controls that bring the gate's breakpoint in line with the guide.
    /// Call after navigating (the guide's watched step may have changed);
    /// [`PauseDriver::handle`] calls it after every event.
    pub fn sync(&mut self, guide: &Walkthrough) -> Vec<ControlRequest> {
        let mut out = self.sync_watch(guide);
        if self.refused.is_some() {
            return out;
        }
        let wanted = if self.suspended || self.following {
            None
        } else {
            guide.pause_breakpoint()
        };
        if self.installed.as_ref().map(|(on, _)| on) == wanted.as_ref() {
            return out;
        }
        if let Some((_, Some(bp))) = self.installed.take() {
            out.push(self.request(Control::BreakRemove { bp }));
        }
        if let Some(on) = wanted {
            let add = self.request(Control::BreakAdd { on: on.clone() });
            if let Some(id) = add.id {
                self.adding.push((id, on.clone()));
            }
            out.push(add);
            self.installed = Some((on, None));
        }
        out
    }

    /// The watch request that brings the loop's list in line with the guide's.
    fn sync_watch(&mut self, guide: &Walkthrough) -> Vec<ControlRequest> {
        let wanted = match self.following {
            true => Vec::new(),
            false => guide.watch_list(),
        };
        let sent = self.watching.as_ref().map(|(list, _)| list);
        if !self.can_watch || sent == Some(&wanted) {
            return Vec::new();
        }
        let request = self.request(Control::Watch {
            conditions: wanted.clone(),
        });
        self.watching = Some((wanted, request.id));
        vec![request]
    }

    /// A (new) stream: what the loop can do decides how the guide works.
    fn on_hello(&mut self, guide: &mut Walkthrough, hello: &Hello) {
        let has = |f: &str| hello.features.iter().any(|x| x == f);
        self.can_watch = has("watch");
        self.watching = None;
        guide.set_loop_watch(self.can_watch);
        guide.set_exact_breakpoints(has("break_when"));
    }

    /// What the driver's breakpoint `id` stops at; `None` if it is not the driver's.
    pub fn breakpoint_of(&self, id: u32) -> Option<&BreakOn> {
        self.mine.iter().find(|(bp, _)| *bp == id).map(|(_, on)| on)
    }

    fn is_watch_answer(&self, id: Option<u64>) -> bool {
        id.is_some() && self.watching.as_ref().is_some_and(|(_, sent)| *sent == id)
    }

    /// Feeds one message of the trace stream: events go to the guide, answers
    /// and gate changes to the driver.
    pub fn handle(&mut self, guide: &mut Walkthrough, msg: &Message) -> Handled {
        let mut done = Handled::default();
        match msg {
            // A follower's steps are ticked by the leader's news, not here.
            Message::Event(_) if self.following => {}
            Message::Event(ev) => {
                let outcome = guide.observe(msg);
                if let StepOutcome::Met {
                    step, pause: true, ..
                } = outcome
                {
                    self.met_at = Some((ev.seq, step));
                }
                done.outcome = Some(outcome);
                done.controls = self.sync(guide);
            }
            Message::Hello(hello) => {
                self.on_hello(guide, hello);
                done.controls = self.sync(guide);
            }
            Message::Ack(ack) if self.is_watch_answer(ack.id) => {
                if let Some((list, _)) = &self.watching {
                    guide.watch_installed(list);
                }
            }
            Message::Error(e) if self.is_watch_answer(e.id) => {
                self.can_watch = false;
                guide.set_loop_watch(false);
            }
            Message::Ack(ack) => {
                let Some(i) = self.adding.iter().position(|(id, _)| Some(*id) == ack.id) else {
                    return done;
                };
                let (_, on) = self.adding.remove(i);
                let Some(bp) = ack.breakpoint else {
                    return done;
                };
                if self.mine.len() == MINE_KEPT {
                    self.mine.remove(0);
                }
                self.mine.push((bp, on.clone()));
                match &mut self.installed {
                    Some((wanted, id)) if *wanted == on => {
                        *id = Some(bp);
                        guide.breakpoint_installed(&on);
                    }
                    // Replaced before the gate answered: take it out again.
                    _ => done
                        .controls
                        .push(self.request(Control::BreakRemove { bp })),
                }
            }
            Message::Error(e) if e.id.is_some_and(|id| id >= FIRST_ID) => {
                self.refused = Some(e.error.clone());
                self.installed = None;
                self.adding.clear();
                guide.set_gate_breakpoints(false);
            }
            Message::Gate(g) => {
                // Someone removed our breakpoint (the learner, in the TUI):
                // forget it, so the next sync puts it back.
                if let Some((_, Some(bp))) = &self.installed
                    && !g.breakpoints.iter().any(|b| b.id == *bp)
                {
                    self.installed = None;
                }
                let stop =
                    g.at.as_ref()
                        .filter(|_| g.state == GateState::Paused && !self.following);
                let Some(at) = stop else { return done };
                let StopReason::Breakpoint { id } = at.reason else {
                    return done;
                };
                if self.breakpoint_of(id).is_none() || self.handled_stop == Some(at.seq) {
                    return done;
                }
                self.handled_stop = Some(at.seq);
                match self.met_at {
                    Some((seq, step)) if seq == at.seq => done.holding = Some(step),
                    _ => done.controls.push(self.request(Control::Continue)),
                }
            }
            _ => {}
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::trace::model::{
        Ack, Breakpoint, ErrorReply, Event, GateStatus, ProbeData, ProbeKind, ReplyInfo, Site,
        StopPoint,
    };
    use crate::walkthrough::{Loaded, Progress, parse};

    static SITE: Site = Site {
        file: Cow::Borrowed("src/server/networking.rs"),
        line: 1,
        function: Cow::Borrowed("f"),
        mirrors: Cow::Borrowed("f"),
    };

    fn command(seq: u64, name: &str) -> Message {
        Message::Event(Event {
            seq,
            iter: 1,
            t_us: 0,
            site: Cow::Borrowed(&SITE),
            data: ProbeData::Command {
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
            },
        })
    }

    fn ack(req: &ControlRequest, bp: Option<u32>) -> Message {
        Message::Ack(Ack {
            id: req.id,
            cmd: Cow::Borrowed("break_add"),
            breakpoint: bp,
        })
    }

    fn paused_at(seq: u64, bp: u32, on: BreakOn) -> Message {
        Message::Gate(GateStatus {
            state: GateState::Paused,
            at: Some(StopPoint {
                seq,
                kind: ProbeKind::Command,
                reason: StopReason::Breakpoint { id: bp },
            }),
            breakpoints: vec![Breakpoint {
                id: bp,
                enabled: true,
                on,
            }],
            controller: Some(1),
        })
    }

    fn guide() -> Walkthrough {
        let text = "---\ntitle: T\nsummary: S\n---\n## Get\naction: GET k\nwait: command name=get\npause: yes\n## Then\nwait: command name=ping\n";
        let chapter = parse::parse_chapter("t.md", text).expect("parses");
        let loaded = Loaded {
            chapters: vec![chapter],
            diagnostics: vec![],
        };
        let mut w = Walkthrough::with_progress(loaded, Progress::in_memory());
        w.open(0);
        w
    }

    #[test]
    fn installs_arms_holds_and_moves_on() {
        let mut w = guide();
        let mut d = PauseDriver::new(&mut w);
        let get = BreakOn::Command { name: "get".into() };
        let sent = d.sync(&w);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].control, Control::BreakAdd { on: get.clone() });
        assert!(sent[0].id.is_some_and(|id| id >= FIRST_ID));
        assert!(d.sync(&w).is_empty(), "already asked");
        // Before the ack, a GET cannot complete the pausing step.
        let h = d.handle(&mut w, &command(5, "get"));
        assert_eq!(h.outcome, Some(StepOutcome::Nothing));
        assert!(!w.pause_armed());
        d.handle(&mut w, &ack(&sent[0], Some(7)));
        assert!(w.pause_armed());
        // A stop at our breakpoint on an event that completes nothing: go on, once.
        let h = d.handle(&mut w, &command(9, "set"));
        assert_eq!(h.outcome, Some(StepOutcome::Nothing));
        let h = d.handle(&mut w, &paused_at(9, 7, get.clone()));
        assert_eq!(h.controls.len(), 1);
        assert_eq!(h.controls[0].control, Control::Continue);
        assert!(
            d.handle(&mut w, &paused_at(9, 7, get.clone()))
                .controls
                .is_empty()
        );
        // The GET: met, and the loop is held right there; the breakpoint goes.
        let h = d.handle(&mut w, &command(12, "get"));
        assert!(matches!(
            h.outcome,
            Some(StepOutcome::Met {
                step: 0,
                pause: true,
                ..
            })
        ));
        assert_eq!(h.controls.len(), 1, "the next step does not pause: remove");
        assert_eq!(h.controls[0].control, Control::BreakRemove { bp: 7 });
        let h = d.handle(&mut w, &paused_at(12, 7, get));
        assert_eq!(h.holding, Some(0));
        assert!(h.controls.is_empty());
    }

    #[test]
    fn leaves_other_stops_alone_and_gives_up_when_refused() {
        let mut w = guide();
        let mut d = PauseDriver::new(&mut w);
        let sent = d.sync(&w);
        d.handle(&mut w, &ack(&sent[0], Some(3)));
        // Stopped by the learner's own breakpoint 4: not ours to continue.
        let h = d.handle(&mut w, &paused_at(9, 4, BreakOn::Fd { fd: 8 }));
        assert!(h.controls.is_empty() && h.holding.is_none());
        // ...and that status no longer lists our breakpoint 3: add it again.
        assert_eq!(d.sync(&w).len(), 1);
        let mut w2 = guide();
        let mut d2 = PauseDriver::new(&mut w2);
        let sent = d2.sync(&w2);
        d2.handle(
            &mut w2,
            &Message::Error(ErrorReply {
                id: sent[0].id,
                error: "viewer 2 controls the loop".into(),
            }),
        );
        assert_eq!(d2.refused(), Some("viewer 2 controls the loop"));
        assert!(d2.sync(&w2).is_empty());
        // The guide falls back to plain matching.
        assert!(matches!(
            w2.observe(&command(1, "get")),
            StepOutcome::Met { step: 0, .. }
        ));
    }
}

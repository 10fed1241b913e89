//! The stepping gate: the decisions behind pause, step, continue, play and
//! breakpoints, kept apart from the threads and channels that carry them out.
//!
//! The loop offers every probe event to [`Gate::check`]. The gate answers
//! "go on" or "stop here"; stopping is the tracer's job (it blocks the loop
//! thread on a channel until a control message says otherwise). Because the
//! gate is a plain value with no I/O, its rules are tested here directly.
//!
//! Rules worth knowing:
//! - *Pause* stops at the next probe, whatever it is. *Step* from a pause runs
//!   to the next probe of the chosen unit: any probe, the next file event
//!   dispatched, or the start of the next iteration.
//! - Enabled breakpoints stop the loop in every state, also while stepping or
//!   playing (a step that meets a breakpoint first stops at the breakpoint).
//! - *Play* stops nowhere by itself; the tracer waits `interval_ms` at each
//!   iteration start ([`Gate::play_interval`]).
//! - Only the controller changes the gate. A viewer that sends a control
//!   message while nobody is in control becomes the controller ("first to ask").
//!   When the controller leaves (disconnects) the gate clears its breakpoints
//!   and runs freely, so a vanished viewer never leaves clients hanging; an
//!   explicit `release_control` keeps everything as it is for the next viewer.

use std::time::Duration;

use super::breakpoint;
use super::model::{
    BreakOn, Breakpoint, Control, Event, GateState, GateStatus, ProbeKind, StepUnit, StopPoint,
    StopReason,
};
use crate::walkthrough::condition::Condition;

/// The gate's state. See the module doc for the rules.
#[derive(Debug)]
pub struct Gate {
    state: GateState,
    /// What a stop at the end of the current step is called (pause, step, start).
    step_reason: StopReason,
    /// Where the loop is stopped, while [`GateState::Paused`].
    at: Option<StopPoint>,
    breakpoints: Vec<Breakpoint>,
    /// The parsed condition of each `when` breakpoint, by id: parsed once,
    /// when added, not at every probe.
    conditions: Vec<(u32, Condition)>,
    next_breakpoint: u32,
    controller: Option<u64>,
}

/// What a successful control message did, for the acknowledgement.
#[derive(Debug, PartialEq, Eq)]
pub struct Done {
    /// The new breakpoint's id, for `break_add`.
    pub breakpoint: Option<u32>,
    /// Whether the gate's state changed (a new [`GateStatus`] should be sent).
    pub changed: bool,
}

impl Gate {
    /// A gate that lets the loop run, or, with `start_paused`, stops it at the
    /// start of the first iteration.
    pub fn new(start_paused: bool) -> Gate {
        let (state, step_reason) = if start_paused {
            (
                GateState::Stepping {
                    unit: StepUnit::Iteration,
                },
                StopReason::StartPaused,
            )
        } else {
            (GateState::Running, StopReason::Step)
        };
        Gate {
            state,
            step_reason,
            at: None,
            breakpoints: Vec::new(),
            conditions: Vec::new(),
            next_breakpoint: 1,
            controller: None,
        }
    }

    /// True when the gate may stop the loop, so probes must be evaluated even
    /// with nobody watching.
    pub fn engaged(&self) -> bool {
        self.state != GateState::Running || self.breakpoints.iter().any(|b| b.enabled)
    }

    pub fn is_paused(&self) -> bool {
        self.state == GateState::Paused
    }

    pub fn controller(&self) -> Option<u64> {
        self.controller
    }

    /// Offers the event the loop just emitted. Returns true if the loop must stop
    /// here; the gate is then [`GateState::Paused`] at this event.
    pub fn check(&mut self, ev: &Event) -> bool {
        let kind = ev.data.kind();
        let parsed = |id: u32| {
            self.conditions
                .iter()
                .find(|(of, _)| *of == id)
                .map(|(_, c)| c)
        };
        let hit = self
            .breakpoints
            .iter()
            .find(|b| breakpoint::matches(b, parsed(b.id), ev));
        let reason = match hit {
            Some(b) => Some(StopReason::Breakpoint { id: b.id }),
            None => match self.state {
                GateState::Stepping { unit } if step_ends_at(unit, kind) => {
                    Some(self.step_reason.clone())
                }
                _ => None,
            },
        };
        match reason {
            Some(reason) => {
                self.stop_at(ev, reason);
                true
            }
            None => false,
        }
    }

    /// Stops at `ev` now (used when a pause arrives while the loop waits
    /// between two played iterations).
    pub fn stop_at(&mut self, ev: &Event, reason: StopReason) {
        self.state = GateState::Paused;
        self.at = Some(StopPoint {
            seq: ev.seq,
            kind: ev.data.kind(),
            reason,
        });
    }

    /// A pause was asked for and not yet reached.
    pub fn pause_pending(&self) -> bool {
        matches!(self.state, GateState::Stepping { .. }) && self.step_reason == StopReason::Pause
    }

    /// While playing: how long to wait at the start of each iteration.
    pub fn play_interval(&self) -> Option<Duration> {
        match self.state {
            GateState::Playing { interval_ms } => Some(Duration::from_millis(interval_ms)),
            _ => None,
        }
    }

    /// Carries out a control message from `viewer`. On error nothing changed.
    pub fn control(&mut self, viewer: u64, control: &Control) -> Result<Done, String> {
        let unchanged = Done {
            breakpoint: None,
            changed: false,
        };
        if let Control::Snapshot | Control::Watch { .. } = control {
            return Ok(unchanged);
        }
        match self.controller {
            Some(c) if c != viewer => {
                return Err(format!(
                    "viewer {c} has control; this viewer is read-only until it releases it"
                ));
            }
            Some(_) => {}
            None if *control == Control::ReleaseControl => {
                return Err("this viewer does not have control".into());
            }
            // Control is taken below, once the request is known to succeed.
            None => {}
        }
        let taking_control = self.controller.is_none();
        let mut done = Done {
            breakpoint: None,
            changed: true,
        };
        match control {
            // The loop passes a guide's place on; the gate only checks
            // that its sender leads.
            Control::TakeControl
            | Control::Snapshot
            | Control::Watch { .. }
            | Control::Guide(_) => {}
            Control::ReleaseControl => self.controller = None,
            Control::Pause => {
                if !self.is_paused() {
                    self.run(
                        GateState::Stepping {
                            unit: StepUnit::Probe,
                        },
                        StopReason::Pause,
                    );
                }
            }
            Control::Step { unit } => {
                self.run(GateState::Stepping { unit: *unit }, StopReason::Step)
            }
            Control::Continue => self.run(GateState::Running, StopReason::Step),
            Control::Play { interval_ms } => self.run(
                GateState::Playing {
                    interval_ms: *interval_ms,
                },
                StopReason::Step,
            ),
            Control::BreakAdd { on } => {
                let when = match on {
                    BreakOn::When { when } => Some(
                        Condition::parse(when).map_err(|e| format!("breakpoint `{when}`: {e}"))?,
                    ),
                    _ => None,
                };
                let id = self.next_breakpoint;
                if let Some(c) = when {
                    self.conditions.push((id, c));
                }
                self.next_breakpoint = self.next_breakpoint.wrapping_add(1).max(1);
                self.breakpoints.push(Breakpoint {
                    id,
                    enabled: true,
                    on: on.clone(),
                });
                done.breakpoint = Some(id);
            }
            Control::BreakRemove { bp } => {
                let i = self.find(*bp)?;
                self.breakpoints.remove(i);
                self.conditions.retain(|(id, _)| id != bp);
            }
            Control::BreakEnable { bp } | Control::BreakDisable { bp } => {
                let i = self.find(*bp)?;
                self.breakpoints[i].enabled = matches!(control, Control::BreakEnable { .. });
            }
        }
        if taking_control {
            self.controller = Some(viewer);
        }
        Ok(done)
    }

    /// `viewer` is gone. If it was in control, the loop runs freely again.
    /// Returns true if the gate changed.
    pub fn leave(&mut self, viewer: u64) -> bool {
        if self.controller != Some(viewer) {
            return false;
        }
        self.reset();
        true
    }

    /// Back to a free-running gate with no controller and no breakpoints.
    pub fn reset(&mut self) {
        self.controller = None;
        self.breakpoints.clear();
        self.conditions.clear();
        self.run(GateState::Running, StopReason::Step);
    }

    /// The status viewers see.
    pub fn status(&self) -> GateStatus {
        GateStatus {
            state: self.state,
            at: self.at.clone(),
            breakpoints: self.breakpoints.clone(),
            controller: self.controller,
        }
    }

    fn run(&mut self, state: GateState, step_reason: StopReason) {
        self.state = state;
        self.step_reason = step_reason;
        self.at = None;
    }

    fn find(&self, id: u32) -> Result<usize, String> {
        self.breakpoints
            .iter()
            .position(|b| b.id == id)
            .ok_or_else(|| format!("no breakpoint {id}"))
    }
}

/// Does a step of `unit` end at a probe of `kind`? (A viewer that shares the
/// gate with its own breakpoints asks too.)
pub fn step_ends_at(unit: StepUnit, kind: ProbeKind) -> bool {
    match unit {
        StepUnit::Probe => true,
        StepUnit::FileEvent => kind == ProbeKind::FileEvent,
        StepUnit::Iteration => kind == ProbeKind::IterationBegin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{BreakOn, Handler, Mask, ProbeData, Site};
    use std::borrow::Cow;

    static SITE: Site = Site {
        file: Cow::Borrowed("x"),
        line: 1,
        function: Cow::Borrowed("f"),
        mirrors: Cow::Borrowed(""),
    };

    fn ev(seq: u64, data: ProbeData) -> Event {
        Event {
            seq,
            iter: 1,
            t_us: 0,
            site: Cow::Borrowed(&SITE),
            data,
        }
    }

    fn file_event(seq: u64, fd: i32) -> Event {
        ev(
            seq,
            ProbeData::FileEvent {
                fd,
                mask: Mask::READABLE,
                handler: Handler::new("h", "H"),
                refired: false,
            },
        )
    }

    fn ok(g: &mut Gate, viewer: u64, c: Control) -> Done {
        g.control(viewer, &c).expect("control accepted")
    }

    /// Found by the `trace_control` fuzz target: a viewer without control
    /// that asked to disable a breakpoint that does not exist got an error,
    /// yet took control, locking every other viewer out.
    #[test]
    fn a_refused_request_takes_no_control() {
        let lines: [&[u8]; 3] = [
            b"{\"cmd\":\"break_disable\",\"bp\":1}",
            b"{\"cmd\":\"break_remove\",\"bp\":7}",
            b"{\"cmd\":\"break_enable\",\"bp\":2}",
        ];
        let mut g = Gate::new(true);
        for line in lines {
            let request = crate::trace::attach::parse_control(line)
                .expect("a control message")
                .expect("not blank");
            let before = g.status();
            assert!(g.control(1, &request.control).is_err());
            assert_eq!(g.status(), before, "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(g.controller(), None);
        ok(&mut g, 2, Control::TakeControl);
        assert_eq!(g.controller(), Some(2));
    }

    #[test]
    fn running_gate_never_stops_without_breakpoints() {
        let mut g = Gate::new(false);
        assert!(!g.engaged());
        assert!(!g.check(&ev(1, ProbeData::IterationBegin {})));
        assert!(!g.check(&file_event(2, 8)));
    }

    #[test]
    fn start_paused_stops_at_first_iteration_begin() {
        let mut g = Gate::new(true);
        assert!(g.engaged());
        assert!(
            !g.check(&file_event(1, 6)),
            "setup probes run before the first iteration"
        );
        assert!(g.check(&ev(2, ProbeData::IterationBegin {})));
        let at = g.status().at.expect("paused somewhere");
        assert_eq!((at.seq, at.reason), (2, StopReason::StartPaused));
    }

    #[test]
    fn pause_stops_at_next_probe_and_steps_by_unit() {
        let mut g = Gate::new(false);
        ok(&mut g, 1, Control::Pause);
        assert!(g.check(&ev(1, ProbeData::AfterSleep {})));
        assert_eq!(g.status().at.map(|a| a.reason), Some(StopReason::Pause));

        ok(
            &mut g,
            1,
            Control::Step {
                unit: StepUnit::Probe,
            },
        );
        assert!(!g.is_paused());
        assert!(g.check(&ev(2, ProbeData::AfterSleep {})));

        ok(
            &mut g,
            1,
            Control::Step {
                unit: StepUnit::FileEvent,
            },
        );
        assert!(!g.check(&ev(3, ProbeData::AfterSleep {})));
        assert!(g.check(&file_event(4, 8)));

        ok(
            &mut g,
            1,
            Control::Step {
                unit: StepUnit::Iteration,
            },
        );
        assert!(!g.check(&file_event(5, 8)));
        assert!(!g.check(&ev(6, ProbeData::BeforeSleepBegin {})));
        assert!(g.check(&ev(7, ProbeData::IterationBegin {})));
        assert_eq!(
            g.status().at.map(|a| (a.seq, a.reason)),
            Some((7, StopReason::Step))
        );

        ok(&mut g, 1, Control::Continue);
        assert!(!g.engaged());
        assert!(!g.check(&ev(8, ProbeData::IterationBegin {})));
    }

    #[test]
    fn breakpoints_stop_exactly_there_and_can_be_toggled() {
        let mut g = Gate::new(false);
        let id = ok(
            &mut g,
            1,
            Control::BreakAdd {
                on: BreakOn::Fd { fd: 9 },
            },
        )
        .breakpoint
        .expect("id");
        assert!(g.engaged());
        assert!(!g.check(&file_event(1, 8)));
        assert!(g.check(&file_event(2, 9)));
        assert_eq!(
            g.status().at.map(|a| a.reason),
            Some(StopReason::Breakpoint { id })
        );

        ok(&mut g, 1, Control::Continue);
        ok(&mut g, 1, Control::BreakDisable { bp: id });
        assert!(!g.engaged());
        assert!(!g.check(&file_event(3, 9)));
        ok(&mut g, 1, Control::BreakEnable { bp: id });
        assert!(g.check(&file_event(4, 9)));
        ok(&mut g, 1, Control::Continue);
        ok(&mut g, 1, Control::BreakRemove { bp: id });
        assert!(!g.check(&file_event(5, 9)));
        assert!(g.control(1, &Control::BreakRemove { bp: id }).is_err());
    }

    #[test]
    fn a_when_breakpoint_stops_only_where_its_condition_holds() {
        let mut g = Gate::new(false);
        let refused = g.control(
            1,
            &Control::BreakAdd {
                on: BreakOn::When {
                    when: "file_event fd>=nine".into(),
                },
            },
        );
        assert!(refused.is_err_and(|e| e.contains("fd>=nine")));
        assert_eq!(g.controller(), None, "a refused request takes no control");
        let on = BreakOn::When {
            when: "file_event fd>=9".into(),
        };
        let id = ok(&mut g, 1, Control::BreakAdd { on })
            .breakpoint
            .expect("id");
        assert!(!g.check(&file_event(1, 8)));
        assert!(g.check(&file_event(2, 10)));
        assert_eq!(
            g.status().at.map(|a| a.reason),
            Some(StopReason::Breakpoint { id })
        );
        ok(&mut g, 1, Control::Continue);
        ok(&mut g, 1, Control::BreakDisable { bp: id });
        assert!(!g.check(&file_event(3, 10)));
        ok(&mut g, 1, Control::BreakEnable { bp: id });
        ok(&mut g, 1, Control::BreakRemove { bp: id });
        assert!(!g.check(&file_event(4, 10)) && g.conditions.is_empty());
    }

    #[test]
    fn several_breakpoints_the_first_matching_one_is_reported() {
        let mut g = Gate::new(false);
        ok(
            &mut g,
            1,
            Control::BreakAdd {
                on: BreakOn::Fd { fd: 9 },
            },
        );
        let second = ok(
            &mut g,
            1,
            Control::BreakAdd {
                on: BreakOn::Kind {
                    kind: ProbeKind::AfterSleep,
                },
            },
        );
        assert!(g.check(&ev(1, ProbeData::AfterSleep {})));
        assert_eq!(
            g.status().at.map(|a| a.reason),
            Some(StopReason::Breakpoint {
                id: second.breakpoint.unwrap_or(0)
            })
        );
        assert_eq!(g.status().breakpoints.len(), 2);
    }

    #[test]
    fn breakpoint_beats_a_step() {
        let mut g = Gate::new(false);
        let id = ok(
            &mut g,
            1,
            Control::BreakAdd {
                on: BreakOn::Kind {
                    kind: ProbeKind::AfterSleep,
                },
            },
        )
        .breakpoint;
        ok(
            &mut g,
            1,
            Control::Step {
                unit: StepUnit::Iteration,
            },
        );
        assert!(g.check(&ev(1, ProbeData::AfterSleep {})));
        assert_eq!(
            g.status().at.map(|a| a.reason),
            id.map(|id| StopReason::Breakpoint { id })
        );
    }

    #[test]
    fn play_runs_and_reports_its_interval() {
        let mut g = Gate::new(false);
        ok(&mut g, 1, Control::Play { interval_ms: 250 });
        assert_eq!(g.play_interval(), Some(Duration::from_millis(250)));
        assert!(!g.check(&ev(1, ProbeData::IterationBegin {})));
        ok(&mut g, 1, Control::Play { interval_ms: 50 });
        assert_eq!(g.play_interval(), Some(Duration::from_millis(50)));
        ok(&mut g, 1, Control::Pause);
        assert!(g.pause_pending());
        assert_eq!(g.play_interval(), None);
    }

    #[test]
    fn first_to_ask_gets_control_others_are_read_only() {
        let mut g = Gate::new(false);
        ok(&mut g, 1, Control::Pause);
        assert_eq!(g.controller(), Some(1));
        let before = g.status();
        assert!(g.control(2, &Control::Continue).is_err());
        assert!(g.control(2, &Control::TakeControl).is_err());
        assert!(
            g.control(
                2,
                &Control::BreakAdd {
                    on: BreakOn::Fd { fd: 1 }
                }
            )
            .is_err()
        );
        assert_eq!(g.status(), before, "a refused message changes nothing");
        assert!(
            g.control(2, &Control::Snapshot).is_ok(),
            "anyone may ask for a snapshot"
        );

        ok(&mut g, 1, Control::ReleaseControl);
        assert_eq!(g.controller(), None);
        assert!(g.control(1, &Control::ReleaseControl).is_err());
        ok(&mut g, 2, Control::TakeControl);
        assert_eq!(g.controller(), Some(2));
    }

    #[test]
    fn controller_leaving_lets_the_loop_run() {
        let mut g = Gate::new(false);
        ok(
            &mut g,
            1,
            Control::BreakAdd {
                on: BreakOn::Fd { fd: 9 },
            },
        );
        assert!(g.check(&file_event(1, 9)));
        assert!(!g.leave(2), "a read-only viewer leaving changes nothing");
        assert!(g.is_paused());
        assert!(g.leave(1));
        assert!(!g.is_paused());
        assert!(!g.engaged());
        assert_eq!(g.controller(), None);
    }
}

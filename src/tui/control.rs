//! Who controls the loop, as this viewer sees it.
//!
//! Many viewers may watch one loop through an attach port, but only one
//! moves it: the gate has one controller, the first viewer to send a
//! control, until it sends `release_control` or goes away (see
//! `trace::gate`). A viewer that attached read-only never controls. So an
//! attached viewer is in one of a few [`Role`]s, worked out from its own id
//! (in the stream's hello) and the gate's controller; the header names the
//! role, the footer shows only the keys that work in it, and one key takes
//! control or hands it back ([`Viewing::toggle`]). A viewer that asks while
//! another holds control waits, and takes it as soon as it is free
//! ([`Viewing::on_gate`]).
//!
//! The tour and a replay have one viewer, this UI: it always controls, and
//! nothing about control is shown.

use super::keys::Action;
use crate::trace::model::{Control, GateStatus, Hello};

/// What the loop's control means for this viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The only viewer (the tour, a replay): control is never in question.
    Alone,
    /// This viewer controls the loop.
    Controller,
    /// Nobody controls the loop: this viewer's first control takes it.
    Free,
    /// Another viewer controls the loop.
    Other,
    /// Another viewer controls the loop, and this one asked to take over
    /// when it lets go.
    Waiting,
    /// This viewer attached read-only: it watches and never controls.
    ReadOnly,
}

impl Role {
    /// Why this viewer's controls cannot move the loop now, if they cannot.
    /// (When nobody controls it, the first control takes control and then
    /// moves it.)
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Role::Other => Some("another viewer controls the loop: T asks for control"),
            Role::Waiting => Some("waiting for control: the other viewer still has it"),
            Role::ReadOnly => Some("this viewer attached read-only: it can only watch"),
            Role::Alone | Role::Controller | Role::Free => None,
        }
    }

    /// The header's words for the role: (wide, narrow); `None` when alone.
    pub fn header(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Role::Alone => return None,
            Role::Controller => ("you control the loop", "you control"),
            Role::Free => (
                "nobody controls the loop: a step or T takes control",
                "free: T takes control",
            ),
            Role::Other => (
                "viewing: another viewer controls the loop",
                "viewing: another controls",
            ),
            Role::Waiting => (
                "waiting for control: you get it when the other viewer lets go",
                "waiting for control",
            ),
            Role::ReadOnly => ("viewing read-only: you watch the loop", "viewing read-only"),
        })
    }
}

/// Actions that need control of the loop when the view is live. (Stepping
/// through the past moves nothing but the view: it works for every viewer.)
pub fn moves_the_loop(action: Action) -> bool {
    matches!(
        action,
        Action::Step(_)
            | Action::Continue
            | Action::Pause
            | Action::Play
            | Action::Faster
            | Action::Slower
            | Action::BreakAdd
            | Action::BreakToggle
            | Action::BreakRemove
            | Action::Submit
    )
}

/// The prefix of the server's error for a read-only viewer's control.
const READ_ONLY_REFUSAL: &str = "read-only viewer:";

/// This viewer's side of control: whether it shares the loop, what it knows
/// of itself, and whether it waits to take over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Viewing {
    /// Attached to a port other viewers may share.
    attached: bool,
    /// Attached read-only: asked for (`--read-only`), or learnt from the
    /// server's refusal (`serve --trace-read-only`).
    read_only: bool,
    /// Asked to take control while another viewer held it.
    waiting: bool,
}

impl Viewing {
    /// The only viewer of its loop (the tour, a replay).
    pub fn alone() -> Viewing {
        Viewing::default()
    }

    /// A viewer on an attach port, read-only if it asked to be.
    pub fn attached(read_only: bool) -> Viewing {
        Viewing {
            attached: true,
            read_only,
            waiting: false,
        }
    }

    /// The role, given the stream's hello (this viewer's id) and the gate.
    pub fn role(&self, hello: Option<&Hello>, gate: Option<&GateStatus>) -> Role {
        if !self.attached {
            return Role::Alone;
        }
        if self.read_only || hello.is_some_and(|h| h.read_only) {
            return Role::ReadOnly;
        }
        let me = hello.map(|h| h.viewer);
        match gate.and_then(|g| g.controller) {
            None => Role::Free,
            Some(id) if Some(id) == me => Role::Controller,
            Some(_) if self.waiting => Role::Waiting,
            Some(_) => Role::Other,
        }
    }

    /// The control key: take control if it is free, hand it back if this
    /// viewer has it, wait for it (or stop waiting) if another viewer has
    /// it. Returns the control to send, and a line for the status bar.
    pub fn toggle(&mut self, role: Role) -> (Option<Control>, &'static str) {
        match role {
            Role::Alone => (
                None,
                "this UI is the loop's only viewer: it always controls",
            ),
            Role::ReadOnly => (
                None,
                "this viewer attached read-only: it can only watch (attach without --read-only, \
                 to a server without --trace-read-only, to control)",
            ),
            Role::Free => (Some(Control::TakeControl), "taking control of the loop"),
            Role::Controller => (
                Some(Control::ReleaseControl),
                "control handed back: another viewer may take it",
            ),
            Role::Other => {
                self.waiting = true;
                (
                    None,
                    "waiting for control: you get it as soon as the other viewer lets go (T again: stop waiting)",
                )
            }
            Role::Waiting => {
                self.waiting = false;
                (None, "no longer waiting for control")
            }
        }
    }

    /// After a gate update: a waiting viewer takes control as soon as it is
    /// free. Returns the control to send.
    pub fn on_gate(&mut self, gate: &GateStatus) -> Option<Control> {
        if self.waiting && gate.controller.is_none() {
            self.waiting = false;
            return Some(Control::TakeControl);
        }
        None
    }

    /// After an error from the server: a refusal for being read-only means
    /// this viewer is (the server decides, with `--trace-read-only`).
    pub fn on_error(&mut self, error: &str) {
        if self.attached && error.starts_with(READ_ONLY_REFUSAL) {
            self.read_only = true;
            self.waiting = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::GateState;
    use crate::tui::testkit::Script;

    fn hello(viewer: u64) -> Hello {
        match Script::start().out.into_iter().next() {
            Some(crate::trace::model::Message::Hello(h)) => Hello { viewer, ..h },
            other => panic!("the script starts with hello, not {other:?}"),
        }
    }

    fn gate(controller: Option<u64>) -> GateStatus {
        GateStatus {
            state: GateState::Running,
            at: None,
            breakpoints: Vec::new(),
            controller,
        }
    }

    #[test]
    fn the_role_follows_the_gates_controller() {
        let me = hello(3);
        let v = Viewing::attached(false);
        assert_eq!(v.role(Some(&me), Some(&gate(None))), Role::Free);
        assert_eq!(v.role(Some(&me), Some(&gate(Some(3)))), Role::Controller);
        assert_eq!(v.role(Some(&me), Some(&gate(Some(4)))), Role::Other);
        assert_eq!(
            Viewing::attached(true).role(Some(&me), Some(&gate(None))),
            Role::ReadOnly
        );
        // The server said so in the hello (a tour's class, --trace-read-only).
        let watcher = Hello {
            read_only: true,
            ..hello(3)
        };
        assert_eq!(v.role(Some(&watcher), Some(&gate(None))), Role::ReadOnly);
        assert_eq!(
            Viewing::alone().role(Some(&me), Some(&gate(Some(4)))),
            Role::Alone
        );
    }

    #[test]
    fn the_key_takes_releases_or_waits_for_control() {
        let me = hello(3);
        let mut v = Viewing::attached(false);
        assert_eq!(v.toggle(Role::Free).0, Some(Control::TakeControl));
        assert_eq!(v.toggle(Role::Controller).0, Some(Control::ReleaseControl));
        // Another viewer has it: wait, and take it once it is free.
        assert_eq!(v.toggle(Role::Other).0, None);
        assert_eq!(v.role(Some(&me), Some(&gate(Some(4)))), Role::Waiting);
        assert_eq!(v.on_gate(&gate(Some(4))), None);
        assert_eq!(v.on_gate(&gate(None)), Some(Control::TakeControl));
        assert_eq!(v.on_gate(&gate(None)), None, "asked once");
        // Waiting, the key again stops waiting.
        v.toggle(Role::Other);
        v.toggle(Role::Waiting);
        assert_eq!(v.on_gate(&gate(None)), None);
    }

    #[test]
    fn a_read_only_refusal_makes_the_viewer_read_only() {
        let mut v = Viewing::attached(false);
        v.on_error("wrong trace token");
        assert_eq!(v.role(None, Some(&gate(None))), Role::Free);
        v.on_error("read-only viewer: `step` refused, this viewer may only watch (the server is read-only)");
        assert_eq!(v.role(None, Some(&gate(None))), Role::ReadOnly);
        assert_eq!(v.toggle(Role::ReadOnly).0, None);
    }

    #[test]
    fn only_roles_that_may_move_the_loop_keep_its_keys() {
        for role in [Role::Alone, Role::Controller, Role::Free] {
            assert_eq!(role.refusal(), None);
        }
        for role in [Role::Other, Role::Waiting, Role::ReadOnly] {
            assert!(role.refusal().is_some());
        }
        assert!(moves_the_loop(Action::Continue));
        assert!(!moves_the_loop(Action::Back));
        assert!(!moves_the_loop(Action::Help));
    }
}

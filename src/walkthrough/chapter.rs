//! What a chapter is, once its file has been read: metadata, an introduction,
//! and steps. Each step explains one idea, points at places in the code
//! (anchors), may give the learner something to do (an action) and may wait
//! for the loop to do something (a wait-condition). The file format is in
//! `walkthrough/README.md`; [`super::parse`] reads it.

use std::borrow::Cow;
use std::fmt;

use super::argv;
use super::condition::Sequence;

/// One chapter.
#[derive(Clone, Debug, PartialEq)]
pub struct Chapter {
    /// Stable name, used to remember progress (`id:`, or the file name).
    pub id: String,
    pub title: String,
    /// One sentence: what the learner will see.
    pub summary: String,
    /// About how long it takes.
    pub minutes: Option<u32>,
    /// The file it came from (for messages).
    pub file: String,
    /// Prose before the first step.
    pub intro: String,
    pub steps: Vec<Step>,
    /// Commands that undo what the chapter left in the server (`cleanup:`,
    /// e.g. `DEL big`), sent when the learner leaves the chapter, so its
    /// keys do not weigh on the chapters after it.
    pub cleanup: Option<Action>,
}

/// One step of a chapter.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub title: String,
    /// Markdown prose.
    pub text: String,
    /// Places in the code to show, in order; the first is shown first.
    pub anchors: Vec<AnchorRef>,
    /// Something for the learner to do.
    pub action: Option<Action>,
    /// What the step needs the server to hold when the chapter is opened at
    /// this step rather than at its start (`setup:` lines, e.g. the key an
    /// earlier step made): the guide sends these commands, in one write,
    /// once the loop watches the step, so their events count for it. Never
    /// sent when the chapter is played from an earlier step.
    pub setup: Option<Action>,
    /// What the loop must do for the step to be done (empty: nothing; the step
    /// is done once read).
    pub wait: Sequence,
    /// Stop the loop where the wait-condition is met, so the learner can look.
    pub pause: bool,
    /// The step goes on from the moment the step before stopped at (`continues:
    /// yes`), a moment no set-up can make again, such as a reload still
    /// running: a learner who comes back resumes at the step before.
    pub continues: bool,
    /// The panes to look at (the TUI highlights them).
    pub look: Vec<Pane>,
    /// Further reading: Redis permalinks and documentation.
    pub links: Vec<Link>,
    /// Line of the step heading in its file.
    pub line: usize,
}

/// Prose with every `{port}` replaced by the port the learner's server
/// listens on, so a chapter written once tells each learner the command that
/// works for them (`redis-cli -p {port}`).
pub fn prose_for_port(prose: &str, port: u16) -> Cow<'_, str> {
    match prose.contains(PORT_PLACEHOLDER) {
        true => Cow::Owned(prose.replace(PORT_PLACEHOLDER, &port.to_string())),
        false => Cow::Borrowed(prose),
    }
}

/// What a chapter writes where the server's port goes.
const PORT_PLACEHOLDER: &str = "{port}";

/// An anchor (a named place in our code, see [`crate::source`]) and what to
/// notice there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorRef {
    pub name: String,
    pub note: String,
    /// Line in the chapter file, for error messages.
    pub line: usize,
}

/// A labelled link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// Commands to send to the server, as a learner would type them in `redis-cli`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// Which connection sends them: actions with the same name share one
    /// connection, opened on first use. The default is `main`.
    pub client: String,
    /// One argv per `action:` line. Several lines are sent in one write
    /// (pipelined), as `redis-cli --pipe` or a client library's pipeline would.
    pub commands: Vec<Vec<Vec<u8>>>,
    /// The commands are repeated this many times in that one write.
    pub repeat: u32,
    /// Line of the first `action:` in the chapter file.
    pub line: usize,
}

/// The connection actions use unless a step names another.
pub const DEFAULT_CLIENT: &str = "main";

impl Action {
    /// The bytes to write: every command encoded as RESP, `repeat` times.
    pub fn to_resp(&self) -> Vec<u8> {
        let mut one = Vec::new();
        for argv in &self.commands {
            argv::encode_request(argv, &mut one);
        }
        one.repeat(self.repeat as usize)
    }

    /// How many replies the server sends back for the whole action.
    pub fn expected_replies(&self) -> usize {
        self.commands.len().saturating_mul(self.repeat as usize)
    }

    /// The lines to type in `redis-cli`, one per command (without the repeat).
    pub fn lines(&self) -> Vec<String> {
        self.commands
            .iter()
            .map(|a| argv::display_args(a))
            .collect()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join(" | "))?;
        if self.repeat > 1 {
            write!(f, " (×{}, in one write)", self.repeat)?;
        } else if self.commands.len() > 1 {
            f.write_str(" (in one write)")?;
        }
        if self.client != DEFAULT_CLIENT {
            write!(f, " [client {}]", self.client)?;
        }
        Ok(())
    }
}

/// The panes of the TUI a step can point the learner at (the TUI's own panes,
/// plus its header and its source pane).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The loop header: iteration, phase, running or paused.
    Header,
    /// The registered file events: ae's `events` array.
    Events,
    /// This iteration's `fired` array.
    Fired,
    /// The time events.
    TimeEvents,
    /// What `beforeSleep` did.
    BeforeSleep,
    /// The command flow: commands run, with their replies.
    Flow,
    /// The connected clients.
    Clients,
    /// The activity chart over recent iterations.
    Activity,
    /// The source excerpt.
    Source,
}

impl Pane {
    /// Every pane with the name chapters use for it.
    pub const ALL: [(Pane, &'static str); 9] = [
        (Pane::Header, "header"),
        (Pane::Events, "events"),
        (Pane::Fired, "fired"),
        (Pane::TimeEvents, "time_events"),
        (Pane::BeforeSleep, "before_sleep"),
        (Pane::Flow, "flow"),
        (Pane::Clients, "clients"),
        (Pane::Activity, "activity"),
        (Pane::Source, "source"),
    ];

    pub fn from_name(name: &str) -> Option<Pane> {
        Pane::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(p, _)| *p)
    }

    pub fn name(self) -> &'static str {
        Pane::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("", |(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_placeholder_becomes_the_servers_port() {
        assert_eq!(
            prose_for_port("run `redis-cli -p {port}`, then nc 127.0.0.1 {port}", 7001),
            "run `redis-cli -p 7001`, then nc 127.0.0.1 7001"
        );
        assert!(matches!(
            prose_for_port("no port here", 7001),
            Cow::Borrowed("no port here")
        ));
    }
}

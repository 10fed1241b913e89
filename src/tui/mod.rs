//! The terminal UI: watch the loop and step through it.
//!
//! # Layout
//! - [`state`]: the [`App`](state::App) state, fed by trace messages and keys.
//! - [`frame`]: what the panes draw at one point of the stream.
//! - [`history`]: keyframes and deltas, to travel back without re-running anything.
//! - [`logs`]: the command flow and per-iteration activity, readable as of any point.
//! - [`probelog`]: every recent probe, filterable, readable as of any point.
//! - [`panes`]: each pane's rows, columns and details.
//! - [`code`]: the source pane's content: our code at the probe, its anchor,
//!   and the Redis function it mirrors.
//! - [`guide`]: the guided chapters: steps, their actions, their pauses.
//! - [`keys`]: the key table that drives input, footer and help.
//! - [`control`]: who controls the loop, for a viewer that shares it.
//! - [`theme`]: colours (honouring `NO_COLOR`) and glyphs (with an ASCII set).
//! - [`view`]: drawing, a pure function of the state.
//! - [`source`]: where messages come from: a live loop, an attach port, a replay file.
//! - [`run`]: the terminal loop that ties them together.
//! - [`tty`]: the terminal, and its keys read on a thread of their own.
//! - [`lifetime`]: how the UI ends: quit signals, a terminal that goes away,
//!   and the watchdog that makes sure the process does not outlive it.
//! - [`sender`]: the thread of the client that sends a step's command (`t`).

pub mod code;
pub mod control;
pub mod frame;
pub mod guide;
pub mod history;
pub mod keys;
pub mod lifetime;
pub mod logs;
pub mod panes;
pub mod probelog;
pub mod run;
pub mod sender;
pub mod source;
pub mod state;
pub mod theme;
pub mod tty;
pub mod view;

pub use run::{FEED_CAPACITY, Options, run};
pub use source::{AttachTarget, TraceSource};
pub use tty::Tty;

#[cfg(test)]
mod testkit;

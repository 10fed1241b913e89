//! What several targets share: real trace events to offer to the code that
//! matches events (breakpoints, wait-conditions, the reducer).
//!
//! The events come from the trace `data/session.jsonl`,
//! recorded from `loopscope serve --trace` while two clients connected, ran
//! commands, blocked on BLPOP, ran a MULTI, subscribed, published and left.

#![allow(dead_code)] // each target uses its own part

use std::sync::OnceLock;

use loopscope::trace::model::{Event, Message};
use loopscope::trace::reader::TraceReader;

/// The recorded session, one JSON message per line.
pub const SESSION: &str = include_str!("../data/session.jsonl");

/// Every message of the recorded session.
pub fn messages() -> &'static [Message] {
    static MESSAGES: OnceLock<Vec<Message>> = OnceLock::new();
    MESSAGES.get_or_init(|| {
        TraceReader::new(SESSION.as_bytes())
            .map(|m| m.expect("the seed trace is valid"))
            .collect()
    })
}

/// The events of the recorded session.
pub fn events() -> &'static [Event] {
    static EVENTS: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        messages()
            .iter()
            .filter_map(|m| match m {
                Message::Event(ev) => Some(ev.clone()),
                _ => None,
            })
            .collect()
    })
}

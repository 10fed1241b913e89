//! What a viewer sends to the attach port: control lines, parsed by
//! `trace::attach` and carried out by the stepping gate (`trace::gate`).
//!
//! The input is the byte stream a viewer writes. It goes through
//! `read_controls` exactly as the attach server's reader thread runs it, and
//! through the same two steps by hand (`read_line_limited`, `parse_control`)
//! so that every accepted request can be carried out by a [`Gate`] and every
//! recorded event offered to it, as the loop does with each probe.
//!
//! Beyond "no panic": both readings agree on how many lines were refused
//! (up to the point where the reader drops a viewer that broke the flood
//! rules, which then says why); every error names its line or the refused
//! control; an error never changes the gate; the gate's status survives a
//! JSON round trip (it is what viewers receive).

#![no_main]

mod common;

use std::io::BufReader;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use loopscope::trace::admission::{Handshake, Policy};
use loopscope::trace::attach::{
    Line, MAX_LINE, Viewer, parse_control, read_controls, read_line_limited,
};
use loopscope::trace::gate::Gate;
use loopscope::trace::model::GateStatus;
use loopscope::trace::tracer::tracer;

/// Viewer ids: the first line's viewer takes control; odd lines come from a
/// second viewer, which should be refused while the first holds control.
const VIEWERS: [u64; 2] = [1, 2];

fuzz_target!(|data: &[u8]| {
    // The attach server's own reader, with its real control sender (nobody
    // drains the channel here: the loop side is the gate below).
    let (loop_side, handle) = tracer(false);
    drop(loop_side);
    let subscription = handle.subscribe(4);
    // The policy of a loopback attach port without a token: a first-line
    // handshake may still ask for read-only.
    let policy = Arc::new(Policy {
        token: None,
        read_only: false,
    });
    let mut viewer = Viewer::new(Arc::clone(&policy), false);
    let mut refused_by_reader = 0u64;
    let dropped = read_controls(
        &mut BufReader::new(data),
        &mut viewer,
        &subscription.controller(),
        |e| {
            assert!(
                e.error.starts_with("line ") || e.error.starts_with("read-only viewer"),
                "error without a line: {}",
                e.error
            );
            refused_by_reader += 1;
        },
    );

    let mut gate = Gate::new(data.first().is_some_and(|b| b & 1 != 0));
    let mut input = BufReader::new(data);
    let mut line = Vec::new();
    let (mut refused, mut number, mut read_only) = (0u64, 0usize, false);
    let events = common::events();
    loop {
        line.clear();
        let result = read_line_limited(&mut input, &mut line, MAX_LINE).expect("reading memory");
        number += 1;
        match result {
            Line::End => break,
            Line::TooLong => refused += 1,
            Line::Complete if Handshake::parse(&line).is_some() => match number {
                1 => {
                    read_only |= policy
                        .admit(Handshake::parse(&line).as_ref())
                        .unwrap_or(true)
                }
                _ => refused += 1,
            },
            Line::Complete => match parse_control(&line) {
                Ok(None) => {}
                Err(_) => refused += 1,
                Ok(Some(request))
                    if read_only && policy.refuse_read_only(&request.control).is_some() =>
                {
                    refused += 1
                }
                Ok(Some(request)) => {
                    let before = gate.status();
                    match gate.control(VIEWERS[number % 2], &request.control) {
                        Ok(_) => {}
                        Err(e) => {
                            assert!(!e.is_empty());
                            assert_eq!(gate.status(), before, "a refused control changed the gate");
                        }
                    }
                }
            },
        }
        // The loop goes on to its next probe, which the gate may stop at.
        if let Some(ev) = events.get(number % events.len().max(1)) {
            gate.check(ev);
        }
        let status = gate.status();
        let json = serde_json::to_string(&status).expect("status serializes");
        let back: GateStatus = serde_json::from_str(&json).expect("status parses back");
        assert_eq!(back, status);
    }
    match dropped {
        None => assert_eq!(refused, refused_by_reader, "the two readings disagree"),
        Some(why) => {
            assert!(!why.is_empty(), "a viewer dropped without a reason");
            assert!(
                refused_by_reader <= refused,
                "the reader refused more than it read"
            );
        }
    }
});

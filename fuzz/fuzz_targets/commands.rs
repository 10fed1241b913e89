//! Every command of the command table, with arguments of arbitrary bytes,
//! run by a real server (`loopscope::fuzzing`): the real input path, the
//! checks of `processCommand`, MULTI, blocking, pub/sub, monitors, and the
//! socket-free half of `before_sleep`.
//!
//! The input is a list of requests, each from one of three clients:
//! - a header byte: bits 0-1 the client (0-2), bit 2 the form, bits 3-5
//!   the number of arguments after the name;
//! - argv form: a byte naming a command of the table (a container with one
//!   of its subcommands) or, past the table's end, a name given as bytes
//!   like the arguments; then each argument as a length byte and its bytes.
//!   The request goes in as RESP multibulk;
//! - raw form: a length byte and that many bytes of protocol, inline or
//!   partial, so requests also arrive split across reads.
//!
//! Beyond "no panic": what each client receives after each request is a
//! whole number of well-formed RESP replies, and the server's tables agree
//! with its clients (`Session::check_tables`).

#![no_main]

use std::cell::RefCell;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use loopscope::fuzzing::Harness;
use loopscope::server::cmd::CommandTable;
use loopscope::walkthrough::argv::encode_request;
use loopscope::walkthrough::reply;

const CLIENTS: usize = 3;

/// Every command as the words that name it: `get`, or `client list`.
fn names() -> &'static [Vec<Vec<u8>>] {
    static NAMES: OnceLock<Vec<Vec<Vec<u8>>>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut out = Vec::new();
        for cmd in CommandTable::new().iter() {
            out.push(vec![cmd.name.as_bytes().to_vec()]);
            for sub in cmd.subcommands {
                let short = sub.name.rsplit('|').next().unwrap_or_default();
                out.push(vec![
                    cmd.name.as_bytes().to_vec(),
                    short.as_bytes().to_vec(),
                ]);
            }
        }
        out
    })
}

thread_local! {
    static HARNESS: RefCell<Harness> = RefCell::new(Harness::new(CLIENTS).expect("loopback harness"));
}

/// Takes `n` bytes (fewer at the end of the input).
fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(n.min(data.len()));
    *data = tail;
    head
}

fn byte(data: &mut &[u8]) -> Option<u8> {
    take(data, 1).first().copied()
}

fn sized<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let len = byte(data).unwrap_or(0) as usize;
    take(data, len)
}

fuzz_target!(|input: &[u8]| {
    HARNESS.with_borrow_mut(|harness| {
        let mut session = harness.session().expect("session");
        let mut data = input;
        while let Some(header) = byte(&mut data) {
            let client = (header & 3) as usize % CLIENTS;
            let request = if header & 4 == 0 {
                let selector = byte(&mut data).unwrap_or(0) as usize;
                let mut argv = match names().get(selector) {
                    Some(words) => words.clone(),
                    None => vec![sized(&mut data).to_vec()],
                };
                for _ in 0..(header >> 3) & 7 {
                    argv.push(sized(&mut data).to_vec());
                }
                let mut bytes = Vec::new();
                encode_request(&argv, &mut bytes);
                bytes
            } else {
                sized(&mut data).to_vec()
            };
            let sent = session.send(client, &request);
            for (n, bytes) in sent.iter().enumerate() {
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    match reply::parse(rest) {
                        Ok(Some((_, used))) => rest = &rest[used..],
                        other => panic!(
                            "client {n} got a broken reply {other:?} in {:?}",
                            String::from_utf8_lossy(bytes)
                        ),
                    }
                }
            }
            if let Err(e) = session.check_tables() {
                panic!("{e}");
            }
        }
    });
});

//! Reading trace files back (for `replay`): line by line, with errors that
//! name the line, never a panic, whatever the file holds.
//!
//! [`TraceReader`] turns lines into [`Message`]s. A recording whose writer
//! died mid-line (a crash, a full disk) ends with half a message: the reader
//! stops before it, so the recording replays up to its last complete line,
//! and [`TraceReader::cut_short`] says so. [`replay`] goes further and
//! rebuilds the loop's final state the way a viewer does: start from a
//! snapshot, apply events, notice gaps in `seq`, and trust the next snapshot
//! to repair them.

use std::io::BufRead;

use super::attach::{Line, read_line_limited};
use super::model::{Drops, FORMAT_VERSION, GateStatus, Hello, Message, Snapshot};

/// The longest line a trace file may have (a snapshot of a busy loop is big,
/// but not this big).
pub const MAX_FILE_LINE: usize = 64 * 1024 * 1024;

/// A line that could not be read or understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line number.
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ReadError {}

/// An iterator over the messages of a JSON-lines trace.
pub struct TraceReader<R> {
    input: R,
    line: u64,
    buf: Vec<u8>,
    cut_short: Option<u64>,
}

impl<R: BufRead> TraceReader<R> {
    pub fn new(input: R) -> Self {
        TraceReader {
            input,
            line: 0,
            buf: Vec::new(),
            cut_short: None,
        }
    }

    /// The number of the last line if it was half a message, left unread.
    pub fn cut_short(&self) -> Option<u64> {
        self.cut_short
    }

    /// True when nothing follows the line just read.
    fn at_end(&mut self) -> bool {
        self.input.fill_buf().map_or(true, <[u8]>::is_empty)
    }

    fn error(&self, message: impl Into<String>) -> ReadError {
        ReadError {
            line: self.line,
            message: message.into(),
        }
    }

    fn next_message(&mut self) -> Option<Result<Message, ReadError>> {
        loop {
            self.buf.clear();
            self.line += 1;
            match read_line_limited(&mut self.input, &mut self.buf, MAX_FILE_LINE) {
                Ok(Line::End) => return None,
                Ok(Line::TooLong) => {
                    return Some(Err(self.error(format!("longer than {MAX_FILE_LINE} bytes"))));
                }
                Ok(Line::Complete) => {}
                Err(e) => return Some(Err(self.error(format!("cannot read: {e}")))),
            }
            let Ok(text) = std::str::from_utf8(&self.buf) else {
                return Some(Err(self.error("not UTF-8")));
            };
            if text.trim().is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<Message>(text);
            if let Err(e) = &parsed
                && e.is_eof()
                && self.at_end()
            {
                self.cut_short = Some(self.line);
                return None;
            }
            return Some(parsed.map_err(|e| {
                if e.is_eof() {
                    self.error(format!("truncated: {e}"))
                } else if e.is_syntax() {
                    self.error(format!("not JSON: {e}"))
                } else {
                    self.error(format!("not a trace message: {e}"))
                }
            }));
        }
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<Message, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_message()
    }
}

/// The loop's state at the end of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub hello: Hello,
    /// The state after the last message.
    pub state: Snapshot,
    /// Events were missed since the last snapshot: some facts may be older
    /// than they could be (never wrong, see the model's module doc).
    pub stale: bool,
    /// Events missing in the file (gaps in `seq`).
    pub missed: u64,
    /// The last drop counts in the file, if the writer ever lagged.
    pub drops: Option<Drops>,
    pub gate: Option<GateStatus>,
    /// Messages read.
    pub messages: u64,
    /// The last line, half a message, that was left out (see the module doc).
    pub cut_short: Option<u64>,
}

/// Reads a whole trace and rebuilds the final state. Stops at the first bad
/// line, naming it.
pub fn replay<R: BufRead>(input: R) -> Result<Replay, ReadError> {
    let mut reader = TraceReader::new(input);
    let hello = match reader.next() {
        Some(Ok(Message::Hello(hello))) => hello,
        Some(Ok(_)) => {
            return Err(ReadError {
                line: 1,
                message: "not a loopscope trace: it must start with a hello".into(),
            });
        }
        Some(Err(e)) => return Err(e),
        None => {
            return Err(ReadError {
                line: 1,
                message: "empty trace".into(),
            });
        }
    };
    if hello.format > FORMAT_VERSION {
        return Err(ReadError {
            line: 1,
            message: format!(
                "trace format {} is newer than this loopscope reads ({FORMAT_VERSION})",
                hello.format
            ),
        });
    }
    let mut replay = Replay {
        hello,
        state: Snapshot::default(),
        stale: true,
        missed: 0,
        drops: None,
        gate: None,
        messages: 1,
        cut_short: None,
    };
    let mut have_state = false;
    for msg in reader.by_ref() {
        replay.messages += 1;
        match msg? {
            Message::Snapshot(snap) => {
                replay.state = snap;
                replay.stale = false;
                have_state = true;
            }
            Message::Event(ev) if have_state => {
                if ev.seq <= replay.state.seq {
                    continue; // already part of the snapshot
                }
                let missed = ev.seq - replay.state.seq - 1;
                if missed > 0 {
                    replay.missed = replay.missed.saturating_add(missed);
                    replay.stale = true;
                }
                replay.state.apply(&ev);
            }
            Message::Event(_) => replay.missed = replay.missed.saturating_add(1),
            Message::Drops(drops) => replay.drops = Some(drops),
            Message::Gate(gate) => replay.gate = Some(gate),
            Message::Hello(_) | Message::Ack(_) | Message::Error(_) | Message::Guide(_) => {}
        }
    }
    replay.cut_short = reader.cut_short();
    Ok(replay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    const HELLO: &str = r#"{"type":"hello","format":1,"loopscope":"0.1.0","setsize":10128,"hz":10,"port":6380,"epoch_unix_us":0}"#;
    const SNAP: &str = r#"{"type":"snapshot","seq":2,"iter":1,"t_us":5,"setsize":10128,"maxfd":6,"file_events":[],"fired":[],"time_events":[],"listeners":[],"clients":[],"keyspace":[]}"#;

    fn event(seq: u64, fd: i32) -> String {
        format!(
            r#"{{"type":"event","seq":{seq},"iter":1,"t_us":9,"site":{{"file":"f","line":1,"function":"g","mirrors":"h"}},"kind":"client_connected","client":{fd},"fd":{fd},"addr":"127.0.0.1:1"}}"#
        )
    }

    fn run(text: &str) -> Result<Replay, ReadError> {
        replay(io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn replays_snapshot_plus_events() {
        let r = run(&format!(
            "{HELLO}\n{SNAP}\n{}\n{}\n",
            event(3, 7),
            event(4, 8)
        ))
        .expect("replay");
        assert_eq!(r.state.clients.len(), 2);
        assert_eq!(r.state.seq, 4);
        assert!(!r.stale);
        assert_eq!(r.missed, 0);
    }

    #[test]
    fn a_gap_is_noticed_and_a_snapshot_repairs_it() {
        let r = run(&format!("{HELLO}\n{SNAP}\n{}\n", event(6, 7))).expect("replay");
        assert_eq!((r.missed, r.stale), (3, true));
        let r = run(&format!(
            "{HELLO}\n{SNAP}\n{}\n{}\n",
            event(6, 7),
            SNAP.replace("\"seq\":2", "\"seq\":9")
        ))
        .expect("replay");
        assert!(!r.stale);
        assert!(r.state.clients.is_empty());
    }

    #[test]
    fn events_already_in_the_snapshot_are_skipped() {
        let r = run(&format!("{HELLO}\n{}\n{SNAP}\n", event(1, 7))).expect("replay");
        assert!(r.state.clients.is_empty());
    }

    #[test]
    fn a_recording_cut_short_replays_up_to_its_last_complete_line() {
        let full = format!("{HELLO}\n{SNAP}\n{}\n", event(3, 7));
        for cut in [full.len() - 10, full.len() - 40] {
            let r = run(&full[..cut]).expect("replays what is complete");
            assert_eq!((r.state.seq, r.cut_short), (2, Some(3)));
            assert!(r.state.clients.is_empty(), "the half event is left out");
        }
        let r = run(&full).expect("whole");
        assert_eq!((r.state.seq, r.cut_short), (3, None));
        // Cut inside the snapshot: the hello alone has no state to show.
        let r = run(&full[..HELLO.len() + 20]).expect("hello only");
        assert_eq!((r.state.seq, r.cut_short, r.stale), (0, Some(2), true));
    }

    #[test]
    fn half_a_message_before_more_lines_is_still_an_error() {
        let e = run(&format!("{HELLO}\n{}\n{SNAP}\n", &event(3, 7)[..50])).expect_err("cut");
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("truncated"), "{e}");
    }

    #[test]
    fn garbage_gives_errors_not_panics() {
        assert_eq!(run("").expect_err("empty").line, 1);
        assert_eq!(run("hello world\n").expect_err("words").line, 1);
        assert_eq!(run(&format!("{SNAP}\n")).expect_err("no hello").line, 1);
        assert_eq!(
            run(&format!("{HELLO}\n\u{0}\u{1}\n"))
                .expect_err("binary")
                .line,
            2
        );
        assert_eq!(
            run(&format!("{HELLO}\n{{\"type\":\"event\",\"seq\":\"x\"}}\n"))
                .expect_err("bad field")
                .line,
            2
        );
        assert_eq!(
            run(&format!("{HELLO}\n{{\"type\":\"teleport\"}}\n"))
                .expect_err("bad type")
                .line,
            2
        );
        let mut bytes = format!("{HELLO}\n").into_bytes();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let e = replay(io::Cursor::new(bytes)).expect_err("not utf-8");
        assert_eq!((e.line, e.message.as_str()), (2, "not UTF-8"));
        let newer = HELLO.replace("\"format\":1", "\"format\":99");
        assert!(run(&newer).expect_err("newer").message.contains("newer"));
    }

    #[test]
    fn blank_lines_are_skipped_and_counted() {
        let r = run(&format!("{HELLO}\n\n{SNAP}\n")).expect("replay");
        assert_eq!(r.state.seq, 2);
        let e = run(&format!("{HELLO}\n\nnope\n")).expect_err("line 3");
        assert_eq!(e.line, 3);
    }
}

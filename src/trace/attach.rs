//! The attach port (`serve --trace-port`): JSON lines both ways over TCP.
//!
//! Every connection is a viewer. It first receives `hello`, a `snapshot` of the
//! loop as it is now, and the `gate` status; then the live stream. It may send
//! control messages, one JSON object per line (see `docs/trace-format.md`).
//! The first viewer to send one takes control; the others stay read-only until
//! it sends `release_control` or disconnects.
//!
//! Each connection has two threads. The writer drains the viewer's bounded
//! queue into the socket; if the viewer stops reading, the socket fills, the
//! writer blocks (at most [`WRITE_TIMEOUT`], then the viewer is dropped), the
//! queue fills, and the *loop* simply drops events for that viewer: it never
//! waits for anyone. The reader parses control lines; a malformed one gets an
//! `error` line back and changes nothing.

use std::io::{self, BufRead, BufReader, BufWriter, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::model::{ControlRequest, ErrorReply, Message};
use super::sink::pump;
use super::tracer::{ControlSender, DEFAULT_CAPACITY, TraceHandle};

/// Default attach port (`--trace-port` without a value is not allowed; this is
/// what the docs use).
pub const DEFAULT_TRACE_PORT: u16 = 7380;

/// Longest control line accepted; longer lines are answered with an error.
pub const MAX_LINE: usize = 64 * 1024;

/// Each viewer socket's send buffer.
const SEND_BUFFER: usize = 256 * 1024;

/// A viewer whose socket accepts nothing for this long is disconnected.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `addr` and serves viewers on a background thread. Returns the bound
/// address (useful with port 0).
pub fn spawn_attach_server(handle: TraceHandle, addr: &str) -> io::Result<AttachServer> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let writers: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let registry = Arc::clone(&writers);
    std::thread::Builder::new()
        .name("trace-attach".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // A viewer whose threads cannot start is simply not served.
                if let Ok(writer) = serve_viewer(&handle, stream)
                    && let Ok(mut list) = registry.lock()
                {
                    list.retain(|w| !w.is_finished());
                    list.push(writer);
                }
            }
        })?;
    Ok(AttachServer {
        addr: local,
        writers,
    })
}

/// A running attach server: its address, and the viewers' writer threads.
pub struct AttachServer {
    pub addr: SocketAddr,
    writers: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl AttachServer {
    /// Once the loop's tracer is gone (the stream has ended), gives every
    /// viewer up to `timeout` to receive what was still queued for it, so a
    /// viewer sees the same end of the stream as a trace file does.
    pub fn finish(self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let writers = self
            .writers
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        for writer in writers {
            while !writer.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if writer.is_finished() {
                let _ = writer.join();
            }
        }
    }
}

/// Starts the two threads of one viewer connection; returns the writer.
fn serve_viewer(handle: &TraceHandle, stream: TcpStream) -> io::Result<JoinHandle<()>> {
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    // A small send buffer keeps a slow viewer close to live: it fills soon,
    // and then the loop drops this viewer's events before building them.
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
    let read_half = stream.try_clone()?;
    let sub = handle.subscribe(DEFAULT_CAPACITY);
    let control = sub.controller();
    let injector = sub.injector();
    std::thread::Builder::new()
        .name("trace-viewer-in".into())
        .spawn(move || {
            read_controls(read_half, &control, |error| {
                injector.push(Message::Error(error))
            });
            control.mute();
        })?;
    std::thread::Builder::new()
        .name("trace-viewer-out".into())
        .spawn(move || {
            super::sink::yield_to_the_loop();
            let mut out = BufWriter::new(&stream);
            let _ = pump(&sub, &mut out);
            drop(out);
            // Wakes the reader thread too; dropping `sub` unsubscribes.
            let _ = stream.shutdown(Shutdown::Both);
        })
}

/// Reads control lines until the input ends, sending the good ones and
/// reporting the bad ones through `error`.
pub fn read_controls(input: impl Read, control: &ControlSender, mut error: impl FnMut(ErrorReply)) {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let result = read_line_limited(&mut input, &mut line, MAX_LINE);
        number += 1;
        match result {
            Ok(Line::End) | Err(_) => return,
            Ok(Line::TooLong) => error(ErrorReply {
                id: None,
                error: format!("line {number}: longer than {MAX_LINE} bytes"),
            }),
            Ok(Line::Complete) => match parse_control(&line) {
                Ok(Some(request)) => control.send(request),
                Ok(None) => {}
                Err(e) => error(ErrorReply {
                    id: e.id,
                    error: format!("line {number}: {}", e.error),
                }),
            },
        }
    }
}

/// What [`read_line_limited`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// `buf` holds one line (without its newline; the last line of the input
    /// may lack one).
    Complete,
    /// The line was longer than the limit; it was read and thrown away.
    TooLong,
    /// No more input.
    End,
}

/// Reads one line into `buf` but never keeps more than `limit` bytes of it,
/// so a peer sending endless bytes without a newline cannot exhaust memory.
pub fn read_line_limited(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Line> {
    let n = input
        .by_ref()
        .take(limit as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(Line::End);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Line::Complete);
    }
    if buf.len() <= limit {
        return Ok(Line::Complete);
    }
    // Skip the rest of the overlong line.
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(Line::TooLong);
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(Line::TooLong);
            }
            None => {
                let len = available.len();
                input.consume(len);
            }
        }
    }
}

/// Parses one control line. Blank lines are `Ok(None)`. On error, the
/// message says what was wrong, and the request's `id` is kept if the line
/// was a JSON object with a numeric `id`, so the viewer can match the error.
pub fn parse_control(line: &[u8]) -> Result<Option<ControlRequest>, ErrorReply> {
    let text = std::str::from_utf8(line).map_err(|_| ErrorReply {
        id: None,
        error: "not UTF-8".into(),
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str::<ControlRequest>(text)
        .map(Some)
        .map_err(|e| {
            let id = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("id")?.as_u64());
            let error = if e.is_syntax() || e.is_eof() {
                format!("not JSON: {e}")
            } else {
                format!("not a control message: {e}")
            };
            ErrorReply { id, error }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{BreakOn, Control, StepUnit};

    #[test]
    fn good_lines_parse() {
        let r = parse_control(br#" {"cmd":"pause","id":1} "#)
            .expect("ok")
            .expect("some");
        assert_eq!(
            r,
            ControlRequest {
                id: Some(1),
                control: Control::Pause
            }
        );
        let r = parse_control(br#"{"cmd":"step","unit":"iteration"}"#)
            .expect("ok")
            .expect("some");
        assert_eq!(
            r.control,
            Control::Step {
                unit: StepUnit::Iteration
            }
        );
        let r = parse_control(br#"{"cmd":"break_add","on":"fd","fd":8}"#)
            .expect("ok")
            .expect("some");
        assert_eq!(
            r.control,
            Control::BreakAdd {
                on: BreakOn::Fd { fd: 8 }
            }
        );
        assert_eq!(parse_control(b"   \r").expect("blank"), None);
    }

    #[test]
    fn bad_lines_are_errors_with_the_id_when_there_is_one() {
        for bad in [
            &b"pause"[..],
            b"{\"cmd\":",
            b"{\"cmd\":\"dance\",\"id\":4}",
            b"{\"cmd\":\"play\",\"interval_ms\":-5}",
            b"{\"cmd\":\"break_add\",\"on\":\"fd\"}",
            b"[1,2,3]",
            b"\xff\xfe",
            b"{\"cmd\":\"step\",\"unit\":\"sideways\"}",
        ] {
            assert!(
                parse_control(bad).is_err(),
                "{:?} should be refused",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_control(b"{\"cmd\":\"dance\",\"id\":4}")
                .err()
                .and_then(|e| e.id),
            Some(4)
        );
        assert!(
            parse_control(b"{\"cmd\":")
                .err()
                .is_some_and(|e| e.error.starts_with("not JSON"))
        );
    }

    #[test]
    fn long_lines_are_cut_and_skipped() {
        let mut input = io::Cursor::new(b"abcdefghij\nok\nxyz".to_vec());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_limited(&mut input, &mut buf, 4).expect("read"),
            Line::TooLong
        );
        buf.clear();
        assert_eq!(
            read_line_limited(&mut input, &mut buf, 4).expect("read"),
            Line::Complete
        );
        assert_eq!(buf, b"ok");
        buf.clear();
        assert_eq!(
            read_line_limited(&mut input, &mut buf, 4).expect("read"),
            Line::Complete
        );
        assert_eq!(buf, b"xyz");
        buf.clear();
        assert_eq!(
            read_line_limited(&mut input, &mut buf, 4).expect("read"),
            Line::End
        );
    }
}

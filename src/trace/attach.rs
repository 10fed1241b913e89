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
//!
//! Who may attach and what a viewer may send is [`super::admission`]'s
//! business: with `--trace-token`, the reader thread first waits for the
//! handshake and only then subscribes the viewer, so a stranger sees nothing
//! of the stream; read-only viewers get an error for controls that would
//! move the loop; and a viewer that floods the port is dropped by its own
//! reader thread, with a last error line saying why, before any of the flood
//! reaches the loop.

use std::io::{self, BufRead, BufReader, BufWriter, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::admission::{Budget, Handshake, Policy};
use super::model::{ControlRequest, ErrorReply, Message};
use super::sink::{pump, write_line};
use super::tracer::{ControlSender, DEFAULT_CAPACITY, Subscription, TraceHandle};

/// Default attach port (`--trace-port` without a value is not allowed; this is
/// what the docs use).
pub const DEFAULT_TRACE_PORT: u16 = 7380;

/// Longest control line accepted; longer lines are answered with an error.
pub const MAX_LINE: usize = 64 * 1024;

/// Each viewer socket's send buffer.
const SEND_BUFFER: usize = 256 * 1024;

/// A viewer whose socket accepts nothing for this long is disconnected.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closing connection waits for the viewer to take its last lines
/// (see [`close_after_delivery`]).
const LINGER: Duration = Duration::from_secs(2);

/// A closing connection whose viewer sends nothing for this long is closed.
const QUIET: Duration = Duration::from_millis(50);

/// How long a viewer has to send its handshake when the server has a token.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more are refused with an error line. Each
/// costs two threads, so a crowd of idle connections must not grow without
/// bound (it never reaches the loop either way).
pub const MAX_VIEWERS: usize = 64;

/// Binds `addr` and serves viewers on a background thread, holding each to
/// `policy`. Returns the bound address (useful with port 0).
pub fn spawn_attach_server(
    handle: TraceHandle,
    addr: &str,
    policy: Policy,
) -> io::Result<AttachServer> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let writers: Writers = Arc::default();
    let registry = Arc::clone(&writers);
    let policy = Arc::new(policy);
    let served = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("trace-attach".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let Some(slot) = Slot::take(&served) else {
                    // The accept thread must not wait long for one stranger.
                    refuse(
                        &stream,
                        format!("too many viewers ({MAX_VIEWERS}); try again later"),
                        Duration::from_millis(100),
                    );
                    continue;
                };
                // A viewer whose thread cannot start is simply not served.
                let _ = serve_viewer(&handle, stream, &policy, &registry, slot);
            }
        })?;
    Ok(AttachServer {
        addr: local,
        writers,
    })
}

/// One of the [`MAX_VIEWERS`] places, held by a connection's threads and
/// given back when the last of them ends.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(served: &Arc<AtomicUsize>) -> Option<Arc<Slot>> {
        served
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_VIEWERS).then_some(n + 1)
            })
            .ok()
            .map(|_| Arc::new(Slot(Arc::clone(served))))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The viewers' writer threads, so the end of the stream can wait for them.
type Writers = Arc<Mutex<Vec<JoinHandle<()>>>>;

/// A running attach server: its address, and the viewers' writer threads.
pub struct AttachServer {
    pub addr: SocketAddr,
    writers: Writers,
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

/// Starts the reader thread of one viewer connection. It admits the viewer
/// (the handshake, when the server has a token), then subscribes it, starts
/// its writer thread and reads its control lines.
fn serve_viewer(
    handle: &TraceHandle,
    stream: TcpStream,
    policy: &Arc<Policy>,
    writers: &Writers,
    slot: Arc<Slot>,
) -> io::Result<()> {
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    // A small send buffer keeps a slow viewer close to live: it fills soon,
    // and then the loop drops this viewer's events before building them.
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
    let handle = handle.clone();
    let policy = Arc::clone(policy);
    let writers = Arc::clone(writers);
    std::thread::Builder::new()
        .name("trace-viewer-in".into())
        .spawn(move || {
            let Ok(read_half) = stream.try_clone() else {
                return;
            };
            let mut input = BufReader::new(read_half);
            let mut viewer = match admit(&mut input, &stream, &policy) {
                Ok(viewer) => viewer,
                Err(why) => return refuse(&stream, why, LINGER),
            };
            let sub = handle.subscribe_as(DEFAULT_CAPACITY, viewer.read_only);
            let control = sub.controller();
            let injector = sub.injector();
            let Ok(writer) = spawn_writer(sub, stream, Arc::clone(&slot)) else {
                return;
            };
            if let Ok(mut list) = writers.lock() {
                list.retain(|w| !w.is_finished());
                list.push(writer);
            }
            let ended = read_controls(&mut input, &mut viewer, &control, |error| {
                injector.push(Message::Error(error))
            });
            control.mute();
            if let Some(why) = ended {
                // The last line this viewer gets says why it was dropped;
                // closing the queue ends its writer once that is sent.
                injector.push_last(Message::Error(ErrorReply {
                    id: None,
                    error: why,
                }));
            }
        })
        .map(drop)
}

/// Drains one viewer's queue into its socket, then closes the socket.
fn spawn_writer(
    sub: Subscription,
    stream: TcpStream,
    slot: Arc<Slot>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("trace-viewer-out".into())
        .spawn(move || {
            super::sink::yield_to_the_loop();
            let mut out = BufWriter::new(&stream);
            let _ = pump(&sub, &mut out);
            drop(out);
            // Wakes the reader thread too; dropping `sub` unsubscribes.
            close_after_delivery(&stream, LINGER);
            drop(slot);
        })
}

/// A viewer being served: the rules it is held to, and its budget.
pub struct Viewer {
    policy: Arc<Policy>,
    read_only: bool,
    /// Lines read so far, for error messages.
    lines: u64,
    budget: Budget,
    /// The first line has been read: a handshake is only valid as that one.
    handshake_done: bool,
}

impl Viewer {
    /// A viewer admitted under `policy`, read-only or not.
    pub fn new(policy: Arc<Policy>, read_only: bool) -> Viewer {
        Viewer {
            policy,
            read_only,
            lines: 0,
            budget: Budget::default(),
            handshake_done: false,
        }
    }
}

/// Admits a viewer. Without a token nothing is read: the viewer is served at
/// once (`nc` is enough) and may still send a handshake as its first line.
/// With a token, the first line must be the handshake, within
/// [`HANDSHAKE_TIMEOUT`].
fn admit(
    input: &mut BufReader<TcpStream>,
    stream: &TcpStream,
    policy: &Arc<Policy>,
) -> Result<Viewer, String> {
    if policy.token.is_none() {
        let read_only = policy.admit(None)?;
        return Ok(Viewer::new(Arc::clone(policy), read_only));
    }
    let _ = stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
    let mut line = Vec::new();
    let first = read_line_limited(input, &mut line, MAX_LINE);
    let _ = stream.set_read_timeout(None);
    let hs = match first {
        Ok(Line::Complete) => Handshake::parse(&line),
        _ => None,
    };
    let read_only = policy.admit(hs.as_ref())?;
    let mut viewer = Viewer::new(Arc::clone(policy), read_only);
    viewer.lines = 1;
    viewer.handshake_done = true;
    Ok(viewer)
}

/// Tells a viewer that was not admitted why, then closes the connection,
/// waiting up to `linger` for the viewer to take the answer.
fn refuse(stream: &TcpStream, why: String, linger: Duration) {
    let mut out = BufWriter::new(stream);
    let _ = write_line(
        &mut out,
        &Message::Error(ErrorReply {
            id: None,
            error: why,
        }),
    );
    drop(out);
    close_after_delivery(stream, linger);
}

/// Closes a viewer's connection so that what was written still arrives.
///
/// Closing a TCP socket whose peer sent bytes nobody read makes the kernel
/// answer with a reset and throw away whatever was still queued to send, so a
/// viewer dropped for flooding would lose the very line that says why (and
/// see the event before it cut in half). Like a web server's lingering
/// close, this half-closes (our FIN follows the queued bytes), then reads and
/// discards the viewer's input until it closes its side, falls quiet for
/// [`QUIET`], or `linger` passes. A viewer that sends nothing costs one
/// quiet spell; only a flood keeps the connection up to `linger`.
fn close_after_delivery(stream: &TcpStream, linger: Duration) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + linger;
    let mut sink = [0u8; 16 * 1024];
    let mut reader = stream;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left.min(QUIET))).is_err() {
            break;
        }
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads control lines until the input ends, sending the good ones and
/// reporting the bad ones through `error`. Returns why the viewer must be
/// dropped, if it broke the rules (see [`super::admission`]), or `None` when
/// its input simply ended.
pub fn read_controls(
    input: &mut impl BufRead,
    viewer: &mut Viewer,
    control: &ControlSender,
    mut error: impl FnMut(ErrorReply),
) -> Option<String> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let result = read_line_limited(input, &mut line, MAX_LINE);
        if matches!(result, Ok(Line::End) | Err(_)) {
            return None;
        }
        viewer.lines += 1;
        let number = viewer.lines;
        if let Err(why) = viewer.budget.spend(Instant::now()) {
            return Some(why);
        }
        let first = !std::mem::replace(&mut viewer.handshake_done, true);
        let verdict = match result {
            Ok(Line::Complete) => judge(&line, first, viewer),
            _ => Verdict::Bad(ErrorReply {
                id: None,
                error: format!("longer than {MAX_LINE} bytes"),
            }),
        };
        match verdict {
            Verdict::Nothing => {}
            Verdict::Send(request) => control.send(request),
            Verdict::Refuse(reply) => error(reply),
            Verdict::Bad(reply) => {
                error(ErrorReply {
                    id: reply.id,
                    error: format!("line {number}: {}", reply.error),
                });
                if let Err(why) = viewer.budget.bad_line() {
                    return Some(why);
                }
            }
        }
    }
}

/// What to do with one complete line.
enum Verdict {
    /// Blank line, or a handshake that was acted on.
    Nothing,
    /// A control message for the loop.
    Send(ControlRequest),
    /// A well-formed control this viewer may not send.
    Refuse(ErrorReply),
    /// Not a control message at all.
    Bad(ErrorReply),
}

fn judge(line: &[u8], first: bool, viewer: &mut Viewer) -> Verdict {
    if let Some(hs) = Handshake::parse(line) {
        if !first {
            return Verdict::Bad(ErrorReply {
                id: None,
                error: "the attach handshake must be the first line".into(),
            });
        }
        // Without a token on the server, the handshake can only ask for
        // read-only; `admit` cannot fail then.
        viewer.read_only |= viewer.policy.admit(Some(&hs)).unwrap_or(true);
        return Verdict::Nothing;
    }
    match parse_control(line) {
        Ok(None) => Verdict::Nothing,
        Ok(Some(request)) if viewer.read_only => {
            match viewer.policy.refuse_read_only(&request.control) {
                Some(error) => Verdict::Refuse(ErrorReply {
                    id: request.id,
                    error,
                }),
                None => Verdict::Send(request),
            }
        }
        Ok(Some(request)) => Verdict::Send(request),
        Err(e) => Verdict::Bad(e),
    }
}

/// How many times its limit [`read_line_limited`] skips of an overlong line
/// before it returns.
pub const SKIP_FACTOR: usize = 4;

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
/// An overlong line is skipped up to its newline, but at most
/// [`SKIP_FACTOR`] times `limit` more bytes per call: a line that never ends
/// comes back as one `TooLong` after another, so the caller can count them
/// and give up on the peer.
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
    // Skip the rest of the overlong line, `SKIP_FACTOR * limit` bytes at most.
    let budget = limit.saturating_mul(SKIP_FACTOR);
    let mut skipped = 0usize;
    while skipped < budget {
        let available = input.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let room = budget - skipped;
        let chunk = &available[..available.len().min(room)];
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                break;
            }
            None => {
                let n = chunk.len();
                input.consume(n);
                skipped += n;
            }
        }
    }
    Ok(Line::TooLong)
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

    /// Runs `read_controls` on `input` for a fresh viewer under `policy`;
    /// returns the errors it reported and why it dropped the viewer.
    fn read_all(input: &[u8], policy: Policy) -> (Vec<ErrorReply>, Option<String>) {
        let (_tracer, handle) = crate::trace::tracer(false);
        let sub = handle.subscribe(16);
        let read_only = policy.admit(None).unwrap_or(false);
        let mut viewer = Viewer::new(Arc::new(policy), read_only);
        let mut errors = Vec::new();
        let mut input = io::Cursor::new(input.to_vec());
        let ended = read_controls(&mut input, &mut viewer, &sub.controller(), |e| {
            errors.push(e)
        });
        (errors, ended)
    }

    #[test]
    fn a_viewer_sending_garbage_is_dropped_with_a_reason() {
        let garbage = b"nonsense\n".repeat(10_000);
        let (errors, ended) = read_all(&garbage, Policy::default());
        assert_eq!(
            errors.len(),
            crate::trace::admission::MAX_BAD_LINES as usize
        );
        assert!(ended.is_some_and(|why| why.contains("not control messages")));
        // A line that never ends is dropped too, having been kept to a bound.
        let (_, ended) = read_all(&vec![b'x'; 6 * 32 * MAX_LINE], Policy::default());
        assert!(ended.is_some());
    }

    #[test]
    fn a_viewer_flooding_good_controls_is_dropped_with_a_reason() {
        let flood = b"{\"cmd\":\"snapshot\"}\n".repeat(10_000);
        let (errors, ended) = read_all(&flood, Policy::default());
        assert!(errors.is_empty());
        assert!(ended.is_some_and(|why| why.contains("a second")));
    }

    #[test]
    fn read_only_viewers_get_errors_for_controls_that_move_the_loop() {
        let input = b"{\"cmd\":\"attach\",\"read_only\":true}\n{\"cmd\":\"step\",\"id\":7}\n{\"cmd\":\"snapshot\"}\n";
        let (errors, ended) = read_all(input, Policy::default());
        assert_eq!(ended, None);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].id, Some(7));
        assert!(errors[0].error.contains("read-only viewer: `step` refused"));
        // The handshake is only valid first.
        let late = b"{\"cmd\":\"snapshot\"}\n{\"cmd\":\"attach\",\"read_only\":true}\n{\"cmd\":\"pause\"}\n";
        let (errors, _) = read_all(late, Policy::default());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].error.contains("must be the first line"));
        // A server-wide read-only policy needs no handshake.
        let ro = Policy {
            token: None,
            read_only: true,
        };
        let (errors, _) = read_all(b"{\"cmd\":\"pause\"}\n", ro);
        assert!(errors[0].error.contains("--trace-read-only"));
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

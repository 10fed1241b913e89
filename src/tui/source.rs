//! Where the UI's trace comes from, and where its control messages go.
//!
//! The UI reads [`Message`]s and sends [`Control`]s; it does not care whether
//! a loop runs in this process, in another one, or ran last week. A
//! [`TraceSource`] names one of the three, and [`TraceSource::open`] turns it
//! into a [`Feed`]:
//!
//! - **Live** (the tour): a [`Subscription`] to a loop running on a thread of
//!   this process. Its queue is bounded and lossy: if the UI falls behind, the
//!   loop drops events for it and says so, and never waits.
//! - **Attach**: a TCP connection to `serve --trace-port`, JSON lines both
//!   ways. A thread reads lines into a bounded channel; when the UI falls
//!   behind, the socket fills and the *server* drops events for this viewer.
//!   When the server goes away, the same thread reconnects with a capped
//!   exponential backoff ([`RECONNECT_FIRST`] doubling to [`RECONNECT_MAX`])
//!   and says so through [`Feed::link`]; a new connection starts with a fresh
//!   hello and snapshot, so the UI simply carries on from them.
//! - **Replay**: a recorded JSON-lines file. There is no loop to pause, so a
//!   thread plays the file through the same [`Gate`] the loop uses: it starts
//!   paused before the first iteration, and step, continue, play and
//!   breakpoints behave as they would live.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use crate::trace::Subscription;
use crate::trace::admission::Handshake;
use crate::trace::gate::Gate;
use crate::trace::model::{
    Ack, Control, ControlRequest, ErrorReply, Event, FORMAT_VERSION, Message, ProbeKind,
};
use crate::trace::queue::RecvError;
use crate::trace::reader::TraceReader;

/// Messages a reader thread may get ahead of the UI before it waits.
const CHANNEL_CAPACITY: usize = super::run::FEED_CAPACITY;

/// The attach socket's receive buffer. A small one makes the server feel a
/// slow viewer at once (its queue fills, its loop drops events before
/// building them) instead of queueing megabytes the UI would be seconds
/// behind on.
const ATTACH_RECV_BUFFER: usize = 256 * 1024;

/// How long connecting to an attach port may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long to wait for the server's first line, which says whether the
/// handshake was accepted.
const FIRST_LINE_TIMEOUT: Duration = Duration::from_secs(2);

/// The first wait before reconnecting to an attach port that went away.
pub const RECONNECT_FIRST: Duration = Duration::from_millis(250);

/// The longest wait between two reconnection attempts.
pub const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// What feeds the UI. See the module doc.
pub enum TraceSource {
    /// A loop in this process.
    Live(Subscription),
    /// The attach port of `loopscope serve --trace-port`.
    Attach(AttachTarget),
    /// A trace file written by `loopscope serve --trace FILE`.
    Replay(PathBuf),
}

impl TraceSource {
    /// A short name for the header: `live`, `attach 127.0.0.1:7380`, `replay t.jsonl`.
    pub fn label(&self) -> String {
        match self {
            TraceSource::Live(_) => "live".into(),
            TraceSource::Attach(target) => format!("attach {}", target.addr),
            TraceSource::Replay(path) => format!(
                "replay {}",
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
        }
    }

    /// Connects or opens the source. Errors are for a person: one line that
    /// says what failed and what to do.
    pub fn open(self) -> Result<Box<dyn Feed>, String> {
        match self {
            TraceSource::Live(sub) => Ok(Box::new(LiveFeed(sub))),
            TraceSource::Attach(target) => attach(target),
            TraceSource::Replay(path) => replay(&path),
        }
    }
}

/// A source, opened.
pub trait Feed {
    /// Waits at most `timeout` for a message, then appends it and every
    /// other message already there to `out`. `Err` means the stream ended,
    /// and says why.
    fn wait(&mut self, timeout: Duration, out: &mut Vec<Message>) -> Result<(), String>;

    /// Sends a control request; the answer comes back in the stream, with
    /// the request's id.
    fn send_request(&mut self, request: ControlRequest) -> Result<(), String>;

    /// Sends a control message without an id.
    fn send(&mut self, control: Control) -> Result<(), String> {
        self.send_request(request(control))
    }

    /// Why the source is cut off for now, while it tries to come back (an
    /// attach port that went away); `None` while all is well.
    fn link(&self) -> Option<String> {
        None
    }
}

fn request(control: Control) -> ControlRequest {
    ControlRequest { id: None, control }
}

// ---------------------------------------------------------------------------
// Live
// ---------------------------------------------------------------------------

struct LiveFeed(Subscription);

impl Feed for LiveFeed {
    fn wait(&mut self, timeout: Duration, out: &mut Vec<Message>) -> Result<(), String> {
        let first = match self.0.recv_timeout(Some(timeout)) {
            Ok(m) => m,
            Err(RecvError::Timeout) => return Ok(()),
            Err(RecvError::Closed) => return Err("the loop stopped".into()),
        };
        let mut rest = Vec::new();
        self.0.drain_into(&mut rest);
        // Each message is shared with the loop's other viewers; take it
        // without a copy when this viewer holds the only reference.
        out.extend(std::iter::once(first).chain(rest).map(Arc::unwrap_or_clone));
        Ok(())
    }

    fn send_request(&mut self, request: ControlRequest) -> Result<(), String> {
        self.0.control(request);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// A channel filled by a reader thread (attach, replay)
// ---------------------------------------------------------------------------

struct ChannelFeed<S> {
    rx: Receiver<Message>,
    sink: S,
    /// What to say when the reader thread is done.
    ended: &'static str,
    /// Set by the reader thread while it is cut off (see [`Feed::link`]).
    link: Option<Link>,
}

impl<S: FnMut(ControlRequest) -> Result<(), String>> Feed for ChannelFeed<S> {
    fn wait(&mut self, timeout: Duration, out: &mut Vec<Message>) -> Result<(), String> {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => out.push(m),
            Err(RecvTimeoutError::Timeout) => return Ok(()),
            Err(RecvTimeoutError::Disconnected) => return Err(self.ended.into()),
        }
        // Bounded, so one call never holds the keyboard up for long.
        for _ in 0..CHANNEL_CAPACITY {
            match self.rx.try_recv() {
                Ok(m) => out.push(m),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        Ok(())
    }

    fn send_request(&mut self, request: ControlRequest) -> Result<(), String> {
        (self.sink)(request)
    }

    fn link(&self) -> Option<String> {
        self.link.as_ref().and_then(Link::get)
    }
}

/// The state of an attach connection, shared by the reader thread (which
/// sets it) and the feed (which the UI asks). The feed holds one of the two
/// references: when the thread sees it is the last, the UI is gone.
#[derive(Clone, Default)]
struct Link(Arc<std::sync::Mutex<Option<String>>>);

impl Link {
    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|l| l.clone())
    }

    fn set(&self, state: Option<String>) {
        if let Ok(mut l) = self.0.lock() {
            *l = state;
        }
    }

    fn abandoned(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
}

/// A line of the input that could not be read, as a message for the UI.
fn bad_line(what: &str, e: impl std::fmt::Display) -> Message {
    Message::Error(ErrorReply {
        id: None,
        error: format!("{what}: {e}"),
    })
}

// ---------------------------------------------------------------------------
// Attach
// ---------------------------------------------------------------------------

/// Where to attach and how to introduce ourselves (`loopscope attach ADDR
/// --trace-token TOKEN --read-only`).
#[derive(Clone, Debug, Default)]
pub struct AttachTarget {
    /// The trace port, as `host:port`.
    pub addr: String,
    /// Sent as the first line when it says anything (a token, read-only).
    pub handshake: Handshake,
}

impl AttachTarget {
    /// A target with no token, not read-only.
    pub fn new(addr: impl Into<String>) -> AttachTarget {
        AttachTarget {
            addr: addr.into(),
            handshake: Handshake::default(),
        }
    }
}

/// An open attach connection: its lines, and a second handle for writing.
type Connection = (TraceReader<BufReader<TcpStream>>, TcpStream);

/// What to ask of a person whose attach found no trace port.
const TRACE_PORT_HINT: &str = "is `loopscope serve --trace-port PORT` running there?";

/// Connects, sends the handshake, and reads the server's first line, which
/// must be the `hello` of a trace stream in our format version: anything
/// else fails the attach with a message that says what answered instead
/// (see [`first_line`]). The hello is returned, to be passed on.
fn connect(target: &AttachTarget) -> Result<(Connection, Option<Message>), String> {
    let addr = &target.addr;
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot attach to {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot attach to {addr}: no address"))?;
    let stream = TcpStream::connect_timeout(&sock, CONNECT_TIMEOUT)
        .map_err(|e| format!("cannot attach to {addr}: {e} ({TRACE_PORT_HINT})"))?;
    // Only a smaller buffer, so a refusal changes nothing that matters.
    let _ = socket2::SockRef::from(&stream).set_recv_buffer_size(ATTACH_RECV_BUFFER);
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("cannot attach to {addr}: {e}"))?;
    // Always sent, even when it says nothing: a trace port takes it as the
    // optional first line, and anything else is made to answer at once (a
    // Redis server replies with an error) instead of waiting in silence.
    writer
        .write_all(&target.handshake.to_line())
        .map_err(|e| format!("cannot attach to {addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(FIRST_LINE_TIMEOUT));
    let (lines, hello) = first_line(BufReader::new(stream), addr)?;
    let _ = writer.set_read_timeout(None);
    Ok(((lines, writer), Some(hello)))
}

/// Reads the first line of an attach connection (its socket has a read
/// timeout): the `hello` if it is one we can read, else why not, for a person.
fn first_line<R: io::Read>(
    mut input: BufReader<R>,
    addr: &str,
) -> Result<(TraceReader<BufReader<R>>, Message), String> {
    let secs = FIRST_LINE_TIMEOUT.as_secs_f64();
    // A look at the first bytes, without taking them, says what answered.
    match input.fill_buf() {
        Ok([]) => {
            return Err(format!(
                "cannot attach to {addr}: it closed the connection without a word ({TRACE_PORT_HINT})"
            ));
        }
        Ok(start) if start[0] != b'{' => return Err(not_a_trace_port(addr, start)),
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            return Err(format!(
                "cannot attach to {addr}: it accepted the connection but said nothing in \
                 {secs} s, so it is not a loopscope trace port (a trace port says hello at once; \
                 {TRACE_PORT_HINT})"
            ));
        }
        Err(e) => return Err(format!("cannot attach to {addr}: {e}")),
    }
    let mut lines = TraceReader::new(input);
    match lines.next() {
        Some(Ok(Message::Hello(h))) if h.format == FORMAT_VERSION => Ok((lines, Message::Hello(h))),
        Some(Ok(Message::Hello(h))) => Err(format!(
            "cannot attach to {addr}: it speaks trace format v{}, this loopscope reads \
             v{FORMAT_VERSION} (it runs loopscope {}; use the same version on both sides)",
            h.format, h.loopscope
        )),
        Some(Ok(Message::Error(e))) => Err(format!("cannot attach to {addr}: {}", e.error)),
        Some(Ok(_)) => Err(format!(
            "cannot attach to {addr}: its stream does not begin with hello, so it is not a \
             loopscope trace port ({TRACE_PORT_HINT})"
        )),
        Some(Err(e)) => Err(format!(
            "cannot attach to {addr}: it is not a loopscope trace port, its first line is not \
             a trace message ({}; {TRACE_PORT_HINT})",
            e.message
        )),
        None => Err(format!(
            "cannot attach to {addr}: the server closed the connection"
        )),
    }
}

/// The error for a peer whose first bytes `start` are not a trace stream.
fn not_a_trace_port(addr: &str, start: &[u8]) -> String {
    // Every RESP reply starts with one of these (RESP2 and RESP3).
    const RESP_TYPES: &[u8] = b"+-:$*_,#!=(%~>|";
    if RESP_TYPES.contains(&start[0]) {
        return format!(
            "{addr} answered, but it is not a loopscope trace port (it looks like a Redis \
             server: try `loopscope attach` on the port given to `serve --trace-port`)"
        );
    }
    let line = start.split(|&b| b == b'\n').next().unwrap_or(start);
    let shown = line.get(..PREVIEW_LEN).unwrap_or(line);
    let more = if shown.len() < line.len() { "…" } else { "" };
    format!(
        "{addr} answered \"{}{more}\", which is not a loopscope trace stream, so it is not a \
         trace port ({TRACE_PORT_HINT})",
        shown.escape_ascii()
    )
}

/// Bytes of a stranger's first line shown in the error.
const PREVIEW_LEN: usize = 40;

fn attach(target: AttachTarget) -> Result<Box<dyn Feed>, String> {
    let ((lines, writer), first) = connect(&target)?;
    let (tx, rx) = mpsc::sync_channel(CHANNEL_CAPACITY);
    let out = Arc::new(std::sync::Mutex::new(Some(writer)));
    let link = Link::default();
    let (thread_out, thread_link) = (Arc::clone(&out), link.clone());
    thread::Builder::new()
        .name("attach-reader".into())
        .spawn(move || {
            let mut conn = Some((lines, first));
            while let Some((lines, first)) = conn.take() {
                if forward(lines, first, &tx, &target.addr).is_err() {
                    return; // the UI is gone
                }
                if let Ok(mut w) = thread_out.lock() {
                    *w = None;
                }
                conn = reconnect(&target, &thread_out, &thread_link);
            }
        })
        .map_err(|e| format!("cannot start the attach reader: {e}"))?;
    let sink = move |req: ControlRequest| -> Result<(), String> {
        let mut line = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut w = out.lock().map_err(|e| e.to_string())?;
        let stream = w
            .as_mut()
            .ok_or("not connected to the loop (reconnecting)")?;
        stream
            .write_all(&line)
            .map_err(|e| format!("cannot send to the loop: {e}"))
    };
    Ok(Box::new(ChannelFeed {
        rx,
        sink,
        ended: "the attach connection closed",
        link: Some(link),
    }))
}

/// Passes one connection's messages to the UI until the connection ends.
/// `Err` when the UI is gone.
fn forward(
    lines: TraceReader<BufReader<TcpStream>>,
    first: Option<Message>,
    tx: &SyncSender<Message>,
    addr: &str,
) -> Result<(), Gone> {
    let what = format!("attach {addr}");
    let lines = lines.map(|item| item.unwrap_or_else(|e| bad_line(&what, e)));
    for m in first.into_iter().chain(lines) {
        tx.send(m).map_err(|_| Gone)?;
    }
    Ok(())
}

/// Tries to connect again, waiting [`RECONNECT_FIRST`], then twice as long
/// after each failure up to [`RECONNECT_MAX`], and saying so in `link`.
/// `None` once the UI is gone.
fn reconnect(
    target: &AttachTarget,
    out: &std::sync::Mutex<Option<TcpStream>>,
    link: &Link,
) -> Option<(TraceReader<BufReader<TcpStream>>, Option<Message>)> {
    let mut wait = RECONNECT_FIRST;
    let mut why = "the server closed the connection".to_string();
    loop {
        link.set(Some(format!(
            "disconnected ({why}), retrying in {:.2} s",
            wait.as_secs_f64()
        )));
        // Sleep in small slices, so a UI that quits is noticed at once.
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if link.abandoned() {
                return None;
            }
            thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
        }
        match connect(target) {
            Ok(((lines, writer), first)) => {
                if let Ok(mut w) = out.lock() {
                    *w = Some(writer);
                }
                link.set(None);
                return Some((lines, first));
            }
            Err(e) => why = e,
        }
        wait = next_backoff(wait);
    }
}

/// The wait after `wait`: doubled, at most [`RECONNECT_MAX`].
fn next_backoff(wait: Duration) -> Duration {
    wait.saturating_mul(2).min(RECONNECT_MAX)
}

// ---------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------

/// Opens a recording for replay. The whole file is read once first, so a
/// corrupt or truncated one is refused with the line at fault before the
/// UI takes the terminal.
fn replay(path: &Path) -> Result<Box<dyn Feed>, String> {
    let open = || File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()));
    crate::trace::reader::replay(BufReader::new(open()?)).map_err(|e| {
        let hint = if e.message.starts_with("truncated") {
            // A cut last line replays; half a line with more after it is damage.
            " (half a message with more lines after it: the file was damaged)"
        } else {
            ""
        };
        format!("cannot replay {}: {e}{hint}", path.display())
    })?;
    let file = open()?;
    let (tx, rx) = mpsc::sync_channel(CHANNEL_CAPACITY);
    let (ctl_tx, ctl_rx) = mpsc::channel();
    let what = path.display().to_string();
    thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let mut player = Player {
                controls: ctl_rx,
                tx,
                gate: Gate::new(true),
            };
            player.run(TraceReader::new(BufReader::new(file)), &what);
        })
        .map_err(|e| format!("cannot start the replay: {e}"))?;
    let sink = move |req: ControlRequest| -> Result<(), String> {
        ctl_tx
            .send(req)
            .map_err(|_| "the recording has ended: nothing more to run".to_string())
    };
    Ok(Box::new(ChannelFeed {
        rx,
        sink,
        ended: "end of the recording ([ { Home still travel back)",
        link: None,
    }))
}

/// Plays a recorded stream through a [`Gate`], as the loop would have.
struct Player {
    // Fields drop in order: the control receiver goes first, so once the UI
    // sees the stream end, sending a control fails too.
    controls: Receiver<ControlRequest>,
    tx: SyncSender<Message>,
    gate: Gate,
}

/// The UI went away: stop playing.
struct Gone;

/// The only viewer of a replay.
const VIEWER: u64 = 0;

impl Player {
    fn run<R: io::BufRead>(&mut self, reader: TraceReader<R>, what: &str) {
        if self.send(Message::Gate(self.gate.status())).is_err() {
            return;
        }
        for item in reader {
            let sent = match item {
                Err(e) => self.send(bad_line(what, e)),
                // The recording's own gate and control answers describe
                // someone else's session; this replay has its own gate.
                Ok(Message::Gate(_) | Message::Ack(_) | Message::Error(_)) => Ok(()),
                Ok(Message::Event(ev)) => self.play(ev),
                Ok(other) => self.send(other),
            };
            if sent.is_err() {
                return;
            }
        }
    }

    fn send(&self, msg: Message) -> Result<(), Gone> {
        self.tx.send(msg).map_err(|_| Gone)
    }

    /// Plays one recorded event through the gate, as the loop does: the
    /// event is sent, and if the gate stops there the replay waits, after
    /// it, for the UI to say go on. While playing, each iteration start
    /// first waits the play interval.
    fn play(&mut self, ev: Event) -> Result<(), Gone> {
        self.controls(None)?;
        if ev.data.kind() == ProbeKind::IterationBegin
            && let Some(interval) = self.gate.play_interval()
        {
            self.controls(Some(Instant::now() + interval))?;
        }
        let stop = self.gate.check(&ev);
        self.send(Message::Event(ev))?;
        if stop {
            self.send(Message::Gate(self.gate.status()))?;
            self.controls(None)?;
        }
        Ok(())
    }

    /// Carries out the UI's control messages: those already sent, or, while
    /// the gate is paused, every one until it is not, or, with `until`, all
    /// that come before that instant (a play interval; it ends early if the
    /// gate stops playing).
    fn controls(&mut self, until: Option<Instant>) -> Result<(), Gone> {
        loop {
            let req = match until {
                None if self.gate.is_paused() => self.controls.recv().map_err(|_| Gone)?,
                None => match self.controls.try_recv() {
                    Ok(r) => r,
                    Err(TryRecvError::Empty) => return Ok(()),
                    Err(TryRecvError::Disconnected) => return Err(Gone),
                },
                Some(t) => {
                    match self
                        .controls
                        .recv_timeout(t.saturating_duration_since(Instant::now()))
                    {
                        Ok(r) => r,
                        Err(RecvTimeoutError::Timeout) => return Ok(()),
                        Err(RecvTimeoutError::Disconnected) => return Err(Gone),
                    }
                }
            };
            let reply = match self.gate.control(VIEWER, &req.control) {
                Ok(done) => {
                    self.send(Message::Ack(Ack {
                        id: req.id,
                        cmd: req.control.name().into(),
                        breakpoint: done.breakpoint,
                    }))?;
                    if !done.changed {
                        continue;
                    }
                    Message::Gate(self.gate.status())
                }
                Err(error) => Message::Error(ErrorReply { id: req.id, error }),
            };
            self.send(reply)?;
            if until.is_some() && self.gate.play_interval().is_none() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{BreakOn, GateState, StepUnit, StopReason};
    use crate::tui::testkit::{LISTENER, Script, app_with};

    fn write_trace(name: &str, msgs: &[Message], garbage_at: Option<usize>) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("loopscope-{}-{name}.jsonl", std::process::id()));
        let mut text = String::new();
        for (i, m) in msgs.iter().enumerate() {
            if garbage_at == Some(i) {
                text.push_str("{\"type\":\"event\",\"seq\":\n");
            }
            text.push_str(&serde_json::to_string(m).expect("json"));
            text.push('\n');
        }
        std::fs::write(&path, text).expect("write trace");
        path
    }

    /// Reads until a message satisfies `stop`; returns everything read.
    fn until(feed: &mut dyn Feed, stop: impl Fn(&Message) -> bool) -> Vec<Message> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut all = Vec::new();
        while Instant::now() < deadline {
            let mut batch = Vec::new();
            feed.wait(Duration::from_millis(20), &mut batch)
                .expect("stream open");
            let hit = batch.iter().any(&stop);
            all.extend(batch);
            if hit {
                return all;
            }
        }
        panic!("timed out; read {all:?}");
    }

    fn paused(m: &Message) -> bool {
        matches!(m, Message::Gate(g) if g.state == GateState::Paused)
    }

    fn last_event(msgs: &[Message]) -> &Event {
        msgs.iter()
            .rev()
            .find_map(|m| match m {
                Message::Event(e) => Some(e),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no event in {msgs:?}"))
    }

    /// What `first_line` makes of a peer that sends `bytes` and then
    /// nothing more (a read past them times out, as the socket would).
    fn first_line_of(bytes: &[u8]) -> Result<Message, String> {
        struct Then<'a>(&'a [u8]);
        impl io::Read for Then<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        first_line(BufReader::new(Then(bytes)), "127.0.0.1:6380").map(|(_, m)| m)
    }

    fn hello_line(format: u32) -> Vec<u8> {
        let mut script = Script::start();
        let Some(Message::Hello(mut h)) = script.out.drain(..1).next() else {
            panic!("the script starts with hello");
        };
        h.format = format;
        let mut line = serde_json::to_vec(&Message::Hello(h)).expect("json");
        line.push(b'\n');
        line
    }

    #[test]
    fn a_trace_port_is_known_by_its_hello() {
        let m = first_line_of(&hello_line(FORMAT_VERSION)).expect("a trace port");
        assert!(matches!(m, Message::Hello(h) if h.format == FORMAT_VERSION));
        let e = first_line_of(&hello_line(FORMAT_VERSION + 1)).expect_err("another version");
        assert!(
            e.contains(&format!("trace format v{}", FORMAT_VERSION + 1)),
            "{e}"
        );
    }

    #[test]
    fn a_refusal_from_the_trace_port_is_passed_on() {
        let e = first_line_of(b"{\"type\":\"error\",\"error\":\"wrong trace token\"}\n")
            .expect_err("refused");
        assert_eq!(e, "cannot attach to 127.0.0.1:6380: wrong trace token");
    }

    #[test]
    fn a_redis_server_silence_and_garbage_are_not_trace_ports() {
        for reply in [
            &b"-ERR unknown command '{\"cmd\":\"attach\"}'\r\n"[..],
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
            b"-NOAUTH Authentication required.\r\n",
        ] {
            let e = first_line_of(reply).expect_err("Redis");
            assert!(e.contains("it looks like a Redis server"), "{e}");
            assert!(e.contains("serve --trace-port"), "{e}");
        }
        let e = first_line_of(b"").expect_err("silent");
        assert!(e.contains("said nothing"), "{e}");
        let e = first_line_of(b"SSH-2.0-OpenSSH_9.6\r\n\xff\x00").expect_err("garbage");
        assert!(e.contains("answered \"SSH-2.0-OpenSSH_9.6\\r\""), "{e}");
        let e = first_line_of(b"{not json}\n").expect_err("not json");
        assert!(e.contains("not a loopscope trace port"), "{e}");
        let e = first_line_of(b"{\"type\":\"gate\"").expect_err("cut short");
        assert!(e.contains("not a loopscope trace port"), "{e}");
    }

    #[test]
    fn any_first_bytes_give_an_error_or_a_hello_never_a_panic() {
        for b in 0..=u8::MAX {
            for bytes in [&[b][..], &[b'{', b], &[b, b'\n'], &[b'{', b, b'\n']] {
                let _ = first_line_of(bytes);
            }
        }
    }

    #[test]
    fn replay_plays_through_the_gate_like_a_live_loop() {
        let script = Script::story();
        let path = write_trace("gate", &script.out, None);
        let mut feed = TraceSource::Replay(path.clone()).open().expect("open");
        let mut seen = until(feed.as_mut(), paused);
        // Paused before the first iteration, as the tour starts.
        let first = last_event(&seen);
        assert_eq!(
            (first.data.kind(), first.iter),
            (ProbeKind::IterationBegin, 1)
        );
        let gate = seen.iter().rev().find_map(|m| match m {
            Message::Gate(g) => Some(g.clone()),
            _ => None,
        });
        assert_eq!(
            gate.and_then(|g| g.at).map(|a| a.reason),
            Some(StopReason::StartPaused)
        );

        feed.send(Control::Step {
            unit: StepUnit::FileEvent,
        })
        .expect("step");
        let more = until(feed.as_mut(), paused);
        assert_eq!(last_event(&more).data.fd(), Some(LISTENER));
        seen.extend(more);

        feed.send(Control::BreakAdd {
            on: BreakOn::Command { name: "set".into() },
        })
        .expect("break");
        feed.send(Control::Continue).expect("continue");
        let more = until(
            feed.as_mut(),
            |m| matches!(m, Message::Gate(g) if g.at.as_ref().is_some_and(|a| a.reason == StopReason::Breakpoint { id: 1 })),
        );
        assert!(
            more.iter()
                .any(|m| matches!(m, Message::Ack(a) if a.breakpoint == Some(1)))
        );
        assert_eq!(last_event(&more).data.kind(), ProbeKind::Command);
        seen.extend(more);

        feed.send(Control::Continue).expect("continue");
        loop {
            let mut batch = Vec::new();
            match feed.wait(Duration::from_secs(5), &mut batch) {
                Ok(()) => seen.extend(batch),
                Err(why) => {
                    assert!(why.contains("end of the recording"), "{why}");
                    break;
                }
            }
        }
        assert!(
            feed.send(Control::Pause).is_err(),
            "nothing runs after the end"
        );
        // Replayed or read straight, the UI ends in the same state.
        let replayed = app_with(&seen, false);
        let direct = app_with(&script.out, false);
        assert_eq!(replayed.live_frame(), direct.live_frame());
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn replay_refuses_a_bad_line_naming_it() {
        let script = Script::story();
        let path = write_trace("garbage", &script.out, Some(1));
        let e = TraceSource::Replay(path.clone())
            .open()
            .err()
            .expect("refused");
        assert!(e.contains("line 2: "), "{e}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn reconnect_waits_double_up_to_the_cap() {
        let mut wait = RECONNECT_FIRST;
        let mut waits = vec![wait];
        for _ in 0..8 {
            wait = next_backoff(wait);
            waits.push(wait);
        }
        assert_eq!(waits[1], Duration::from_millis(500));
        assert_eq!(waits[4], Duration::from_secs(4));
        assert!(waits[5..].iter().all(|w| *w == RECONNECT_MAX));
    }

    #[test]
    fn plain_errors_for_missing_sources() {
        let e = TraceSource::Replay("/nonexistent/trace.jsonl".into())
            .open()
            .err()
            .expect("error");
        assert!(e.contains("cannot open"), "{e}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let e = TraceSource::Attach(AttachTarget::new(format!("127.0.0.1:{port}")))
            .open()
            .err()
            .expect("error");
        assert!(e.contains("--trace-port"), "{e}");
        let e = TraceSource::Attach(AttachTarget::new("no port here"))
            .open()
            .err()
            .expect("error");
        assert!(e.starts_with("cannot attach"), "{e}");
    }
}

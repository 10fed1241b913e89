//! The JSON-lines writer behind `--trace FILE` and `--trace -`, also used by
//! each attach connection: one message per line, flushed whenever the queue
//! runs empty.
//!
//! # Drop, not back-pressure
//!
//! The file sink is a viewer like any other: it has a bounded queue (a large
//! one, [`FILE_CAPACITY`] events), and when the disk or the pipe cannot keep up
//! the loop drops events rather than wait. We chose this deliberately: a trace
//! that slows the server changes what it records (fewer clients served per
//! iteration, different batching), and a server that stalls because `| less`
//! stopped reading is worse than a trace with holes. The holes are never
//! silent: a `drops` line gives the counts per kind, the next `event` shows
//! the jump in `seq`, and a fresh `snapshot` follows, so a replay recovers the
//! exact state after every gap.
//!
//! For the same reason the writer threads (this one and each attach
//! connection's) run at a lower CPU priority than the loop
//! ([`yield_to_the_loop`]): on a machine whose cores are all busy, encoding
//! the trace gives way to serving clients, and the trace gets holes instead.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::model::{Event, Message, ProbeData, Site};
use super::tracer::{Subscription, TraceHandle};

/// Events the file sink's queue holds before the loop drops.
pub const FILE_CAPACITY: usize = 65_536;

/// Opens `path` for writing (truncating), or standard output for `-`.
pub fn open_output(path: &str) -> io::Result<Box<dyn Write + Send>> {
    if path == "-" {
        Ok(Box::new(io::stdout()))
    } else {
        Ok(Box::new(File::create(path)?))
    }
}

/// Subscribes a file viewer and starts the thread that writes its stream to
/// `out`. The thread ends when the tracer is dropped (after writing what was
/// queued) or when a write fails (a closed pipe: the viewer simply leaves).
pub fn spawn_file_sink(
    handle: &TraceHandle,
    out: Box<dyn Write + Send>,
) -> io::Result<JoinHandle<io::Result<()>>> {
    let sub = handle.subscribe(FILE_CAPACITY);
    std::thread::Builder::new()
        .name("trace-file".into())
        .spawn(move || {
            yield_to_the_loop();
            pump(&sub, &mut BufWriter::new(out))
        })
}

/// How much lower than the loop a writer thread runs (a nice increment).
const WRITER_NICE: libc::c_int = 10;

/// Lowers the calling thread's CPU priority, so that a writer thread that
/// competes with the loop (and with the clients the loop serves) for a core
/// gives way: the loop stays fast, and the writer falls behind and drops,
/// which the stream says in its `drops` lines. Linux keeps a nice value per
/// thread; elsewhere this may lower the whole process, or do nothing.
pub fn yield_to_the_loop() {
    // SAFETY: setpriority reads only its three integer arguments; `who` 0
    // is the calling thread on Linux. A refusal leaves the priority as it was.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WRITER_NICE) };
}

/// Writes every message of `sub` to `out` as JSON lines until the stream ends.
/// Batches: it takes everything queued, encodes it into one buffer, writes
/// the buffer in large chunks, and flushes only when it has caught up, so a
/// busy stream costs few system calls.
pub fn pump(sub: &Subscription, out: &mut impl Write) -> io::Result<()> {
    let mut batch: Vec<Arc<Message>> = Vec::new();
    let mut lines = LineWriter::default();
    while let Ok(first) = sub.recv_timeout(None) {
        batch.push(first);
        sub.drain_into(&mut batch);
        for msg in batch.drain(..) {
            lines.push(&msg)?;
            if lines.buf.len() >= CHUNK {
                out.write_all(&lines.buf)?;
                lines.buf.clear();
            }
        }
        out.write_all(&lines.buf)?;
        lines.buf.clear();
        out.flush()?;
    }
    out.flush()
}

/// Bytes encoded before they are written out.
const CHUNK: usize = 64 * 1024;

/// One message as one line.
pub fn write_line(out: &mut impl Write, msg: &Message) -> io::Result<()> {
    let mut lines = LineWriter::default();
    lines.push(msg)?;
    out.write_all(&lines.buf)
}

/// Encodes messages as JSON lines into a buffer it reuses.
///
/// Events are nearly all of a stream, and most of an event's text is its
/// site (file, line, function, mirrored function), which is the same for
/// every event of one probe. So an event's envelope is written here by hand
/// with each static site's JSON encoded once and remembered, and only the
/// probe's own data goes through serde. The bytes are exactly what serde
/// writes for the whole [`Message`] (a test holds us to that).
#[derive(Default)]
struct LineWriter {
    buf: Vec<u8>,
    /// The JSON of each static site seen so far, by the site's address.
    sites: HashMap<usize, Box<[u8]>>,
}

impl LineWriter {
    fn push(&mut self, msg: &Message) -> io::Result<()> {
        match msg {
            Message::Event(ev) => self.event(ev)?,
            other => serde_json::to_writer(&mut self.buf, other)?,
        }
        self.buf.push(b'\n');
        Ok(())
    }

    fn event(&mut self, ev: &Event) -> io::Result<()> {
        let buf = &mut self.buf;
        buf.extend_from_slice(b"{\"type\":\"event\",\"seq\":");
        serde_json::to_writer(&mut *buf, &ev.seq)?;
        buf.extend_from_slice(b",\"iter\":");
        serde_json::to_writer(&mut *buf, &ev.iter)?;
        buf.extend_from_slice(b",\"t_us\":");
        serde_json::to_writer(&mut *buf, &ev.t_us)?;
        buf.extend_from_slice(b",\"site\":");
        match &ev.site {
            Cow::Borrowed(site) => {
                let site: &'static Site = site;
                let json = match self.sites.entry(std::ptr::from_ref(site) as usize) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => e.insert(serde_json::to_vec(site)?.into_boxed_slice()),
                };
                buf.extend_from_slice(json);
            }
            Cow::Owned(site) => serde_json::to_writer(&mut *buf, site)?,
        }
        if let ProbeData::Command { .. } = &ev.data {
            return command(buf, &ev.data);
        }
        // The data is an object `{"kind":...}` of its own; its fields carry
        // on the event's object, so its opening brace becomes a comma.
        let open = buf.len();
        serde_json::to_writer(&mut *buf, &ev.data)?;
        if let Some(b) = buf.get_mut(open) {
            *b = b',';
        }
        Ok(())
    }
}

/// The fields of a command event, the bulk of a busy stream, written with
/// their names as constant bytes: serde would escape-check every name of
/// every event. Only the values go through serde.
fn command(buf: &mut Vec<u8>, data: &ProbeData) -> io::Result<()> {
    let ProbeData::Command {
        client,
        client_name,
        fd,
        db,
        name,
        argv,
        argc,
        keys,
        reply,
        duration_us,
    } = data
    else {
        return Ok(());
    };
    buf.extend_from_slice(b",\"kind\":\"command\",\"client\":");
    serde_json::to_writer(&mut *buf, client)?;
    buf.extend_from_slice(b",\"client_name\":");
    serde_json::to_writer(&mut *buf, client_name)?;
    buf.extend_from_slice(b",\"fd\":");
    serde_json::to_writer(&mut *buf, fd)?;
    buf.extend_from_slice(b",\"db\":");
    serde_json::to_writer(&mut *buf, db)?;
    buf.extend_from_slice(b",\"name\":");
    serde_json::to_writer(&mut *buf, name)?;
    buf.extend_from_slice(b",\"argv\":");
    serde_json::to_writer(&mut *buf, argv)?;
    buf.extend_from_slice(b",\"argc\":");
    serde_json::to_writer(&mut *buf, argc)?;
    buf.extend_from_slice(b",\"keys\":");
    serde_json::to_writer(&mut *buf, keys)?;
    buf.extend_from_slice(b",\"reply\":{\"kind\":");
    serde_json::to_writer(&mut *buf, &reply.kind)?;
    buf.extend_from_slice(b",\"preview\":");
    serde_json::to_writer(&mut *buf, &reply.preview)?;
    buf.extend_from_slice(b",\"bytes\":");
    serde_json::to_writer(&mut *buf, &reply.bytes)?;
    buf.extend_from_slice(b"},\"duration_us\":");
    serde_json::to_writer(&mut *buf, duration_us)?;
    buf.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{Drops, Handler, IoOutcome, PollReason, ReplyInfo, Snapshot};

    fn event(seq: u64, site: &'static Site, data: ProbeData) -> Message {
        Message::Event(Event {
            seq,
            iter: seq / 3,
            t_us: seq * 17,
            site: Cow::Borrowed(site),
            data,
        })
    }

    /// Events of several shapes: empty, nested, with text that needs escaping.
    fn stream() -> Vec<Message> {
        let begin = crate::site!("process_events", "aeProcessEvents");
        let call = crate::site!("process_command", "call");
        vec![
            Message::Snapshot(Snapshot {
                maxfd: -1,
                ..Snapshot::default()
            }),
            event(1, begin, ProbeData::IterationBegin {}),
            event(
                2,
                begin,
                ProbeData::PollEnter {
                    timeout_ms: Some(99),
                    reason: PollReason::Timer {
                        id: 0,
                        name: Cow::Borrowed("server_cron"),
                    },
                },
            ),
            event(
                3,
                call,
                ProbeData::Command {
                    client: 7,
                    client_name: Some("quote\"back\\slash".into()),
                    fd: 9,
                    db: 2,
                    name: Some(Cow::Borrowed("set")),
                    argv: vec!["SET".into(), "k\u{e9}y".into(), "\u{1}".into()],
                    argc: 3,
                    keys: vec!["k\u{e9}y".into()],
                    reply: ReplyInfo::from_resp(b"+OK\r\n"),
                    duration_us: 3,
                },
            ),
            event(
                4,
                call,
                ProbeData::Command {
                    client: 8,
                    client_name: None,
                    fd: 10,
                    db: 0,
                    name: None,
                    argv: vec!["NOSUCH".into()],
                    argc: 40,
                    keys: Vec::new(),
                    reply: ReplyInfo::summary(b"-ERR unknown\r\n"),
                    duration_us: 0,
                },
            ),
            event(
                4,
                call,
                ProbeData::Read {
                    client: 7,
                    fd: 9,
                    bytes: 0,
                    qbuf: 0,
                    outcome: IoOutcome::Error {
                        message: "reset \"by\" peer".into(),
                    },
                },
            ),
            event(
                5,
                begin,
                ProbeData::FileEventCreated {
                    fd: 9,
                    mask: crate::trace::model::Mask::WRITABLE,
                    handler: Handler::new("send_reply_to_client", "sendReplyToClient"),
                    now: crate::trace::model::Mask(3),
                },
            ),
            Message::Drops(Drops::default()),
        ]
    }

    #[test]
    fn lines_are_exactly_what_serde_writes() {
        let msgs = stream();
        let mut lines = LineWriter::default();
        for (i, msg) in msgs.iter().enumerate() {
            // The second time round, every static site comes from the memo.
            for _ in 0..2 {
                lines.buf.clear();
                lines.push(msg).expect("encode");
                let mut want = serde_json::to_vec(msg).expect("serde");
                want.push(b'\n');
                assert_eq!(
                    String::from_utf8_lossy(&lines.buf),
                    String::from_utf8_lossy(&want),
                    "message {i}"
                );
            }
        }
        // A site read back from a file is owned, not static: no memo.
        let Some(Message::Event(ev)) = msgs.get(3) else {
            panic!("the command event")
        };
        let mut ev = ev.clone();
        ev.site = Cow::Owned(ev.site.into_owned());
        let owned = Message::Event(ev);
        lines.buf.clear();
        lines.push(&owned).expect("encode");
        let mut want = serde_json::to_vec(&owned).expect("serde");
        want.push(b'\n');
        assert_eq!(lines.buf, want);
    }

    #[test]
    fn write_line_reads_back() {
        for msg in stream() {
            let mut out = Vec::new();
            write_line(&mut out, &msg).expect("write");
            let back: Message = serde_json::from_slice(&out).expect("parse");
            assert_eq!(back, msg);
        }
    }
}

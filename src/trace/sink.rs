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

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::model::Message;
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
        .spawn(move || pump(&sub, &mut BufWriter::new(out)))
}

/// Writes every message of `sub` to `out` as JSON lines until the stream ends.
/// Batches: it takes everything queued, writes it, and flushes only when it
/// has caught up, so a busy stream costs few system calls.
pub fn pump(sub: &Subscription, out: &mut impl Write) -> io::Result<()> {
    let mut batch: Vec<Arc<Message>> = Vec::new();
    while let Ok(first) = sub.recv_timeout(None) {
        batch.push(first);
        sub.drain_into(&mut batch);
        for msg in batch.drain(..) {
            write_line(out, &msg)?;
        }
        out.flush()?;
    }
    out.flush()
}

/// One message as one line.
pub fn write_line(out: &mut impl Write, msg: &Message) -> io::Result<()> {
    serde_json::to_writer(&mut *out, msg)?;
    out.write_all(b"\n")
}

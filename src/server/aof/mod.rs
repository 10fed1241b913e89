//! Persistence with an append-only file: the mirror of Redis's `aof.c`.
//!
//! # The idea
//!
//! Every command that changed the dataset is turned back into a command and
//! appended, in RESP, to a buffer in memory (`aof_buf`,
//! [`feed_append_only_file`]). Nothing touches the disk while commands run.
//! Just before the loop sleeps, `before_sleep` writes that buffer to the file
//! ([`flush_append_only_file`]) — and it does so *before* it writes the
//! replies to the clients. That order is the whole point: a client only ever
//! reads "+OK" for a write that the kernel already has. With `appendfsync
//! always` the flush also waits for the disk (`fdatasync`), so the write is
//! on the platter before the acknowledgement leaves.
//!
//! The other fsync policies trade safety for speed: `everysec` hands the
//! fsync to a background thread at most once a second (so a crash of the
//! machine loses about a second), and `no` leaves it to the kernel.
//!
//! # The rewrites
//!
//! What is appended is not always what the client sent. A relative expiry
//! (`SET k v EX 10`) would mean something else when the file is loaded
//! later, so it is written with an absolute time (`SET k v PXAT …`); a
//! command with a random outcome (`SPOP`) is written as what it did (`SREM`);
//! a blocking pop as the plain pop it became. See [`propagate`].
//!
//! # The files
//!
//! Redis 7 keeps a *multi-part* AOF in `<dir>/appendonlydir/`: a base file
//! (the dataset at the last rewrite), incremental files with the commands
//! since, and a manifest naming them. We write the same layout, with a base
//! in RESP (`*.base.aof`, as Redis writes with `aof-use-rdb-preamble no`), so
//! that Redis 7 can load what we wrote. See [`manifest`] and [`load`].
//!
//! # What is left out
//!
//! There is no background rewrite (`BGREWRITEAOF` says so), so the files grow
//! forever; and a failed write does not make the server refuse writes
//! (Redis's `MISCONF`), it is only reported in `INFO persistence`.

pub mod bio;
pub mod load;
pub mod manifest;
pub mod propagate;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use super::{Server, log};
use crate::probe;
use crate::trace::Tracer;
use crate::trace::model::ProbeData;
use manifest::Manifest;

/// Redis's `appendfsync` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    /// fsync in `before_sleep`, before any reply is written.
    Always,
    /// fsync in a background thread, at most once a second.
    Everysec,
    /// Never fsync; the kernel writes the pages back when it likes.
    No,
}

impl AppendFsync {
    /// The name `CONFIG GET appendfsync` shows.
    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }

    /// Parses a policy name in any case.
    pub fn parse(value: &[u8]) -> Option<AppendFsync> {
        [AppendFsync::Everysec, AppendFsync::Always, AppendFsync::No]
            .into_iter()
            .find(|p| value.eq_ignore_ascii_case(p.name().as_bytes()))
    }
}

/// Redis's error for an `appendfsync` value it does not know.
pub const APPENDFSYNC_ERROR: &str =
    "argument(s) must be one of the following: everysec, always, no";

/// Redis's default `appendfilename`, and the directory it keeps the parts in
/// (`appenddirname`).
pub const DEFAULT_APPENDFILENAME: &str = "appendonly.aof";
pub const DEFAULT_APPENDDIRNAME: &str = "appendonlydir";

/// A write that waits for an fsync in progress is postponed for at most this
/// long (Redis's two seconds in `flushAppendOnlyFile`).
const MAX_FLUSH_POSTPONE_SECS: u64 = 2;

/// The AOF state of the server (the `aof_*` fields of `redisServer`).
pub struct Aof {
    /// AOF is on (`aof_state == AOF_ON`). Checked on every write command, so
    /// with AOF off propagation costs this one branch.
    pub on: bool,
    /// Commands not yet written to the file (`aof_buf`).
    pub buf: Vec<u8>,
    /// The database the file's last SELECT chose (`aof_selected_db`); `None`
    /// after the file was (re)opened, so the next command writes a SELECT.
    pub selected_db: Option<usize>,
    /// Commands the current command propagates, fed to the buffer when the
    /// outermost `call` returns (Redis's `also_propagate`).
    pub pending: Vec<(usize, Vec<Vec<u8>>)>,
    /// How deep `call` is nested (EXEC calls the commands it queued).
    pub call_depth: u32,
    /// The open incremental file (`aof_fd`).
    file: Option<File>,
    /// Bytes in all the parts: what was loaded plus what was written since
    /// (`aof_current_size`), and the base's share (`aof_base_size`).
    pub current_size: u64,
    pub base_size: u64,
    /// Bytes in the open incremental file (`aof_last_incr_size`): where a
    /// failed write cuts the file back to.
    incr_size: u64,
    /// `current_size` when the last fsync was started (`aof_fsync_offset`).
    fsync_offset: u64,
    /// Unix second of the last fsync (`aof_last_fsync`).
    last_fsync: u64,
    /// Unix second the first postponed flush waited from
    /// (`aof_flush_postponed_start`); 0 when no flush waits.
    pub flush_postponed_start: u64,
    /// Writes that stopped waiting for a slow fsync (`aof_delayed_fsync`).
    pub delayed_fsync: u64,
    /// Why the last write failed (`aof_last_write_status` is `err` when set).
    pub last_write_error: Option<String>,
    /// The background fsync thread (Redis's bio `BIO_AOF_FSYNC`).
    pub bio: bio::Fsyncer,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            on: false,
            buf: Vec::new(),
            selected_db: None,
            pending: Vec::new(),
            call_depth: 0,
            file: None,
            current_size: 0,
            incr_size: 0,
            base_size: 0,
            fsync_offset: 0,
            last_fsync: unix_secs(),
            flush_postponed_start: 0,
            delayed_fsync: 0,
            last_write_error: None,
            bio: bio::Fsyncer::default(),
        }
    }
}

/// Unix time in whole seconds (Redis's `server.unixtime`, which the fsync
/// pacing compares).
fn unix_secs() -> u64 {
    super::mstime() / 1000
}

/// The directory the AOF parts live in: `<dir>/<appenddirname>`.
pub fn aof_dir(server: &Server) -> PathBuf {
    server.config.dir.join(DEFAULT_APPENDDIRNAME)
}

// ---------------------------------------------------------------------------
// Propagation: from a command to the buffer
// ---------------------------------------------------------------------------

/// Appends `argv`, run in database `db`, to the AOF buffer, preceded by a
/// SELECT when the file's current database is another one (mirror of
/// `feedAppendOnlyFile`). `db` is `None` for the EXEC that closes a
/// transaction, which belongs to no database. Nothing is written to the
/// file here: `before_sleep` does that, before any reply goes out.
// anchor: aof.feed
pub fn feed_append_only_file(
    tracer: &mut Tracer,
    aof: &mut Aof,
    db: Option<usize>,
    argv: &[Vec<u8>],
) {
    let start = aof.buf.len();
    if let Some(db) = db
        && aof.selected_db != Some(db)
    {
        let id = db.to_string();
        cat_append_only_generic_command(&mut aof.buf, &[b"SELECT".as_slice(), id.as_bytes()]);
        aof.selected_db = Some(db);
    }
    cat_append_only_generic_command(&mut aof.buf, argv);
    probe!(tracer, "feed_append_only_file" => "feedAppendOnlyFile", ProbeData::AofAppended {
        command: argv
            .first()
            .map(|name| String::from_utf8_lossy(name).to_ascii_lowercase())
            .unwrap_or_default(),
        bytes: (aof.buf.len() - start) as u64,
        buffer: aof.buf.len() as u64,
    });
}

/// Encodes one command as a RESP array of bulk strings, the form the AOF
/// stores (mirror of `catAppendOnlyGenericCommand`).
pub fn cat_append_only_generic_command<A: AsRef<[u8]>>(buf: &mut Vec<u8>, argv: &[A]) {
    push_header(buf, b'*', argv.len());
    for arg in argv {
        let arg = arg.as_ref();
        push_header(buf, b'$', arg.len());
        buf.extend_from_slice(arg);
        buf.extend_from_slice(b"\r\n");
    }
}

fn push_header(buf: &mut Vec<u8>, kind: u8, n: usize) {
    buf.push(kind);
    buf.extend_from_slice(n.to_string().as_bytes());
    buf.extend_from_slice(b"\r\n");
}

/// Queues `argv` (run in `db`) to be appended when the running command
/// returns (mirror of `alsoPropagate`). Does nothing while AOF is off,
/// which includes the loading of the file at start-up: the AOF is switched
/// on only once the file has been replayed.
pub fn also_propagate(server: &mut Server, db: usize, argv: Vec<Vec<u8>>) {
    if server.aof.on {
        server.aof.pending.push((db, argv));
    }
}

/// Feeds the commands the last execution unit queued (mirror of
/// `propagatePendingCommands`): one alone as it is; several wrapped in
/// MULTI … EXEC, so that loading replays them all or none. Also feeds the
/// DELs of keys that expired meanwhile, which Redis 7.0 propagates at once,
/// outside any transaction.
pub fn propagate_pending_commands(tracer: &mut Tracer, server: &mut Server) {
    propagate_expired_deletions(tracer, server);
    let pending = std::mem::take(&mut server.aof.pending);
    let wrap = pending.len() > 1;
    if wrap && let Some((db, _)) = pending.first() {
        feed_append_only_file(tracer, &mut server.aof, Some(*db), &[b"MULTI".to_vec()]);
    }
    for (db, argv) in &pending {
        feed_append_only_file(tracer, &mut server.aof, Some(*db), argv);
    }
    if wrap {
        feed_append_only_file(tracer, &mut server.aof, None, &[b"EXEC".to_vec()]);
    }
}

/// Feeds a DEL for every key the databases expired since the last call
/// (mirror of `propagateDeletion` for expired keys; `lazyfree-lazy-expire
/// no`, Redis's default, makes it DEL rather than UNLINK).
pub fn propagate_expired_deletions(tracer: &mut Tracer, server: &mut Server) {
    for db in 0..server.dbs.len() {
        if server.dbs[db].expired_log.is_empty() {
            continue;
        }
        for key in std::mem::take(&mut server.dbs[db].expired_log) {
            feed_append_only_file(
                tracer,
                &mut server.aof,
                Some(db),
                &[b"DEL".to_vec(), key.to_vec()],
            );
        }
    }
}

/// Tells the databases whether to remember the keys they expire, which only
/// the AOF needs.
fn log_expired_keys(server: &mut Server, on: bool) {
    for db in &mut server.dbs {
        db.log_expired = on;
        db.expired_log.clear();
    }
}

// ---------------------------------------------------------------------------
// Writing: from the buffer to the file
// ---------------------------------------------------------------------------

/// What one call of [`flush_append_only_file`] did, for the trace.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FlushOutcome {
    /// Bytes written to the file.
    pub written: u64,
    /// Why the write waited instead, if it did.
    pub postponed: Option<&'static str>,
    /// An fsync was done inline (`always`) or handed to the background
    /// thread (`everysec`).
    pub fsync: Option<FsyncKind>,
}

impl FlushOutcome {
    /// True when the call wrote, waited or fsynced (most calls find an
    /// empty buffer and do nothing worth showing).
    pub fn did_something(&self) -> bool {
        self.written > 0 || self.postponed.is_some() || self.fsync.is_some()
    }
}

/// Where an fsync ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncKind {
    Inline,
    Background,
}

/// Writes the AOF buffer to the file, then fsyncs as the policy says (mirror
/// of `flushAppendOnlyFile`). `before_sleep` calls it before the replies are
/// written, so that no client hears of a write the file does not hold.
///
/// With `everysec`, a write that finds the background fsync still running
/// waits (the buffer keeps growing) for up to two seconds, because a
/// `write` on a file being fsynced would block the whole loop; after that it
/// writes anyway and counts a delayed fsync. `force` (at shutdown) never
/// waits. Under `always` a failed write or fsync stops the server: it could
/// no longer keep its promise.
// anchor: aof.flush
pub fn flush_append_only_file(server: &mut Server, force: bool) -> FlushOutcome {
    let mut outcome = FlushOutcome::default();
    let policy = server.config.appendfsync;
    let aof = &mut server.aof;
    let Some(mut file) = aof.file.take() else {
        return outcome;
    };
    flush_open_file(aof, &mut file, policy, force, &mut outcome);
    aof.file = Some(file);
    outcome
}

/// The body of [`flush_append_only_file`], with the file taken out of the
/// state so both can be changed.
fn flush_open_file(
    aof: &mut Aof,
    file: &mut File,
    policy: AppendFsync,
    force: bool,
    outcome: &mut FlushOutcome,
) {
    let now = unix_secs();
    let mut sync_in_progress = false;
    if aof.buf.is_empty() {
        // Under everysec the last write may not have been fsynced yet.
        let behind = policy == AppendFsync::Everysec
            && aof.fsync_offset != aof.current_size
            && now > aof.last_fsync
            && !aof.bio.in_progress();
        if !behind {
            return;
        }
    } else {
        if policy == AppendFsync::Everysec {
            sync_in_progress = aof.bio.in_progress();
        }
        if policy == AppendFsync::Everysec && !force && sync_in_progress {
            if aof.flush_postponed_start == 0 {
                aof.flush_postponed_start = now;
                outcome.postponed = Some("a background fsync is still running");
                return;
            } else if now.saturating_sub(aof.flush_postponed_start) < MAX_FLUSH_POSTPONE_SECS {
                outcome.postponed = Some("a background fsync is still running");
                return;
            }
            aof.delayed_fsync += 1;
            log::notice(
                "The background AOF fsync has been running for over two seconds (is the disk busy?). \
                 Writing the AOF buffer without waiting for it; this may slow the server down.",
            );
        }
        let written = aof_write(file, &aof.buf);
        aof.flush_postponed_start = 0;
        if let Err((n, why)) = written {
            handle_write_error(aof, file, policy, n, why);
            outcome.written = n as u64;
            return;
        }
        if let Some(why) = aof.last_write_error.take() {
            log::warning(&format!(
                "Writing the AOF works again after an error ({why})."
            ));
        }
        outcome.written = aof.buf.len() as u64;
        aof.current_size += aof.buf.len() as u64;
        aof.incr_size += aof.buf.len() as u64;
        aof.buf.clear();
    }
    match policy {
        AppendFsync::Always => {
            aof_fsync(file).unwrap_or_else(|e| {
                log::warning(&format!(
                    "Cannot make the AOF durable: fsync failed under appendfsync always ({e}). Exiting."
                ));
                std::process::exit(1);
            });
            aof.fsync_offset = aof.current_size;
            aof.last_fsync = now;
            outcome.fsync = Some(FsyncKind::Inline);
        }
        AppendFsync::Everysec if now > aof.last_fsync => {
            if !sync_in_progress && aof.bio.submit(file).is_ok() {
                aof.fsync_offset = aof.current_size;
                outcome.fsync = Some(FsyncKind::Background);
            }
            aof.last_fsync = now;
        }
        AppendFsync::Everysec | AppendFsync::No => {}
    }
}

/// Writes all of `buf`, retrying short writes and interrupted calls (mirror
/// of `aofWrite`). On failure: how many bytes did get written, and why.
fn aof_write(file: &mut File, buf: &[u8]) -> Result<(), (usize, String)> {
    let mut done = 0;
    while done < buf.len() {
        match file.write(&buf[done..]) {
            Ok(0) => return Err((done, "the file accepts no more bytes".into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err((done, e.to_string())),
        }
    }
    Ok(())
}

/// A write failed after `n` bytes (the error-handling half of
/// `flushAppendOnlyFile`). A partial command in the file would make it
/// unloadable, so the file is cut back to where it was; if that fails too,
/// the bytes that did land are dropped from the buffer instead. Under
/// `always` there is no way to keep the promise, and the server exits.
fn handle_write_error(aof: &mut Aof, file: &mut File, policy: AppendFsync, n: usize, why: String) {
    log::warning(&format!("Writing the AOF failed: {why}"));
    let mut kept = n;
    if n > 0 {
        match file.set_len(aof.incr_size) {
            Ok(()) => kept = 0,
            Err(e) => log::warning(&format!(
                "Could not cut the partial command off the AOF ({e}); keeping it"
            )),
        }
    }
    if policy == AppendFsync::Always {
        log::warning("A failed AOF write cannot be recovered under appendfsync always. Exiting.");
        std::process::exit(1);
    }
    aof.last_write_error = Some(why);
    aof.current_size += kept as u64;
    aof.incr_size += kept as u64;
    aof.buf.drain(..kept);
}

/// Flushes a file's data to the disk (mirror of `redis_fsync`, which is
/// `fdatasync` on Linux: the file's size is data, its times are not needed).
pub fn aof_fsync(file: &File) -> std::io::Result<()> {
    file.sync_data()
}

/// The part of serverCron that looks after the AOF: a flush postponed by a
/// slow fsync is retried, and after a failed write the buffer is retried
/// once a second (mirror of the AOF lines of `serverCron`).
pub fn aof_cron(server: &mut Server, every_second: bool) -> Option<FlushOutcome> {
    if !server.aof.on {
        return None;
    }
    let retry = server.aof.flush_postponed_start != 0
        || (every_second && server.aof.last_write_error.is_some());
    retry.then(|| flush_append_only_file(server, false))
}

/// At shutdown: write what is buffered without waiting and fsync it (the
/// AOF part of `prepareForShutdown`).
pub fn flush_for_shutdown(server: &mut Server) {
    if !server.aof.on {
        return;
    }
    flush_append_only_file(server, true);
    if let Some(file) = &server.aof.file
        && let Err(e) = aof_fsync(file)
    {
        log::warning(&format!("fsync of the AOF at shutdown failed: {e}"));
    }
}

// ---------------------------------------------------------------------------
// Turning the AOF on and off
// ---------------------------------------------------------------------------

/// Brings the running AOF in line with `config.appendonly`, for start-up
/// after loading and for `CONFIG SET appendonly` (mirror of
/// `updateAppendonly` → `startAppendOnly` / `stopAppendOnly`).
///
/// Turning it on with data present is where Redis forks a rewrite; we write
/// the current dataset as a new base file, in RESP commands, synchronously
/// in the loop (see [`load::rewrite_base`]), and open a new incremental
/// file after it. Turning it off flushes, fsyncs and closes the file.
///
/// While the data loads (CONFIG has the `loading` flag, so it is answered
/// then) nothing changes yet: a base written now would hold half the data.
/// The loader applies the setting once it is done.
pub fn apply_config(server: &mut Server) -> Result<(), String> {
    if server.loading {
        return Ok(());
    }
    match (server.config.appendonly, server.aof.on) {
        (true, false) => start_append_only(server),
        (false, true) => {
            stop_append_only(server);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Mirror of `startAppendOnly`: a fresh base with the dataset, a fresh
/// incremental file, a manifest naming them; the files of the previous
/// manifest, if any, are removed once the new one is in place.
fn start_append_only(server: &mut Server) -> Result<(), String> {
    const FAILED: &str = "Unable to turn on AOF. Check server logs.";
    let dir = aof_dir(server);
    let name = server.config.appendfilename.clone();
    let previous = Manifest::read(&dir, &name).ok().flatten();
    let seq = previous.as_ref().map_or(1, |m| m.next_seq());
    let mut base = Vec::new();
    load::rewrite_base(server, &mut base);
    let manifest = Manifest::create(&dir, &name, seq, &base).map_err(|e| {
        log::warning(&format!(
            "Could not create the AOF in {}: {e}",
            dir.display()
        ));
        FAILED.to_string()
    })?;
    if let Some(previous) = previous {
        previous.remove_files_not_in(&dir, &manifest);
    }
    open_incr(server, &manifest, base.len() as u64, 0).map_err(|()| FAILED.to_string())
}

/// Opens the manifest's last incremental file for appending and marks the
/// AOF on. `base_size` and `history_size` are the bytes of the base and of
/// the incremental files before the last one.
pub(crate) fn open_incr(
    server: &mut Server,
    manifest: &Manifest,
    base_size: u64,
    history_size: u64,
) -> Result<(), ()> {
    let Some(incr) = manifest.incrs.last() else {
        return Err(());
    };
    let path = aof_dir(server).join(&incr.0);
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| log::warning(&format!("Could not open the AOF {}: {e}", path.display())))?;
    let incr_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let aof = &mut server.aof;
    aof.incr_size = incr_len;
    aof.base_size = base_size;
    aof.current_size = base_size + history_size + incr_len;
    aof.fsync_offset = aof.current_size;
    aof.selected_db = None;
    aof.file = Some(file);
    aof.on = true;
    log_expired_keys(server, true);
    Ok(())
}

/// Mirror of `stopAppendOnly`: the last write, an fsync, the file closed.
fn stop_append_only(server: &mut Server) {
    flush_for_shutdown(server);
    let aof = &mut server.aof;
    aof.file = None;
    aof.on = false;
    aof.buf.clear();
    aof.pending.clear();
    aof.flush_postponed_start = 0;
    log_expired_keys(server, false);
}

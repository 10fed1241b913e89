//! Reading the AOF back at start-up, and writing a dataset as a base file
//! (mirror of `loadAppendOnlyFiles`, `loadSingleAppendOnlyFile` and
//! `rewriteAppendOnlyFileRio` in Redis's `aof.c`).
//!
//! Loading replays the files the manifest lists, base first, through a
//! *fake client*: a client with no connection whose commands run through
//! the same `call` as everybody's, so the dataset ends up exactly as the
//! commands left it. It happens in `load_data_from_disk`, after the
//! listener is registered and before the loop's first iteration. As in
//! Redis, clients are not kept waiting meanwhile: every 1024 commands the
//! loader runs a few loop iterations (`process_events_while_blocked`), so
//! a client can connect and ask; while `server.loading` is set, commands
//! that may not see a half-loaded dataset (PING, GET, SET, …) get `-LOADING`.
//!
//! Two ways a file can be damaged are told apart:
//! - **truncated**: the last command stops short, as when the machine died
//!   mid-write. The last file is cut back to its last complete command
//!   (and to before a MULTI that never got its EXEC), with a warning, and
//!   loading goes on: Redis's `aof-load-truncated yes`, its default.
//! - **corrupt**: bytes that are not a command. Start-up stops with a
//!   message naming the file and the byte offset, for a human to look at.

use std::net::SocketAddr;
use std::path::Path;

use super::manifest::Manifest;
use super::{aof_dir, cat_append_only_generic_command, open_incr};
use crate::ae::EventLoop;
use crate::server::call::Call;
use crate::server::client::{CLIENT_DENY_BLOCKING, CLIENT_MULTI, Client};
use crate::server::db::Value;
use crate::server::networking::WhileBlockedCaller;
use crate::server::{Server, log, multi, networking};

/// How a file failed to parse.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The bytes end inside a command.
    Truncated,
    /// Not a command at `offset`.
    Format { offset: usize, what: &'static str },
}

/// Reads RESP commands (arrays of bulk strings) from an AOF's bytes, the
/// subset of RESP the AOF uses; lines starting with `#` between commands are
/// annotations and skipped, as Redis does.
pub struct CommandReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// Redis refuses a bulk longer than 512 MB in a request; a length beyond
/// anything a file can hold is corruption, not a big value.
const MAX_AOF_BULK: usize = 1 << 40;

impl<'a> CommandReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        CommandReader { bytes, pos: 0 }
    }

    /// Offset just past the last complete command.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The next command, or `None` at a clean end of the bytes. On error the
    /// offset stays at the start of the bad command.
    pub fn next_command(&mut self) -> Result<Option<Vec<Vec<u8>>>, ReadError> {
        let mut at = self.pos;
        loop {
            if at >= self.bytes.len() {
                self.pos = at;
                return Ok(None);
            }
            if self.bytes[at] != b'#' {
                break;
            }
            at = self.line_end(at)?.1;
        }
        let start = at;
        let argc = self.number(&mut at, b'*', start)?;
        if argc < 1 {
            return Err(ReadError::Format {
                offset: start,
                what: "a command with no arguments",
            });
        }
        let mut argv = Vec::new();
        for _ in 0..argc {
            let len = self.number(&mut at, b'$', start)?;
            let end = at.checked_add(len).ok_or(ReadError::Format {
                offset: start,
                what: "a bulk length out of range",
            })?;
            let Some(arg) = self.bytes.get(at..end) else {
                return Err(ReadError::Truncated);
            };
            match self.bytes.get(end..end + 2) {
                Some(b"\r\n") => {}
                Some(_) => {
                    return Err(ReadError::Format {
                        offset: start,
                        what: "a bulk string not followed by CRLF",
                    });
                }
                None => return Err(ReadError::Truncated),
            }
            argv.push(arg.to_vec());
            at = end + 2;
        }
        self.pos = at;
        Ok(Some(argv))
    }

    /// The line starting at `from`: where its `\r\n` starts and the offset after it.
    fn line_end(&self, from: usize) -> Result<(usize, usize), ReadError> {
        let rest = self.bytes.get(from..).unwrap_or_default();
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => Ok((from + nl.saturating_sub(1), from + nl + 1)),
            None => Err(ReadError::Truncated),
        }
    }

    /// Reads a `<prefix><number>\r\n` line at `*at` and moves past it.
    fn number(&self, at: &mut usize, prefix: u8, start: usize) -> Result<usize, ReadError> {
        let what = if prefix == b'*' {
            "expected '*' and an argument count"
        } else {
            "expected '$' and a bulk length"
        };
        let bad = ReadError::Format {
            offset: start,
            what,
        };
        match self.bytes.get(*at) {
            None => return Err(ReadError::Truncated),
            Some(&b) if b != prefix => return Err(bad),
            Some(_) => {}
        }
        let (cr, next) = self.line_end(*at)?;
        let digits = self.bytes.get(*at + 1..cr).unwrap_or_default();
        if self.bytes.get(cr) != Some(&b'\r') || digits.is_empty() || digits.len() > 13 {
            return Err(bad);
        }
        let n = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|&n| n <= MAX_AOF_BULK)
            .ok_or(bad)?;
        *at = next;
        Ok(n)
    }
}

/// Loads the AOF at start-up when `appendonly` is on, then opens it for
/// appending (mirror of `loadAppendOnlyFiles` plus
/// `aofOpenIfNeededOnServerStart`). With no manifest yet, creates an empty
/// base, an empty incremental file and the manifest, as Redis 7 does on a
/// first start. An `Err` is the one-line reason start-up stops; `Ok(true)`
/// says there was data to load.
///
/// Between [`start_loading`](crate::server::start_loading) and
/// [`stop_loading`](crate::server::stop_loading) `server.loading` is set,
/// once for the base and all the incremental files, as in Redis. A
/// SHUTDOWN or SIGTERM served meanwhile stops the load where it is, with
/// `server.shutdown_requested` set and the AOF not opened.
pub fn load_append_only_files(
    el: &mut EventLoop<Server>,
    server: &mut Server,
) -> Result<bool, String> {
    if !server.config.appendonly {
        return Ok(false);
    }
    let dir = aof_dir(server);
    let name = server.config.appendfilename.clone();
    let manifest = match Manifest::read(&dir, &name)? {
        Some(m) => m,
        None => {
            let m = Manifest::create(&dir, &name, 1, b"")
                .map_err(|e| format!("Cannot create the AOF in {}: {e}", dir.display()))?;
            log::notice(&format!(
                "No AOF yet: created {} and {} in {}",
                m.base.as_ref().map_or("", |b| b.0.as_str()),
                m.incrs.last().map_or("", |i| i.0.as_str()),
                dir.display()
            ));
            return open_incr(server, &m, 0, 0)
                .map(|()| false)
                .map_err(|()| "Cannot open the AOF".to_string());
        }
    };
    let (total_size, (base_size, history)) = load_while_loading(el, server, &manifest, &dir)?;
    if server.shutdown_requested {
        return Ok(true);
    }
    open_incr(server, &manifest, base_size, history)
        .map_err(|()| "Cannot open the AOF".to_string())?;
    // A CONFIG SET appendonly no served while loading takes effect now.
    super::apply_config(server)?;
    Ok(total_size > 0)
}

/// Empties the databases and loads the AOF again while the server runs,
/// into the same open file (the `DEBUG LOADAOF` of Redis's `debug.c`:
/// flush the AOF buffer, `emptyData`, then `loadAppendOnlyFiles` on the
/// manifest read from disk). The loop is run from inside every 1024
/// commands, as at start-up, and meanwhile other clients get `-LOADING`.
///
/// With the AOF off, Redis 7.0.15 finds no file to load and exits the
/// whole server (`exit(1)`); loopscope refuses instead, so a tour is not
/// lost to a typo: that `Err` is the reply.
// anchor: aof.reload
pub fn reload_append_only_files(
    el: &mut EventLoop<Server>,
    server: &mut Server,
) -> Result<(), String> {
    if !server.aof.on {
        return Err(
            "DEBUG LOADAOF needs the AOF on (CONFIG SET appendonly yes): with nothing to load, Redis 7.0.15 would exit"
                .to_string(),
        );
    }
    super::flush_append_only_file(server, true);
    for db in &mut server.dbs {
        db.clear();
    }
    let dir = aof_dir(server);
    let name = server.config.appendfilename.clone();
    let manifest = Manifest::read(&dir, &name)?
        .ok_or_else(|| format!("The AOF manifest is gone from {}", dir.display()))?;
    load_while_loading(el, server, &manifest, &dir)?;
    super::apply_config(server)
}

/// Replays the manifest's files between `start_loading` and
/// `stop_loading`; returns what INFO's loading progress counted up to and
/// the sizes from [`load_manifest_files`].
fn load_while_loading(
    el: &mut EventLoop<Server>,
    server: &mut Server,
    manifest: &Manifest,
    dir: &Path,
) -> Result<(u64, (u64, u64)), String> {
    // Like `getBaseAndIncrAppendOnlyFilesSize`: what INFO's loading
    // progress counts up to. Files with nothing in them need no loading.
    let total_size: u64 = manifest
        .base
        .iter()
        .map(|b| b.0.as_str())
        .chain(manifest.incrs.iter().map(|i| i.0.as_str()))
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum();
    if total_size > 0 {
        crate::server::start_loading(server, total_size);
    }
    let loaded = load_manifest_files(el, server, manifest, dir);
    if server.loading {
        crate::server::stop_loading(server);
    }
    Ok((total_size, loaded?))
}

/// Replays the manifest's files in order, base first; returns the size of
/// the base and of the incremental files before the last one, which the
/// AOF's size accounting starts from.
fn load_manifest_files(
    el: &mut EventLoop<Server>,
    server: &mut Server,
    manifest: &Manifest,
    dir: &Path,
) -> Result<(u64, u64), String> {
    let mut c = fake_client().map_err(|e| format!("Cannot create the AOF client: {e}"))?;
    let mut sizes = Vec::new();
    let last = manifest.files().count().saturating_sub(1);
    let parts = manifest
        .base
        .iter()
        .map(|b| b.0.as_str())
        .chain(manifest.incrs.iter().map(|i| i.0.as_str()));
    for (n, file) in parts.enumerate() {
        if file.ends_with(".rdb") {
            return Err(format!(
                "The AOF base {file} is an RDB file, which this server cannot read"
            ));
        }
        sizes.push(load_single_append_only_file(
            el,
            server,
            &mut c,
            &dir.join(file),
            n == last,
        )?);
        if server.shutdown_requested {
            log::warning("Loading stopped: the server is shutting down");
            return Ok((0, 0));
        }
    }
    let base_size = if manifest.base.is_some() {
        sizes.first().copied().unwrap_or(0)
    } else {
        0
    };
    let incr_sizes: u64 = sizes.iter().sum::<u64>() - base_size;
    let history = incr_sizes - sizes.last().copied().unwrap_or(0).min(incr_sizes);
    Ok((base_size, history))
}

/// A client with no connection, to run the file's commands (mirror of
/// `createAOFClient`). It may not block: a blocking command in the file
/// answers at once, as inside MULTI.
fn fake_client() -> std::io::Result<Client> {
    // The client type owns a socket; this one is never read or written.
    let (unused, _) = std::os::unix::net::UnixStream::pair()?;
    let conn = mio::net::TcpStream::from_std(std::net::TcpStream::from(
        std::os::fd::OwnedFd::from(unused),
    ));
    let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
    let mut c = Client::new(0, -1, conn, nowhere, nowhere);
    c.flags |= CLIENT_DENY_BLOCKING;
    Ok(c)
}

/// Replays one file; returns its size after any truncation (mirror of
/// `loadSingleAppendOnlyFile`). Before the first command and then every
/// 1024 commands it updates the loading progress and serves the clients
/// (`processEventsWhileBlocked`); after a SHUTDOWN served there it stops.
// anchor: aof.load_single_append_only_file
fn load_single_append_only_file(
    el: &mut EventLoop<Server>,
    server: &mut Server,
    c: &mut Client,
    path: &Path,
    is_last: bool,
) -> Result<u64, String> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| format!("Cannot read the AOF file {shown}: {e}"))?;
    if bytes.is_empty() {
        return Ok(0);
    }
    let mut reader = CommandReader::new(&bytes);
    // Where the file was last outside a transaction: a MULTI cut short is
    // undone back to here.
    let mut before_multi = 0;
    let mut loops: u64 = 0;
    let mut last_progress_report_size = 0;
    loop {
        let start = reader.offset();
        // Serve the clients from time to time: at the first command, then
        // every 1024 (Redis's `if (!(loops++ % 1024))`).
        if loops.is_multiple_of(1024) {
            let delta = start as u64 - last_progress_report_size;
            crate::server::loading_incr_progress(server, delta);
            last_progress_report_size += delta;
            networking::process_events_while_blocked(el, server, WhileBlockedCaller::AofLoading);
            if server.shutdown_requested {
                return Ok(start as u64);
            }
        }
        loops += 1;
        let argv = match reader.next_command() {
            Ok(Some(argv)) => argv,
            Ok(None) if c.flags & CLIENT_MULTI != 0 => {
                return truncate(
                    path,
                    before_multi,
                    is_last,
                    "ends inside a MULTI with no EXEC",
                );
            }
            Ok(None) => {
                let rest = bytes.len() as u64 - last_progress_report_size;
                crate::server::loading_incr_progress(server, rest);
                return Ok(bytes.len() as u64);
            }
            Err(ReadError::Truncated) => {
                let keep = if c.flags & CLIENT_MULTI != 0 {
                    before_multi
                } else {
                    start
                };
                return truncate(
                    path,
                    keep,
                    is_last,
                    "ends in the middle of a command (short read)",
                );
            }
            Err(ReadError::Format { offset, what }) => {
                return Err(format!(
                    "Bad AOF file {shown} at byte offset {offset}: {what}; start-up stopped, the file was not changed"
                ));
            }
        };
        let Some(cmd) = server
            .commands
            .lookup(&argv)
            .filter(|cmd| cmd.accepts_argc(argv.len()))
        else {
            return Err(format!(
                "Bad AOF file {shown} at byte offset {start}: unknown command or wrong number of arguments '{}'",
                String::from_utf8_lossy(argv.first().map(Vec::as_slice).unwrap_or_default())
            ));
        };
        if cmd.name == "multi" {
            before_multi = start;
        }
        c.argv = argv;
        if c.flags & CLIENT_MULTI != 0 && !matches!(cmd.name, "exec" | "discard" | "multi") {
            multi::queue_multi_command(c, cmd);
        } else {
            // As Redis does, the procedure alone, not `call`: a loaded
            // command is not counted, not shown to monitors and not
            // propagated again.
            (cmd.proc_)(&mut Call { el, server, c });
        }
        c.reply.clear();
    }
}

/// A file that ends early: the last file is cut back to `keep` bytes and
/// loading goes on (Redis's `aof-load-truncated yes`); an earlier file
/// cannot be cut without losing what follows it, so that stops start-up.
fn truncate(path: &Path, keep: usize, is_last: bool, why: &str) -> Result<u64, String> {
    let shown = path.display();
    if !is_last {
        return Err(format!(
            "The AOF file {shown} {why} at byte offset {keep}, and it is not the last file: start-up stopped"
        ));
    }
    log::warning(&format!("!!! Warning: the AOF file {shown} {why} !!!"));
    log::warning(&format!(
        "!!! Cutting {shown} back to byte offset {keep}, after its last complete command !!!"
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(keep as u64).map(|()| f));
    match file {
        Ok(_) => {
            log::warning(&format!(
                "AOF {shown} loaded all the same, as aof-load-truncated allows"
            ));
            Ok(keep as u64)
        }
        Err(e) => Err(format!("Cannot cut the truncated AOF file {shown}: {e}")),
    }
}

/// Redis writes at most this many elements per command when it rewrites a
/// collection (`AOF_REWRITE_ITEMS_PER_CMD`).
const AOF_REWRITE_ITEMS_PER_CMD: usize = 64;

/// Appends commands that rebuild the whole dataset to `out`: per non-empty
/// database a SELECT, then per key one or more commands and its deadline
/// (mirror of `rewriteAppendOnlyFileRio`, with its command choices: SET,
/// RPUSH, SADD, HMSET in batches of 64, PEXPIREAT). Keys already expired
/// are left out.
pub fn rewrite_base(server: &Server, out: &mut Vec<u8>) {
    let now = crate::server::db::mstime_i64();
    for db in &server.dbs {
        if db.size() == 0 {
            continue;
        }
        cat_append_only_generic_command(out, &[b"SELECT".to_vec(), db.id.to_string().into_bytes()]);
        for (key, value, expire) in db.dict().iter() {
            if expire.is_some_and(|when| when < now) {
                continue;
            }
            let key = key.to_vec();
            match value {
                Value::String(v) => {
                    cat_append_only_generic_command(
                        out,
                        &[b"SET".to_vec(), key.clone(), v.to_vec()],
                    );
                }
                Value::List(list) => {
                    let items: Vec<Vec<u8>> = list.iter().map(|e| e.to_vec()).collect();
                    batches(out, b"RPUSH", &key, &items, 1);
                }
                Value::Set(set) => {
                    let items: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
                    batches(out, b"SADD", &key, &items, 1);
                }
                Value::Hash(hash) => {
                    let items: Vec<Vec<u8>> = hash
                        .iter()
                        .flat_map(|(f, v)| [f.to_vec(), v.to_vec()])
                        .collect();
                    batches(out, b"HMSET", &key, &items, 2);
                }
            }
            if let Some(when) = expire {
                cat_append_only_generic_command(
                    out,
                    &[b"PEXPIREAT".to_vec(), key, when.to_string().into_bytes()],
                );
            }
        }
    }
}

/// `name key item…` commands of at most 64 elements (`per` words each).
fn batches(out: &mut Vec<u8>, name: &[u8], key: &[u8], items: &[Vec<u8>], per: usize) {
    for chunk in items.chunks(AOF_REWRITE_ITEMS_PER_CMD * per) {
        let mut argv = vec![name.to_vec(), key.to_vec()];
        argv.extend(chunk.iter().cloned());
        cat_append_only_generic_command(out, &argv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<Vec<Vec<u8>>>, Result<(), ReadError>, usize) {
        let mut r = CommandReader::new(bytes);
        let mut out = Vec::new();
        loop {
            match r.next_command() {
                Ok(Some(argv)) => out.push(argv),
                Ok(None) => return (out, Ok(()), r.offset()),
                Err(e) => return (out, Err(e), r.offset()),
            }
        }
    }

    #[test]
    fn reads_commands_and_skips_annotations() {
        let bytes =
            b"#TS:1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$0\r\n\r\n";
        let (cmds, end, at) = read_all(bytes);
        assert_eq!(end, Ok(()));
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[1], vec![b"set".to_vec(), b"a".to_vec(), Vec::new()]);
        assert_eq!(at, bytes.len());
    }

    #[test]
    fn tells_truncation_from_corruption() {
        let good = b"*1\r\n$4\r\nPING\r\n";
        for cut in 1..good.len() {
            let mut bytes = good.to_vec();
            bytes.extend_from_slice(&good[..cut]);
            let (cmds, end, at) = read_all(&bytes);
            assert_eq!(
                (cmds.len(), end, at),
                (1, Err(ReadError::Truncated), good.len()),
                "cut {cut}"
            );
        }
        for bad in [
            &b"*1\r\n$4\r\nPING\r\nxyz\r\n"[..],
            b"*1\r\n$4\r\nPINGxx",
            b"*0\r\n",
            b"*1\r\n%4\r\nPING\r\n",
            b"*-1\r\n",
            b"*99999999999999999\r\n",
        ] {
            let (_, end, _) = read_all(bad);
            assert!(
                matches!(end, Err(ReadError::Format { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let (_, end, _) = read_all(b"*1\r\n$4\r\nPING\r\nxyz\r\n");
        assert_eq!(
            end,
            Err(ReadError::Format {
                offset: 14,
                what: "expected '*' and an argument count"
            })
        );
    }

    #[test]
    fn rewrite_writes_what_reloads_to_the_same_data() {
        use crate::server::cmd::test_support::{client, run_str, server};
        let mut s = server();
        let (mut c, _peer) = client(&mut s);
        for line in [
            "set a 1",
            "rpush l x y z",
            "sadd s m",
            "hset h f v",
            "set t v px 100000",
            "select 2",
            "set z 9",
        ] {
            run_str(&mut s, &mut c, line);
        }
        let mut out = Vec::new();
        rewrite_base(&s, &mut out);
        let (cmds, end, _) = read_all(&out);
        assert_eq!(end, Ok(()));
        let text: Vec<String> = cmds
            .iter()
            .map(|a| String::from_utf8_lossy(&a.join(&b' ')).into_owned())
            .collect();
        assert_eq!(text[0], "SELECT 0");
        for want in [
            "SET a 1",
            "RPUSH l x y z",
            "SADD s m",
            "HMSET h f v",
            "SET t v",
            "SELECT 2",
            "SET z 9",
        ] {
            assert!(
                text.iter().any(|t| t == want),
                "{want} missing from {text:?}"
            );
        }
        assert!(
            text.iter().any(|t| t.starts_with("PEXPIREAT t ")),
            "{text:?}"
        );
    }
}

//! Annotated source excerpts: our own running code, and where Redis does the same.
//!
//! The build embeds every file of `src/` (see `build.rs`), so the excerpt shown
//! next to a probe is always the code that is running, even far from the
//! repository. Two ways lead into it:
//!
//! - **Probe sites.** Each trace event names the file and line of its probe;
//!   [`excerpt`] cuts a window around it and finds the enclosing function.
//! - **Anchors.** Stable names for places in the code, written as comments
//!   (`// anchor: ae.poll`) right above the line they mark. Chapters and the UI
//!   refer to anchors, never to line numbers, so editing the code never breaks a
//!   chapter. [`ANCHORS`] gives each one a note and the Redis function it mirrors,
//!   with a permalink into Redis's repository. No Redis code is stored here;
//!   `--redis-src DIR` reads the function from the user's own checkout
//!   (see [`redis`]).

pub mod highlight;
pub mod redis;
pub mod redis_map;

use redis_map::redis_7_0_15;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_sources.rs"));
}

/// The marker that starts an anchor comment.
pub const ANCHOR_MARKER: &str = "// anchor: ";

/// A Redis function, pinned to a commit so the link never drifts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedisRef {
    pub function: &'static str,
    /// Path inside the Redis repository, e.g. `src/ae.c`.
    pub file: &'static str,
    pub commit: &'static str,
    pub first_line: u32,
    pub last_line: u32,
}

/// Redis 7.0.15, the Debian server loopscope is compared against (BSD licensed).
pub const REDIS_7_0_15: &str = "f35f36a265403c07b119830aa4bb3b7d71653ec9";

impl RedisRef {
    /// `https://github.com/redis/redis/blob/<commit>/<file>#L<a>-L<b>`.
    pub fn permalink(&self) -> String {
        format!(
            "https://github.com/redis/redis/blob/{}/{}#L{}-L{}",
            self.commit, self.file, self.first_line, self.last_line
        )
    }
}

/// What an anchor means: a one-line note and the Redis counterpart.
#[derive(Clone, Copy, Debug)]
pub struct AnchorInfo {
    pub name: &'static str,
    /// Our function that holds the anchor.
    pub function: &'static str,
    pub note: &'static str,
    pub redis: RedisRef,
}

const fn anchor(
    name: &'static str,
    function: &'static str,
    note: &'static str,
    redis: RedisRef,
) -> AnchorInfo {
    AnchorInfo {
        name,
        function,
        note,
        redis,
    }
}

/// Every anchor, in reading order: the loop first, then a command's life.
pub static ANCHORS: &[AnchorInfo] = &[
    anchor(
        "ae.create_event_loop",
        "create",
        "Allocate events[] and fired[] for fds 0..setsize, and the poller.",
        redis_7_0_15("aeCreateEventLoop"),
    ),
    anchor(
        "ae.create_file_event",
        "create_file_event",
        "Add interest in READABLE/WRITABLE on an fd; masks accumulate; maxfd grows.",
        redis_7_0_15("aeCreateFileEvent"),
    ),
    anchor(
        "ae.delete_file_event",
        "delete_file_event",
        "Drop interest; removing WRITABLE drops BARRIER; maxfd scans down.",
        redis_7_0_15("aeDeleteFileEvent"),
    ),
    anchor(
        "ae.create_time_event",
        "create_time_event",
        "A timer with the next id, due in ms milliseconds, linked at the head.",
        redis_7_0_15("aeCreateTimeEvent"),
    ),
    anchor(
        "ae.delete_time_event",
        "delete_time_event",
        "Deleting a timer only marks it; the timer pass unlinks it later.",
        redis_7_0_15("aeDeleteTimeEvent"),
    ),
    anchor(
        "ae.process_events",
        "process_events",
        "One turn of the loop: beforeSleep, poll, afterSleep, file events, time events.",
        redis_7_0_15("aeProcessEvents"),
    ),
    anchor(
        "ae.poll",
        "process_events",
        "Sleep in the kernel until an fd is ready or the nearest timer is due.",
        redis_7_0_15("aeApiPoll"),
    ),
    anchor(
        "ae.still_ready",
        "collect_still_ready",
        "Our level-trigger emulation: fds whose handler left data behind are fired again without sleeping.",
        redis_7_0_15("aeSetDontWait (its closest relative in Redis)"),
    ),
    anchor(
        "ae.dispatch_fired",
        "dispatch_fired",
        "Run each fired fd's handlers: read before write, unless BARRIER inverts it.",
        redis_7_0_15("aeProcessEvents (fired loop)"),
    ),
    anchor(
        "ae.process_time_events",
        "process_time_events",
        "Run due timers, newest first; reschedule by their return value or drop them.",
        redis_7_0_15("processTimeEvents"),
    ),
    anchor(
        "ae.main",
        "main",
        "Turn the loop until someone calls stop.",
        redis_7_0_15("aeMain"),
    ),
    anchor(
        "server.init_server",
        "init_server",
        "Create the loop with maxclients + 128 slots, listen, register accept and serverCron.",
        redis_7_0_15("initServer"),
    ),
    anchor(
        "server.load_data_from_disk",
        "load_data_from_disk",
        "After the listener is live: load the AOF, serving clients every 1024 commands.",
        redis_7_0_15("loadDataFromDisk"),
    ),
    anchor(
        "aof.load_single_append_only_file",
        "load_single_append_only_file",
        "Replay one AOF file through a fake client; every 1024 commands, run the loop a little.",
        redis_7_0_15("loadSingleAppendOnlyFile"),
    ),
    anchor(
        "net.process_events_while_blocked",
        "process_events_while_blocked",
        "Up to 4 file-event iterations that never wait, from inside the loader; no timers.",
        redis_7_0_15("processEventsWhileBlocked"),
    ),
    anchor(
        "server.before_sleep_while_blocked",
        "before_sleep_while_blocked",
        "beforeSleep while blocked: only the AOF flush, the replies and the clients to free.",
        redis_7_0_15("beforeSleep"),
    ),
    anchor(
        "server.while_blocked_cron",
        "while_blocked_cron",
        "serverCron's stand-in while blocked: count cron loops; SIGTERM during loading stops.",
        redis_7_0_15("whileBlockedCron"),
    ),
    anchor(
        "server.before_sleep",
        "before_sleep",
        "Last work before sleeping: write the AOF, then pending replies, free closed clients.",
        redis_7_0_15("beforeSleep"),
    ),
    anchor(
        "blocked.block_for_keys",
        "block_for_keys",
        "Nothing to pop: park the client in each key's line of waiters, with its deadline; no reply now.",
        redis_7_0_15("blockForKeys"),
    ),
    anchor(
        "db.signal_key_as_ready",
        "signal_key_as_ready",
        "A key someone waits for got data: queue it once in ready_keys.",
        redis_7_0_15("signalKeyAsReady"),
    ),
    anchor(
        "blocked.handle_clients_blocked_on_keys",
        "handle_clients_blocked_on_keys",
        "Serve the clients waiting on each ready key, first come first served.",
        redis_7_0_15("handleClientsBlockedOnKeys"),
    ),
    anchor(
        "blocked.process_unblocked_clients",
        "process_unblocked_clients",
        "In beforeSleep: clients whose wait ended go on with the input they sent meanwhile.",
        redis_7_0_15("processUnblockedClients"),
    ),
    anchor(
        "blocked.handle_blocked_clients_timeout",
        "handle_blocked_clients_timeout",
        "First job of beforeSleep: answer every client whose deadline passed, earliest first.",
        redis_7_0_15("handleBlockedClientsTimeout"),
    ),
    anchor(
        "pubsub.subscribe_channel",
        "subscribe_channel",
        "Add the client to the channel's subscribers and confirm; the client now only listens.",
        redis_7_0_15("pubsubSubscribeChannel"),
    ),
    anchor(
        "pubsub.publish_message",
        "pubsub_publish_message",
        "One PUBLISH: a reply queued on every subscriber of the channel and of matching patterns.",
        redis_7_0_15("pubsubPublishMessage"),
    ),
    anchor(
        "monitor.feed_monitors",
        "replication_feed_monitors",
        "Every command, as a line queued on every MONITOR client.",
        redis_7_0_15("replicationFeedMonitors"),
    ),
    anchor(
        "db.expire_if_needed",
        "expire_if_needed",
        "Every lookup checks the key's deadline first: a key past it is deleted right there.",
        redis_7_0_15("expireIfNeeded"),
    ),
    anchor(
        "server.server_cron",
        "server_cron",
        "The heartbeat, hz times a second: client timeouts, stats, expiry, shutdown.",
        redis_7_0_15("serverCron"),
    ),
    anchor(
        "net.accept_tcp_handler",
        "accept_tcp_handler",
        "The listener is readable: accept up to 1000 connections.",
        redis_7_0_15("acceptTcpHandler"),
    ),
    anchor(
        "net.create_client",
        "create_client",
        "TCP_NODELAY, keepalive, and register the fd READABLE with the read handler.",
        redis_7_0_15("createClient"),
    ),
    anchor(
        "net.read_query_from_client",
        "read_query_from_client",
        "One read (16 KiB, or the buffer's free space, or a big argument's rest), then parse and run it.",
        redis_7_0_15("readQueryFromClient"),
    ),
    anchor(
        "net.process_input_buffer",
        "process_input_buffer",
        "Parse every complete request in the buffer and run each one.",
        redis_7_0_15("processInputBuffer"),
    ),
    anchor(
        "server.process_command",
        "process_command",
        "Look the command up, check its arity, run it.",
        redis_7_0_15("processCommand"),
    ),
    anchor(
        "server.call",
        "call",
        "Run the command's function and count it.",
        redis_7_0_15("call"),
    ),
    anchor(
        "net.add_reply",
        "add_reply_bulk",
        "A reply is appended to the client's buffer; nothing touches the socket yet.",
        redis_7_0_15("addReply"),
    ),
    anchor(
        "net.put_client_in_pending_write_queue",
        "put_client_in_pending_write_queue",
        "The first reply queues the client for beforeSleep; nothing is written yet.",
        redis_7_0_15("putClientInPendingWriteQueue"),
    ),
    anchor(
        "net.protect_client",
        "protect_client",
        "A client whose command runs the loop from inside: its handlers are removed meanwhile.",
        redis_7_0_15("protectClient"),
    ),
    anchor(
        "net.unprotect_client",
        "unprotect_client",
        "The read handler again, and the client queued if replies wait.",
        redis_7_0_15("unprotectClient"),
    ),
    anchor(
        "aof.reload",
        "reload_append_only_files",
        "DEBUG LOADAOF: empty the data and load the AOF again, serving clients every 1024 commands.",
        redis_7_0_15("loadAppendOnlyFiles"),
    ),
    anchor(
        "net.handle_clients_with_pending_writes",
        "handle_clients_with_pending_writes",
        "In beforeSleep: write each queued reply directly, no writable event needed.",
        redis_7_0_15("handleClientsWithPendingWrites"),
    ),
    anchor(
        "aof.feed",
        "feed_append_only_file",
        "A write command, turned back into RESP, joins the AOF buffer: memory only, no disk yet.",
        redis_7_0_15("feedAppendOnlyFile"),
    ),
    anchor(
        "aof.flush",
        "flush_append_only_file",
        "beforeSleep writes the AOF buffer (and fsyncs under always) before any reply leaves.",
        redis_7_0_15("flushAppendOnlyFile"),
    ),
    anchor(
        "net.install_client_write_handler",
        "install_client_write_handler",
        "The reply did not fit: now, and only now, wait for WRITABLE.",
        redis_7_0_15("installClientWriteHandler"),
    ),
    anchor(
        "net.write_to_client",
        "write_to_client",
        "Write up to 64 KiB; when drained, remove the write handler.",
        redis_7_0_15("writeToClient"),
    ),
    anchor(
        "net.send_reply_to_client",
        "send_reply_to_client",
        "The writable handler: continue writing a big reply.",
        redis_7_0_15("sendReplyToClient"),
    ),
    anchor(
        "net.free_clients_in_async_free_queue",
        "free_clients_in_async_free_queue",
        "Close the clients marked for closing, after their replies went out.",
        redis_7_0_15("freeClientsInAsyncFreeQueue"),
    ),
    anchor(
        "net.free_client",
        "free_client",
        "Unregister the fd from the loop, then close the socket.",
        redis_7_0_15("connSocketClose (called by freeClient)"),
    ),
    anchor(
        "expire.active_expire_cycle",
        "active_expire_cycle",
        "Sample keys with a TTL and delete the expired ones, within a time budget.",
        redis_7_0_15("activeExpireCycle"),
    ),
];

/// The text of an embedded source file (`src/ae/mod.rs`, …).
pub fn file(path: &str) -> Option<&'static str> {
    embedded::EMBEDDED
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// All embedded files as `(path, text)`.
pub fn files() -> &'static [(&'static str, &'static str)] {
    embedded::EMBEDDED
}

/// Where an anchor comment sits in the embedded sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorSite {
    pub name: String,
    pub file: &'static str,
    /// 1-based line the anchor marks: the first line after the comment.
    pub line: u32,
}

/// Every `// anchor: name` comment in the embedded sources, in file order.
/// The sources are part of the binary, so they are scanned only once: every
/// viewer's hello and every new source pane asks for the anchors.
pub fn anchor_sites() -> Vec<AnchorSite> {
    static SITES: std::sync::OnceLock<Vec<AnchorSite>> = std::sync::OnceLock::new();
    SITES
        .get_or_init(|| {
            let mut out = Vec::new();
            for (path, text) in files() {
                for (i, line) in text.lines().enumerate() {
                    let trimmed = line.trim_start();
                    if let Some(name) = trimmed.strip_prefix(ANCHOR_MARKER) {
                        out.push(AnchorSite {
                            name: name.trim().to_string(),
                            file: path,
                            line: i as u32 + 2,
                        });
                    }
                }
            }
            out
        })
        .clone()
}

/// The metadata of the anchor `name`.
pub fn anchor_info(name: &str) -> Option<&'static AnchorInfo> {
    ANCHORS.iter().find(|a| a.name == name)
}

/// Finds where the anchor `name` is in the code.
pub fn find_anchor(name: &str) -> Option<AnchorSite> {
    anchor_sites().into_iter().find(|a| a.name == name)
}

/// A function in a source file: its name and its first and last lines (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpan {
    pub name: String,
    pub first_line: u32,
    pub last_line: u32,
}

/// The innermost function whose body contains `line`, found by scanning
/// for `fn` items and matching their braces (ignoring braces inside strings
/// and comments).
pub fn enclosing_function(text: &str, line: u32) -> Option<FunctionSpan> {
    let lines: Vec<&str> = text.lines().collect();
    let mut best: Option<FunctionSpan> = None;
    for (i, l) in lines.iter().enumerate() {
        let Some(name) = fn_name(l) else { continue };
        let first = i as u32 + 1;
        if first > line {
            break;
        }
        if let Some(last) = body_end(&lines, i)
            && last >= line
            && best.as_ref().is_none_or(|b| first >= b.first_line)
        {
            best = Some(FunctionSpan {
                name,
                first_line: first,
                last_line: last,
            });
        }
    }
    best
}

/// The name of the function declared on this line, if it declares one.
fn fn_name(line: &str) -> Option<String> {
    let code = line.split("//").next()?.trim_start();
    let idx = code.find("fn ")?;
    let before = &code[..idx];
    let allowed = [
        "pub",
        "pub(crate)",
        "pub(super)",
        "const",
        "unsafe",
        "async",
        "extern",
        "\"C\"",
    ];
    if !before.split_whitespace().all(|w| allowed.contains(&w)) {
        return None;
    }
    let name: String = code[idx + 3..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The 1-based line holding the brace that closes the body opened at or after
/// line index `start` (0-based), or None for a declaration without a body.
fn body_end(lines: &[&str], start: usize) -> Option<u32> {
    let mut depth = 0i32;
    let mut opened = false;
    let mut state = highlight::LexState::default();
    for (i, l) in lines.iter().enumerate().skip(start) {
        for tok in highlight::tokenize(l, &mut state) {
            if tok.kind != highlight::Kind::Punct {
                continue;
            }
            for ch in tok.text.chars() {
                match ch {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            return Some(i as u32 + 1);
                        }
                    }
                    ';' if !opened && depth == 0 => return None,
                    _ => {}
                }
            }
        }
    }
    None
}

/// A window of a source file around one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excerpt {
    pub file: &'static str,
    /// The highlighted line (1-based).
    pub line: u32,
    pub function: Option<FunctionSpan>,
    /// `(line number, text)` for each line in the window.
    pub lines: Vec<(u32, &'static str)>,
}

/// Cuts up to `height` lines of `file` around `line`.
pub fn excerpt(file: &str, line: u32, height: usize) -> Option<Excerpt> {
    let (path, text) = files().iter().find(|(p, _)| *p == file)?;
    let all: Vec<&'static str> = text.lines().collect();
    if line == 0 || line as usize > all.len() || height == 0 {
        return None;
    }
    let function = enclosing_function(text, line);
    let height = height as u32;
    // A function that fits is shown whole, with two thirds of the spare room
    // above it (where its doc comment is); otherwise the line sits a third down.
    let mut first = match &function {
        Some(f) if f.last_line - f.first_line < height => {
            let spare = height - (f.last_line - f.first_line + 1);
            f.first_line.saturating_sub(spare - spare / 3).max(1)
        }
        _ => line.saturating_sub(height / 3).max(1),
    };
    let last = (first + height - 1).min(all.len() as u32);
    if last - first + 1 < height {
        first = last.saturating_sub(height - 1).max(1);
    }
    let lines = (first..=last).map(|n| (n, all[n as usize - 1])).collect();
    Some(Excerpt {
        file: path,
        line,
        function,
        lines,
    })
}

#[cfg(test)]
mod tests;

/// The text `loopscope source ANCHOR` prints: where the anchor is, the
/// enclosing function with the anchored line marked, the note, and the Redis
/// counterpart (read from `redis_src` when given). ANSI colours when `color`.
pub fn describe_anchor(
    name: &str,
    redis_src: Option<&std::path::Path>,
    color: bool,
) -> Result<String, String> {
    let info = anchor_info(name)
        .ok_or_else(|| format!("no anchor named `{name}`; `loopscope source --list` lists them"))?;
    let site = find_anchor(name)
        .ok_or_else(|| format!("anchor `{name}` is not in the embedded sources"))?;
    let text = file(site.file).unwrap_or_default();
    let height = enclosing_function(text, site.line)
        .map_or(30, |f| (f.last_line - f.first_line + 1 + 6).min(60));
    let ex = excerpt(site.file, site.line, height as usize)
        .ok_or_else(|| format!("cannot cut an excerpt at {}:{}", site.file, site.line))?;
    let mut out = String::new();
    let func = ex
        .function
        .as_ref()
        .map_or(String::new(), |f| format!(" in {}()", f.name));
    out.push_str(&format!("{name} — {}:{}{func}\n\n", site.file, site.line));
    let mut state = highlight::LexState::default();
    for (n, text) in &ex.lines {
        let marker = if *n == site.line { '>' } else { ' ' };
        out.push_str(&format!(
            "{marker}{n:5} │ {}\n",
            paint(text, &mut state, color)
        ));
    }
    out.push_str(&format!("\n{}\n", info.note));
    out.push_str(&format!(
        "Redis: {} ({})\n       {}\n",
        info.redis.function,
        info.redis.file,
        info.redis.permalink()
    ));
    if let Some(dir) = redis_src {
        match redis::find_function(dir, &info.redis) {
            Ok(f) => {
                out.push_str(&format!("\nFrom {}:\n", f.path));
                let mut state = highlight::LexState::default();
                for (i, text) in f.lines.iter().enumerate() {
                    out.push_str(&format!(
                        " {:5} │ {}\n",
                        f.first_line as usize + i,
                        paint(text, &mut state, color)
                    ));
                }
            }
            Err(e) => out.push_str(&format!("\n--redis-src: {e}\n")),
        }
    }
    Ok(out)
}

/// The `loopscope source --list` table: each anchor, where it is, what it mirrors.
pub fn list_anchors() -> String {
    let mut out = String::new();
    for info in ANCHORS {
        let place = find_anchor(info.name).map_or("(missing)".to_string(), |s| {
            format!("{}:{}", s.file, s.line)
        });
        out.push_str(&format!(
            "{:42} {:28} {}\n",
            info.name, place, info.redis.function
        ));
        out.push_str(&format!("{:42} {}\n", "", info.redis.permalink()));
    }
    out
}

/// Colours one line with ANSI escapes (or returns it as is).
fn paint(line: &str, state: &mut highlight::LexState, color: bool) -> String {
    let tokens = highlight::tokenize(line, state);
    if !color {
        return line.to_string();
    }
    let mut out = String::new();
    for t in tokens {
        let code = match t.kind {
            highlight::Kind::Keyword => Some("35"),
            highlight::Kind::String => Some("32"),
            highlight::Kind::Comment => Some("2"),
            highlight::Kind::Number => Some("33"),
            _ => None,
        };
        match code {
            Some(c) => out.push_str(&format!("\x1b[{c}m{}\x1b[0m", t.text)),
            None => out.push_str(t.text),
        }
    }
    out
}

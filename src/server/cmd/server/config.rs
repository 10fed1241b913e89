//! `CONFIG GET`, `CONFIG SET`, `CONFIG RESETSTAT`, `CONFIG HELP`: reading and
//! changing settings while the server runs (the mirror of Redis's `config.c`).
//!
//! Each parameter is a row of [`PARAMS`]: its name, how to read its current
//! value, and whether and how `CONFIG SET` may change it. Some changes take
//! effect at once because the loop reads the setting every time: `hz` sets
//! how often serverCron runs (the loop computes the next timer from it), and
//! `timeout` is checked by the client cron on each pass.
//!
//! `CONFIG SET` is all or nothing, like Redis's: every name is checked, then
//! every value is parsed, and only then are the new values applied; if one
//! cannot be applied the old settings come back.

use super::super::{Arg, ArgKind, RedisCommand, container_proc};
use super::server_command;
use crate::server::call::Call;
use crate::server::client::Client;
use crate::server::networking::{ClientBufferLimit, ClientClass};
use crate::server::util::{c_str_prefix, is_c_space, memtoull, string_match, string2ll};
use crate::server::{Config, Server, Stats, aof};

/// Redis's `CONFIG_MIN_HZ` and `CONFIG_MAX_HZ`: `hz` is clamped to this range.
const HZ_RANGE: std::ops::RangeInclusive<i64> = 1..=500;

/// File descriptors kept for the server's own use beyond one per client
/// (Redis's `CONFIG_MIN_RESERVED_FDS`), when sizing the open-files limit.
const MIN_RESERVED_FDS: u64 = 32;

/// How `CONFIG SET` treats a parameter.
enum Setter {
    /// Fixed while the server runs.
    Immutable,
    /// An integer in `min..=max`. `memory` parameters also take units
    /// (`1mb`, `2gb`). `apply` stores the value and makes it take effect.
    Number {
        min: i64,
        max: i64,
        memory: bool,
        apply: fn(&mut Server, i64) -> Result<(), String>,
    },
    /// Describes something this server cannot change, so only the value it
    /// already has is accepted (a no-op): test suites commonly switch
    /// persistence off with `CONFIG SET save ""`, which is true here anyway.
    /// `check` says why any other value is refused.
    OnlyCurrent {
        check: fn(&[u8]) -> Result<(), &'static str>,
    },
    /// Refused like Redis refuses a `PROTECTED_CONFIG` while
    /// `enable-protected-configs` is `no` (its default): `dir`.
    Protected,
    /// A value with a syntax of its own. `apply` parses it into the settings
    /// it is given, or says why it cannot; it is tried on a copy first.
    Text {
        apply: fn(&mut Config, &[u8]) -> Result<(), String>,
    },
}

/// Parses `client-output-buffer-limit`: groups of four words, `class hard
/// soft soft-seconds`, for any of the classes `normal`, `replica` (or
/// `slave`) and `pubsub`; the classes not named keep their limits. The
/// sizes take units (`32mb`). Like Redis, an empty value changes nothing,
/// and a wrong group refuses the whole value (mirror of
/// `setConfigClientOutputBufferLimitOption`).
fn apply_client_output_buffer_limit(config: &mut Config, value: &[u8]) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    let words: Vec<&[u8]> = value.split(|&b| b == b' ').collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    let mut limits = config.client_obuf_limits;
    for group in words.chunks_exact(4) {
        let class = match group[0].to_ascii_lowercase().as_slice() {
            b"normal" => ClientClass::Normal,
            b"replica" | b"slave" => ClientClass::Replica,
            b"pubsub" => ClientClass::PubSub,
            _ => {
                return Err(
                    "Invalid client class specified in buffer limit configuration.".to_string(),
                );
            }
        };
        let seconds = strtoll_as_int(group[3]).filter(|&s| s >= 0);
        let (Some(hard), Some(soft), Some(seconds)) =
            (memtoull(group[1]), memtoull(group[2]), seconds)
        else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                    .to_string(),
            );
        };
        limits[class as usize] = ClientBufferLimit {
            hard,
            soft,
            soft_seconds: seconds.unsigned_abs().into(),
        };
    }
    config.client_obuf_limits = limits;
    Ok(())
}

/// C's `(int) strtoll(s, &end, 10)` where every byte must be consumed:
/// leading blanks and a sign are fine, the empty string is 0, values beyond
/// 64 bits saturate and the conversion to `int` keeps the low 32 bits.
fn strtoll_as_int(s: &[u8]) -> Option<i32> {
    let text = std::str::from_utf8(s).ok()?;
    let trimmed = text.trim_start_matches(|ch: char| ch.is_ascii() && is_c_space(ch as u8));
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() {
        // Nothing converted: strtoll leaves `end` at the start, which is the
        // end of the string only when the string is empty.
        return s.is_empty().then_some(0);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<u64>().unwrap_or(u64::MAX);
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude).unwrap_or(i64::MIN)
    } else {
        i64::try_from(magnitude).unwrap_or(i64::MAX)
    };
    Some(value as i32)
}

/// `client-output-buffer-limit` as `CONFIG GET` shows it.
fn client_output_buffer_limit_text(server: &Server) -> String {
    ClientClass::ALL
        .iter()
        .map(|&class| {
            let l = server.config.client_obuf_limits[class as usize];
            format!("{} {} {} {}", class.name(), l.hard, l.soft, l.soft_seconds)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why snapshot (RDB) settings cannot be turned on: only the AOF persists.
const NO_DISK: &str = "loopscope keeps no RDB snapshots on disk (use appendonly)";

/// `save ""` is accepted; well-formed save points (pairs of integers) are
/// refused because nothing is ever saved; anything else gets Redis's error.
fn check_save(value: &[u8]) -> Result<(), &'static str> {
    if value.is_empty() {
        return Ok(());
    }
    let words: Vec<&[u8]> = value
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .collect();
    let numbers = words
        .iter()
        .all(|w| std::str::from_utf8(w).is_ok_and(|w| w.parse::<i64>().is_ok()));
    if words.is_empty() || words.len() % 2 == 1 || !numbers {
        Err("Invalid save parameters")
    } else {
        Err(NO_DISK)
    }
}

/// Redis's error for a boolean setting given something else.
const YES_NO_ERROR: &str = "argument must be 'yes' or 'no'";

/// One configuration parameter (mirror of Redis's `standardConfig`).
struct Param {
    name: &'static str,
    /// The value as `CONFIG GET` shows it.
    get: fn(&Server) -> String,
    set: Setter,
}

/// The parameters we have. Values describe what this server really does:
/// `save` is empty because no RDB snapshot is ever written (persistence is
/// the AOF's job), and `maxmemory` is 0 (no limit) because nothing is ever
/// evicted.
const PARAMS: &[Param] = &[
    Param {
        name: "save",
        get: |_| String::new(),
        set: Setter::OnlyCurrent { check: check_save },
    },
    Param {
        name: "enable-debug-command",
        get: |s| s.config.enable_debug_command.name().to_string(),
        set: Setter::Immutable,
    },
    Param {
        name: "appendonly",
        get: |s| yes_no(s.config.appendonly).to_string(),
        set: Setter::Text {
            apply: apply_appendonly,
        },
    },
    Param {
        name: "appendfsync",
        get: |s| s.config.appendfsync.name().to_string(),
        set: Setter::Text {
            apply: apply_appendfsync,
        },
    },
    Param {
        name: "appendfilename",
        get: |s| s.config.appendfilename.clone(),
        set: Setter::Immutable,
    },
    Param {
        name: "appenddirname",
        get: |_| aof::DEFAULT_APPENDDIRNAME.to_string(),
        set: Setter::Immutable,
    },
    Param {
        name: "dir",
        get: |s| {
            std::fs::canonicalize(&s.config.dir)
                .unwrap_or_else(|_| s.config.dir.clone())
                .display()
                .to_string()
        },
        set: Setter::Protected,
    },
    Param {
        name: "bind",
        get: |s| s.config.bind.clone(),
        set: Setter::Immutable,
    },
    Param {
        name: "port",
        get: |s| s.local_addr.port().to_string(),
        set: Setter::Immutable,
    },
    Param {
        name: "databases",
        get: |s| s.dbs.len().to_string(),
        set: Setter::Immutable,
    },
    Param {
        name: "hz",
        get: |s| s.config.hz.to_string(),
        set: Setter::Number {
            min: 0,
            max: i32::MAX as i64,
            memory: false,
            apply: apply_hz,
        },
    },
    Param {
        name: "maxclients",
        get: |s| s.config.maxclients.to_string(),
        set: Setter::Number {
            min: 1,
            max: u32::MAX as i64,
            memory: false,
            apply: apply_maxclients,
        },
    },
    Param {
        name: "timeout",
        get: |s| s.config.timeout.to_string(),
        set: Setter::Number {
            min: 0,
            max: i32::MAX as i64,
            memory: false,
            apply: apply_timeout,
        },
    },
    Param {
        name: "proto-max-bulk-len",
        get: |s| s.config.proto_max_bulk_len.to_string(),
        set: Setter::Number {
            min: 1024 * 1024,
            max: i64::MAX,
            memory: true,
            apply: apply_proto_max_bulk_len,
        },
    },
    Param {
        name: "client-query-buffer-limit",
        get: |s| s.config.client_query_buffer_limit.to_string(),
        set: Setter::Number {
            min: 1024 * 1024,
            max: i64::MAX,
            memory: true,
            apply: apply_query_buffer_limit,
        },
    },
    Param {
        name: "client-output-buffer-limit",
        get: client_output_buffer_limit_text,
        set: Setter::Text {
            apply: apply_client_output_buffer_limit,
        },
    },
    Param {
        name: "requirepass",
        get: |s| String::from_utf8_lossy(&s.config.requirepass).into_owned(),
        set: Setter::Text {
            apply: apply_requirepass,
        },
    },
    Param {
        name: "protected-mode",
        get: |s| yes_no(s.config.protected_mode).to_string(),
        set: Setter::Text {
            apply: apply_protected_mode,
        },
    },
    Param {
        name: "maxmemory",
        get: |_| "0".to_string(),
        set: Setter::Immutable,
    },
    Param {
        name: "maxmemory-policy",
        get: |_| "noeviction".to_string(),
        set: Setter::Immutable,
    },
];

/// A new password for the default user. Clients already authenticated stay
/// so; new connections (and RESET) need the new one. An empty value removes
/// the password.
fn apply_requirepass(config: &mut Config, value: &[u8]) -> Result<(), String> {
    config.requirepass = value.to_vec();
    Ok(())
}

/// `appendonly yes|no`: the new value is applied to the running AOF once
/// every parameter of the `CONFIG SET` has been accepted (see
/// [`aof::apply_config`]).
fn apply_appendonly(config: &mut Config, value: &[u8]) -> Result<(), String> {
    config.appendonly = parse_yes_no(value)?;
    Ok(())
}

/// `appendfsync always|everysec|no`: the next flush follows it.
fn apply_appendfsync(config: &mut Config, value: &[u8]) -> Result<(), String> {
    config.appendfsync =
        aof::AppendFsync::parse(value).ok_or_else(|| aof::APPENDFSYNC_ERROR.to_string())?;
    Ok(())
}

fn apply_protected_mode(config: &mut Config, value: &[u8]) -> Result<(), String> {
    config.protected_mode = parse_yes_no(value)?;
    Ok(())
}

/// A boolean setting's value, with Redis's error for anything else.
fn parse_yes_no(value: &[u8]) -> Result<bool, String> {
    if value.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if value.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err(YES_NO_ERROR.to_string())
    }
}

/// How `CONFIG GET` shows a boolean.
fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// Stores `hz` clamped to 1..=500 (mirror of `updateHZ`); serverCron's next
/// return value, and so its period, follows at once.
fn apply_hz(server: &mut Server, value: i64) -> Result<(), String> {
    let clamped = value.clamp(*HZ_RANGE.start(), *HZ_RANGE.end());
    server.config.hz = u32::try_from(clamped).unwrap_or(crate::server::CONFIG_DEFAULT_HZ);
    Ok(())
}

fn apply_timeout(server: &mut Server, value: i64) -> Result<(), String> {
    server.config.timeout = u64::try_from(value).unwrap_or(0);
    Ok(())
}

fn apply_proto_max_bulk_len(server: &mut Server, value: i64) -> Result<(), String> {
    server.config.proto_max_bulk_len = u64::try_from(value).unwrap_or(0);
    Ok(())
}

fn apply_query_buffer_limit(server: &mut Server, value: i64) -> Result<(), String> {
    server.config.client_query_buffer_limit = u64::try_from(value).unwrap_or(0);
    Ok(())
}

/// Stores a new `maxclients` after making sure the process may open that
/// many sockets (mirror of `updateMaxclients`). Growing needs one file
/// descriptor per client plus the reserve, so the open-files limit is raised
/// if it is lower; when the system refuses, the error says how many clients
/// the limit allows, as Redis's does.
///
/// The event loop's `setsize` (maxclients + 128) is the loop's to follow.
fn apply_maxclients(server: &mut Server, value: i64) -> Result<(), String> {
    let new = u32::try_from(value)
        .map_err(|_| "argument must be between 1 and 4294967295 inclusive".to_string())?;
    if new > server.config.maxclients {
        let needed = u64::from(new) + MIN_RESERVED_FDS;
        let limit = raise_open_files_limit(needed);
        if limit < needed {
            return Err(format!(
                "The operating system is not able to handle the specified number of clients, try with {}",
                limit.saturating_sub(MIN_RESERVED_FDS)
            ));
        }
    }
    server.config.maxclients = new;
    Ok(())
}

/// Raises the soft `RLIMIT_NOFILE` towards `needed` and returns the limit now
/// in force (mirror of `adjustOpenFilesLimit`). A privileged process may lift
/// the hard limit too; otherwise the soft limit can go up to the hard one.
fn raise_open_files_limit(needed: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    let current: u64 = limit.rlim_cur;
    if current >= needed {
        return current;
    }
    let hard: u64 = limit.rlim_max;
    for (soft, max) in [(needed, hard.max(needed)), (needed.min(hard), hard)] {
        let wanted = libc::rlimit {
            rlim_cur: soft,
            rlim_max: max,
        };
        // SAFETY: setrlimit reads the struct we pass; on failure nothing changes.
        if soft > current && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
            return soft;
        }
    }
    current
}

/// The parameter called `name`, in any case.
fn find_param(name: &[u8]) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| p.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Reads a `CONFIG SET` value for a numeric parameter, with Redis's error texts.
fn parse_number(value: &[u8], min: i64, max: i64, memory: bool) -> Result<i64, String> {
    let parsed = if memory {
        let bytes = memtoull(value).ok_or("argument must be a memory value")?;
        // Beyond i64 it is out of range for every memory parameter we have.
        i64::try_from(bytes).unwrap_or(-1)
    } else {
        string2ll(value).ok_or("argument couldn't be parsed into an integer")?
    };
    if parsed < min || parsed > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(parsed)
}

/// `-ERR CONFIG SET failed (possibly related to argument 'x') - why`.
fn reply_set_failed(c: &mut Client, name: &[u8], why: &str) {
    let msg = format!(
        "CONFIG SET failed (possibly related to argument '{}') - {why}",
        String::from_utf8_lossy(c_str_prefix(name, usize::MAX))
    );
    c.add_reply_error(&msg);
}

/// `CONFIG GET pattern [pattern ...]`: a map of every parameter matching any
/// pattern (mirror of `configGetCommand`). A pattern without `*`, `?` or `[`
/// is a plain name and is echoed as typed; glob matches show the canonical
/// name. Each parameter appears once.
fn config_get_command(call: &mut Call) {
    let (server, c) = call.parts();
    let mut found: Vec<(String, &Param)> = Vec::new();
    for pattern in &c.argv[2..] {
        if !pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            if let Some(param) = find_param(pattern)
                && !found.iter().any(|(_, p)| std::ptr::eq(*p, param))
            {
                found.push((String::from_utf8_lossy(pattern).into_owned(), param));
            }
            continue;
        }
        for param in PARAMS {
            if string_match(pattern, param.name.as_bytes(), true)
                && !found.iter().any(|(_, p)| std::ptr::eq(*p, param))
            {
                found.push((param.name.to_string(), param));
            }
        }
    }
    c.add_reply_map_len(found.len());
    for (name, param) in found {
        c.add_reply_bulk(name.as_bytes());
        c.add_reply_bulk((param.get)(server).as_bytes());
    }
}

/// `CONFIG SET parameter value [parameter value ...]` (mirror of
/// `configSetCommand`). The checks come in Redis's order, which decides the
/// error: the argument count, then the names left to right (an immutable or
/// repeated one fails at once; an unknown one is reported after the scan),
/// then the values, then applying them.
fn config_set_command(call: &mut Call) {
    let (server, c) = call.parts();
    if !c.argv.len().is_multiple_of(2) {
        return c.add_reply_error("syntax error");
    }
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = c.argv[2..]
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();

    let mut chosen: Vec<&Param> = Vec::new();
    let mut unknown: Option<&[u8]> = None;
    for (name, _) in &pairs {
        let Some(param) = find_param(name) else {
            unknown.get_or_insert(name.as_slice());
            continue;
        };
        if unknown.is_some() {
            continue;
        }
        if matches!(param.set, Setter::Immutable) {
            return reply_set_failed(c, name, "can't set immutable config");
        }
        if matches!(param.set, Setter::Protected) {
            return reply_set_failed(c, name, "can't set protected config");
        }
        if chosen.iter().any(|p| std::ptr::eq(*p, param)) {
            return reply_set_failed(c, name, "duplicate parameter");
        }
        chosen.push(param);
    }
    if let Some(name) = unknown {
        let msg = format!(
            "Unknown option or number of arguments for CONFIG SET - '{}'",
            String::from_utf8_lossy(c_str_prefix(name, usize::MAX))
        );
        return c.add_reply_error(&msg);
    }

    let mut updates = Vec::with_capacity(chosen.len());
    let mut text_updates = Vec::new();
    let mut scratch = server.config.clone();
    for (param, (_, value)) in chosen.iter().zip(&pairs) {
        let checked = match param.set {
            Setter::Number {
                min,
                max,
                memory,
                apply,
            } => {
                parse_number(value, min, max, memory).map(|v| updates.push((param.name, apply, v)))
            }
            Setter::OnlyCurrent { check } => check(value).map_err(str::to_string),
            Setter::Text { apply } => {
                apply(&mut scratch, value).map(|()| text_updates.push((apply, value)))
            }
            // Refused while reading the names.
            Setter::Immutable | Setter::Protected => Ok(()),
        };
        if let Err(why) = checked {
            return reply_set_failed(c, param.name.as_bytes(), &why);
        }
    }

    let before = server.config.clone();
    for (apply, value) in text_updates {
        // Checked on the copy above, so it cannot fail now.
        let _ = apply(&mut server.config, value);
    }
    for (name, apply, value) in updates {
        if let Err(why) = apply(server, value) {
            server.config = before;
            return reply_set_failed(c, name.as_bytes(), &why);
        }
    }
    if let Err(why) = aof::apply_config(server) {
        server.config = before;
        return reply_set_failed(c, b"appendonly", &why);
    }
    c.add_reply_ok();
}

/// `CONFIG RESETSTAT`: zero the counters `INFO stats` shows (mirror of
/// `resetServerStats`).
fn config_resetstat_command(call: &mut Call) {
    let (server, c) = call.parts();
    server.stats = Stats::default();
    c.add_reply_ok();
}

/// `CONFIG HELP`.
fn config_help_command(call: &mut Call) {
    let c = &mut *call.c;
    c.add_reply_help(
        "config",
        &[
            "GET <pattern> [<pattern> ...]",
            "    Return the parameters whose names match the glob-style patterns, with",
            "    their values.",
            "SET <parameter> <value> [<parameter> <value> ...]",
            "    Change parameters while the server runs: hz, maxclients, timeout,",
            "    proto-max-bulk-len, client-query-buffer-limit and",
            "    client-output-buffer-limit. All or nothing.",
            "RESETSTAT",
            "    Zero the counters shown by INFO stats.",
        ],
    );
}

const ADMIN_FLAGS: &str = "admin noscript loading stale";
const ADMIN_CATEGORIES: &str = "@admin @slow @dangerous";

const fn plain_arg(name: &'static str) -> Arg {
    Arg {
        name,
        kind: ArgKind::String,
        token: None,
        optional: false,
        multiple: false,
        since: None,
    }
}

const CONFIG_SUBCOMMANDS: &[RedisCommand] = &[
    RedisCommand {
        args: &[Arg {
            multiple: true,
            ..plain_arg_block("parameter", &[plain_arg("parameter")])
        }],
        history: &[("7.0.0", "Several patterns in one call.")],
        since: "2.0.0",
        summary: "Returns the parameters matching glob-style patterns, with their values",
        complexity: "O(N) where N is the number of parameters",
        ..server_command(
            "config|get",
            config_get_command,
            -3,
            ADMIN_FLAGS,
            ADMIN_CATEGORIES,
        )
    },
    RedisCommand {
        args: &[Arg {
            multiple: true,
            ..plain_arg_block(
                "parameter_value",
                &[plain_arg("parameter"), plain_arg("value")],
            )
        }],
        tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
        history: &[("7.0.0", "Several parameters in one call.")],
        since: "2.0.0",
        summary: "Changes parameters while the server runs, all or none",
        complexity: "O(N) where N is the number of parameters given",
        ..server_command(
            "config|set",
            config_set_command,
            -4,
            ADMIN_FLAGS,
            ADMIN_CATEGORIES,
        )
    },
    RedisCommand {
        since: "2.0.0",
        summary: "Zeroes the statistics shown by INFO",
        complexity: "O(1)",
        ..server_command(
            "config|resetstat",
            config_resetstat_command,
            2,
            ADMIN_FLAGS,
            ADMIN_CATEGORIES,
        )
    },
    RedisCommand {
        since: "5.0.0",
        summary: "Lists the CONFIG subcommands",
        complexity: "O(1)",
        ..server_command(
            "config|help",
            config_help_command,
            2,
            "loading stale",
            "@slow",
        )
    },
];

const fn plain_arg_block(name: &'static str, args: &'static [Arg]) -> Arg {
    Arg {
        kind: ArgKind::Block(args),
        ..plain_arg(name)
    }
}

/// The `CONFIG` container.
pub const CONFIG: RedisCommand = RedisCommand {
    subcommands: CONFIG_SUBCOMMANDS,
    since: "2.0.0",
    summary: "Groups the commands that read and change the server's settings",
    complexity: "Depends on the subcommand",
    ..server_command("config", container_proc, -2, "", "@slow")
};

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{client, run, run_str, server, show};
    use super::NO_DISK;

    fn pair(name: &str, value: &str) -> String {
        format!(
            "${}\r\n{name}\r\n${}\r\n{value}\r\n",
            name.len(),
            value.len()
        )
    }

    #[test]
    fn get_returns_redis_shaped_maps() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let port = server.local_addr.port().to_string();
        let cases = [
            ("CONFIG GET save", format!("*2\r\n{}", pair("save", ""))),
            (
                "CONFIG GET appendonly",
                format!("*2\r\n{}", pair("appendonly", "no")),
            ),
            ("CONFIG GET hz", format!("*2\r\n{}", pair("hz", "10"))),
            ("CONFIG GET HZ", format!("*2\r\n{}", pair("HZ", "10"))),
            (
                "CONFIG GET maxclients",
                format!("*2\r\n{}", pair("maxclients", "10000")),
            ),
            (
                "CONFIG GET timeout",
                format!("*2\r\n{}", pair("timeout", "0")),
            ),
            (
                "CONFIG GET databases",
                format!("*2\r\n{}", pair("databases", "16")),
            ),
            (
                "CONFIG GET bind",
                format!("*2\r\n{}", pair("bind", "127.0.0.1")),
            ),
            (
                "CONFIG GET proto-max-bulk-len",
                format!("*2\r\n{}", pair("proto-max-bulk-len", "536870912")),
            ),
            (
                "CONFIG GET client-query-buffer-limit",
                format!("*2\r\n{}", pair("client-query-buffer-limit", "1073741824")),
            ),
            ("CONFIG GET Port", format!("*2\r\n{}", pair("Port", &port))),
            ("CONFIG GET P*RT", format!("*2\r\n{}", pair("port", &port))),
            (
                "CONFIG GET port p*rt PORT",
                format!("*2\r\n{}", pair("port", &port)),
            ),
            (
                "CONFIG GET h? [h]z hz*",
                format!("*2\r\n{}", pair("hz", "10")),
            ),
            ("CONFIG GET nosuch", "*0\r\n".to_string()),
            (
                "CONFIG GET",
                "-ERR wrong number of arguments for 'config|get' command\r\n".to_string(),
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run_str(&mut server, &mut c, req)), expected, "{req}");
        }
        let both = show(&run_str(&mut server, &mut c, "CONFIG GET *max*len*"));
        assert_eq!(
            both,
            format!("*2\r\n{}", pair("proto-max-bulk-len", "536870912"))
        );
        run_str(&mut server, &mut c, "HELLO 3");
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CONFIG GET timeout hz")),
            format!("%2\r\n{}{}", pair("timeout", "0"), pair("hz", "10"))
        );
    }

    #[test]
    fn set_hz_clamps_like_update_hz() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        for (value, stored) in [("0", 1), ("1000", 500), ("7", 7), ("2147483647", 500)] {
            assert_eq!(
                show(&run(
                    &mut server,
                    &mut c,
                    &[b"CONFIG", b"SET", b"hz", value.as_bytes()]
                )),
                "+OK\r\n"
            );
            assert_eq!(server.config.hz, stored, "hz {value}");
        }
    }

    #[test]
    fn set_errors_match_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let failed = |arg: &str, why: &str| {
            format!("-ERR CONFIG SET failed (possibly related to argument '{arg}') - {why}\r\n")
        };
        let not_int = "argument couldn't be parsed into an integer";
        let cases = [
            (
                "CONFIG SET hz -5",
                failed("hz", "argument must be between 0 and 2147483647 inclusive"),
            ),
            ("CONFIG SET hz abc", failed("hz", not_int)),
            ("CONFIG SET HZ abc", failed("hz", not_int)),
            ("CONFIG SET hz 05", failed("hz", not_int)),
            ("CONFIG SET hz +5", failed("hz", not_int)),
            ("CONFIG SET hz 1.5", failed("hz", not_int)),
            ("CONFIG SET hz 99999999999999999999", failed("hz", not_int)),
            (
                "CONFIG SET x 1",
                "-ERR Unknown option or number of arguments for CONFIG SET - 'x'\r\n".to_string(),
            ),
            (
                "CONFIG SET hz 5 x 1",
                "-ERR Unknown option or number of arguments for CONFIG SET - 'x'\r\n".to_string(),
            ),
            (
                "CONFIG SET hz abc x 1",
                "-ERR Unknown option or number of arguments for CONFIG SET - 'x'\r\n".to_string(),
            ),
            (
                "CONFIG SET x 1 databases 5",
                "-ERR Unknown option or number of arguments for CONFIG SET - 'x'\r\n".to_string(),
            ),
            (
                "CONFIG SET databases 5 x 1",
                failed("databases", "can't set immutable config"),
            ),
            (
                "CONFIG SET DATABASES 5",
                failed("DATABASES", "can't set immutable config"),
            ),
            (
                "CONFIG SET hz 5 hz abc",
                failed("hz", "duplicate parameter"),
            ),
            (
                "CONFIG SET Hz 12 HZ 11",
                failed("HZ", "duplicate parameter"),
            ),
            (
                "CONFIG SET hz 1 timeout",
                "-ERR syntax error\r\n".to_string(),
            ),
            (
                "CONFIG SET hz",
                "-ERR wrong number of arguments for 'config|set' command\r\n".to_string(),
            ),
            (
                "CONFIG SET timeout -1",
                failed(
                    "timeout",
                    "argument must be between 0 and 2147483647 inclusive",
                ),
            ),
            (
                "CONFIG SET timeout 2147483648",
                failed(
                    "timeout",
                    "argument must be between 0 and 2147483647 inclusive",
                ),
            ),
            ("CONFIG SET timeout 1k", failed("timeout", not_int)),
            (
                "CONFIG SET maxclients 0",
                failed(
                    "maxclients",
                    "argument must be between 1 and 4294967295 inclusive",
                ),
            ),
            (
                "CONFIG SET maxclients 4294967296",
                failed(
                    "maxclients",
                    "argument must be between 1 and 4294967295 inclusive",
                ),
            ),
            (
                "CONFIG SET proto-max-bulk-len 1k",
                failed(
                    "proto-max-bulk-len",
                    "argument must be between 1048576 and 9223372036854775807 inclusive",
                ),
            ),
            (
                "CONFIG SET proto-max-bulk-len abc",
                failed("proto-max-bulk-len", "argument must be a memory value"),
            ),
            (
                "CONFIG SET proto-max-bulk-len 1.5m",
                failed("proto-max-bulk-len", "argument must be a memory value"),
            ),
            (
                "CONFIG SET client-query-buffer-limit -1",
                failed(
                    "client-query-buffer-limit",
                    "argument must be a memory value",
                ),
            ),
            (
                "CONFIG SET client-query-buffer-limit 9999999999999999999999",
                failed(
                    "client-query-buffer-limit",
                    "argument must be between 1048576 and 9223372036854775807 inclusive",
                ),
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run_str(&mut server, &mut c, req)), expected, "{req}");
        }
        // Nothing was applied by any failed call.
        assert_eq!(server.config.hz, 10);
        assert_eq!(server.config.timeout, 0);
    }

    #[test]
    fn set_applies_all_or_nothing() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        assert!(
            show(&run_str(&mut server, &mut c, "CONFIG SET hz 7 timeout -1")).starts_with("-ERR")
        );
        assert_eq!(server.config.hz, 10);
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CONFIG SET HZ 20 Timeout 5")),
            "+OK\r\n"
        );
        assert_eq!((server.config.hz, server.config.timeout), (20, 5));
        assert_eq!(
            show(&run_str(
                &mut server,
                &mut c,
                "CONFIG SET proto-max-bulk-len 2mb client-query-buffer-limit 1G"
            )),
            "+OK\r\n"
        );
        assert_eq!(server.config.proto_max_bulk_len, 2 * 1024 * 1024);
        assert_eq!(server.config.client_query_buffer_limit, 1_000_000_000);
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CONFIG SET maxclients 100")),
            "+OK\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CONFIG GET maxclients")),
            format!("*2\r\n{}", pair("maxclients", "100"))
        );
    }

    #[test]
    fn maxclients_beyond_the_open_files_limit_is_refused() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        // No system lets a process open 4 billion files; the error names
        // what the limit allows instead.
        let reply = show(&run_str(
            &mut server,
            &mut c,
            "CONFIG SET maxclients 4294967295 hz 20",
        ));
        let prefix = "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - \
                      The operating system is not able to handle the specified number of clients, try with ";
        assert!(reply.starts_with(prefix), "{reply}");
        let suggested: u64 = reply[prefix.len()..].trim_end().parse().expect("a number");
        assert!(suggested < 4294967295);
        assert_eq!(
            (server.config.maxclients, server.config.hz),
            (10000, 10),
            "all or nothing"
        );
    }

    #[test]
    fn persistence_can_only_stay_off() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let failed = |arg: &str, why: &str| {
            format!("-ERR CONFIG SET failed (possibly related to argument '{arg}') - {why}\r\n")
        };
        let cases: [(&[&[u8]], String); 10] = [
            (&[b"CONFIG", b"SET", b"save", b""], "+OK\r\n".to_string()),
            (
                &[b"CONFIG", b"SET", b"appendonly", b"NO"],
                "+OK\r\n".to_string(),
            ),
            // Redis 7.0.15's texts for malformed values.
            (
                &[b"CONFIG", b"SET", b"save", b" "],
                failed("save", "Invalid save parameters"),
            ),
            (
                &[b"CONFIG", b"SET", b"save", b"abc"],
                failed("save", "Invalid save parameters"),
            ),
            (
                &[b"CONFIG", b"SET", b"save", b"1 2 3"],
                failed("save", "Invalid save parameters"),
            ),
            (
                &[b"CONFIG", b"SET", b"appendonly", b"maybe"],
                failed("appendonly", "argument must be 'yes' or 'no'"),
            ),
            // Well-formed, but this server never writes to disk.
            (
                &[b"CONFIG", b"SET", b"save", b"3600 1"],
                failed("save", NO_DISK),
            ),
            (
                &[b"CONFIG", b"SET", b"appendfsync", b"bogus"],
                failed(
                    "appendfsync",
                    "argument(s) must be one of the following: everysec, always, no",
                ),
            ),
            (
                &[b"CONFIG", b"SET", b"appendfilename", b"x"],
                failed("appendfilename", "can't set immutable config"),
            ),
            (
                &[b"CONFIG", b"SET", b"dir", b"/"],
                failed("dir", "can't set protected config"),
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run(&mut server, &mut c, req)), expected, "{req:?}");
        }
    }

    #[test]
    fn resetstat_zeroes_the_counters() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        server.stats.numconnections = 5;
        server.stats.keyspace_hits = 3;
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CONFIG RESETSTAT")),
            "+OK\r\n"
        );
        // As in Redis, RESETSTAT itself is counted, after the reset.
        assert_eq!(
            (
                server.stats.numconnections,
                server.stats.keyspace_hits,
                server.stats.numcommands
            ),
            (0, 0, 1)
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CONFIG RESETSTAT x")),
            "-ERR wrong number of arguments for 'config|resetstat' command\r\n"
        );
    }

    #[test]
    fn help_and_unknown_subcommand() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let help = show(&run_str(&mut server, &mut c, "CONFIG HELP"));
        assert!(help.starts_with("*12\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>"));
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CONFIG nosub")),
            "-ERR unknown subcommand 'nosub'. Try CONFIG HELP.\r\n"
        );
    }
}

//! The server family: commands about the server as a whole — introspection
//! (`COMMAND` in [`command`], `INFO` in [`info`]), settings (`CONFIG` in
//! [`config`]), whole-keyspace operations (`DBSIZE`, `FLUSHDB`, `FLUSHALL`),
//! `TIME`, `DEBUG SLEEP`, and `SHUTDOWN`.
//!
//! `DEBUG SLEEP` is here for what it teaches: it puts the one thread that
//! runs the event loop to sleep inside a command. While it sleeps no other
//! client is read, no reply is written and no timer fires — the loop is
//! single-threaded, and a slow command stalls everyone. Run it from one
//! redis-cli and type `PING` in another to feel it.

pub mod command;
pub mod config;
pub mod info;

use crate::server::call::Call;
use std::time::{Duration, Instant};

use super::{Arg, ArgKind, RedisCommand, reply_subcommand_syntax_error};
use crate::server::client::Client;
use crate::server::db::Value;
use crate::server::{Server, aof, log, networking, util};

/// The server family, in the order `COMMAND` lists it.
pub const COMMANDS: &[RedisCommand] = &[
    command::COMMAND,
    config::CONFIG,
    info::INFO,
    DBSIZE,
    FLUSHDB,
    FLUSHALL,
    TIME,
    DEBUG,
    SHUTDOWN,
];

/// How many samples `instantaneous_ops_per_sec` averages (Redis's `STATS_METRIC_SAMPLES`).
const OPS_SAMPLES: usize = 16;

/// Takes one sample of the command rate: commands run since the previous
/// sample, per second of time since then. serverCron calls it every 100 ms,
/// so the 16 samples cover the last 1.6 s (mirror of `trackInstantaneousMetric`).
///
/// The first call only records the starting point, as there is no interval yet.
pub fn track_instantaneous_metrics(server: &mut Server) {
    let now = Instant::now();
    let stats = &mut server.stats;
    if let Some(last) = stats.ops_last_sample_time {
        let elapsed_ms = u64::try_from(now.duration_since(last).as_millis()).unwrap_or(u64::MAX);
        let ops = stats
            .numcommands
            .saturating_sub(stats.ops_last_sample_count);
        let per_sec = ops
            .saturating_mul(1000)
            .checked_div(elapsed_ms)
            .unwrap_or(0);
        let idx = stats.ops_sample_idx % OPS_SAMPLES;
        stats.ops_samples[idx] = per_sec;
        stats.ops_sample_idx = (idx + 1) % OPS_SAMPLES;
    }
    stats.ops_last_sample_time = Some(now);
    stats.ops_last_sample_count = stats.numcommands;
}

/// The average of the samples (mirror of `getInstantaneousMetric`).
pub fn instantaneous_ops_per_sec(server: &Server) -> u64 {
    server.stats.ops_samples.iter().sum::<u64>() / OPS_SAMPLES as u64
}

/// `DBSIZE`: keys in the selected database (mirror of `dbsizeCommand`).
fn dbsize_command(call: &mut Call) {
    let (server, c) = call.parts();
    let size = server.dbs.get(c.db).map_or(0, |db| db.size());
    c.add_reply_long_long(i64::try_from(size).unwrap_or(i64::MAX));
}

/// Checks the optional `ASYNC` / `SYNC` argument of FLUSHDB and FLUSHALL,
/// replying `syntax error` to anything else (mirror of `getFlushCommandFlags`).
/// Both modes flush at once here: there is no background thread to free
/// memory in, so `ASYNC` is accepted and behaves like `SYNC`.
fn flush_args_ok(c: &mut Client) -> bool {
    let ok = match c.argv.len() {
        1 => true,
        2 => c.argv[1].eq_ignore_ascii_case(b"sync") || c.argv[1].eq_ignore_ascii_case(b"async"),
        _ => false,
    };
    if !ok {
        c.add_reply_error("syntax error");
    }
    ok
}

/// `FLUSHDB [ASYNC|SYNC]` (mirror of `flushdbCommand`).
fn flushdb_command(call: &mut Call) {
    let (server, c) = call.parts();
    if !flush_args_ok(c) {
        return;
    }
    if let Some(db) = server.dbs.get_mut(c.db) {
        db.clear();
    }
    c.add_reply_ok();
}

/// `FLUSHALL [ASYNC|SYNC]` (mirror of `flushallCommand`).
fn flushall_command(call: &mut Call) {
    let (server, c) = call.parts();
    if !flush_args_ok(c) {
        return;
    }
    for db in &mut server.dbs {
        db.clear();
    }
    c.add_reply_ok();
}

/// `TIME`: the wall clock as two bulk strings, seconds and microseconds
/// (mirror of `timeCommand`).
fn time_command(call: &mut Call) {
    let c = &mut *call.c;
    let now = crate::server::ustime();
    c.add_reply_array_len(2);
    c.add_reply_bulk_long_long(i64::try_from(now / 1_000_000).unwrap_or(i64::MAX));
    c.add_reply_bulk_long_long(i64::try_from(now % 1_000_000).unwrap_or(0));
}

/// How long `DEBUG SLEEP <seconds>` sleeps, following Redis's arithmetic: the
/// argument is read like C's `strtod` (so `x` is 0 and `1.5abc` is 1.5), turned
/// into whole microseconds, and a negative count does not sleep at all (C's
/// `nanosleep` refuses it). Where C's conversion to an integer is undefined
/// (infinity, NaN, beyond 64 bits) x86 yields the most negative integer, so
/// those do not sleep either.
fn debug_sleep_duration(arg: &[u8]) -> Duration {
    let micros = util::strtod_prefix(arg) * 1e6;
    let in_range = micros.is_finite() && micros > i64::MIN as f64 && micros < i64::MAX as f64;
    let micros = if in_range { micros as i64 } else { i64::MIN };
    u64::try_from(micros)
        .map(Duration::from_micros)
        .unwrap_or(Duration::ZERO)
}

/// `DEBUG SLEEP <seconds>`, `DEBUG SET-ACTIVE-EXPIRE <0|1>` and `DEBUG HELP`
/// (the part of `debugCommand` we implement). DEBUG parses its own
/// subcommands, so a wrong one gets `unknown subcommand or wrong number of
/// arguments`, as in Redis. SET-ACTIVE-EXPIRE reads its argument with C's
/// `atoi`, as Redis does: any number but 0 turns the active expire cycle on,
/// and text that is not a number reads as 0.
fn debug_command(call: &mut Call) {
    if call.c.argv.len() == 2 && call.c.argv[1].eq_ignore_ascii_case(b"loadaof") {
        return debug_loadaof(call);
    }
    let (server, c) = call.parts();
    let sub = c.argv[1].to_ascii_lowercase();
    match (sub.as_slice(), c.argv.len()) {
        (b"help", 2) => c.add_reply_help(
            "debug",
            &[
                "SLEEP <seconds>",
                "    Block the event loop thread for <seconds>, which may have decimals:",
                "    no client is served and no timer runs until it returns.",
                "LOADAOF",
                "    Write the AOF buffer to the file, empty the databases and load the AOF",
                "    again. The loop keeps serving meanwhile: other clients get -LOADING.",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named <prefix>:<num> (default prefix \"key\"),",
                "    each holding value:<num>, or <size> bytes starting with it. Keys that",
                "    exist are left alone. Nothing is written to the AOF.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    0 stops serverCron and beforeSleep from deleting expired keys: a key",
                "    past its deadline then goes only when a command looks it up. 1 (or",
                "    any other number) turns the active expire cycle back on.",
            ],
        ),
        (b"set-active-expire", 3) => {
            server.active_expire_enabled = util::atoi(&c.argv[2]) != 0;
            c.add_reply_ok();
        }
        (b"populate", 3..=5) => debug_populate(server, c),
        (b"sleep", 3) => {
            std::thread::sleep(debug_sleep_duration(&c.argv[2]));
            c.add_reply_ok();
        }
        _ => reply_subcommand_syntax_error(c, &DEBUG),
    }
}

/// `DEBUG POPULATE count [prefix] [size]`: fills the selected database
/// with `count` string keys at once, the quick way Redis's own tests make a
/// big dataset (the `populate` branch of `debugCommand`). Key `n` is
/// `prefix:n` and holds `value:n`, or `size` bytes that start with it and
/// are zero after. It is not a write command, so nothing goes to the AOF;
/// a later AOF rewrite (`CONFIG SET appendonly yes`) does include the keys.
fn debug_populate(server: &mut Server, c: &mut Client) {
    const ERR_POSITIVE: &str = "value is out of range, must be positive";
    let Some(keys) =
        super::parse_range_or_reply(c, &c.argv[2].clone(), 0, i64::MAX, Some(ERR_POSITIVE))
    else {
        return;
    };
    let size = match c.argv.get(4).cloned() {
        Some(arg) => match super::parse_range_or_reply(c, &arg, 0, i64::MAX, Some(ERR_POSITIVE)) {
            Some(n) => n as u64,
            None => return,
        },
        None => 0,
    };
    // Redis would try to allocate any size and die; one value stays within
    // what a client could have sent.
    if size > server.config.proto_max_bulk_len {
        return c.add_reply_error("string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    // Redis formats into a C string: the prefix ends at a NUL byte, and a
    // name is cut to 127 bytes.
    let prefix: Vec<u8> = match c.argv.get(3) {
        Some(p) => p.iter().copied().take_while(|&b| b != 0).collect(),
        None => b"key".to_vec(),
    };
    let db = &mut server.dbs[c.db];
    let mut key = Vec::with_capacity(128);
    for n in 0..keys as u64 {
        key.clear();
        key.extend_from_slice(&prefix);
        key.push(b':');
        key.extend_from_slice(n.to_string().as_bytes());
        key.truncate(127);
        if db.lookup_key_write(&key, &mut server.stats).is_some() {
            continue;
        }
        let text = format!("value:{n}");
        let value = if size == 0 {
            text.into_bytes()
        } else {
            let mut bytes = vec![0u8; size as usize];
            let len = text.len().min(bytes.len());
            bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
            bytes
        };
        db.add(&key, Value::string(&value));
    }
    c.add_reply_ok();
}

/// `DEBUG LOADAOF`: reloads the dataset from the AOF while the server runs
/// (the `loadaof` branch of `debugCommand`). The loader runs the loop from
/// inside every 1024 commands, so this command's handler is still on the
/// stack while other clients are accepted, read and answered `-LOADING`.
/// Its own client is protected meanwhile: the loop neither reads its next
/// command nor writes its replies until the reload is over.
fn debug_loadaof(call: &mut Call) {
    let Call { el, server, c } = call;
    networking::protect_client(el, server, c);
    let reloaded = aof::load::reload_append_only_files(el, server);
    networking::unprotect_client(el, server, c);
    match reloaded {
        Ok(()) => {
            log::warning("Append Only File loaded by DEBUG LOADAOF");
            c.add_reply_ok();
        }
        Err(why) => c.add_reply_error(&why),
    }
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]` (mirror of `shutdownCommand`).
///
/// On success there is no reply: the command asks the loop to stop, and
/// the read handler that ran it does so before anything else happens (see
/// [`crate::server::prepare_for_shutdown`]); the client sees its connection
/// close, as with Redis. Redis waits for lagging replicas unless NOW is
/// given; there are no replicas here, so no shutdown is ever in progress
/// and ABORT always says so. SAVE asks for an RDB snapshot, which loopscope
/// does not write: it fails as a failed save does in Redis, unless FORCE
/// says to go on regardless.
fn shutdown_command(call: &mut Call) {
    let (server, c) = call.parts();
    let (mut nosave, mut save, mut now, mut force, mut abort) = (false, false, false, false, false);
    for arg in &c.argv[1..] {
        let flag = match arg.to_ascii_lowercase().as_slice() {
            b"nosave" => &mut nosave,
            b"save" => &mut save,
            // NOW skips the wait for lagging replicas; there are none to wait for.
            b"now" => &mut now,
            b"force" => &mut force,
            b"abort" => &mut abort,
            _ => return c.add_reply_error("syntax error"),
        };
        *flag = true;
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        return c.add_reply_error("syntax error");
    }
    if abort {
        return c.add_reply_error("No shutdown in progress.");
    }
    log::warning("User requested shutdown...");
    // As in Redis's shutdownCommand: a half-loaded dataset is never saved.
    if server.loading {
        save = false;
    }
    if save {
        log::warning("SHUTDOWN SAVE: loopscope writes no RDB snapshot, so the save fails.");
        if !force {
            log::warning("Error trying to save the DB, can't exit.");
            return c.add_reply_error("Errors trying to SHUTDOWN. Check logs.");
        }
    }
    server.shutdown_requested = true;
}

/// The entry shape shared by this family's keyless commands; each entry
/// adds its documentation and whatever else it has.
pub(crate) const fn server_command(
    name: &'static str,
    proc_: crate::server::cmd::CommandProc,
    arity: i32,
    flags: &'static str,
    acl_categories: &'static str,
) -> RedisCommand {
    RedisCommand {
        name,
        proc_,
        arity,
        flags,
        first_key: 0,
        last_key: 0,
        key_step: 0,
        acl_categories,
        group: "server",
        since: "",
        summary: "",
        complexity: "",
        args: &[],
        subcommands: &[],
        tips: &[],
        key_specs: &[],
        history: &[],
        doc_flags: "",
        deprecated_since: None,
        replaced_by: None,
    }
}

/// The `[ASYNC|SYNC]` argument of FLUSHDB and FLUSHALL.
const FLUSH_ARGS: &[Arg] = &[Arg {
    name: "async",
    kind: ArgKind::OneOf(&[
        Arg {
            name: "async",
            kind: ArgKind::PureToken,
            token: Some("ASYNC"),
            optional: false,
            multiple: false,
            since: Some("4.0.0"),
        },
        Arg {
            name: "sync",
            kind: ArgKind::PureToken,
            token: Some("SYNC"),
            optional: false,
            multiple: false,
            since: Some("6.2.0"),
        },
    ]),
    token: None,
    optional: true,
    multiple: false,
    since: None,
}];

const FLUSH_HISTORY: &[(&str, &str)] = &[("4.0.0", "The ASYNC mode."), ("6.2.0", "The SYNC mode.")];

const DBSIZE: RedisCommand = RedisCommand {
    tips: &["request_policy:all_shards", "response_policy:agg_sum"],
    since: "1.0.0",
    summary: "Counts the keys of the selected database",
    complexity: "O(1)",
    ..server_command(
        "dbsize",
        dbsize_command,
        1,
        "readonly fast",
        "@keyspace @read @fast",
    )
};

const FLUSHDB: RedisCommand = RedisCommand {
    args: FLUSH_ARGS,
    tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
    history: FLUSH_HISTORY,
    since: "1.0.0",
    summary: "Deletes every key of the selected database",
    complexity: "O(N) where N is the number of keys in the selected database",
    ..server_command(
        "flushdb",
        flushdb_command,
        -1,
        "write",
        "@keyspace @write @slow @dangerous",
    )
};

const FLUSHALL: RedisCommand = RedisCommand {
    args: FLUSH_ARGS,
    tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
    history: FLUSH_HISTORY,
    since: "1.0.0",
    summary: "Deletes every key of every database",
    complexity: "O(N) where N is the number of keys in all databases",
    ..server_command(
        "flushall",
        flushall_command,
        -1,
        "write",
        "@keyspace @write @slow @dangerous",
    )
};

const TIME: RedisCommand = RedisCommand {
    tips: &["nondeterministic_output"],
    since: "2.6.0",
    summary: "Returns the server's clock as seconds and microseconds",
    complexity: "O(1)",
    ..server_command("time", time_command, 1, "loading stale fast", "@fast")
};

const DEBUG: RedisCommand = RedisCommand {
    doc_flags: "syscmd",
    since: "1.0.0",
    summary: "Debugging helpers; here DEBUG SLEEP, which blocks the event loop",
    complexity: "Depends on the subcommand",
    ..server_command(
        "debug",
        debug_command,
        -2,
        "admin noscript loading stale",
        "@admin @slow @dangerous",
    )
};

/// The NOW, FORCE and ABORT modifiers, each optional, added in 7.0.0.
const fn shutdown_modifier(name: &'static str, token: &'static str) -> Arg {
    Arg {
        name,
        kind: ArgKind::PureToken,
        token: Some(token),
        optional: true,
        multiple: false,
        since: Some("7.0.0"),
    }
}

const SHUTDOWN_ARGS: &[Arg] = &[
    Arg {
        name: "nosave_save",
        kind: ArgKind::OneOf(&[
            Arg {
                name: "nosave",
                kind: ArgKind::PureToken,
                token: Some("NOSAVE"),
                optional: false,
                multiple: false,
                since: None,
            },
            Arg {
                name: "save",
                kind: ArgKind::PureToken,
                token: Some("SAVE"),
                optional: false,
                multiple: false,
                since: None,
            },
        ]),
        token: None,
        optional: true,
        multiple: false,
        since: None,
    },
    shutdown_modifier("now", "NOW"),
    shutdown_modifier("force", "FORCE"),
    shutdown_modifier("abort", "ABORT"),
];

const SHUTDOWN: RedisCommand = RedisCommand {
    args: SHUTDOWN_ARGS,
    history: &[("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")],
    since: "1.0.0",
    summary: "Stops the server, after writing out what the append-only file still holds",
    complexity: "O(1) here: loopscope writes no snapshot on the way out",
    ..server_command(
        "shutdown",
        shutdown_command,
        -1,
        "admin noscript loading stale no_multi allow_busy",
        "@admin @slow @dangerous",
    )
};

#[cfg(test)]
mod tests {
    use super::super::test_support::{client, run, run_str, server, show};
    use super::*;

    #[test]
    fn dbsize_and_flush() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        assert_eq!(show(&run_str(&mut server, &mut c, "DBSIZE")), ":0\r\n");
        assert_eq!(
            show(&run_str(&mut server, &mut c, "DBSIZE x")),
            "-ERR wrong number of arguments for 'dbsize' command\r\n"
        );
        let cases = [
            ("FLUSHDB", "+OK\r\n"),
            ("FLUSHDB ASYNC", "+OK\r\n"),
            ("FLUSHDB sync", "+OK\r\n"),
            ("FLUSHDB x", "-ERR syntax error\r\n"),
            ("FLUSHDB async x", "-ERR syntax error\r\n"),
            ("FLUSHALL", "+OK\r\n"),
            ("FLUSHALL SYNC", "+OK\r\n"),
            ("FLUSHALL foo", "-ERR syntax error\r\n"),
            ("FLUSHALL ASYNC SYNC", "-ERR syntax error\r\n"),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run_str(&mut server, &mut c, req)), expected, "{req}");
        }
    }

    #[test]
    fn time_is_two_bulk_numbers_near_now() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let before = crate::server::ustime() / 1_000_000;
        let reply = show(&run_str(&mut server, &mut c, "TIME"));
        let parts: Vec<&str> = reply.split("\r\n").collect();
        assert_eq!(parts[0], "*2");
        assert_eq!(parts[1], format!("${}", parts[2].len()));
        assert_eq!(parts[3], format!("${}", parts[4].len()));
        let secs: u64 = parts[2].parse().expect("seconds");
        let micros: u64 = parts[4].parse().expect("microseconds");
        assert!(secs >= before && secs <= before + 1);
        assert!(micros < 1_000_000);
        assert!(
            !parts[4].starts_with('0') || parts[4] == "0",
            "no zero padding"
        );
    }

    #[test]
    fn debug_sleep_durations_follow_redis_arithmetic() {
        assert_eq!(debug_sleep_duration(b"0.25"), Duration::from_millis(250));
        assert_eq!(debug_sleep_duration(b"1.5abc"), Duration::from_millis(1500));
        assert_eq!(debug_sleep_duration(b"0x1"), Duration::from_secs(1));
        assert_eq!(debug_sleep_duration(b" 1"), Duration::from_secs(1));
        for none in [&b"x"[..], b"", b"-1", b"inf", b"nan", b"1e300"] {
            assert_eq!(debug_sleep_duration(none), Duration::ZERO, "{none:?}");
        }
    }

    #[test]
    fn debug_sleep_blocks_the_calling_thread() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let start = Instant::now();
        assert_eq!(
            show(&run_str(&mut server, &mut c, "DEBUG SLEEP 0.05")),
            "+OK\r\n"
        );
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(
            show(&run_str(&mut server, &mut c, "debug sleep 0")),
            "+OK\r\n"
        );
    }

    #[test]
    fn debug_set_active_expire_reads_its_argument_like_atoi() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        for (arg, on) in [
            (&b"0"[..], false),
            (b"1", true),
            (b"x", false),
            (b"2", true),
            (b"-1", true),
            (b"01", true),
            (b" 7abc", true),
            (b"", false),
            (b"4294967296", false),
        ] {
            let reply = run(&mut server, &mut c, &[b"DEBUG", b"set-active-expire", arg]);
            assert_eq!(show(&reply), "+OK\r\n", "{arg:?}");
            assert_eq!(server.active_expire_enabled, on, "{arg:?}");
        }
        for req in ["DEBUG SET-ACTIVE-EXPIRE", "DEBUG SET-ACTIVE-EXPIRE 0 1"] {
            assert_eq!(
                show(&run_str(&mut server, &mut c, req)),
                "-ERR unknown subcommand or wrong number of arguments for 'SET-ACTIVE-EXPIRE'. Try DEBUG HELP.\r\n",
                "{req}"
            );
        }
    }

    #[test]
    fn debug_errors_match_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let cases = [
            (
                "DEBUG foo",
                "-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n",
            ),
            (
                "DEBUG FOO a b",
                "-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP.\r\n",
            ),
            (
                "DEBUG SLEEP",
                "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n",
            ),
            (
                "DEBUG sleep 0 0",
                "-ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.\r\n",
            ),
            (
                "DEBUG help x",
                "-ERR unknown subcommand or wrong number of arguments for 'help'. Try DEBUG HELP.\r\n",
            ),
            (
                "DEBUG",
                "-ERR wrong number of arguments for 'debug' command\r\n",
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run_str(&mut server, &mut c, req)), expected, "{req}");
        }
        let help = show(&run(&mut server, &mut c, &[b"DEBUG", b"Help"]));
        assert!(help.starts_with("*17\r\n+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+SLEEP <seconds>\r\n"));
    }

    #[test]
    fn instantaneous_ops_average_the_samples() {
        let mut server = server();
        track_instantaneous_metrics(&mut server);
        assert_eq!(instantaneous_ops_per_sec(&server), 0);
        // Pretend the previous sample was taken 100 ms ago, 160 commands back.
        server.stats.ops_last_sample_time = Some(Instant::now() - Duration::from_millis(100));
        server.stats.numcommands += 160;
        track_instantaneous_metrics(&mut server);
        // 160 commands in ~100 ms is ~1600/s, one sample of 16.
        let sample = server.stats.ops_samples[0];
        assert!((1400..=1600).contains(&sample), "sample {sample}");
        assert_eq!(instantaneous_ops_per_sec(&server), sample / 16);
        assert_eq!(server.stats.ops_sample_idx, 1);
        assert_eq!(server.stats.ops_last_sample_count, server.stats.numcommands);
    }
}

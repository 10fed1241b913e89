//! The generic key commands: existence, type, deletion, renaming, time to
//! live, and walking the keyspace (`KEYS`, `SCAN`, `RANDOMKEY`). The mirror of
//! the key parts of Redis's `db.c` and of `expire.c`.
//!
//! They work on keys of any type. Deadlines are absolute Unix times in
//! milliseconds; `EXPIRE` and friends convert to that, and a deadline that is
//! already in the past deletes the key at once, since it would be gone at the
//! next lookup anyway.
//!
//! The end of the file also holds the small builders of command-table rows
//! (arguments, key specs) that the keyed families share.

use super::{Arg, ArgKind, BeginSearch, FindKeys, KeySpec, RedisCommand, parse_long_long_or_reply};
use crate::server::Server;
use crate::server::call::Call;
use crate::server::client::Client;
use crate::server::db::{Sds, mstime_i64, type_name_of};
use crate::server::util::number::parse_scan_cursor;
use crate::server::util::{arg_is, c_str_prefix, string_match};

const ERR_SYNTAX: &str = "syntax error";

/// [`parse_long_long_or_reply`] on `c.argv[idx]`. The argument is lent out of
/// `argv` for the call and put back, so it need not be copied.
pub(super) fn argv_long_long_or_reply(c: &mut Client, idx: usize) -> Option<i64> {
    let arg = std::mem::take(&mut c.argv[idx]);
    let parsed = parse_long_long_or_reply(c, &arg, None);
    c.argv[idx] = arg;
    parsed
}

/// `DEL key [key ...]` and `UNLINK`: replies how many keys were removed.
/// An expired key is expired (and counted as such), not deleted.
///
/// Mirror of `delGenericCommand` (db.c). UNLINK frees large values in a
/// background thread in Redis; we have one thread, so it is DEL.
fn del_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let mut deleted = 0;
    for key in &c.argv[1..] {
        db.expire_if_needed(key, &mut server.stats);
        deleted += i64::from(db.delete(key));
    }
    c.add_reply_long_long(deleted);
}

/// `EXISTS key [key ...]`: counts the keys that exist (a key named twice
/// counts twice).
///
/// Mirror of `existsCommand` (db.c).
fn exists_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let found = c.argv[1..]
        .iter()
        .filter(|key| db.lookup_key_read(key, &mut server.stats).is_some())
        .count();
    c.add_reply_long_long(found as i64);
}

/// `TYPE key`: `string`, `list`, `set`, `hash`, or `none`.
///
/// Mirror of `typeCommand` (db.c).
fn type_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let name = type_name_of(
        db.lookup_key_read(&c.argv[1], &mut server.stats)
            .map(|v| &*v),
    );
    c.add_reply_status(name);
}

/// The NX/XX/GT/LT conditions of the EXPIRE family.
#[derive(Default)]
struct ExpireConditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Parses the conditions after `argv[2]`, replying the error for unknown or
/// incompatible ones.
///
/// Mirror of `parseExtendedExpireArgumentsOrReply` (expire.c).
fn parse_expire_conditions(c: &mut Client) -> Option<ExpireConditions> {
    let mut cond = ExpireConditions::default();
    for j in 3..c.argv.len() {
        let opt = &c.argv[j];
        if arg_is(opt, "nx") {
            cond.nx = true;
        } else if arg_is(opt, "xx") {
            cond.xx = true;
        } else if arg_is(opt, "gt") {
            cond.gt = true;
        } else if arg_is(opt, "lt") {
            cond.lt = true;
        } else {
            // Redis prints the option with %s, so it ends at a NUL byte.
            let msg = format!(
                "Unsupported option {}",
                String::from_utf8_lossy(c_str_prefix(opt, usize::MAX))
            );
            c.add_reply_error(&msg);
            return None;
        }
    }
    if cond.nx && (cond.xx || cond.gt || cond.lt) {
        c.add_reply_error("NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if cond.gt && cond.lt {
        c.add_reply_error("GT and LT options at the same time are not compatible");
        return None;
    }
    Some(cond)
}

/// True when the conditions allow replacing `current` (`None` = no TTL,
/// which GT and LT treat as an infinite TTL) with `when`.
fn conditions_allow(cond: &ExpireConditions, current: Option<i64>, when: i64) -> bool {
    match current {
        None => !cond.xx && !cond.gt,
        Some(current) => !(cond.nx || (cond.gt && when <= current) || (cond.lt && when >= current)),
    }
}

/// The shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: the deadline
/// is `argv[2]` (in seconds or ms) plus `basetime` (now, or 0 for the
/// absolute forms). Replies `:1` when the TTL was set or the key deleted,
/// `:0` when the key is missing or a condition said no.
///
/// Mirror of `expireGenericCommand` (expire.c).
fn expire_generic(
    server: &mut Server,
    c: &mut Client,
    basetime: i64,
    in_seconds: bool,
    command: &str,
) {
    let Some(cond) = parse_expire_conditions(c) else {
        return;
    };
    let Some(value) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    // Negative values are fine (they delete the key); only overflow is not.
    let scaled = if in_seconds {
        value.checked_mul(1000)
    } else {
        Some(value)
    };
    let Some(when) = scaled.and_then(|v| v.checked_add(basetime)) else {
        return c.add_reply_error(&format!("invalid expire time in '{command}' command"));
    };
    let db = &mut server.dbs[c.db];
    let key = &c.argv[1];
    if db.lookup_key_write(key, &mut server.stats).is_none() {
        return c.add_reply_long_long(0);
    }
    if !conditions_allow(&cond, db.get_expire(key), when) {
        return c.add_reply_long_long(0);
    }
    // Mirror of `checkAlreadyExpired`: a deadline not in the future deletes.
    if when <= mstime_i64() {
        db.delete(key);
    } else {
        db.set_expire(key, when);
    }
    c.add_reply_long_long(1);
}

/// `EXPIRE key seconds [NX|XX|GT|LT]` (mirror of `expireCommand`).
fn expire_command(call: &mut Call) {
    let (server, c) = call.parts();
    expire_generic(server, c, mstime_i64(), true, "expire");
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]` (mirror of `pexpireCommand`).
fn pexpire_command(call: &mut Call) {
    let (server, c) = call.parts();
    expire_generic(server, c, mstime_i64(), false, "pexpire");
}

/// `EXPIREAT key unix-time-seconds [NX|XX|GT|LT]` (mirror of `expireatCommand`).
fn expireat_command(call: &mut Call) {
    let (server, c) = call.parts();
    expire_generic(server, c, 0, true, "expireat");
}

/// `PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]` (mirror of `pexpireatCommand`).
fn pexpireat_command(call: &mut Call) {
    let (server, c) = call.parts();
    expire_generic(server, c, 0, false, "pexpireat");
}

/// TTL and PTTL: `-2` for a missing key, `-1` for no TTL, else the time
/// left, in ms or rounded to the nearest second.
///
/// Mirror of `ttlGenericCommand` (expire.c).
fn ttl_generic(server: &mut Server, c: &mut Client, in_ms: bool) {
    let db = &mut server.dbs[c.db];
    if db.lookup_key_read(&c.argv[1], &mut server.stats).is_none() {
        return c.add_reply_long_long(-2);
    }
    match db.get_expire(&c.argv[1]) {
        None => c.add_reply_long_long(-1),
        Some(when) => {
            let ttl = when.saturating_sub(mstime_i64()).max(0);
            c.add_reply_long_long(if in_ms { ttl } else { (ttl + 500) / 1000 });
        }
    }
}

/// `TTL key` (mirror of `ttlCommand`).
fn ttl_command(call: &mut Call) {
    let (server, c) = call.parts();
    ttl_generic(server, c, false);
}

/// `PTTL key` (mirror of `pttlCommand`).
fn pttl_command(call: &mut Call) {
    let (server, c) = call.parts();
    ttl_generic(server, c, true);
}

/// `PERSIST key`: `:1` if a TTL was removed (mirror of `persistCommand`).
fn persist_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let removed = db.lookup_key_write(&c.argv[1], &mut server.stats).is_some()
        && db.remove_expire(&c.argv[1]);
    c.add_reply_long_long(i64::from(removed));
}

/// `KEYS pattern`: every key matching the glob. Expired keys are skipped
/// but, unlike a lookup, not deleted (as in Redis 7.0).
///
/// Mirror of `keysCommand` (db.c).
fn keys_command(call: &mut Call) {
    let (server, c) = call.parts();
    let pattern = &c.argv[1];
    // A lone `*` matches everything, even the empty key that the matcher
    // itself would refuse.
    let all = pattern.as_slice() == b"*";
    let now = mstime_i64();
    let dict = server.dbs[c.db].dict();
    let keys: Vec<&Sds> = dict
        .iter()
        .filter(|(key, _, when)| {
            (all || string_match(pattern, key, false)) && when.is_none_or(|w| now <= w)
        })
        .map(|(key, _, _)| key)
        .collect();
    c.add_reply_array_len(keys.len());
    for key in keys {
        c.add_reply_bulk(key);
    }
}

/// The options of SCAN after the cursor.
struct ScanOptions {
    count: usize,
    /// `None` when absent or a lone `*`.
    pattern: Option<usize>,
    /// Index of the TYPE argument in `argv`.
    type_name: Option<usize>,
}

/// Parses `[MATCH pattern] [COUNT count] [TYPE type]` from `argv[2]` on;
/// each may repeat, the last one wins.
fn parse_scan_options(c: &mut Client) -> Option<ScanOptions> {
    let mut o = ScanOptions {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = 2;
    while i < c.argv.len() {
        let has_value = i + 1 < c.argv.len();
        if arg_is(&c.argv[i], "count") && has_value {
            let count = argv_long_long_or_reply(c, i + 1)?;
            if count < 1 {
                c.add_reply_error(ERR_SYNTAX);
                return None;
            }
            o.count = usize::try_from(count).unwrap_or(usize::MAX);
        } else if arg_is(&c.argv[i], "match") && has_value {
            o.pattern = (c.argv[i + 1].as_slice() != b"*").then_some(i + 1);
        } else if arg_is(&c.argv[i], "type") && has_value {
            o.type_name = Some(i + 1);
        } else {
            c.add_reply_error(ERR_SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(o)
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`: one step of an
/// incremental walk over the keyspace (see `db::dict` for the cursor rule).
///
/// Mirror of `scanGenericCommand` (db.c) for the keyspace. The filters run
/// in Redis's order: the pattern, then the type (a read lookup, so it counts
/// hits and misses, and an expired key reads as type `none`), then expiry.
fn scan_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(cursor) = parse_scan_cursor(&c.argv[1]) else {
        return c.add_reply_error("invalid cursor");
    };
    let Some(o) = parse_scan_options(c) else {
        return;
    };
    let db = &mut server.dbs[c.db];
    let mut keys: Vec<Sds> = Vec::new();
    let next = db
        .dict()
        .scan(cursor, o.count, |key, _| keys.push(key.clone()));
    keys.retain(|key| {
        if o.pattern
            .is_some_and(|p| !string_match(&c.argv[p], key, false))
        {
            return false;
        }
        if let Some(t) = o.type_name {
            let found = db.lookup_key_read(key, &mut server.stats).map(|v| &*v);
            if !arg_is(&c.argv[t], type_name_of(found)) {
                return false;
            }
        }
        !db.expire_if_needed(key, &mut server.stats)
    });
    c.add_reply_array_len(2);
    c.add_reply_bulk(next.to_string().as_bytes());
    c.add_reply_array_len(keys.len());
    for key in &keys {
        c.add_reply_bulk(key);
    }
}

/// RENAME and RENAMENX: moves the value and its TTL to the new name. With
/// `nx`, an existing destination wins (`:0`).
///
/// Mirror of `renameGenericCommand` (db.c).
fn rename_generic(server: &mut Server, c: &mut Client, nx: bool) {
    let db = &mut server.dbs[c.db];
    let (src, dst) = (&c.argv[1], &c.argv[2]);
    if db.lookup_key_write(src, &mut server.stats).is_none() {
        return c.add_reply_error("no such key");
    }
    if src == dst {
        return if nx {
            c.add_reply_long_long(0)
        } else {
            c.add_reply_ok()
        };
    }
    if db.lookup_key_write(dst, &mut server.stats).is_some() {
        if nx {
            return c.add_reply_long_long(0);
        }
        db.delete(dst);
    }
    if let Some((value, when)) = db.take(src) {
        db.add(dst, value);
        if let Some(when) = when {
            db.set_expire(dst, when);
        }
    }
    if nx {
        c.add_reply_long_long(1)
    } else {
        c.add_reply_ok()
    }
}

/// `RENAME key newkey` (mirror of `renameCommand`).
fn rename_command(call: &mut Call) {
    let (server, c) = call.parts();
    rename_generic(server, c, false);
}

/// `RENAMENX key newkey` (mirror of `renamenxCommand`).
fn renamenx_command(call: &mut Call) {
    let (server, c) = call.parts();
    rename_generic(server, c, true);
}

/// `RANDOMKEY`: a random key, or null when the database is empty.
///
/// Mirror of `randomkeyCommand` (db.c).
fn randomkey_command(call: &mut Call) {
    let (server, c) = call.parts();
    match server.dbs[c.db].random_key(&mut server.stats) {
        Some(key) => c.add_reply_bulk(&key),
        None => c.add_reply_null(),
    }
}

// ---------------------------------------------------------------------------
// The command table entries, and the helpers the keyed families share
// ---------------------------------------------------------------------------

/// An argument without token, not optional, not repeated, as old as its command.
pub(super) const fn arg(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: false,
        multiple: false,
        since: None,
    }
}

/// A `key` argument.
pub(super) const KEY: Arg = arg("key", ArgKind::Key);

/// An argument introduced by a literal word (`EX seconds`, `NX`).
pub(super) const fn token(name: &'static str, kind: ArgKind, token: &'static str) -> Arg {
    Arg {
        token: Some(token),
        ..arg(name, kind)
    }
}

/// A command row with only the name, proc, arity and group filled in; the
/// entries below override the rest with struct update syntax.
pub(super) const fn command(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    group: &'static str,
) -> RedisCommand {
    RedisCommand {
        name,
        proc_,
        arity,
        flags: "",
        first_key: 0,
        last_key: 0,
        key_step: 0,
        acl_categories: "",
        group,
        since: "1.0.0",
        summary: "",
        complexity: "O(1)",
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

/// A command whose keys are `argv[1..=last]` every `step` (`last` -1 = to the
/// end), all with the same key spec flags.
pub(super) const fn with_keys(
    mut cmd: RedisCommand,
    last: i32,
    step: i32,
    specs: &'static [KeySpec],
) -> RedisCommand {
    cmd.first_key = 1;
    cmd.last_key = last;
    cmd.key_step = step;
    cmd.key_specs = specs;
    cmd
}

/// A key spec for the key at `argv[index]`, or (with `lastkey` -1) for the
/// keys from there to the end, every `keystep`.
pub(super) const fn key_spec(
    flags: &'static str,
    index: i32,
    lastkey: i32,
    keystep: i32,
) -> KeySpec {
    KeySpec {
        notes: None,
        flags,
        begin_search: BeginSearch::Index(index),
        find_keys: FindKeys::Range {
            lastkey,
            keystep,
            limit: 0,
        },
    }
}

/// The key spec of a command with one key at `argv[1]`.
pub(super) const fn one_key_spec(flags: &'static str) -> KeySpec {
    key_spec(flags, 1, 0, 1)
}

/// The keys of DEL, UNLINK and EXISTS: every argument, split across shards
/// by cluster clients and the replies summed.
const MULTI_KEY_TIPS: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];

/// The `[NX|XX|GT|LT]` of the EXPIRE family.
const CONDITION: Arg = Arg {
    optional: true,
    since: Some("7.0.0"),
    ..arg(
        "condition",
        ArgKind::OneOf(&[
            token("nx", ArgKind::PureToken, "NX"),
            token("xx", ArgKind::PureToken, "XX"),
            token("gt", ArgKind::PureToken, "GT"),
            token("lt", ArgKind::PureToken, "LT"),
        ]),
    )
};

const EXPIRE_HISTORY: &[(&str, &str)] = &[("7.0.0", "The NX, XX, GT and LT conditions.")];
const TTL_HISTORY: &[(&str, &str)] = &[(
    "2.8.0",
    "-2 for a missing key (before, -1 as for a key without TTL).",
)];

const RW_UPDATE: &[KeySpec] = &[one_key_spec("RW update")];
const RO_ACCESS: &[KeySpec] = &[one_key_spec("RO access")];

/// One of the EXPIRE family: `args` are the key, a time, the conditions.
const fn expire_entry(
    name: &'static str,
    proc_: super::CommandProc,
    since: &'static str,
    summary: &'static str,
    args: &'static [Arg],
) -> RedisCommand {
    RedisCommand {
        flags: "write fast",
        acl_categories: "@keyspace @write @fast",
        since,
        summary,
        args,
        history: EXPIRE_HISTORY,
        ..with_keys(command(name, proc_, -3, "generic"), 1, 1, RW_UPDATE)
    }
}

/// TTL or PTTL.
const fn ttl_entry(
    name: &'static str,
    proc_: super::CommandProc,
    since: &'static str,
    summary: &'static str,
) -> RedisCommand {
    RedisCommand {
        flags: "readonly fast",
        acl_categories: "@keyspace @read @fast",
        since,
        summary,
        args: &[KEY],
        tips: &["nondeterministic_output"],
        history: TTL_HISTORY,
        ..with_keys(command(name, proc_, 2, "generic"), 1, 1, RO_ACCESS)
    }
}

const KEYS_ARG: Arg = Arg {
    multiple: true,
    ..KEY
};

pub const COMMANDS: &[RedisCommand] = &[
    RedisCommand {
        flags: "write",
        acl_categories: "@keyspace @write @slow",
        summary: "Deletes one or more keys",
        complexity: "O(N), N being the number of keys removed; removing a collection also costs O(M), M being its \
                     number of elements, while a string costs O(1)",
        args: &[KEYS_ARG],
        tips: MULTI_KEY_TIPS,
        ..with_keys(
            command("del", del_command, -2, "generic"),
            -1,
            1,
            &[key_spec("RM delete", 1, -1, 1)],
        )
    },
    RedisCommand {
        flags: "write fast",
        acl_categories: "@keyspace @write @fast",
        since: "4.0.0",
        summary: "Deletes one or more keys, leaving the freeing of big values to a background thread",
        complexity: "O(1) per key removed; freeing a value later costs O(N), N being its number of allocations",
        args: &[KEYS_ARG],
        tips: MULTI_KEY_TIPS,
        ..with_keys(
            command("unlink", del_command, -2, "generic"),
            -1,
            1,
            &[key_spec("RM delete", 1, -1, 1)],
        )
    },
    RedisCommand {
        flags: "readonly fast",
        acl_categories: "@keyspace @read @fast",
        summary: "Counts how many of the given keys exist",
        complexity: "O(N), N being the number of keys checked",
        args: &[KEYS_ARG],
        tips: MULTI_KEY_TIPS,
        history: &[("3.0.3", "More than one key.")],
        ..with_keys(
            command("exists", exists_command, -2, "generic"),
            -1,
            1,
            &[key_spec("RO", 1, -1, 1)],
        )
    },
    RedisCommand {
        flags: "readonly fast",
        acl_categories: "@keyspace @read @fast",
        summary: "Tells the type of the value stored at a key",
        args: &[KEY],
        ..with_keys(
            command("type", type_command, 2, "generic"),
            1,
            1,
            &[one_key_spec("RO")],
        )
    },
    expire_entry(
        "expire",
        expire_command,
        "1.0.0",
        "Sets a key's time to live in seconds",
        &[KEY, arg("seconds", ArgKind::Integer), CONDITION],
    ),
    expire_entry(
        "pexpire",
        pexpire_command,
        "2.6.0",
        "Sets a key's time to live in milliseconds",
        &[KEY, arg("milliseconds", ArgKind::Integer), CONDITION],
    ),
    expire_entry(
        "expireat",
        expireat_command,
        "1.2.0",
        "Sets the Unix time, in seconds, at which a key expires",
        &[KEY, arg("unix-time-seconds", ArgKind::UnixTime), CONDITION],
    ),
    expire_entry(
        "pexpireat",
        pexpireat_command,
        "2.6.0",
        "Sets the Unix time, in milliseconds, at which a key expires",
        &[
            KEY,
            arg("unix-time-milliseconds", ArgKind::UnixTime),
            CONDITION,
        ],
    ),
    ttl_entry(
        "ttl",
        ttl_command,
        "1.0.0",
        "Returns a key's time to live in seconds",
    ),
    ttl_entry(
        "pttl",
        pttl_command,
        "2.6.0",
        "Returns a key's time to live in milliseconds",
    ),
    RedisCommand {
        flags: "write fast",
        acl_categories: "@keyspace @write @fast",
        since: "2.2.0",
        summary: "Removes a key's time to live, so it no longer expires",
        args: &[KEY],
        ..with_keys(
            command("persist", persist_command, 2, "generic"),
            1,
            1,
            RW_UPDATE,
        )
    },
    RedisCommand {
        flags: "readonly",
        acl_categories: "@keyspace @read @slow @dangerous",
        summary: "Lists every key name that matches a glob pattern",
        complexity: "O(N), N being the number of keys in the database (for names and pattern of bounded length)",
        args: &[arg("pattern", ArgKind::Pattern)],
        tips: &["request_policy:all_shards", "nondeterministic_output_order"],
        ..command("keys", keys_command, 2, "generic")
    },
    RedisCommand {
        flags: "readonly",
        acl_categories: "@keyspace @read @slow",
        since: "2.8.0",
        summary: "Walks the key names of the database a few at a time",
        complexity: "O(1) per call; O(N) for a whole walk back to cursor 0, N being the number of keys",
        args: &[
            arg("cursor", ArgKind::Integer),
            Arg {
                optional: true,
                ..token("pattern", ArgKind::Pattern, "MATCH")
            },
            Arg {
                optional: true,
                ..token("count", ArgKind::Integer, "COUNT")
            },
            Arg {
                optional: true,
                since: Some("6.0.0"),
                ..token("type", ArgKind::String, "TYPE")
            },
        ],
        tips: &["nondeterministic_output", "request_policy:special"],
        history: &[("6.0.0", "The TYPE filter.")],
        ..command("scan", scan_command, -2, "generic")
    },
    RedisCommand {
        flags: "write",
        acl_categories: "@keyspace @write @slow",
        summary: "Gives a key a new name, replacing any key that had it",
        args: &[KEY, arg("newkey", ArgKind::Key)],
        ..with_keys(
            command("rename", rename_command, 3, "generic"),
            2,
            1,
            &[
                one_key_spec("RW access delete"),
                key_spec("OW update", 2, 0, 1),
            ],
        )
    },
    RedisCommand {
        flags: "write fast",
        acl_categories: "@keyspace @write @fast",
        summary: "Gives a key a new name, unless a key already has that name",
        args: &[KEY, arg("newkey", ArgKind::Key)],
        history: &[(
            "3.2.0",
            "Renaming a key to its own name is no longer an error.",
        )],
        ..with_keys(
            command("renamenx", renamenx_command, 3, "generic"),
            2,
            1,
            &[
                one_key_spec("RW access delete"),
                key_spec("OW insert", 2, 0, 1),
            ],
        )
    },
    RedisCommand {
        flags: "readonly",
        acl_categories: "@keyspace @read @slow",
        summary: "Returns the name of a key picked at random",
        tips: &["request_policy:all_shards", "nondeterministic_output"],
        ..command("randomkey", randomkey_command, 1, "generic")
    },
];

#[cfg(test)]
mod tests {
    //! Expected replies were captured from redis-server 7.0.15 by sending the
    //! same commands, after `FLUSHALL` and `RPUSH l x`.

    use crate::server::util::testkit::Harness;
    use std::collections::BTreeSet;

    fn harness() -> Harness {
        crate::server::frozen_clock::freeze();
        let mut h = Harness::new();
        h.add_list(b"l");
        h
    }

    #[test]
    fn del_exists_type_expire_ttl_persist_rename() {
        harness().expect(&[
            ("set a 1", "+OK\r\n"),
            ("set b 2", "+OK\r\n"),
            ("del a b c", ":2\r\n"),
            ("exists a b", ":0\r\n"),
            ("set a 1", "+OK\r\n"),
            ("exists a a nokey", ":2\r\n"),
            ("unlink a", ":1\r\n"),
            ("exists a", ":0\r\n"),
            ("del l", ":1\r\n"),
            ("type l", "+none\r\n"),
            ("type nokey", "+none\r\n"),
            ("set s v", "+OK\r\n"),
            ("type s", "+string\r\n"),
            ("expire s 100", ":1\r\n"),
            ("ttl s", ":100\r\n"),
            ("expire s 100 nx", ":0\r\n"),
            ("expire s 200 xx", ":1\r\n"),
            ("ttl s", ":200\r\n"),
            ("expire s 50 gt", ":0\r\n"),
            ("expire s 300 gt", ":1\r\n"),
            ("ttl s", ":300\r\n"),
            ("expire s 400 lt", ":0\r\n"),
            ("expire s 100 lt", ":1\r\n"),
            ("ttl s", ":100\r\n"),
            (
                "expire s 100 nx xx",
                "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            ),
            (
                "expire s 100 nx gt",
                "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            ),
            (
                "expire s 100 gt lt",
                "-ERR GT and LT options at the same time are not compatible\r\n",
            ),
            ("expire s 100 xx gt", ":0\r\n"),
            ("expire s 100 xx lt", ":0\r\n"),
            ("expire s 100 foo", "-ERR Unsupported option foo\r\n"),
            ("expire s 100 NX", ":0\r\n"),
            (
                "expire s abc",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("expire s abc foo", "-ERR Unsupported option foo\r\n"),
            ("expire nokey 100", ":0\r\n"),
            (
                "expire nokey abc",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "expire s 9223372036854775",
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                "expire s 9223372036854775807",
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            (
                "expire s -9223372036854775808",
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            ("exists s", ":1\r\n"),
            (
                "expire s -9223372036854776",
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            ("expire s -9223372036854775", ":1\r\n"),
            ("exists s", ":0\r\n"),
            ("set s v", "+OK\r\n"),
            ("persist s", ":0\r\n"),
            ("expire s 100 xx", ":0\r\n"),
            ("expire s 100 gt", ":0\r\n"),
            ("expire s 100 lt", ":1\r\n"),
            ("ttl s", ":100\r\n"),
            ("persist s", ":1\r\n"),
            ("ttl s", ":-1\r\n"),
            ("pexpire s 100000", ":1\r\n"),
            ("ttl s", ":100\r\n"),
            (
                "pexpire s 9223372036854775807",
                "-ERR invalid expire time in 'pexpire' command\r\n",
            ),
            (
                "pexpire s 9223372036854775806",
                "-ERR invalid expire time in 'pexpire' command\r\n",
            ),
            ("expireat s 9223372036854775", ":1\r\n"),
            (
                "expireat s 9223372036854775807",
                "-ERR invalid expire time in 'expireat' command\r\n",
            ),
            ("expireat s 0", ":1\r\n"),
            ("exists s", ":0\r\n"),
            ("set s v", "+OK\r\n"),
            ("pexpireat s -5", ":1\r\n"),
            ("exists s", ":0\r\n"),
            ("set s v", "+OK\r\n"),
            ("pexpireat s 4000000000000", ":1\r\n"),
            ("pexpireat s 4000000000000 gt", ":0\r\n"),
            ("pexpireat s 4000000000001 gt", ":1\r\n"),
            ("pexpireat s 3000000000000 lt", ":1\r\n"),
            ("pexpireat s 3000000000001 gt", ":1\r\n"),
            ("expire s 0", ":1\r\n"),
            ("exists s", ":0\r\n"),
            ("ttl nokey", ":-2\r\n"),
            ("pttl nokey", ":-2\r\n"),
            ("set s v", "+OK\r\n"),
            ("ttl s", ":-1\r\n"),
            ("pttl s", ":-1\r\n"),
            ("persist nokey", ":0\r\n"),
            ("persist s", ":0\r\n"),
            ("rename nokey x", "-ERR no such key\r\n"),
            ("rename s s", "+OK\r\n"),
            ("renamenx s s", ":0\r\n"),
            ("rename nokey nokey", "-ERR no such key\r\n"),
            ("renamenx nokey nokey", "-ERR no such key\r\n"),
            ("set s v ex 100", "+OK\r\n"),
            ("rename s s2", "+OK\r\n"),
            ("ttl s2", ":100\r\n"),
            ("exists s", ":0\r\n"),
            ("set s3 x", "+OK\r\n"),
            ("renamenx s2 s3", ":0\r\n"),
            ("renamenx s2 s4", ":1\r\n"),
            ("ttl s4", ":100\r\n"),
            ("rename s4 s3", "+OK\r\n"),
            ("get s3", "$1\r\nv\r\n"),
            ("ttl s3", ":100\r\n"),
            ("set l2 x", "+OK\r\n"),
            ("rename s3 l2", "+OK\r\n"),
            ("ttl l2", ":100\r\n"),
            ("randomkey", "$2\r\nl2\r\n"),
        ]);
    }

    #[test]
    fn keys_scan_randomkey_replies() {
        harness().expect(&[
            ("del l", ":1\r\n"),
            ("keys *", "*0\r\n"),
            ("scan 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("randomkey", "$-1\r\n"),
            ("set aa 1", "+OK\r\n"),
            ("set b 2", "+OK\r\n"),
            ("set c 3", "+OK\r\n"),
            ("keys [^ab]", "*1\r\n$1\r\nc\r\n"),
            ("keys [ab]a", "*1\r\n$2\r\naa\r\n"),
            ("keys \\a*", "*1\r\n$2\r\naa\r\n"),
            ("keys a\\", "*0\r\n"),
            ("keys *\\", "*0\r\n"),
            ("keys [a", "*0\r\n"),
            ("keys aa[^", "*0\r\n"),
            ("keys c*", "*1\r\n$1\r\nc\r\n"),
            ("keys *c", "*1\r\n$1\r\nc\r\n"),
            ("keys b?", "*0\r\n"),
            ("scan 0 count 0", "-ERR syntax error\r\n"),
            ("scan 0 count -1", "-ERR syntax error\r\n"),
            (
                "scan 0 count abc",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("scan 0 count", "-ERR syntax error\r\n"),
            ("scan 0 match", "-ERR syntax error\r\n"),
            ("scan 0 foo bar", "-ERR syntax error\r\n"),
            ("scan abc", "-ERR invalid cursor\r\n"),
            ("scan 18446744073709551616", "-ERR invalid cursor\r\n"),
            ("scan 0 type foo", "*2\r\n$1\r\n0\r\n*0\r\n"),
            (
                "scan 0 match a* count 1000",
                "*2\r\n$1\r\n0\r\n*1\r\n$2\r\naa\r\n",
            ),
            (
                "scan 0 match a* match b*",
                "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nb\r\n",
            ),
            ("scan 0 count 1000 type hash", "*2\r\n$1\r\n0\r\n*0\r\n"),
            (
                "scan 0 count 1 count 1000 match c",
                "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n",
            ),
            (
                "scan 0 MATCH c TYPE STRING COUNT 5",
                "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n",
            ),
        ]);
    }

    #[test]
    fn unsupported_option_text_stops_at_nul_and_loses_newlines() {
        let mut h = harness();
        h.cmd("set k v");
        assert_eq!(
            h.run(&[b"expire", b"k", b"100", b"foo\0bar"]),
            b"-ERR Unsupported option foo\r\n"
        );
        assert_eq!(
            h.run(&[b"expire", b"k", b"100", b"a\r\nb"]),
            b"-ERR Unsupported option a  b\r\n"
        );
        assert_eq!(
            h.run(&[b"scan", b"0\0x"]),
            b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nk\r\n$1\r\nl\r\n"
        );
        assert_eq!(h.run(&[b"scan", b" 0"]), b"-ERR invalid cursor\r\n");
        assert_eq!(
            h.run(&[b"scan", b"0", b"type", b"string\0x"]),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
        );
    }

    /// KEYS replies in table order, which differs from Redis's hash order,
    /// so these compare the sets of names.
    fn keys_of(h: &mut Harness, pattern: &[u8]) -> BTreeSet<Vec<u8>> {
        let reply = h.run(&[b"keys", pattern]);
        parse_bulk_array(&reply)
    }

    /// The bulk strings of a flat RESP2 array reply.
    fn parse_bulk_array(reply: &[u8]) -> BTreeSet<Vec<u8>> {
        let mut out = BTreeSet::new();
        let mut rest = &reply[reply
            .iter()
            .position(|&b| b == b'\n')
            .expect("array header")
            + 1..];
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let len: usize = std::str::from_utf8(&rest[1..nl - 1])
                .expect("utf8")
                .parse()
                .expect("bulk length");
            out.insert(rest[nl + 1..nl + 1 + len].to_vec());
            rest = &rest[nl + 1 + len + 2..];
        }
        out
    }

    #[test]
    fn keys_patterns() {
        let mut h = harness();
        for k in [
            "hello", "hallo", "hxllo", "heeello", "user:1", "user:22", "",
        ] {
            h.run(&[b"set", k.as_bytes(), b"v"]);
        }
        let set = |names: &[&str]| {
            names
                .iter()
                .map(|n| n.as_bytes().to_vec())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(keys_of(&mut h, b"h?llo"), set(&["hello", "hallo", "hxllo"]));
        assert_eq!(
            keys_of(&mut h, b"h*llo"),
            set(&["hello", "hallo", "hxllo", "heeello"])
        );
        assert_eq!(keys_of(&mut h, b"h[ae]llo"), set(&["hello", "hallo"]));
        assert_eq!(keys_of(&mut h, b"h[^e]llo"), set(&["hallo", "hxllo"]));
        assert_eq!(keys_of(&mut h, b"h[a-b]llo"), set(&["hallo"]));
        assert_eq!(keys_of(&mut h, b"user:?"), set(&["user:1"]));
        // Seen on redis-server 7.0.15: KEYS * lists the empty key name, KEYS ** does not.
        assert_eq!(keys_of(&mut h, b"*").len(), 8);
        assert!(keys_of(&mut h, b"*").contains(&b""[..]));
        assert_eq!(keys_of(&mut h, b"**").len(), 7);
    }

    #[test]
    fn a_full_scan_returns_every_key_once_and_ends_at_zero() {
        let mut h = harness();
        for i in 0..25 {
            h.cmd(&format!("set key:{i} v"));
        }
        let mut seen = Vec::new();
        let mut cursor = b"0".to_vec();
        let mut calls = 0;
        loop {
            let reply = h.run(&[b"scan", &cursor, b"count", b"4"]);
            // *2 $n cursor *m keys...
            let text = reply.clone();
            let after_header = &text[4..];
            let nl = after_header
                .iter()
                .position(|&b| b == b'\n')
                .expect("cursor length");
            let len: usize = std::str::from_utf8(&after_header[1..nl - 1])
                .expect("utf8")
                .parse()
                .expect("length");
            cursor = after_header[nl + 1..nl + 1 + len].to_vec();
            let keys = parse_bulk_array(&after_header[nl + 1 + len + 2..]);
            assert!(keys.len() <= 4);
            seen.extend(keys);
            calls += 1;
            if cursor == b"0" {
                break;
            }
        }
        assert_eq!(calls, 7, "26 keys, 4 per call");
        assert_eq!(seen.len(), 26);
        assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 26);
    }

    #[test]
    fn expired_keys_in_keys_scan_del_and_lookups() {
        // The same sequence on redis-server 7.0.15, with active expiry off,
        // gives these replies, these DBSIZEs, expired_keys:9,
        // keyspace_hits:4 and keyspace_misses:5.
        let mut h = harness();
        let size = |h: &Harness| h.server.dbs[0].size();
        h.expect(&[
            ("set a 1 pxat 1", "+OK\r\n"),
            ("set b 1 pxat 1", "+OK\r\n"),
            ("set c 1 pxat 1", "+OK\r\n"),
            ("set d 1", "+OK\r\n"),
        ]);
        assert_eq!(
            keys_of(&mut h, b"*"),
            [b"d".to_vec(), b"l".to_vec()].into_iter().collect()
        );
        assert_eq!(size(&h), 5, "KEYS skips expired keys without deleting them");
        assert_eq!(parse_bulk_array(&h.run(&[b"scan", b"0"])[11..]).len(), 2);
        assert_eq!(size(&h), 2, "SCAN deletes the expired keys it meets");
        h.expect(&[
            ("set a 1 pxat 1", "+OK\r\n"),
            ("set b 1 pxat 1", "+OK\r\n"),
            ("exists a", ":0\r\n"),
            ("del b", ":0\r\n"),
        ]);
        assert_eq!(size(&h), 2);
        h.expect(&[
            ("set a 1 pxat 1", "+OK\r\n"),
            ("set b 1 pxat 1", "+OK\r\n"),
            ("scan 0 type string", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nd\r\n"),
        ]);
        assert_eq!(size(&h), 2);
        h.expect(&[
            ("set a 1 pxat 1", "+OK\r\n"),
            ("scan 0 match z*", "*2\r\n$1\r\n0\r\n*0\r\n"),
        ]);
        assert_eq!(size(&h), 3, "keys filtered by MATCH are not expired");
        // An expired key looks like type "none" to the TYPE filter, so it is returned.
        h.expect(&[("scan 0 type none", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n")]);
        assert_eq!(size(&h), 2);
        h.expect(&[
            ("set x 1 pxat 1", "+OK\r\n"),
            ("rename x y", "-ERR no such key\r\n"),
            ("expire x 100", ":0\r\n"),
            ("ttl x", ":-2\r\n"),
            ("persist x", ":0\r\n"),
        ]);
        let stats = &h.server.stats;
        assert_eq!(
            (
                stats.expiredkeys,
                stats.keyspace_hits,
                stats.keyspace_misses
            ),
            (9, 4, 5)
        );
    }

    #[test]
    fn randomkey_picks_among_live_keys() {
        let mut h = harness();
        h.cmd("set a 1");
        h.cmd("set gone 1 pxat 1");
        for _ in 0..20 {
            let reply = h.cmd("randomkey");
            assert!(
                reply == "$1\r\na\r\n" || reply == "$1\r\nl\r\n",
                "{reply:?}"
            );
        }
    }

    #[test]
    fn keys_commands_are_in_the_table_with_redis_metadata() {
        let table = crate::server::cmd::CommandTable::new();
        let get = |name: &str| table.lookup(&[name.as_bytes().to_vec()]).expect(name);
        let rename = get("rename");
        assert_eq!(
            (rename.first_key, rename.last_key, rename.key_step),
            (1, 2, 1)
        );
        assert_eq!(rename.key_specs.len(), 2);
        assert_eq!(rename.key_specs[1].flags, "OW update");
        let del = get("del");
        assert_eq!(
            (del.arity, del.first_key, del.last_key, del.key_step),
            (-2, 1, -1, 1)
        );
        assert_eq!(
            del.tips,
            ["request_policy:multi_shard", "response_policy:agg_sum"]
        );
        let scan = get("scan");
        assert_eq!(
            (scan.arity, scan.first_key, scan.flags),
            (-2, 0, "readonly")
        );
        assert_eq!(
            scan.args
                .iter()
                .map(|a| (a.name, a.token))
                .collect::<Vec<_>>(),
            [
                ("cursor", None),
                ("pattern", Some("MATCH")),
                ("count", Some("COUNT")),
                ("type", Some("TYPE"))
            ]
        );
        assert_eq!(
            get("keys").acl_categories,
            "@keyspace @read @slow @dangerous"
        );
    }
}

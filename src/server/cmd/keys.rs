//! The generic key commands: existence, type, deletion, renaming, time to
//! live, and walking the keyspace (`KEYS`, `SCAN`, `RANDOMKEY`). The mirror of
//! the key parts of Redis's `db.c` and of `expire.c`.
//!
//! They work on keys of any type. Deadlines are absolute Unix times in
//! milliseconds; `EXPIRE` and friends convert to that, and a deadline that is
//! already in the past deletes the key at once, since it would be gone at the
//! next lookup anyway.

use super::{Arg, ArgKind, RedisCommand};
use crate::server::Server;
use crate::server::client::Client;
use crate::server::db::{Sds, mstime_i64, type_name_of};
use crate::server::util::number::{get_long_long_or_reply, parse_scan_cursor};
use crate::server::util::{arg_is, c_str, string_match};

const ERR_SYNTAX: &str = "syntax error";

/// `DEL key [key ...]` and `UNLINK`: replies how many keys were removed.
/// An expired key is expired (and counted as such), not deleted.
///
/// Mirror of `delGenericCommand` (db.c). UNLINK frees large values in a
/// background thread in Redis; we have one thread, so it is DEL.
fn del_command(server: &mut Server, c: &mut Client) {
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
fn exists_command(server: &mut Server, c: &mut Client) {
    let db = &mut server.dbs[c.db];
    let found = c.argv[1..].iter().filter(|key| db.lookup_key_read(key, &mut server.stats).is_some()).count();
    c.add_reply_long_long(found as i64);
}

/// `TYPE key`: `string`, `list`, `set`, `hash`, or `none`.
///
/// Mirror of `typeCommand` (db.c).
fn type_command(server: &mut Server, c: &mut Client) {
    let db = &mut server.dbs[c.db];
    let name = type_name_of(db.lookup_key_read(&c.argv[1], &mut server.stats).map(|v| &*v));
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
            let msg = format!("Unsupported option {}", String::from_utf8_lossy(c_str(opt)));
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
        Some(current) => !cond.nx && !(cond.gt && when <= current) && !(cond.lt && when >= current),
    }
}

/// The shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: the deadline
/// is `argv[2]` (in seconds or ms) plus `basetime` (now, or 0 for the
/// absolute forms). Replies `:1` when the TTL was set or the key deleted,
/// `:0` when the key is missing or a condition said no.
///
/// Mirror of `expireGenericCommand` (expire.c).
fn expire_generic(server: &mut Server, c: &mut Client, basetime: i64, in_seconds: bool, command: &str) {
    let Some(cond) = parse_expire_conditions(c) else { return };
    let Some(value) = get_long_long_or_reply(c, 2) else { return };
    // Negative values are fine (they delete the key); only overflow is not.
    let scaled = if in_seconds { value.checked_mul(1000) } else { Some(value) };
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
fn expire_command(server: &mut Server, c: &mut Client) {
    expire_generic(server, c, mstime_i64(), true, "expire");
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]` (mirror of `pexpireCommand`).
fn pexpire_command(server: &mut Server, c: &mut Client) {
    expire_generic(server, c, mstime_i64(), false, "pexpire");
}

/// `EXPIREAT key unix-time-seconds [NX|XX|GT|LT]` (mirror of `expireatCommand`).
fn expireat_command(server: &mut Server, c: &mut Client) {
    expire_generic(server, c, 0, true, "expireat");
}

/// `PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]` (mirror of `pexpireatCommand`).
fn pexpireat_command(server: &mut Server, c: &mut Client) {
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
fn ttl_command(server: &mut Server, c: &mut Client) {
    ttl_generic(server, c, false);
}

/// `PTTL key` (mirror of `pttlCommand`).
fn pttl_command(server: &mut Server, c: &mut Client) {
    ttl_generic(server, c, true);
}

/// `PERSIST key`: `:1` if a TTL was removed (mirror of `persistCommand`).
fn persist_command(server: &mut Server, c: &mut Client) {
    let db = &mut server.dbs[c.db];
    let removed = db.lookup_key_write(&c.argv[1], &mut server.stats).is_some() && db.remove_expire(&c.argv[1]);
    c.add_reply_long_long(i64::from(removed));
}

/// `KEYS pattern`: every key matching the glob. Expired keys are skipped
/// but, unlike a lookup, not deleted (as in Redis 7.0).
///
/// Mirror of `keysCommand` (db.c).
fn keys_command(server: &mut Server, c: &mut Client) {
    let pattern = &c.argv[1];
    // A lone `*` matches everything, even the empty key that the matcher
    // itself would refuse.
    let all = pattern.as_slice() == b"*";
    let now = mstime_i64();
    let dict = server.dbs[c.db].dict();
    let keys: Vec<&Sds> = dict
        .iter()
        .filter(|(key, _, when)| (all || string_match(pattern, key, false)) && when.is_none_or(|w| now <= w))
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
    let mut o = ScanOptions { count: 10, pattern: None, type_name: None };
    let mut i = 2;
    while i < c.argv.len() {
        let has_value = i + 1 < c.argv.len();
        if arg_is(&c.argv[i], "count") && has_value {
            let count = get_long_long_or_reply(c, i + 1)?;
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
fn scan_command(server: &mut Server, c: &mut Client) {
    let Some(cursor) = parse_scan_cursor(&c.argv[1]) else {
        return c.add_reply_error("invalid cursor");
    };
    let Some(o) = parse_scan_options(c) else { return };
    let db = &mut server.dbs[c.db];
    let mut keys: Vec<Sds> = Vec::new();
    let next = db.dict().scan(cursor, o.count, |key, _| keys.push(key.clone()));
    keys.retain(|key| {
        if o.pattern.is_some_and(|p| !string_match(&c.argv[p], key, false)) {
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
        return if nx { c.add_reply_long_long(0) } else { c.add_reply_ok() };
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
    if nx { c.add_reply_long_long(1) } else { c.add_reply_ok() }
}

/// `RENAME key newkey` (mirror of `renameCommand`).
fn rename_command(server: &mut Server, c: &mut Client) {
    rename_generic(server, c, false);
}

/// `RENAMENX key newkey` (mirror of `renamenxCommand`).
fn renamenx_command(server: &mut Server, c: &mut Client) {
    rename_generic(server, c, true);
}

/// `RANDOMKEY`: a random key, or null when the database is empty.
///
/// Mirror of `randomkeyCommand` (db.c).
fn randomkey_command(server: &mut Server, c: &mut Client) {
    match server.dbs[c.db].random_key(&mut server.stats) {
        Some(key) => c.add_reply_bulk(&key),
        None => c.add_reply_null(),
    }
}

// ---------------------------------------------------------------------------
// The command table entries
// ---------------------------------------------------------------------------

/// An argument without token, not optional, not repeated.
const fn arg(name: &'static str, kind: ArgKind) -> Arg {
    Arg { name, kind, token: None, optional: false, multiple: false }
}

const KEY: Arg = arg("key", ArgKind::Key);
const KEYS: Arg = Arg { multiple: true, ..KEY };

const fn pure_token(name: &'static str, token: &'static str) -> Arg {
    Arg { name, kind: ArgKind::PureToken, token: Some(token), optional: false, multiple: false }
}

/// The `[NX|XX|GT|LT]` of the EXPIRE family.
const CONDITION: Arg = Arg {
    optional: true,
    ..arg(
        "condition",
        ArgKind::OneOf(&[pure_token("nx", "NX"), pure_token("xx", "XX"), pure_token("gt", "GT"), pure_token("lt", "LT")]),
    )
};

/// A generic command on keys at `argv[first..=last]`.
#[allow(clippy::too_many_arguments, reason = "one argument per column of the command table")]
const fn generic(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    flags: &'static str,
    (first_key, last_key): (i32, i32),
    acl_categories: &'static str,
    since: &'static str,
    summary: &'static str,
    args: &'static [Arg],
) -> RedisCommand {
    let step = if first_key == 0 { 0 } else { 1 };
    RedisCommand {
        name,
        proc_,
        arity,
        flags,
        first_key,
        last_key,
        key_step: step,
        acl_categories,
        group: "generic",
        since,
        summary,
        complexity: "O(1)",
        args,
        subcommands: &[],
    }
}

pub const COMMANDS: &[RedisCommand] = &[
    RedisCommand {
        complexity: "O(N), N being the number of keys removed; removing a collection also costs O(M), M being its number of elements, while a string is O(1).",
        ..generic("del", del_command, -2, "write", (1, -1), "@keyspace @write @slow", "1.0.0", "Deletes one or more keys.", &[KEYS])
    },
    RedisCommand {
        complexity: "O(1) per key removed; freeing a large value happens later, at O(N) in its number of allocations.",
        ..generic(
            "unlink",
            del_command,
            -2,
            "write fast",
            (1, -1),
            "@keyspace @write @fast",
            "4.0.0",
            "Asynchronously deletes one or more keys.",
            &[KEYS],
        )
    },
    RedisCommand {
        complexity: "O(N), N being the number of keys checked.",
        ..generic(
            "exists",
            exists_command,
            -2,
            "readonly fast",
            (1, -1),
            "@keyspace @read @fast",
            "1.0.0",
            "Determines whether one or more keys exist.",
            &[KEYS],
        )
    },
    generic("type", type_command, 2, "readonly fast", (1, 1), "@keyspace @read @fast", "1.0.0", "Determines the type of value stored at a key.", &[KEY]),
    generic(
        "expire",
        expire_command,
        -3,
        "write fast",
        (1, 1),
        "@keyspace @write @fast",
        "1.0.0",
        "Sets the expiration time of a key in seconds.",
        &[KEY, arg("seconds", ArgKind::Integer), CONDITION],
    ),
    generic(
        "pexpire",
        pexpire_command,
        -3,
        "write fast",
        (1, 1),
        "@keyspace @write @fast",
        "2.6.0",
        "Sets the expiration time of a key in milliseconds.",
        &[KEY, arg("milliseconds", ArgKind::Integer), CONDITION],
    ),
    generic(
        "expireat",
        expireat_command,
        -3,
        "write fast",
        (1, 1),
        "@keyspace @write @fast",
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.",
        &[KEY, arg("unix-time-seconds", ArgKind::UnixTime), CONDITION],
    ),
    generic(
        "pexpireat",
        pexpireat_command,
        -3,
        "write fast",
        (1, 1),
        "@keyspace @write @fast",
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        &[KEY, arg("unix-time-milliseconds", ArgKind::UnixTime), CONDITION],
    ),
    generic("ttl", ttl_command, 2, "readonly fast", (1, 1), "@keyspace @read @fast", "1.0.0", "Returns the expiration time in seconds of a key.", &[KEY]),
    generic(
        "pttl",
        pttl_command,
        2,
        "readonly fast",
        (1, 1),
        "@keyspace @read @fast",
        "2.6.0",
        "Returns the expiration time in milliseconds of a key.",
        &[KEY],
    ),
    generic("persist", persist_command, 2, "write fast", (1, 1), "@keyspace @write @fast", "2.2.0", "Removes the expiration time of a key.", &[KEY]),
    RedisCommand {
        complexity: "O(N), N being the number of keys in the database, assuming keys and pattern of limited length.",
        ..generic(
            "keys",
            keys_command,
            2,
            "readonly",
            (0, 0),
            "@keyspace @read @slow @dangerous",
            "1.0.0",
            "Returns all key names that match a pattern.",
            &[arg("pattern", ArgKind::Pattern)],
        )
    },
    RedisCommand {
        complexity: "O(1) per call; O(N) for a whole iteration back to cursor 0, N being the number of keys.",
        ..generic(
            "scan",
            scan_command,
            -2,
            "readonly",
            (0, 0),
            "@keyspace @read @slow",
            "2.8.0",
            "Iterates over the key names in the database.",
            &[
                arg("cursor", ArgKind::Integer),
                Arg { token: Some("MATCH"), optional: true, ..arg("pattern", ArgKind::Pattern) },
                Arg { token: Some("COUNT"), optional: true, ..arg("count", ArgKind::Integer) },
                Arg { token: Some("TYPE"), optional: true, ..arg("type", ArgKind::String) },
            ],
        )
    },
    generic(
        "rename",
        rename_command,
        3,
        "write",
        (1, 2),
        "@keyspace @write @slow",
        "1.0.0",
        "Renames a key and overwrites the destination.",
        &[KEY, arg("newkey", ArgKind::Key)],
    ),
    generic(
        "renamenx",
        renamenx_command,
        3,
        "write fast",
        (1, 2),
        "@keyspace @write @fast",
        "1.0.0",
        "Renames a key only when the target key name doesn't exist.",
        &[KEY, arg("newkey", ArgKind::Key)],
    ),
    generic("randomkey", randomkey_command, 1, "readonly", (0, 0), "@keyspace @read @slow", "1.0.0", "Returns a random key name from the database.", &[]),
];

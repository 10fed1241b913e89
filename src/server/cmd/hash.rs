//! The hash commands: the mirror of Redis's `t_hash.c`.
//!
//! A hash maps field names to string values under one key — a record, an
//! object. Small hashes are kept as a listpack and big ones as a table (see
//! [`Hash`]); the commands do not see the difference, except in the order
//! `HGETALL` lists the fields. Like a list, a hash never exists empty: the
//! `HDEL` that removes its last field deletes the key.

use super::keys::{KEY, arg, argv_long_long_or_reply, command, one_key_spec, with_keys};
use super::{Arg, ArgKind, KeySpec, RedisCommand};
use crate::server::call::Call;
use crate::server::client::Client;
use crate::server::db::hash::Hash;
use crate::server::db::{Db, Typed, Value, WRONGTYPE_ERR};
use crate::server::util::long_double::LongDouble;
use crate::server::util::number::{ERR_NOT_FLOAT, string2ll};
use crate::server::{Server, Stats};

/// A key looked up as a hash.
type Lookup<'a> = Typed<'a, Hash>;

/// Looks `key` up for reading (counting a hit or miss) or writing, and
/// sorts the result (the lookup plus `checkType` of the hash commands).
fn lookup_hash<'a>(db: &'a mut Db, stats: &mut Stats, key: &[u8], write: bool) -> Lookup<'a> {
    db.lookup_typed(key, stats, write, |v| match v {
        Value::Hash(x) => Some(&mut **x),
        _ => None,
    })
}

/// The hash at `argv[1]`, created empty if missing, or `None` after
/// replying WRONGTYPE (mirror of `hashTypeLookupWriteOrCreate`).
fn lookup_write_or_create<'a>(
    db: &'a mut Db,
    stats: &mut Stats,
    c: &mut Client,
) -> Option<&'a mut Hash> {
    let key = &c.argv[1];
    match db.lookup_key_write(key, stats) {
        Some(Value::Hash(_)) => {}
        Some(_) => {
            c.add_reply_error(WRONGTYPE_ERR);
            return None;
        }
        None => db.add(key, Value::Hash(Box::default())),
    }
    match db.lookup_key_write(&c.argv[1], stats) {
        Some(Value::Hash(h)) => Some(h),
        _ => None,
    }
}

/// HSET and HMSET: field/value pairs from `argv[2]`; replies how many
/// fields are new, or `+OK` for HMSET (mirror of `hsetCommand`).
fn hset_generic(server: &mut Server, c: &mut Client, name: &str, reply_ok: bool) {
    if c.argv.len() % 2 == 1 {
        return c.add_reply_error_arity(name);
    }
    let db = &mut server.dbs[c.db];
    let Some(h) = lookup_write_or_create(db, &mut server.stats, c) else {
        return;
    };
    h.try_conversion(&c.argv[2..]);
    let created = c.argv[2..]
        .chunks_exact(2)
        .filter(|pair| h.set(&pair[0], &pair[1]))
        .count();
    db.signal_modified_key(&c.argv[1]);
    if reply_ok {
        c.add_reply_ok();
    } else {
        c.add_reply_long_long(created as i64);
    }
}

/// `HSET key field value [field value ...]` (mirror of `hsetCommand`).
fn hset_command(call: &mut Call) {
    let (server, c) = call.parts();
    hset_generic(server, c, "hset", false);
}

/// `HMSET key field value [field value ...]`: HSET answering `+OK`.
fn hmset_command(call: &mut Call) {
    let (server, c) = call.parts();
    hset_generic(server, c, "hmset", true);
}

/// `HSETNX key field value`: sets only a new field; `:1` if it did (mirror
/// of `hsetnxCommand`).
fn hsetnx_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let Some(h) = lookup_write_or_create(db, &mut server.stats, c) else {
        return;
    };
    if h.contains(&c.argv[2]) {
        return c.add_reply_long_long(0);
    }
    h.try_conversion(&c.argv[2..4]);
    h.set(&c.argv[2], &c.argv[3]);
    db.signal_modified_key(&c.argv[1]);
    c.add_reply_long_long(1);
}

/// `HGET key field` (mirror of `hgetCommand`).
fn hget_command(call: &mut Call) {
    let (server, c) = call.parts();
    match lookup_hash(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => c.add_reply_null(),
        Lookup::Found(h) => match h.get(&c.argv[2]) {
            Some(v) => c.add_reply_bulk(v),
            None => c.add_reply_null(),
        },
    }
}

/// `HMGET key field [field ...]`: a null for each missing field (mirror of
/// `hmgetCommand`).
fn hmget_command(call: &mut Call) {
    let (server, c) = call.parts();
    let h = match lookup_hash(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => None,
        Lookup::Found(h) => Some(&*h),
    };
    c.add_reply_array_len(c.argv.len() - 2);
    for j in 2..c.argv.len() {
        match h.and_then(|h| h.get(&c.argv[j])) {
            Some(v) => c.add_reply_bulk(v),
            None => c.add_reply_null(),
        }
    }
}

/// `HDEL key field [field ...]`: how many fields went (mirror of `hdelCommand`).
fn hdel_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let h = match lookup_hash(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_long_long(0),
        Lookup::Found(h) => h,
    };
    let mut deleted = 0;
    for field in &c.argv[2..] {
        if h.delete(field) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let emptied = h.is_empty();
    if deleted > 0 {
        db.signal_modified_key(&c.argv[1]);
        if emptied {
            db.delete(&c.argv[1]);
        }
    }
    c.add_reply_long_long(deleted);
}

/// `HEXISTS key field` (mirror of `hexistsCommand`).
fn hexists_command(call: &mut Call) {
    let (server, c) = call.parts();
    match lookup_hash(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => c.add_reply_long_long(0),
        Lookup::Found(h) => {
            let found = h.contains(&c.argv[2]);
            c.add_reply_long_long(i64::from(found));
        }
    }
}

/// `HLEN key` (mirror of `hlenCommand`).
fn hlen_command(call: &mut Call) {
    let (server, c) = call.parts();
    match lookup_hash(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => c.add_reply_long_long(0),
        Lookup::Found(h) => {
            let len = h.len() as i64;
            c.add_reply_long_long(len);
        }
    }
}

/// `HSTRLEN key field`: the length of a field's value, 0 if missing (mirror
/// of `hstrlenCommand`).
fn hstrlen_command(call: &mut Call) {
    let (server, c) = call.parts();
    match lookup_hash(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => c.add_reply_long_long(0),
        Lookup::Found(h) => {
            let len = h.get(&c.argv[2]).map_or(0, |v| v.len());
            c.add_reply_long_long(len as i64);
        }
    }
}

/// What HGETALL, HKEYS and HVALS list of each field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// HGETALL (a map), HKEYS and HVALS (arrays), in the hash's order (mirror
/// of `genericHgetallCommand`).
fn getall_generic(server: &mut Server, c: &mut Client, parts: Parts) {
    let h = match lookup_hash(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => None,
        Lookup::Found(h) => Some(&*h),
    };
    let len = h.map_or(0, Hash::len);
    if parts == Parts::Both {
        c.add_reply_map_len(len);
    } else {
        c.add_reply_array_len(len);
    }
    for (field, value) in h.into_iter().flat_map(Hash::iter) {
        if parts != Parts::Values {
            c.add_reply_bulk(field);
        }
        if parts != Parts::Fields {
            c.add_reply_bulk(value);
        }
    }
}

fn hgetall_command(call: &mut Call) {
    let (server, c) = call.parts();
    getall_generic(server, c, Parts::Both);
}

fn hkeys_command(call: &mut Call) {
    let (server, c) = call.parts();
    getall_generic(server, c, Parts::Fields);
}

fn hvals_command(call: &mut Call) {
    let (server, c) = call.parts();
    getall_generic(server, c, Parts::Values);
}

/// `HINCRBY key field increment`: the field, read as an integer (0 if
/// missing), plus the increment (mirror of `hincrbyCommand`).
fn hincrby_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(incr) = argv_long_long_or_reply(c, 3) else {
        return;
    };
    let db = &mut server.dbs[c.db];
    let Some(h) = lookup_write_or_create(db, &mut server.stats, c) else {
        return;
    };
    let current = match h.get(&c.argv[2]) {
        None => 0,
        Some(v) => match string2ll(v) {
            Some(n) => n,
            None => return c.add_reply_error("hash value is not an integer"),
        },
    };
    let Some(new) = current.checked_add(incr) else {
        return c.add_reply_error("increment or decrement would overflow");
    };
    h.set(&c.argv[2], new.to_string().as_bytes());
    db.signal_modified_key(&c.argv[1]);
    c.add_reply_long_long(new);
}

/// `HINCRBYFLOAT key field increment`: like INCRBYFLOAT, in `long double`
/// precision, on a field (mirror of `hincrbyfloatCommand`).
fn hincrbyfloat_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(incr) = LongDouble::parse(&c.argv[3]) else {
        return c.add_reply_error(ERR_NOT_FLOAT);
    };
    if !incr.is_finite() {
        return c.add_reply_error("value is NaN or Infinity");
    }
    let db = &mut server.dbs[c.db];
    let Some(h) = lookup_write_or_create(db, &mut server.stats, c) else {
        return;
    };
    let current = match h.get(&c.argv[2]) {
        None => LongDouble::ZERO,
        Some(v) => match LongDouble::parse(v) {
            Some(n) => n,
            None => return c.add_reply_error("hash value is not a float"),
        },
    };
    let sum = current + incr;
    if !sum.is_finite() {
        return c.add_reply_error("increment would produce NaN or Infinity");
    }
    let text = sum.to_human_string();
    h.set(&c.argv[2], text.as_bytes());
    db.signal_modified_key(&c.argv[1]);
    c.add_reply_bulk(text.as_bytes());
}

// ---------------------------------------------------------------------------
// The command table entries
// ---------------------------------------------------------------------------

const FIELD: Arg = arg("field", ArgKind::String);
const FIELDS: Arg = Arg {
    multiple: true,
    ..FIELD
};
const FIELD_VALUES: Arg = Arg {
    multiple: true,
    ..arg(
        "field_value",
        ArgKind::Block(&[FIELD, arg("value", ArgKind::String)]),
    )
};
const KEY_ONLY: &[Arg] = &[KEY];
const KEY_FIELD: &[Arg] = &[KEY, FIELD];
const RO: &[KeySpec] = &[one_key_spec("RO")];
const RO_ACCESS: &[KeySpec] = &[one_key_spec("RO access")];
const RW_UPDATE: &[KeySpec] = &[one_key_spec("RW update")];
const RW_INSERT: &[KeySpec] = &[one_key_spec("RW insert")];
const RW_ACCESS_UPDATE: &[KeySpec] = &[one_key_spec("RW access update")];

/// A hash command on the key at `argv[1]`.
const fn hash_command(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    flags: &'static str,
    acl: &'static str,
    specs: &'static [KeySpec],
) -> RedisCommand {
    RedisCommand {
        flags,
        acl_categories: acl,
        since: "2.0.0",
        ..with_keys(command(name, proc_, arity, "hash"), 1, 1, specs)
    }
}

/// HGETALL, HKEYS, HVALS.
const fn listing(
    name: &'static str,
    proc_: super::CommandProc,
    summary: &'static str,
) -> RedisCommand {
    RedisCommand {
        summary,
        complexity: "O(N), N being the number of fields",
        args: KEY_ONLY,
        tips: &["nondeterministic_output_order"],
        ..hash_command(name, proc_, 2, "readonly", "@read @hash @slow", RO_ACCESS)
    }
}

const READ_FAST: &str = "@read @hash @fast";
const WRITE_FAST: &str = "@write @hash @fast";

pub const COMMANDS: &[RedisCommand] = &[
    RedisCommand {
        summary: "Sets fields of a hash, creating it if needed",
        complexity: "O(1) per field set, so O(N) for N fields",
        args: &[KEY, FIELD_VALUES],
        history: &[("4.0.0", "More than one field and value.")],
        ..hash_command(
            "hset",
            hset_command,
            -4,
            "write denyoom fast",
            WRITE_FAST,
            RW_UPDATE,
        )
    },
    RedisCommand {
        summary: "Sets fields of a hash, answering OK",
        complexity: "O(1) per field set, so O(N) for N fields",
        args: &[KEY, FIELD_VALUES],
        doc_flags: "deprecated",
        deprecated_since: Some("4.0.0"),
        replaced_by: Some("`HSET` with several fields"),
        ..hash_command(
            "hmset",
            hmset_command,
            -4,
            "write denyoom fast",
            WRITE_FAST,
            RW_UPDATE,
        )
    },
    RedisCommand {
        summary: "Sets a field of a hash only if the field does not exist",
        args: &[KEY, FIELD, arg("value", ArgKind::String)],
        ..hash_command(
            "hsetnx",
            hsetnx_command,
            4,
            "write denyoom fast",
            WRITE_FAST,
            RW_INSERT,
        )
    },
    RedisCommand {
        summary: "Returns the value of a field of a hash",
        args: KEY_FIELD,
        ..hash_command(
            "hget",
            hget_command,
            3,
            "readonly fast",
            READ_FAST,
            RO_ACCESS,
        )
    },
    RedisCommand {
        summary: "Returns the values of fields of a hash",
        complexity: "O(N), N being the number of fields asked for",
        args: &[KEY, FIELDS],
        ..hash_command(
            "hmget",
            hmget_command,
            -3,
            "readonly fast",
            READ_FAST,
            RO_ACCESS,
        )
    },
    RedisCommand {
        summary: "Removes fields from a hash",
        complexity: "O(N), N being the number of fields removed",
        args: &[KEY, FIELDS],
        history: &[("2.4.0", "More than one field.")],
        ..hash_command(
            "hdel",
            hdel_command,
            -3,
            "write fast",
            WRITE_FAST,
            &[one_key_spec("RW delete")],
        )
    },
    RedisCommand {
        summary: "Tells whether a field exists in a hash",
        args: KEY_FIELD,
        ..hash_command(
            "hexists",
            hexists_command,
            3,
            "readonly fast",
            READ_FAST,
            RO,
        )
    },
    RedisCommand {
        summary: "Returns the number of fields of a hash",
        args: KEY_ONLY,
        ..hash_command("hlen", hlen_command, 2, "readonly fast", READ_FAST, RO)
    },
    RedisCommand {
        since: "3.2.0",
        summary: "Returns the length of the value of a field of a hash",
        args: KEY_FIELD,
        ..hash_command(
            "hstrlen",
            hstrlen_command,
            3,
            "readonly fast",
            READ_FAST,
            RO,
        )
    },
    listing(
        "hgetall",
        hgetall_command,
        "Returns every field and value of a hash",
    ),
    listing("hkeys", hkeys_command, "Returns every field of a hash"),
    listing("hvals", hvals_command, "Returns every value of a hash"),
    RedisCommand {
        summary: "Adds an integer to the value of a field of a hash",
        args: &[KEY, FIELD, arg("increment", ArgKind::Integer)],
        ..hash_command(
            "hincrby",
            hincrby_command,
            4,
            "write denyoom fast",
            WRITE_FAST,
            RW_ACCESS_UPDATE,
        )
    },
    RedisCommand {
        since: "2.6.0",
        summary: "Adds a decimal number to the value of a field of a hash",
        args: &[KEY, FIELD, arg("increment", ArgKind::Double)],
        ..hash_command(
            "hincrbyfloat",
            hincrbyfloat_command,
            4,
            "write denyoom fast",
            WRITE_FAST,
            RW_ACCESS_UPDATE,
        )
    },
];

#[cfg(test)]
mod tests {
    //! Every expected reply below was captured from redis-server 7.0.15 by
    //! sending the same commands to it after FLUSHALL.

    use crate::server::util::testkit::Harness;

    #[test]
    fn replies_match_redis() {
        Harness::new().expect(&[
            // Captured from redis-server 7.0.15.
            ("hset h a 1 b 2", ":2\r\n"),
            (
                "hset h a 1 b",
                "-ERR wrong number of arguments for 'hset' command\r\n",
            ),
            ("hset h c 3 a 10", ":1\r\n"),
            (
                "hgetall h",
                "*6\r\n$1\r\na\r\n$2\r\n10\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            ("hdel h b x", ":1\r\n"),
            (
                "hgetall h",
                "*4\r\n$1\r\na\r\n$2\r\n10\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            ("hget h a", "$2\r\n10\r\n"),
            ("hget h nope", "$-1\r\n"),
            ("hget nokey a", "$-1\r\n"),
            ("hmget h a nope c", "*3\r\n$2\r\n10\r\n$-1\r\n$1\r\n3\r\n"),
            ("hexists h a", ":1\r\n"),
            ("hexists h x", ":0\r\n"),
            ("hexists nokey a", ":0\r\n"),
            ("hlen h", ":2\r\n"),
            ("hlen nokey", ":0\r\n"),
            ("hkeys h", "*2\r\n$1\r\na\r\n$1\r\nc\r\n"),
            ("hvals h", "*2\r\n$2\r\n10\r\n$1\r\n3\r\n"),
            ("hincrby h a 5", ":15\r\n"),
            ("hincrby h new 5", ":5\r\n"),
            (
                "hincrby h a x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("hset h s str", ":1\r\n"),
            ("hincrby h s 1", "-ERR hash value is not an integer\r\n"),
            ("hset h big 9223372036854775807", ":1\r\n"),
            (
                "hincrby h big 1",
                "-ERR increment or decrement would overflow\r\n",
            ),
            ("hincrby h big -1", ":9223372036854775806\r\n"),
            ("hset h neg -9223372036854775808", ":1\r\n"),
            (
                "hincrby h neg -1",
                "-ERR increment or decrement would overflow\r\n",
            ),
            ("hincrby nokey f 3", ":3\r\n"),
            ("hsetnx h a 99", ":0\r\n"),
            ("hsetnx h z 99", ":1\r\n"),
            ("hsetnx nokey2 z 99", ":1\r\n"),
            ("hmset h x 1 y 2", "+OK\r\n"),
            (
                "hmset h x",
                "-ERR wrong number of arguments for 'hmset' command\r\n",
            ),
            ("set str v", "+OK\r\n"),
            (
                "hset str a 1",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hget str a",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hmget str a",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hdel str a",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hexists str a",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hlen str",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hgetall str",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hkeys str",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hvals str",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hincrby str a 1",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "hincrby str a x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "hsetnx str a 1",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("hdel h a c new s big neg z x y", ":9\r\n"),
            ("exists h", ":0\r\n"),
            ("hstrlen nokey2 z", ":2\r\n"),
            ("hincrbyfloat nokey2 z 1.5", "$5\r\n100.5\r\n"),
            (
                "hincrby h a 01",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("hset h a 01", ":1\r\n"),
            ("hincrby h a 1", "-ERR hash value is not an integer\r\n"),
            (
                "hset h a \" 1\"",
                "-ERR wrong number of arguments for 'hset' command\r\n",
            ),
            ("hincrby h a 1", "-ERR hash value is not an integer\r\n"),
        ]);
    }
}

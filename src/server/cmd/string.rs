//! The string commands: the mirror of Redis's `t_string.c`.
//!
//! A Redis string is a binary-safe byte sequence of up to 512 MB. The same
//! type also serves as a counter: `INCR` and friends parse the bytes as a
//! 64-bit integer, and `INCRBYFLOAT` as a C `long double`, and store the
//! result back as text. A counter keeps its TTL; a `SET` drops it unless
//! told `KEEPTTL`.
//!
//! Every command reads or writes keys through [`crate::server::db`], so a key
//! whose deadline has passed is deleted on the spot and the command behaves
//! as if it had never existed.

use super::keys::{
    KEY, arg, argv_long_long_or_reply, command, key_spec, one_key_spec, token, with_keys,
};
use super::{Arg, ArgKind, KeySpec, RedisCommand};
use crate::server::Server;
use crate::server::call::Call;
use crate::server::client::Client;
use crate::server::db::{Db, Sds, Value, WRONGTYPE_ERR, mstime_i64};
use crate::server::util::arg_is;
use crate::server::util::long_double::LongDouble;
use crate::server::util::number::{ERR_NOT_FLOAT, ERR_NOT_INTEGER, string2ll};

const ERR_SYNTAX: &str = "syntax error";
const ERR_TOO_LONG: &str = "string exceeds maximum allowed size (proto-max-bulk-len)";

/// `c.argv[idx]` as a `long double`, or the float error.
///
/// Mirror of `getLongDoubleFromObjectOrReply` (object.c).
fn argv_long_double_or_reply(c: &mut Client, idx: usize) -> Option<LongDouble> {
    let parsed = LongDouble::parse(&c.argv[idx]);
    if parsed.is_none() {
        c.add_reply_error(ERR_NOT_FLOAT);
    }
    parsed
}

/// The database the client has selected.
fn client_db<'a>(server: &'a mut Server, c: &Client) -> &'a mut Db {
    &mut server.dbs[c.db]
}

// ---------------------------------------------------------------------------
// SET and GETEX options
// ---------------------------------------------------------------------------

/// Which command's options are being parsed: SET takes NX/XX/GET/KEEPTTL,
/// GETEX takes PERSIST; both take the four expiration forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionsFor {
    Set,
    GetEx,
}

/// The four ways to give an expiration.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ExpireForm {
    /// `EX seconds`: relative, in seconds.
    Ex,
    /// `PX milliseconds`: relative, in ms.
    Px,
    /// `EXAT unix-time-seconds`: absolute, in seconds.
    ExAt,
    /// `PXAT unix-time-milliseconds`: absolute, in ms.
    PxAt,
}

impl ExpireForm {
    fn in_seconds(self) -> bool {
        matches!(self, ExpireForm::Ex | ExpireForm::ExAt)
    }

    fn is_relative(self) -> bool {
        matches!(self, ExpireForm::Ex | ExpireForm::Px)
    }
}

/// The parsed options of SET or GETEX (Redis keeps them as `OBJ_*` flag bits).
#[derive(Default)]
struct StringOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// The expiration form and the index of its argument in `argv`.
    expire: Option<(ExpireForm, usize)>,
}

/// Parses SET's options (from `argv[3]`) or GETEX's (from `argv[2]`).
/// Conflicting or unknown options, and an expiration without its value,
/// reply `syntax error`. The same option twice is fine (`EX 1 EX 2` keeps 2).
///
/// Mirror of `parseExtendedStringArgumentsOrReply` (t_string.c).
fn parse_string_options(c: &mut Client, target: OptionsFor) -> Option<StringOptions> {
    let mut o = StringOptions::default();
    let set = target == OptionsFor::Set;
    let mut j = if set { 3 } else { 2 };
    while j < c.argv.len() {
        let opt = &c.argv[j];
        let has_next = j + 1 < c.argv.len();
        // An expiration form is allowed unless a *different* one was given.
        let expire_ok = |form: ExpireForm| {
            !o.keep_ttl && !o.persist && o.expire.is_none_or(|(f, _)| f == form) && has_next
        };
        let form = [
            ("ex", ExpireForm::Ex),
            ("px", ExpireForm::Px),
            ("exat", ExpireForm::ExAt),
            ("pxat", ExpireForm::PxAt),
        ]
        .into_iter()
        .find(|(name, _)| arg_is(opt, name))
        .map(|(_, form)| form);
        if arg_is(opt, "nx") && !o.xx && set {
            o.nx = true;
        } else if arg_is(opt, "xx") && !o.nx && set {
            o.xx = true;
        } else if arg_is(opt, "get") && set {
            o.get = true;
        } else if arg_is(opt, "keepttl") && !o.persist && o.expire.is_none() && set {
            o.keep_ttl = true;
        } else if arg_is(opt, "persist") && !set && o.expire.is_none() && !o.keep_ttl {
            o.persist = true;
        } else if let Some(form) = form.filter(|&f| expire_ok(f)) {
            o.expire = Some((form, j + 1));
            j += 1;
        } else {
            c.add_reply_error(ERR_SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// Turns the expiration argument into an absolute Unix time in ms, or
/// replies with the error: not an integer, not positive, or overflowing.
///
/// Mirror of `getExpireMillisecondsOrReply` (t_string.c).
fn get_expire_ms_or_reply(
    c: &mut Client,
    (form, idx): (ExpireForm, usize),
    command: &str,
) -> Option<i64> {
    let value = argv_long_long_or_reply(c, idx)?;
    let scaled = if form.in_seconds() {
        value.checked_mul(1000)
    } else {
        Some(value)
    };
    let when = scaled.filter(|_| value > 0).and_then(|ms| {
        if form.is_relative() {
            ms.checked_add(mstime_i64())
        } else {
            Some(ms)
        }
    });
    if when.is_none() {
        c.add_reply_error(&format!("invalid expire time in '{command}' command"));
    }
    when
}

// ---------------------------------------------------------------------------
// GET and SET families
// ---------------------------------------------------------------------------

/// Replies the string at `argv[1]` (or null), or WRONGTYPE; false on WRONGTYPE.
///
/// Mirror of `getGenericCommand` (t_string.c).
fn get_generic(server: &mut Server, c: &mut Client) -> bool {
    let db = &mut server.dbs[c.db];
    match db.lookup_key_read(&c.argv[1], &mut server.stats) {
        None => c.add_reply_null(),
        Some(Value::String(s)) => c.add_reply_bulk(s),
        Some(_) => {
            c.add_reply_error(WRONGTYPE_ERR);
            return false;
        }
    }
    true
}

/// What a SET-like command replies when it sets, and when NX/XX stop it.
#[derive(Clone, Copy)]
enum SetReplies {
    /// `+OK` / null: SET, SETEX, PSETEX.
    OkOrNull,
    /// `:1` / `:0`: SETNX.
    OneOrZero,
}

/// The shared body of SET, SETNX, SETEX and PSETEX: `argv[key]` gets
/// `argv[value]`, under the NX/XX/GET/KEEPTTL rules and with an optional
/// expiration.
///
/// Mirror of `setGenericCommand` (t_string.c).
fn set_generic(
    server: &mut Server,
    c: &mut Client,
    o: &StringOptions,
    (key, value): (usize, usize),
    command: &str,
    replies: SetReplies,
) {
    let when = match o.expire {
        Some(e) => match get_expire_ms_or_reply(c, e, command) {
            Some(when) => Some(when),
            None => return,
        },
        None => None,
    };
    if o.get && !get_generic(server, c) {
        return;
    }
    let db = &mut server.dbs[c.db];
    let found = db
        .lookup_key_write(&c.argv[key], &mut server.stats)
        .is_some();
    if (o.nx && found) || (o.xx && !found) {
        if !o.get {
            match replies {
                SetReplies::OkOrNull => c.add_reply_null(),
                SetReplies::OneOrZero => c.add_reply_long_long(0),
            }
        }
        return;
    }
    db.set_key(&c.argv[key], Value::string(&c.argv[value]), o.keep_ttl);
    if let Some(when) = when {
        db.set_expire(&c.argv[key], when);
    }
    if !o.get {
        match replies {
            SetReplies::OkOrNull => c.add_reply_ok(),
            SetReplies::OneOrZero => c.add_reply_long_long(1),
        }
    }
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts-ms|KEEPTTL]`
///
/// Mirror of `setCommand` (t_string.c).
fn set_command(call: &mut Call) {
    let (server, c) = call.parts();
    if let Some(o) = parse_string_options(c, OptionsFor::Set) {
        set_generic(server, c, &o, (1, 2), "set", SetReplies::OkOrNull);
    }
}

/// `SETNX key value`: SET NX replying `:1`/`:0` (mirror of `setnxCommand`).
fn setnx_command(call: &mut Call) {
    let (server, c) = call.parts();
    let o = StringOptions {
        nx: true,
        ..StringOptions::default()
    };
    set_generic(server, c, &o, (1, 2), "setnx", SetReplies::OneOrZero);
}

/// `SETEX key seconds value` (mirror of `setexCommand`).
fn setex_command(call: &mut Call) {
    let (server, c) = call.parts();
    let o = StringOptions {
        expire: Some((ExpireForm::Ex, 2)),
        ..StringOptions::default()
    };
    set_generic(server, c, &o, (1, 3), "setex", SetReplies::OkOrNull);
}

/// `PSETEX key milliseconds value` (mirror of `psetexCommand`).
fn psetex_command(call: &mut Call) {
    let (server, c) = call.parts();
    let o = StringOptions {
        expire: Some((ExpireForm::Px, 2)),
        ..StringOptions::default()
    };
    set_generic(server, c, &o, (1, 3), "psetex", SetReplies::OkOrNull);
}

/// `GET key` (mirror of `getCommand`).
fn get_command(call: &mut Call) {
    let (server, c) = call.parts();
    get_generic(server, c);
}

/// `GETSET key value`: replies the old value, sets the new one, drops the
/// TTL (mirror of `getsetCommand`).
fn getset_command(call: &mut Call) {
    let (server, c) = call.parts();
    if get_generic(server, c) {
        client_db(server, c).set_key(&c.argv[1], Value::string(&c.argv[2]), false);
    }
}

/// `GETDEL key`: replies the value and deletes the key (mirror of `getdelCommand`).
fn getdel_command(call: &mut Call) {
    let (server, c) = call.parts();
    if get_generic(server, c) {
        client_db(server, c).delete(&c.argv[1]);
    }
}

/// `GETEX key [EX s|PX ms|EXAT ts|PXAT ts-ms|PERSIST]`: replies the value and
/// changes its TTL. An absolute time already in the past deletes the key.
///
/// Mirror of `getexCommand` (t_string.c).
fn getex_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(o) = parse_string_options(c, OptionsFor::GetEx) else {
        return;
    };
    let db = &mut server.dbs[c.db];
    let s = match db.lookup_key_read(&c.argv[1], &mut server.stats) {
        None => return c.add_reply_null(),
        Some(Value::String(s)) => s,
        Some(_) => return c.add_reply_error(WRONGTYPE_ERR),
    };
    let when = match o.expire {
        Some(e) => match get_expire_ms_or_reply(c, e, "getex") {
            Some(when) => Some(when),
            None => return,
        },
        None => None,
    };
    c.add_reply_bulk(s);
    let key = &c.argv[1];
    match (o.expire, when) {
        (Some((form, _)), Some(when)) if !form.is_relative() && when <= mstime_i64() => {
            db.delete(key);
        }
        (_, Some(when)) => db.set_expire(key, when),
        _ if o.persist => {
            db.remove_expire(key);
        }
        _ => {}
    }
}

/// `MGET key [key ...]`: null for missing keys and for non-strings.
///
/// Mirror of `mgetCommand` (t_string.c).
fn mget_command(call: &mut Call) {
    let (server, c) = call.parts();
    c.add_reply_array_len(c.argv.len() - 1);
    let db = &mut server.dbs[c.db];
    for j in 1..c.argv.len() {
        match db.lookup_key_read(&c.argv[j], &mut server.stats) {
            Some(Value::String(s)) => c.add_reply_bulk(s),
            _ => c.add_reply_null(),
        }
    }
}

/// MSET and MSETNX: pairs of key and value; with `nx`, nothing is set if
/// any key exists.
///
/// Mirror of `msetGenericCommand` (t_string.c).
fn mset_generic(server: &mut Server, c: &mut Client, nx: bool) {
    if c.argv.len().is_multiple_of(2) {
        return c.add_reply_error_arity(if nx { "msetnx" } else { "mset" });
    }
    let db = &mut server.dbs[c.db];
    if nx
        && (1..c.argv.len())
            .step_by(2)
            .any(|j| db.lookup_key_write(&c.argv[j], &mut server.stats).is_some())
    {
        return c.add_reply_long_long(0);
    }
    for pair in c.argv[1..].chunks_exact(2) {
        db.set_key(&pair[0], Value::string(&pair[1]), false);
    }
    if nx {
        c.add_reply_long_long(1)
    } else {
        c.add_reply_ok()
    }
}

/// `MSET key value [key value ...]` (mirror of `msetCommand`).
fn mset_command(call: &mut Call) {
    let (server, c) = call.parts();
    mset_generic(server, c, false);
}

/// `MSETNX key value [key value ...]` (mirror of `msetnxCommand`).
fn msetnx_command(call: &mut Call) {
    let (server, c) = call.parts();
    mset_generic(server, c, true);
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// Adds `incr` to the integer at `argv[1]` (a missing key counts as 0) and
/// replies the result; the TTL is kept.
///
/// Mirror of `incrDecrCommand` (t_string.c).
fn incr_decr(server: &mut Server, c: &mut Client, incr: i64) {
    let db = &mut server.dbs[c.db];
    match db.lookup_key_write(&c.argv[1], &mut server.stats) {
        None => {
            db.add(&c.argv[1], Value::string(incr.to_string().as_bytes()));
            c.add_reply_long_long(incr);
        }
        Some(Value::String(s)) => {
            let Some(current) = string2ll(s) else {
                return c.add_reply_error(ERR_NOT_INTEGER);
            };
            let Some(new) = current.checked_add(incr) else {
                return c.add_reply_error("increment or decrement would overflow");
            };
            *s = Sds::new(new.to_string().as_bytes());
            c.add_reply_long_long(new);
            db.signal_modified_key(&c.argv[1]);
        }
        Some(_) => c.add_reply_error(WRONGTYPE_ERR),
    }
}

/// `INCR key` (mirror of `incrCommand`).
fn incr_command(call: &mut Call) {
    let (server, c) = call.parts();
    incr_decr(server, c, 1);
}

/// `DECR key` (mirror of `decrCommand`).
fn decr_command(call: &mut Call) {
    let (server, c) = call.parts();
    incr_decr(server, c, -1);
}

/// `INCRBY key increment` (mirror of `incrbyCommand`).
fn incrby_command(call: &mut Call) {
    let (server, c) = call.parts();
    if let Some(incr) = argv_long_long_or_reply(c, 2) {
        incr_decr(server, c, incr);
    }
}

/// `DECRBY key decrement`; `i64::MIN` cannot be negated, so it is refused
/// up front (mirror of `decrbyCommand`).
fn decrby_command(call: &mut Call) {
    let (server, c) = call.parts();
    match argv_long_long_or_reply(c, 2) {
        None => {}
        Some(i64::MIN) => c.add_reply_error("decrement would overflow"),
        Some(decr) => incr_decr(server, c, -decr),
    }
}

/// `INCRBYFLOAT key increment`: adds in 80-bit `long double` precision and
/// stores the human-friendly text (`10.6`, `3000`, never an exponent); the
/// TTL is kept.
///
/// Mirror of `incrbyfloatCommand` (t_string.c).
fn incrbyfloat_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    match db.lookup_key_write(&c.argv[1], &mut server.stats) {
        None => {
            if let Some(text) = float_sum_or_reply(c, LongDouble::ZERO) {
                db.add(&c.argv[1], Value::string(text.as_bytes()));
                c.add_reply_bulk(text.as_bytes());
            }
        }
        Some(Value::String(s)) => {
            let Some(current) = LongDouble::parse(s) else {
                return c.add_reply_error(ERR_NOT_FLOAT);
            };
            if let Some(text) = float_sum_or_reply(c, current) {
                *s = Sds::new(text.as_bytes());
                c.add_reply_bulk(text.as_bytes());
                db.signal_modified_key(&c.argv[1]);
            }
        }
        Some(_) => c.add_reply_error(WRONGTYPE_ERR),
    }
}

/// `current + argv[2]` as INCRBYFLOAT stores it, or `None` after replying
/// the error (an invalid increment, or a sum that is not finite).
fn float_sum_or_reply(c: &mut Client, current: LongDouble) -> Option<String> {
    let sum = current + argv_long_double_or_reply(c, 2)?;
    if !sum.is_finite() {
        c.add_reply_error("increment would produce NaN or Infinity");
        return None;
    }
    Some(sum.to_human_string())
}

// ---------------------------------------------------------------------------
// Editing strings
// ---------------------------------------------------------------------------

/// Replies the error and returns false when a string of `len + extra` bytes
/// would exceed `proto-max-bulk-len` (or overflow).
///
/// Mirror of `checkStringLength` (t_string.c).
fn check_string_length(c: &mut Client, limit: u64, len: u64, extra: u64) -> bool {
    let ok = len.checked_add(extra).is_some_and(|total| total <= limit);
    if !ok {
        c.add_reply_error(ERR_TOO_LONG);
    }
    ok
}

/// `APPEND key value`: creates the key or appends; replies the new length.
///
/// Mirror of `appendCommand` (t_string.c).
fn append_command(call: &mut Call) {
    let (server, c) = call.parts();
    let limit = server.config.proto_max_bulk_len;
    let db = &mut server.dbs[c.db];
    match db.lookup_key_write(&c.argv[1], &mut server.stats) {
        None => {
            db.add(&c.argv[1], Value::string(&c.argv[2]));
            c.add_reply_long_long(c.argv[2].len() as i64);
        }
        Some(Value::String(s)) => {
            if check_string_length(c, limit, s.len() as u64, c.argv[2].len() as u64) {
                s.append(&c.argv[2]);
                c.add_reply_long_long(s.len() as i64);
                db.signal_modified_key(&c.argv[1]);
            }
        }
        Some(_) => c.add_reply_error(WRONGTYPE_ERR),
    }
}

/// `STRLEN key` (mirror of `strlenCommand`).
fn strlen_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    match db.lookup_key_read(&c.argv[1], &mut server.stats) {
        None => c.add_reply_long_long(0),
        Some(Value::String(s)) => c.add_reply_long_long(s.len() as i64),
        Some(_) => c.add_reply_error(WRONGTYPE_ERR),
    }
}

/// `SETRANGE key offset value`: overwrites from `offset`, padding with zero
/// bytes; replies the new length. An empty value changes nothing (and does
/// not create the key).
///
/// Mirror of `setrangeCommand` (t_string.c).
fn setrange_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(offset) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    if offset < 0 {
        return c.add_reply_error("offset is out of range");
    }
    let limit = server.config.proto_max_bulk_len;
    let db = &mut server.dbs[c.db];
    let value_len = c.argv[3].len() as u64;
    match db.lookup_key_write(&c.argv[1], &mut server.stats) {
        None => {
            if value_len == 0 {
                return c.add_reply_long_long(0);
            }
            if check_string_length(c, limit, offset as u64, value_len) {
                let mut s = Sds::new(b"");
                s.set_range(offset as usize, &c.argv[3]);
                let len = s.len();
                db.add(&c.argv[1], Value::String(s));
                c.add_reply_long_long(len as i64);
            }
        }
        Some(Value::String(s)) => {
            if value_len == 0 {
                return c.add_reply_long_long(s.len() as i64);
            }
            if check_string_length(c, limit, offset as u64, value_len) {
                s.set_range(offset as usize, &c.argv[3]);
                c.add_reply_long_long(s.len() as i64);
                db.signal_modified_key(&c.argv[1]);
            }
        }
        Some(_) => c.add_reply_error(WRONGTYPE_ERR),
    }
}

/// The byte range `start..=end` of a string of `len` bytes, with negative
/// indexes counting from the end, or `None` when it is empty.
///
/// The index rules of `getrangeCommand` (t_string.c), including its quirk:
/// two negative indexes beyond the start both clamp to 0, so
/// `GETRANGE k -100 -90` returns the first byte.
fn substring_range(len: usize, mut start: i64, mut end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    (start <= end && len > 0).then_some((start as usize, end as usize))
}

/// `GETRANGE key start end` (mirror of `getrangeCommand`).
fn getrange_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(start) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    let Some(end) = argv_long_long_or_reply(c, 3) else {
        return;
    };
    let db = &mut server.dbs[c.db];
    match db.lookup_key_read(&c.argv[1], &mut server.stats) {
        None => c.add_reply_bulk(b""),
        Some(Value::String(s)) => match substring_range(s.len(), start, end) {
            Some((from, to)) => c.add_reply_bulk(&s[from..=to]),
            None => c.add_reply_bulk(b""),
        },
        Some(_) => c.add_reply_error(WRONGTYPE_ERR),
    }
}

// ---------------------------------------------------------------------------
// The command table entries
// ---------------------------------------------------------------------------

/// A string command on the one key at `argv[1]`, with its key spec flags.
const fn on_key(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    specs: &'static [KeySpec],
) -> RedisCommand {
    with_keys(command(name, proc_, arity, "string"), 1, 1, specs)
}

/// Read-modify-write of one key: INCR and friends, GETSET.
const RW_SPEC: &[KeySpec] = &[one_key_spec("RW access update")];
const VALUE: Arg = arg("value", ArgKind::String);

/// The ways SET can set (or keep) a TTL.
const SET_EXPIRATION: &[Arg] = &[
    Arg {
        since: Some("2.6.12"),
        ..token("seconds", ArgKind::Integer, "EX")
    },
    Arg {
        since: Some("2.6.12"),
        ..token("milliseconds", ArgKind::Integer, "PX")
    },
    Arg {
        since: Some("6.2.0"),
        ..token("unix-time-seconds", ArgKind::UnixTime, "EXAT")
    },
    Arg {
        since: Some("6.2.0"),
        ..token("unix-time-milliseconds", ArgKind::UnixTime, "PXAT")
    },
    Arg {
        since: Some("6.0.0"),
        ..token("keepttl", ArgKind::PureToken, "KEEPTTL")
    },
];

/// The ways GETEX can change a TTL.
const GETEX_EXPIRATION: &[Arg] = &[
    token("seconds", ArgKind::Integer, "EX"),
    token("milliseconds", ArgKind::Integer, "PX"),
    token("unix-time-seconds", ArgKind::UnixTime, "EXAT"),
    token("unix-time-milliseconds", ArgKind::UnixTime, "PXAT"),
    token("persist", ArgKind::PureToken, "PERSIST"),
];

const KEY_VALUE_PAIRS: &[Arg] = &[Arg {
    multiple: true,
    ..arg("key_value", ArgKind::Block(&[KEY, VALUE]))
}];

/// MSET and MSETNX: `key value` pairs, keys at every other argument.
const fn pairs(cmd: RedisCommand, spec_flags: &'static [KeySpec]) -> RedisCommand {
    RedisCommand {
        args: KEY_VALUE_PAIRS,
        complexity: "O(N), N being the number of keys set",
        ..with_keys(cmd, -1, 2, spec_flags)
    }
}

/// INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT share flags and key spec.
const fn counter(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    since: &'static str,
    summary: &'static str,
    args: &'static [Arg],
) -> RedisCommand {
    RedisCommand {
        flags: "write denyoom fast",
        acl_categories: "@write @string @fast",
        since,
        summary,
        args,
        ..on_key(name, proc_, arity, RW_SPEC)
    }
}

pub const COMMANDS: &[RedisCommand] = &[
    RedisCommand {
        flags: "readonly fast",
        acl_categories: "@read @string @fast",
        summary: "Returns the string stored at a key",
        args: &[KEY],
        ..on_key("get", get_command, 2, &[one_key_spec("RO access")])
    },
    RedisCommand {
        flags: "write denyoom",
        acl_categories: "@write @string @slow",
        summary: "Stores a string at a key, whatever the key held before",
        args: &[
            KEY,
            VALUE,
            Arg {
                optional: true,
                since: Some("2.6.12"),
                ..arg(
                    "condition",
                    ArgKind::OneOf(&[
                        token("nx", ArgKind::PureToken, "NX"),
                        token("xx", ArgKind::PureToken, "XX"),
                    ]),
                )
            },
            Arg {
                optional: true,
                since: Some("6.2.0"),
                ..token("get", ArgKind::PureToken, "GET")
            },
            Arg {
                optional: true,
                ..arg("expiration", ArgKind::OneOf(SET_EXPIRATION))
            },
        ],
        history: &[
            ("2.6.12", "The EX, PX, NX and XX options."),
            ("6.0.0", "The KEEPTTL option."),
            ("6.2.0", "The GET, EXAT and PXAT options."),
            ("7.0.0", "NX and GET together."),
        ],
        ..on_key(
            "set",
            set_command,
            -3,
            &[KeySpec {
                notes: Some("RW and ACCESS due to the optional `GET` argument"),
                ..one_key_spec("RW access update variable_flags")
            }],
        )
    },
    RedisCommand {
        flags: "write denyoom fast",
        acl_categories: "@write @string @fast",
        summary: "Stores a string at a key only if the key does not exist",
        args: &[KEY, VALUE],
        ..on_key("setnx", setnx_command, 3, &[one_key_spec("OW insert")])
    },
    RedisCommand {
        flags: "write denyoom",
        acl_categories: "@write @string @slow",
        since: "2.0.0",
        summary: "Stores a string at a key with a time to live in seconds",
        args: &[KEY, arg("seconds", ArgKind::Integer), VALUE],
        ..on_key("setex", setex_command, 4, &[one_key_spec("OW update")])
    },
    RedisCommand {
        flags: "write denyoom",
        acl_categories: "@write @string @slow",
        since: "2.6.0",
        summary: "Stores a string at a key with a time to live in milliseconds",
        args: &[KEY, arg("milliseconds", ArgKind::Integer), VALUE],
        ..on_key("psetex", psetex_command, 4, &[one_key_spec("OW update")])
    },
    RedisCommand {
        flags: "write denyoom fast",
        acl_categories: "@write @string @fast",
        summary: "Stores a string at a key and returns the string it replaced",
        args: &[KEY, VALUE],
        doc_flags: "deprecated",
        deprecated_since: Some("6.2.0"),
        replaced_by: Some("`SET` with the `!GET` argument"),
        ..on_key("getset", getset_command, 3, RW_SPEC)
    },
    RedisCommand {
        flags: "write fast",
        acl_categories: "@write @string @fast",
        since: "6.2.0",
        summary: "Returns the string stored at a key and deletes the key",
        args: &[KEY],
        ..on_key(
            "getdel",
            getdel_command,
            2,
            &[one_key_spec("RW access delete")],
        )
    },
    RedisCommand {
        flags: "write fast",
        acl_categories: "@write @string @fast",
        since: "6.2.0",
        summary: "Returns the string stored at a key, optionally changing its time to live",
        args: &[
            KEY,
            Arg {
                optional: true,
                ..arg("expiration", ArgKind::OneOf(GETEX_EXPIRATION))
            },
        ],
        ..on_key(
            "getex",
            getex_command,
            -2,
            &[KeySpec {
                notes: Some("RW and UPDATE because it changes the TTL"),
                ..one_key_spec("RW access update")
            }],
        )
    },
    RedisCommand {
        flags: "readonly fast",
        acl_categories: "@read @string @fast",
        summary: "Returns the strings stored at several keys, null where there is none",
        complexity: "O(N), N being the number of keys read",
        args: &[Arg {
            multiple: true,
            ..KEY
        }],
        tips: &["request_policy:multi_shard"],
        ..with_keys(
            command("mget", mget_command, -2, "string"),
            -1,
            1,
            &[key_spec("RO access", 1, -1, 1)],
        )
    },
    RedisCommand {
        flags: "write denyoom",
        acl_categories: "@write @string @slow",
        since: "1.0.1",
        summary: "Stores strings at several keys at once",
        tips: &[
            "request_policy:multi_shard",
            "response_policy:all_succeeded",
        ],
        ..pairs(
            command("mset", mset_command, -3, "string"),
            &[key_spec("OW update", 1, -1, 2)],
        )
    },
    RedisCommand {
        flags: "write denyoom",
        acl_categories: "@write @string @slow",
        since: "1.0.1",
        summary: "Stores strings at several keys at once, only if none of the keys exists",
        tips: &["request_policy:multi_shard", "response_policy:agg_min"],
        ..pairs(
            command("msetnx", msetnx_command, -3, "string"),
            &[key_spec("OW insert", 1, -1, 2)],
        )
    },
    counter(
        "incr",
        incr_command,
        2,
        "1.0.0",
        "Adds one to the integer stored at a key (a missing key counts as 0)",
        &[KEY],
    ),
    counter(
        "decr",
        decr_command,
        2,
        "1.0.0",
        "Subtracts one from the integer stored at a key (a missing key counts as 0)",
        &[KEY],
    ),
    counter(
        "incrby",
        incrby_command,
        3,
        "1.0.0",
        "Adds an integer to the integer stored at a key (a missing key counts as 0)",
        &[KEY, arg("increment", ArgKind::Integer)],
    ),
    counter(
        "decrby",
        decrby_command,
        3,
        "1.0.0",
        "Subtracts an integer from the integer stored at a key (a missing key counts as 0)",
        &[KEY, arg("decrement", ArgKind::Integer)],
    ),
    counter(
        "incrbyfloat",
        incrbyfloat_command,
        3,
        "2.6.0",
        "Adds a decimal number to the number stored at a key (a missing key counts as 0)",
        &[KEY, arg("increment", ArgKind::Double)],
    ),
    RedisCommand {
        flags: "write denyoom fast",
        acl_categories: "@write @string @fast",
        since: "2.0.0",
        summary: "Adds bytes to the end of the string at a key, creating it if needed",
        complexity: "O(1) amortized: the string keeps spare room as it grows, so appending a small value costs \
                     O(1) whatever the current length",
        args: &[KEY, VALUE],
        ..on_key("append", append_command, 3, &[one_key_spec("RW insert")])
    },
    RedisCommand {
        flags: "readonly fast",
        acl_categories: "@read @string @fast",
        since: "2.2.0",
        summary: "Returns the length in bytes of the string at a key",
        args: &[KEY],
        ..on_key("strlen", strlen_command, 2, &[one_key_spec("RO")])
    },
    RedisCommand {
        flags: "readonly",
        acl_categories: "@read @string @slow",
        since: "2.4.0",
        summary: "Returns a byte range of the string at a key",
        complexity: "O(N), N being the length of the returned range; for short ranges, effectively O(1)",
        args: &[
            KEY,
            arg("start", ArgKind::Integer),
            arg("end", ArgKind::Integer),
        ],
        ..on_key(
            "getrange",
            getrange_command,
            4,
            &[one_key_spec("RO access")],
        )
    },
    RedisCommand {
        flags: "write denyoom",
        acl_categories: "@write @string @slow",
        since: "2.2.0",
        summary: "Overwrites part of the string at a key from an offset, padding with zero bytes",
        complexity: "O(1) plus copying the new bytes, O(M) for a value of M bytes",
        args: &[KEY, arg("offset", ArgKind::Integer), VALUE],
        ..on_key(
            "setrange",
            setrange_command,
            4,
            &[one_key_spec("RW update")],
        )
    },
];

#[cfg(test)]
mod tests {
    //! Every expected reply below was captured from redis-server 7.0.15 by
    //! sending the same commands, after `FLUSHALL` and `RPUSH l x`.

    use super::*;
    use crate::server::util::testkit::Harness;

    fn harness() -> Harness {
        let mut h = Harness::new();
        h.add_list(b"l");
        h
    }

    #[test]
    fn set_get_and_their_options() {
        harness().expect(&[
            ("set k v", "+OK\r\n"),
            ("get k", "$1\r\nv\r\n"),
            ("get nokey", "$-1\r\n"),
            (
                "get l",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("set k v nx", "$-1\r\n"),
            ("set k v xx", "+OK\r\n"),
            ("set k v nx xx", "-ERR syntax error\r\n"),
            ("set k v xx nx", "-ERR syntax error\r\n"),
            ("set k v nx nx", "$-1\r\n"),
            ("set k v ex 10 px 100", "-ERR syntax error\r\n"),
            ("set k v px 100 exat 100", "-ERR syntax error\r\n"),
            ("set k v keepttl ex 10", "-ERR syntax error\r\n"),
            ("set k v ex 10 keepttl", "-ERR syntax error\r\n"),
            (
                "set k v ex 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "set k v ex -1",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "set k v ex abc",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "set k v ex 1.5",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "set k v ex +5",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "set k v ex 05",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "set k v ex 9223372036854775807",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "set k v ex 9223372036854775",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "set k v px 9223372036854775807",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "set k v exat 9223372036854775807",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            (
                "set k v exat 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            ("set k v ex", "-ERR syntax error\r\n"),
            ("set k v foo", "-ERR syntax error\r\n"),
            ("set k v EX 10 ex 100", "+OK\r\n"),
            ("ttl k", ":100\r\n"),
            ("set k v2 keepttl", "+OK\r\n"),
            ("ttl k", ":100\r\n"),
            ("get k", "$2\r\nv2\r\n"),
            ("set k v3", "+OK\r\n"),
            ("ttl k", ":-1\r\n"),
            ("set k v get", "$2\r\nv3\r\n"),
            ("set k2 v get", "$-1\r\n"),
            ("set k v nx get", "$1\r\nv\r\n"),
            ("set k v xx get", "$1\r\nv\r\n"),
            ("set nk v nx get", "$-1\r\n"),
            ("get nk", "$1\r\nv\r\n"),
            ("set nk2 v xx get", "$-1\r\n"),
            ("get nk2", "$-1\r\n"),
            ("set k v get get", "$1\r\nv\r\n"),
            (
                "set l v get",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "set l v nx get",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "set l v get ex abc",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("set l v", "+OK\r\n"),
            ("type l", "+string\r\n"),
            ("get l", "$1\r\nv\r\n"),
            ("set k v exat 1", "+OK\r\n"),
            ("get k", "$-1\r\n"),
            ("set k v pxat 100", "+OK\r\n"),
            ("exists k", ":0\r\n"),
            ("setnx k v", ":1\r\n"),
            ("setnx t9 v", ":1\r\n"),
            ("setnx t9 w", ":0\r\n"),
            ("get t9", "$1\r\nv\r\n"),
            ("setex t 100 v", "+OK\r\n"),
            ("ttl t", ":100\r\n"),
            (
                "setex t 0 v",
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            (
                "setex t -1 v",
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            (
                "setex t abc v",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "setex t 9223372036854775 v",
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
            (
                "psetex t 0 v",
                "-ERR invalid expire time in 'psetex' command\r\n",
            ),
            ("psetex t 100000 v", "+OK\r\n"),
            ("ttl t", ":100\r\n"),
        ]);
    }

    #[test]
    fn getset_getdel_getex_mget_mset() {
        harness().expect(&[
            ("set t v ex 100", "+OK\r\n"),
            ("getset t v2", "$1\r\nv\r\n"),
            ("ttl t", ":-1\r\n"),
            ("get t", "$2\r\nv2\r\n"),
            ("getset nokey2 v", "$-1\r\n"),
            ("get nokey2", "$1\r\nv\r\n"),
            (
                "getset l v",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("getdel t", "$2\r\nv2\r\n"),
            ("getdel t", "$-1\r\n"),
            (
                "getdel l",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("set t v", "+OK\r\n"),
            ("getex nokey ex abc", "$-1\r\n"),
            (
                "getex t ex abc",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "getex t ex 0",
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            ("getex t ex 100", "$1\r\nv\r\n"),
            ("ttl t", ":100\r\n"),
            ("getex t persist", "$1\r\nv\r\n"),
            ("ttl t", ":-1\r\n"),
            ("getex t px 100000", "$1\r\nv\r\n"),
            ("ttl t", ":100\r\n"),
            ("getex t exat 1", "$1\r\nv\r\n"),
            ("exists t", ":0\r\n"),
            ("set t v", "+OK\r\n"),
            ("getex t pxat 1", "$1\r\nv\r\n"),
            ("exists t", ":0\r\n"),
            ("set t v", "+OK\r\n"),
            ("getex t persist ex 10", "-ERR syntax error\r\n"),
            ("getex t ex 10 persist", "-ERR syntax error\r\n"),
            ("getex t ex 10 px 10", "-ERR syntax error\r\n"),
            ("getex t keepttl", "-ERR syntax error\r\n"),
            ("getex t nx", "-ERR syntax error\r\n"),
            ("getex t get", "-ERR syntax error\r\n"),
            ("getex t ex", "-ERR syntax error\r\n"),
            ("getex t foo", "-ERR syntax error\r\n"),
            (
                "getex l",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "getex l ex 10",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "getex l ex abc",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("getex t", "$1\r\nv\r\n"),
            (
                "getex t ex 9223372036854775807",
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            (
                "getex t exat 9223372036854775807",
                "-ERR invalid expire time in 'getex' command\r\n",
            ),
            ("getex t ex 10 ex 20", "$1\r\nv\r\n"),
            ("ttl t", ":20\r\n"),
            ("set a x", "+OK\r\n"),
            (
                "mget a nokey l a",
                "*4\r\n$1\r\nx\r\n$-1\r\n$-1\r\n$1\r\nx\r\n",
            ),
            ("mset a 1 b 2", "+OK\r\n"),
            (
                "mset a 1 b",
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            ("msetnx a 1 c 3", ":0\r\n"),
            ("msetnx c 3 d 4", ":1\r\n"),
            ("msetnx c 3 c 4", ":0\r\n"),
            ("msetnx x 1 x 2", ":1\r\n"),
            ("get x", "$1\r\n2\r\n"),
            ("mget x c d", "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"),
            (
                "msetnx a",
                "-ERR wrong number of arguments for 'msetnx' command\r\n",
            ),
            ("set e v ex 100", "+OK\r\n"),
            ("mset e w", "+OK\r\n"),
            ("ttl e", ":-1\r\n"),
        ]);
    }

    #[test]
    fn counters() {
        harness().expect(&[
            ("set n 10", "+OK\r\n"),
            ("incr n", ":11\r\n"),
            ("incrby n 5", ":16\r\n"),
            ("incrby n -5", ":11\r\n"),
            ("decrby n 3", ":8\r\n"),
            ("decr n", ":7\r\n"),
            ("decrby n -9223372036854775808", "-ERR decrement would overflow\r\n"),
            ("incrby n 9223372036854775807", "-ERR increment or decrement would overflow\r\n"),
            ("set n -5", "+OK\r\n"),
            ("decrby n 9223372036854775807", "-ERR increment or decrement would overflow\r\n"),
            ("decrby n 9223372036854775806", "-ERR increment or decrement would overflow\r\n"),
            ("decr n", ":-6\r\n"),
            ("set n 9223372036854775807", "+OK\r\n"),
            ("incr n", "-ERR increment or decrement would overflow\r\n"),
            ("set n -9223372036854775808", "+OK\r\n"),
            ("decr n", "-ERR increment or decrement would overflow\r\n"),
            ("incrby n abc", "-ERR value is not an integer or out of range\r\n"),
            ("incrby n +1", "-ERR value is not an integer or out of range\r\n"),
            ("incrby n 01", "-ERR value is not an integer or out of range\r\n"),
            ("incrby n -0", "-ERR value is not an integer or out of range\r\n"),
            ("incrby n 0", ":-9223372036854775808\r\n"),
            ("incr newkey", ":1\r\n"),
            ("decr newkey2", ":-1\r\n"),
            ("incrby newkey3 -7", ":-7\r\n"),
            ("set s abc", "+OK\r\n"),
            ("incr s", "-ERR value is not an integer or out of range\r\n"),
            ("set s 01", "+OK\r\n"),
            ("incr s", "-ERR value is not an integer or out of range\r\n"),
            ("set s 1.0", "+OK\r\n"),
            ("incr s", "-ERR value is not an integer or out of range\r\n"),
            ("incr l", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("incrby l abc", "-ERR value is not an integer or out of range\r\n"),
            ("decrby l -9223372036854775808", "-ERR decrement would overflow\r\n"),
            ("set c 5 ex 100", "+OK\r\n"),
            ("incr c", ":6\r\n"),
            ("ttl c", ":100\r\n"),
            ("incrbyfloat c 1.5", "$3\r\n7.5\r\n"),
            ("ttl c", ":100\r\n"),
            ("incrbyfloat l abc", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("incrbyfloat l 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("incrbyfloat nokey 1", "$1\r\n1\r\n"),
            ("incrbyfloat nokey 0.1", "$3\r\n1.1\r\n"),
            ("set f 10.5", "+OK\r\n"),
            ("incrbyfloat f 0.1", "$4\r\n10.6\r\n"),
            ("set f 3.0e3", "+OK\r\n"),
            ("incrbyfloat f 0", "$4\r\n3000\r\n"),
            ("incrbyfloat f 1e400", "$401\r\n10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880\r\n"),
            ("incrbyfloat f -1e400", "$1\r\n0\r\n"),
            ("set f 1", "+OK\r\n"),
            ("incrbyfloat f inf", "-ERR increment would produce NaN or Infinity\r\n"),
            ("incrbyfloat f nan", "-ERR value is not a valid float\r\n"),
            ("incrbyfloat f abc", "-ERR value is not a valid float\r\n"),
            ("incrbyfloat f +1.5", "$3\r\n2.5\r\n"),
            ("incrbyfloat f .5", "$1\r\n3\r\n"),
            ("incrbyfloat f 5.", "$1\r\n8\r\n"),
            ("incrbyfloat f 0x10", "$2\r\n24\r\n"),
            ("incrbyfloat f 0x1p-2", "$5\r\n24.25\r\n"),
            ("incrbyfloat f 1e-5000", "-ERR value is not a valid float\r\n"),
            ("incrbyfloat f 1e5000", "-ERR value is not a valid float\r\n"),
            ("incrbyfloat f -1e-20", "$5\r\n24.25\r\n"),
            ("set f abc", "+OK\r\n"),
            ("incrbyfloat f 1", "-ERR value is not a valid float\r\n"),
            ("set f infinity", "+OK\r\n"),
            ("incrbyfloat f 1", "-ERR increment would produce NaN or Infinity\r\n"),
            ("set f 5", "+OK\r\n"),
            ("incrbyfloat f -5", "$1\r\n0\r\n"),
            ("get f", "$1\r\n0\r\n"),
            ("incr f", ":1\r\n"),
            ("set i 10", "+OK\r\n"),
            ("incrbyfloat i 0", "$2\r\n10\r\n"),
            ("incrbyfloat i 1.23456789012345678901234567890", "$20\r\n11.23456789012345679\r\n"),
        ]);
    }

    #[test]
    fn append_strlen_getrange_setrange() {
        harness().expect(&[
            ("append a hello", ":5\r\n"),
            ("append a _world", ":11\r\n"),
            ("get a", "$11\r\nhello_world\r\n"),
            ("strlen a", ":11\r\n"),
            ("strlen nokey", ":0\r\n"),
            (
                "strlen l",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                "append l x",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("getrange a 0 4", "$5\r\nhello\r\n"),
            ("getrange a -5 -1", "$5\r\nworld\r\n"),
            ("getrange a -1 -5", "$0\r\n\r\n"),
            ("getrange a 5 1", "$0\r\n\r\n"),
            ("getrange a 0 -1", "$11\r\nhello_world\r\n"),
            ("getrange a 0 100", "$11\r\nhello_world\r\n"),
            ("getrange a -100 3", "$4\r\nhell\r\n"),
            ("getrange a -100 -90", "$1\r\nh\r\n"),
            ("getrange nokey 0 1", "$0\r\n\r\n"),
            (
                "getrange a x 1",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "getrange a 0 x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("getrange a 0 -9223372036854775808", "$1\r\nh\r\n"),
            (
                "getrange a -9223372036854775808 -1",
                "$11\r\nhello_world\r\n",
            ),
            (
                "getrange a 9223372036854775807 9223372036854775807",
                "$0\r\n\r\n",
            ),
            (
                "getrange l 0 1",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("setrange a 6 WORLD", ":11\r\n"),
            ("get a", "$11\r\nhello_WORLD\r\n"),
            ("setrange a -1 x", "-ERR offset is out of range\r\n"),
            (
                "setrange a x x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("setrange nk 3 ab", ":5\r\n"),
            ("get nk", "$5\r\n\0\0\0ab\r\n"),
            ("strlen nk", ":5\r\n"),
            ("setrange a 20 end", ":23\r\n"),
            ("get a", "$23\r\nhello_WORLD\0\0\0\0\0\0\0\0\0end\r\n"),
            (
                "setrange a 9223372036854775807 xx",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
            (
                "setrange a 536870912 x",
                "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
            ),
            (
                "setrange l 0 x",
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            ("setrange l -1 x", "-ERR offset is out of range\r\n"),
            ("set e v ex 100", "+OK\r\n"),
            ("append e x", ":2\r\n"),
            ("ttl e", ":100\r\n"),
            ("setrange e 0 y", ":2\r\n"),
            ("ttl e", ":100\r\n"),
            ("get e", "$2\r\nyx\r\n"),
        ]);
    }

    #[test]
    fn arguments_with_spaces_or_empty() {
        let mut h = harness();
        h.cmd("set a hello");
        let cases: &[(&[&[u8]], &[u8])] = &[
            (&[b"setrange", b"nk", b"5", b""], b":0\r\n"),
            (&[b"exists", b"nk"], b":0\r\n"),
            (&[b"setrange", b"a", b"0", b""], b":5\r\n"),
            (
                &[b"setrange", b"l", b"0", b""],
                b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (&[b"set", b"e", b""], b"+OK\r\n"),
            (&[b"getrange", b"e", b"0", b"-1"], b"$0\r\n\r\n"),
            (&[b"getrange", b"e", b"-1", b"0"], b"$0\r\n\r\n"),
            (&[b"strlen", b"e"], b":0\r\n"),
            (
                &[b"incrby", b"n", b""],
                b"-ERR value is not an integer or out of range\r\n",
            ),
            (
                &[b"incrbyfloat", b"f", b""],
                b"-ERR value is not a valid float\r\n",
            ),
            (
                &[b"incrbyfloat", b"f", b" 1"],
                b"-ERR value is not a valid float\r\n",
            ),
            (
                &[b"incrbyfloat", b"f", b"1 "],
                b"-ERR value is not a valid float\r\n",
            ),
            (&[b"set", b"s", b" 1"], b"+OK\r\n"),
            (
                &[b"incr", b"s"],
                b"-ERR value is not an integer or out of range\r\n",
            ),
            (
                &[b"incrbyfloat", b"s", b"1"],
                b"-ERR value is not a valid float\r\n",
            ),
            (&[b"set", b"k", b"v", b"NX\0junk"], b"+OK\r\n"),
            (&[b"set", b"k", b"v", b"NX\0junk"], b"$-1\r\n"),
            (&[b"set", b"bin\0key", b"\x00\xff\r\n"], b"+OK\r\n"),
            (&[b"get", b"bin\0key"], b"$4\r\n\x00\xff\r\n\r\n"),
        ];
        for (args, want) in cases {
            assert_eq!(h.run(args), *want, "{args:?}");
        }
    }

    #[test]
    fn setrange_pads_with_zero_bytes() {
        let mut h = harness();
        assert_eq!(h.cmd("setrange nk 3 ab"), ":5\r\n");
        assert_eq!(h.run(&[b"get", b"nk"]), b"$5\r\n\0\0\0ab\r\n");
    }

    #[test]
    fn setrange_limit_follows_proto_max_bulk_len() {
        let mut h = harness();
        h.server.config.proto_max_bulk_len = 10;
        assert_eq!(h.cmd("setrange k 5 12345"), ":10\r\n");
        assert_eq!(
            h.cmd("setrange k 6 12345"),
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
        );
        assert_eq!(
            h.cmd("append k x"),
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
        );
        assert_eq!(h.cmd("strlen k"), ":10\r\n");
    }

    #[test]
    fn resp3_nulls() {
        let mut h = harness();
        h.client.resp = 3;
        assert_eq!(h.cmd("get nokey"), "_\r\n");
        assert_eq!(h.cmd("mget nokey l"), "*2\r\n_\r\n_\r\n");
        assert_eq!(h.cmd("set k v nx get"), "_\r\n");
    }

    #[test]
    fn read_commands_count_hits_and_misses_like_redis() {
        // The same sequence on redis-server 7.0.15 (after CONFIG RESETSTAT)
        // ends with keyspace_hits:9 and keyspace_misses:8.
        let mut h = Harness::new();
        for line in [
            "set x 1",
            "get x",
            "get y",
            "exists x y",
            "type x",
            "type y",
            "ttl x",
            "ttl y",
            "mget x y z",
            "strlen x",
            "getrange y 0 1",
            "set x 2 get",
            "incr x",
            "append x 1",
            "getex x",
            "getdel x",
            "getdel x",
        ] {
            h.cmd(line);
        }
        assert_eq!(
            (h.server.stats.keyspace_hits, h.server.stats.keyspace_misses),
            (9, 8)
        );
    }

    #[test]
    fn expired_keys_read_as_missing_and_are_counted() {
        let mut h = Harness::new();
        h.expect(&[
            ("set k v pxat 1", "+OK\r\n"),
            ("set c 5 pxat 1", "+OK\r\n"),
            ("incr c", ":1\r\n"),
            ("ttl c", ":-1\r\n"),
            ("append k x", ":1\r\n"),
        ]);
        assert_eq!(h.server.stats.expiredkeys, 2);
    }

    #[test]
    fn command_docs_shapes() {
        let table = crate::server::cmd::CommandTable::new();
        let set = table.lookup(&[b"set".to_vec()]).expect("set");
        assert_eq!(
            (set.arity, set.flags, set.acl_categories),
            (-3, "write denyoom", "@write @string @slow")
        );
        let names: Vec<_> = set.args.iter().map(|a| a.name).collect();
        assert_eq!(names, ["key", "value", "condition", "get", "expiration"]);
        let ArgKind::OneOf(expiration) = set.args[4].kind else {
            panic!("expiration is a oneof")
        };
        let forms: Vec<_> = expiration.iter().map(|a| (a.name, a.token)).collect();
        assert_eq!(
            forms,
            [
                ("seconds", Some("EX")),
                ("milliseconds", Some("PX")),
                ("unix-time-seconds", Some("EXAT")),
                ("unix-time-milliseconds", Some("PXAT")),
                ("keepttl", Some("KEEPTTL"))
            ]
        );
        let mset = table.lookup(&[b"mset".to_vec()]).expect("mset");
        assert_eq!((mset.first_key, mset.last_key, mset.key_step), (1, -1, 2));
        assert!(mset.args[0].multiple);
    }
}

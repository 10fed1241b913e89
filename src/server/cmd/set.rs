//! The set commands: the mirror of Redis's `t_set.c`.
//!
//! A set holds distinct strings in no particular order — except that a set
//! of integers is an intset and so answers in numeric order, as Redis's does
//! (see [`Set`]). `SPOP` and `SRANDMEMBER` pick members at random, uniformly;
//! the algebra commands (`SINTER`, `SUNION`, `SDIFF`, and their `STORE`
//! forms) build their answer the way Redis builds it, so where Redis's
//! order is predictable (integers) ours is the same.

use crate::server::call::Call;
use std::collections::HashSet;

use super::keys::{KEY, arg, command, key_spec, one_key_spec, token, with_keys};
use super::{Arg, ArgKind, BeginSearch, FindKeys, KeySpec, RedisCommand, parse_range_or_reply};
use crate::server::aof;
use crate::server::client::{CLIENT_PREVENT_PROP, Client};
use crate::server::db::set::Set;
use crate::server::db::{Db, Typed, Value, WRONGTYPE_ERR, Xorshift64};
use crate::server::util::arg_is;
use crate::server::{Server, Stats};

const ERR_SYNTAX: &str = "syntax error";

/// A key looked up as a set.
type Lookup<'a> = Typed<'a, Set>;

/// Looks `key` up for reading (counting a hit or miss) or writing, and
/// sorts the result (the lookup plus `checkType` of the set commands).
fn lookup_set<'a>(db: &'a mut Db, stats: &mut Stats, key: &[u8], write: bool) -> Lookup<'a> {
    db.lookup_typed(key, stats, write, |v| match v {
        Value::Set(x) => Some(&mut **x),
        _ => None,
    })
}

/// `SADD key member [member ...]`: how many members are new (mirror of
/// `saddCommand`). A new set's encoding follows its first member.
fn sadd_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let added = match lookup_set(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Found(set) => c.argv[2..].iter().filter(|m| set.add(m)).count(),
        Lookup::Missing => {
            let mut set = Set::create_for(&c.argv[2]);
            let added = c.argv[2..].iter().filter(|m| set.add(m)).count();
            db.add(&c.argv[1], Value::Set(Box::new(set)));
            added
        }
    };
    if added > 0 {
        db.signal_modified_key(&c.argv[1]);
    }
    c.add_reply_long_long(added as i64);
}

/// After members left a set: signals the change and deletes the key if the
/// set emptied.
fn members_removed(db: &mut Db, key: &[u8], emptied: bool) {
    db.signal_modified_key(key);
    if emptied {
        db.delete(key);
    }
}

/// `SREM key member [member ...]`: how many members went (mirror of `sremCommand`).
fn srem_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let set = match lookup_set(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_long_long(0),
        Lookup::Found(set) => set,
    };
    let mut removed = 0;
    for m in &c.argv[2..] {
        if set.remove(m) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    let emptied = set.is_empty();
    if removed > 0 {
        members_removed(db, &c.argv[1], emptied);
    }
    c.add_reply_long_long(removed);
}

/// `SISMEMBER key member` (mirror of `sismemberCommand`).
fn sismember_command(call: &mut Call) {
    let (server, c) = call.parts();
    match lookup_set(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => c.add_reply_long_long(0),
        Lookup::Found(set) => {
            let found = set.contains(&c.argv[2]);
            c.add_reply_long_long(i64::from(found));
        }
    }
}

/// `SMISMEMBER key member [member ...]`: `1` or `0` per member (mirror of
/// `smismemberCommand`).
fn smismember_command(call: &mut Call) {
    let (server, c) = call.parts();
    let set = match lookup_set(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => None,
        Lookup::Found(set) => Some(&*set),
    };
    c.add_reply_array_len(c.argv.len() - 2);
    for j in 2..c.argv.len() {
        let found = set.is_some_and(|s| s.contains(&c.argv[j]));
        c.add_reply_long_long(i64::from(found));
    }
}

/// `SCARD key` (mirror of `scardCommand`).
fn scard_command(call: &mut Call) {
    let (server, c) = call.parts();
    match lookup_set(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => c.add_reply_long_long(0),
        Lookup::Found(set) => {
            let len = set.len() as i64;
            c.add_reply_long_long(len);
        }
    }
}

/// `SMOVE source destination member`: `1` if the member moved (mirror of
/// `smoveCommand`). The source is checked first: a missing source is `0`
/// whatever the destination holds.
fn smove_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let (src, dst, member) = (&c.argv[1], &c.argv[2], &c.argv[3]);
    let dst_state = match lookup_set(db, &mut server.stats, dst, true) {
        Lookup::Missing => Some(false),
        Lookup::Found(_) => Some(true),
        Lookup::WrongType => None,
    };
    let set = match lookup_set(db, &mut server.stats, src, true) {
        Lookup::Missing => return c.add_reply_long_long(0),
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Found(set) => set,
    };
    let Some(dst_exists) = dst_state else {
        return c.add_reply_error(WRONGTYPE_ERR);
    };
    if src == dst {
        let found = set.contains(member);
        return c.add_reply_long_long(i64::from(found));
    }
    if !set.remove(member) {
        return c.add_reply_long_long(0);
    }
    let emptied = set.is_empty();
    if emptied {
        db.delete(src);
    }
    if !dst_exists {
        db.add(dst, Value::Set(Box::new(Set::create_for(member))));
    }
    db.signal_modified_key(src);
    if let Lookup::Found(target) = lookup_set(db, &mut server.stats, dst, true)
        && target.add(member)
    {
        db.signal_modified_key(dst);
    }
    c.add_reply_long_long(1);
}

/// SPOP and SRANDMEMBER take at most a count.
fn syntax_error_if_too_many_args(c: &mut Client) -> bool {
    let too_many = c.argv.len() > 3;
    if too_many {
        c.add_reply_error(ERR_SYNTAX);
    }
    too_many
}

/// `SPOP key [count]`: removes and returns random members (mirror of
/// `spopCommand` and `spopWithCountCommand`). With a count the answer is a
/// set: the whole set (in its order) when the count covers it.
fn spop_command(call: &mut Call) {
    let (server, c) = call.parts();
    if syntax_error_if_too_many_args(c) {
        return;
    }
    let count = match c.argv.get(2).cloned() {
        Some(arg) => match parse_range_or_reply(
            c,
            &arg,
            0,
            i64::MAX,
            Some("value is out of range, must be positive"),
        ) {
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => return,
        },
        None => None,
    };
    // The members popped, kept only for the AOF.
    let (track, mut popped) = (server.aof.on, Vec::new());
    let db = &mut server.dbs[c.db];
    let mut randoms = Xorshift64::seeded(db.next_random());
    let set = match lookup_set(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing if count.is_some() => return c.add_reply_set_len(0),
        Lookup::Missing => return c.add_reply_null(),
        Lookup::Found(set) => set,
    };
    match count {
        None => {
            if let Some(m) = set.pop_random(randoms.next_u64()) {
                c.add_reply_bulk(&m);
                if track {
                    popped.push(m.to_vec());
                }
            }
        }
        Some(0) => return c.add_reply_set_len(0),
        Some(n) if n >= set.len() => {
            c.add_reply_set_len(set.len());
            for m in set.iter() {
                c.add_reply_bulk(&m);
            }
            return members_removed(db, &c.argv[1], true);
        }
        Some(n) => {
            c.add_reply_set_len(n);
            for _ in 0..n {
                if let Some(m) = set.pop_random(randoms.next_u64()) {
                    c.add_reply_bulk(&m);
                    if track {
                        popped.push(m.to_vec());
                    }
                }
            }
        }
    }
    let emptied = set.is_empty();
    members_removed(db, &c.argv[1], emptied);
    propagate_spop(server, c, popped);
}

/// SPOP's random picks are written to the AOF as one `SREM key member` per
/// member, as Redis 7.0 does (several of them end up inside MULTI/EXEC).
/// Popping the whole set is written as DEL by `aof::propagate::rewrite`.
fn propagate_spop(server: &mut Server, c: &mut Client, popped: Vec<Vec<u8>>) {
    if !server.aof.on {
        return;
    }
    let key = c.argv[1].clone();
    let db = c.db;
    for m in popped {
        aof::also_propagate(server, db, vec![b"SREM".to_vec(), key.clone(), m]);
    }
    c.flags |= CLIENT_PREVENT_PROP;
}

/// `SRANDMEMBER key [count]`: random members without removing them (mirror
/// of `srandmemberCommand` and `srandmemberWithCountCommand`). A positive
/// count gives distinct members, at most the whole set; a negative count
/// gives exactly that many, repeats allowed.
fn srandmember_command(call: &mut Call) {
    let (server, c) = call.parts();
    if syntax_error_if_too_many_args(c) {
        return;
    }
    let count = match c.argv.get(2).cloned() {
        Some(arg) => match parse_range_or_reply(c, &arg, -i64::MAX, i64::MAX, None) {
            Some(n) => Some(n),
            None => return,
        },
        None => None,
    };
    let db = &mut server.dbs[c.db];
    let mut randoms = Xorshift64::seeded(db.next_random());
    let set = match lookup_set(db, &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing if count.is_some() => return c.add_reply_array_len(0),
        Lookup::Missing => return c.add_reply_null(),
        Lookup::Found(set) => &*set,
    };
    let Some(count) = count else {
        if let Some(m) = set.random_member(randoms.next_u64()) {
            c.add_reply_bulk(&m);
        }
        return;
    };
    let size = set.len();
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    if count == 0 {
        return c.add_reply_array_len(0);
    }
    if count < 0 {
        c.add_reply_array_len(wanted);
        for _ in 0..wanted {
            if let Some(m) = set.random_member(randoms.next_u64()) {
                c.add_reply_bulk(&m);
            }
        }
        return;
    }
    if wanted >= size {
        c.add_reply_array_len(size);
        for m in set.iter() {
            c.add_reply_bulk(&m);
        }
        return;
    }
    let positions = distinct_positions(&mut randoms, size, wanted);
    c.add_reply_array_len(positions.len());
    for pos in positions {
        c.add_reply_bulk(&set.member_at(pos));
    }
}

/// `wanted` distinct positions below `size` (`wanted < size`), chosen
/// uniformly: by shuffling when most are wanted, by drawing until enough
/// distinct ones came up otherwise (the two strategies of Redis's CASE 3
/// and CASE 4, for the same reason: neither is slow in its own range).
fn distinct_positions(randoms: &mut Xorshift64, size: usize, wanted: usize) -> Vec<usize> {
    if wanted.saturating_mul(3) > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..wanted {
            let j = i + (randoms.next_u64() % (size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(wanted);
        return all;
    }
    let mut picked = HashSet::with_capacity(wanted);
    let mut order = Vec::with_capacity(wanted);
    while order.len() < wanted {
        let pos = (randoms.next_u64() % size as u64) as usize;
        if picked.insert(pos) {
            order.push(pos);
        }
    }
    order
}

/// Looks up every key as a set for the algebra commands: `None` after
/// replying WRONGTYPE (which wins over a missing key), else each key's set
/// or `None` for a missing one.
fn lookup_sets(
    server: &mut Server,
    c: &mut Client,
    keys: std::ops::Range<usize>,
) -> Option<Vec<Option<Set>>> {
    let db = &mut server.dbs[c.db];
    let mut sets = Vec::with_capacity(keys.len());
    for j in keys {
        match lookup_set(db, &mut server.stats, &c.argv[j], false) {
            Lookup::WrongType => {
                c.add_reply_error(WRONGTYPE_ERR);
                return None;
            }
            Lookup::Missing => sets.push(None),
            // The sets are read while the destination may be written, so
            // they are copied, as Redis's result set is a new object too.
            Lookup::Found(set) => sets.push(Some(set.clone())),
        }
    }
    Some(sets)
}

/// What the algebra commands do with their result.
enum Output<'a> {
    /// Reply it as a set.
    Reply,
    /// Store it under this key and reply its size.
    Store(&'a [u8]),
}

/// Replies or stores a result set (the tail of `sinterGenericCommand` and
/// `sunionDiffGenericCommand`): an empty result deletes the destination.
fn output_set(server: &mut Server, c: &mut Client, result: Set, output: Output) {
    match output {
        Output::Reply => {
            c.add_reply_set_len(result.len());
            for m in result.iter() {
                c.add_reply_bulk(&m);
            }
        }
        Output::Store(dst) => {
            let len = result.len();
            let db = &mut server.dbs[c.db];
            if len == 0 {
                db.delete(dst);
            } else {
                db.set_key(dst, Value::Set(Box::new(result)), false);
            }
            c.add_reply_long_long(len as i64);
        }
    }
}

/// The intersection of the sets at `argv[keys]`, walking the smallest set
/// and keeping the members every other set has (mirror of
/// `sinterGenericCommand`). With a `limit`, only the size is wanted, and
/// counting stops there.
fn sinter_members(sets: &[Option<Set>], limit: Option<usize>) -> (Set, usize) {
    let mut result = Set::IntSet(Vec::new());
    if sets.iter().any(Option::is_none) {
        return (result, 0);
    }
    let mut sets: Vec<&Set> = sets.iter().flatten().collect();
    sets.sort_by_key(|s| s.len());
    let mut count = 0;
    for m in sets[0].iter() {
        if sets[1..].iter().all(|s| s.contains(&m)) {
            count += 1;
            match limit {
                Some(limit) => {
                    if limit != 0 && count >= limit {
                        break;
                    }
                }
                None => {
                    result.add(&m);
                }
            }
        }
    }
    (result, count)
}

/// `SINTER key [key ...]` and `SMEMBERS key` (Redis 7.0 answers SMEMBERS
/// as the intersection of one set).
fn sinter_command(call: &mut Call) {
    let (server, c) = call.parts();
    if let Some(sets) = lookup_sets(server, c, 1..c.argv.len()) {
        let (result, _) = sinter_members(&sets, None);
        output_set(server, c, result, Output::Reply);
    }
}

/// `SINTERSTORE destination key [key ...]`.
fn sinterstore_command(call: &mut Call) {
    let (server, c) = call.parts();
    if let Some(sets) = lookup_sets(server, c, 2..c.argv.len()) {
        let (result, _) = sinter_members(&sets, None);
        let dst = c.argv[1].clone();
        output_set(server, c, result, Output::Store(&dst));
    }
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`: the size of the
/// intersection, counting no further than the limit (mirror of
/// `sinterCardCommand`).
fn sintercard_command(call: &mut Call) {
    let (server, c) = call.parts();
    let arg = c.argv[1].clone();
    let Some(numkeys) = parse_range_or_reply(
        c,
        &arg,
        1,
        i64::MAX,
        Some("numkeys should be greater than 0"),
    ) else {
        return;
    };
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > c.argv.len() - 2 {
        return c.add_reply_error("Number of keys can't be greater than number of args");
    }
    let mut limit = 0;
    let mut j = 2 + numkeys;
    while j < c.argv.len() {
        if arg_is(&c.argv[j], "limit") && j + 1 < c.argv.len() {
            let value = c.argv[j + 1].clone();
            match parse_range_or_reply(c, &value, 0, i64::MAX, Some("LIMIT can't be negative")) {
                Some(n) => limit = usize::try_from(n).unwrap_or(usize::MAX),
                None => return,
            }
            j += 2;
        } else {
            return c.add_reply_error(ERR_SYNTAX);
        }
    }
    if let Some(sets) = lookup_sets(server, c, 2..2 + numkeys) {
        let (_, count) = sinter_members(&sets, Some(limit));
        c.add_reply_long_long(count as i64);
    }
}

/// Union or difference.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// The union or the difference of the sets, built into a new set that
/// starts as an intset (mirror of `sunionDiffGenericCommand`). For a
/// difference it picks the cheaper of Redis's two algorithms: check each
/// member of the first set against the others, or copy the first set and
/// remove the others' members.
fn sunion_diff_members(sets: &[Option<Set>], op: SetOp) -> Set {
    let mut result = Set::IntSet(Vec::new());
    match op {
        SetOp::Union => {
            for set in sets.iter().flatten() {
                for m in set.iter() {
                    result.add(&m);
                }
            }
        }
        SetOp::Diff => {
            let Some(Some(first)) = sets.first() else {
                return result;
            };
            let others: Vec<&Set> = sets[1..].iter().flatten().collect();
            let work_one = first.len() * others.len() / 2;
            let work_two: usize = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
            if work_one <= work_two {
                for m in first.iter() {
                    if !others.iter().any(|s| s.contains(&m)) {
                        result.add(&m);
                    }
                }
            } else {
                for m in first.iter() {
                    result.add(&m);
                }
                for s in &others {
                    for m in s.iter() {
                        result.remove(&m);
                    }
                    if result.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    result
}

fn sunion_diff_generic(server: &mut Server, c: &mut Client, op: SetOp, store: bool) {
    let first = if store { 2 } else { 1 };
    let Some(sets) = lookup_sets(server, c, first..c.argv.len()) else {
        return;
    };
    // The same key given again as a set to subtract empties a difference.
    let same_as_first = op == SetOp::Diff
        && sets[0].is_some()
        && c.argv[first + 1..].iter().any(|k| *k == c.argv[first]);
    let result = if same_as_first {
        Set::IntSet(Vec::new())
    } else {
        sunion_diff_members(&sets, op)
    };
    if store {
        let dst = c.argv[1].clone();
        output_set(server, c, result, Output::Store(&dst));
    } else {
        output_set(server, c, result, Output::Reply);
    }
}

fn sunion_command(call: &mut Call) {
    let (server, c) = call.parts();
    sunion_diff_generic(server, c, SetOp::Union, false);
}

fn sunionstore_command(call: &mut Call) {
    let (server, c) = call.parts();
    sunion_diff_generic(server, c, SetOp::Union, true);
}

fn sdiff_command(call: &mut Call) {
    let (server, c) = call.parts();
    sunion_diff_generic(server, c, SetOp::Diff, false);
}

fn sdiffstore_command(call: &mut Call) {
    let (server, c) = call.parts();
    sunion_diff_generic(server, c, SetOp::Diff, true);
}

// ---------------------------------------------------------------------------
// The command table entries
// ---------------------------------------------------------------------------

const MEMBER: Arg = arg("member", ArgKind::String);
const MEMBERS: Arg = Arg {
    multiple: true,
    ..MEMBER
};
const KEYS: Arg = Arg {
    multiple: true,
    ..KEY
};
const KEY_ONLY: &[Arg] = &[KEY];
const KEY_MEMBERS: &[Arg] = &[KEY, MEMBERS];
const DEST_KEYS: &[Arg] = &[arg("destination", ArgKind::Key), KEYS];
const COUNT_SINCE_3_2: &[Arg] = &[
    KEY,
    Arg {
        optional: true,
        since: Some("3.2.0"),
        ..arg("count", ArgKind::Integer)
    },
];
const COUNT_SINCE_2_6: &[Arg] = &[
    KEY,
    Arg {
        optional: true,
        since: Some("2.6.0"),
        ..arg("count", ArgKind::Integer)
    },
];
const RO: &[KeySpec] = &[one_key_spec("RO")];
const RO_ACCESS: &[KeySpec] = &[one_key_spec("RO access")];
const RO_ACCESS_ALL: &[KeySpec] = &[key_spec("RO access", 1, -1, 1)];
const STORE_SPECS: &[KeySpec] = &[one_key_spec("OW update"), key_spec("RO access", 2, -1, 1)];
/// Redis 7.0 marks SINTERSTORE's destination RW where the other two say OW.
const SINTERSTORE_SPECS: &[KeySpec] = &[one_key_spec("RW update"), key_spec("RO access", 2, -1, 1)];
const ORDER_TIPS: &[&str] = &["nondeterministic_output_order"];

/// A set command on the key at `argv[1]`.
const fn set_command(
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
        ..with_keys(command(name, proc_, arity, "set"), 1, 1, specs)
    }
}

/// SINTER, SUNION, SDIFF: every argument is a key.
const fn algebra(
    name: &'static str,
    proc_: super::CommandProc,
    summary: &'static str,
) -> RedisCommand {
    RedisCommand {
        summary,
        complexity: "O(N), N being the total number of members of the sets",
        args: &[KEYS],
        tips: ORDER_TIPS,
        ..with_keys(
            RedisCommand {
                flags: "readonly",
                acl_categories: "@read @set @slow",
                ..command(name, proc_, -2, "set")
            },
            -1,
            1,
            RO_ACCESS_ALL,
        )
    }
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE.
const fn algebra_store(
    name: &'static str,
    proc_: super::CommandProc,
    summary: &'static str,
    specs: &'static [KeySpec],
) -> RedisCommand {
    RedisCommand {
        summary,
        complexity: "O(N), N being the total number of members of the sets",
        args: DEST_KEYS,
        ..with_keys(
            RedisCommand {
                flags: "write denyoom",
                acl_categories: "@write @set @slow",
                ..command(name, proc_, -3, "set")
            },
            -1,
            1,
            specs,
        )
    }
}

const READ_FAST: &str = "@read @set @fast";
const WRITE_FAST: &str = "@write @set @fast";

pub const COMMANDS: &[RedisCommand] = &[
    RedisCommand {
        summary: "Adds members to a set, creating it if needed",
        complexity: "O(1) per member added, so O(N) for N members",
        args: KEY_MEMBERS,
        history: &[("2.4.0", "More than one member.")],
        ..set_command(
            "sadd",
            sadd_command,
            -3,
            "write denyoom fast",
            WRITE_FAST,
            &[one_key_spec("RW insert")],
        )
    },
    RedisCommand {
        summary: "Removes members from a set",
        complexity: "O(N), N being the number of members removed",
        args: KEY_MEMBERS,
        history: &[("2.4.0", "More than one member.")],
        ..set_command(
            "srem",
            srem_command,
            -3,
            "write fast",
            WRITE_FAST,
            &[one_key_spec("RW delete")],
        )
    },
    RedisCommand {
        summary: "Returns every member of a set",
        complexity: "O(N), N being the number of members",
        args: KEY_ONLY,
        tips: ORDER_TIPS,
        ..set_command(
            "smembers",
            sinter_command,
            2,
            "readonly",
            "@read @set @slow",
            RO_ACCESS,
        )
    },
    RedisCommand {
        summary: "Tells whether a string is a member of a set",
        args: &[KEY, MEMBER],
        ..set_command(
            "sismember",
            sismember_command,
            3,
            "readonly fast",
            READ_FAST,
            RO,
        )
    },
    RedisCommand {
        since: "6.2.0",
        summary: "Tells for each string whether it is a member of a set",
        complexity: "O(N), N being the number of strings checked",
        args: KEY_MEMBERS,
        ..set_command(
            "smismember",
            smismember_command,
            -3,
            "readonly fast",
            READ_FAST,
            RO_ACCESS,
        )
    },
    RedisCommand {
        summary: "Returns the number of members of a set",
        args: KEY_ONLY,
        ..set_command("scard", scard_command, 2, "readonly fast", READ_FAST, RO)
    },
    RedisCommand {
        summary: "Moves a member from one set to another",
        args: &[
            arg("source", ArgKind::Key),
            arg("destination", ArgKind::Key),
            MEMBER,
        ],
        ..with_keys(
            RedisCommand {
                flags: "write fast",
                acl_categories: WRITE_FAST,
                ..command("smove", smove_command, 4, "set")
            },
            2,
            1,
            &[
                one_key_spec("RW access delete"),
                key_spec("RW insert", 2, 0, 1),
            ],
        )
    },
    RedisCommand {
        summary: "Removes and returns random members of a set",
        complexity: "O(1) without a count, else O(N), N being the count",
        args: COUNT_SINCE_3_2,
        tips: &["nondeterministic_output"],
        history: &[("3.2.0", "The count argument.")],
        ..set_command(
            "spop",
            spop_command,
            -2,
            "write fast",
            WRITE_FAST,
            &[one_key_spec("RW access delete")],
        )
    },
    RedisCommand {
        summary: "Returns random members of a set",
        complexity: "O(1) without a count, else O(N), N being the absolute value of the count",
        args: COUNT_SINCE_2_6,
        tips: &["nondeterministic_output"],
        history: &[("2.6.0", "The count argument.")],
        ..set_command(
            "srandmember",
            srandmember_command,
            -2,
            "readonly",
            "@read @set @slow",
            RO_ACCESS,
        )
    },
    algebra(
        "sinter",
        sinter_command,
        "Returns the members every given set has",
    ),
    algebra_store(
        "sinterstore",
        sinterstore_command,
        "Stores the members every given set has",
        SINTERSTORE_SPECS,
    ),
    RedisCommand {
        since: "7.0.0",
        summary: "Returns the size of the intersection of sets, up to a limit",
        complexity: "O(N*M) in the worst case, N being the size of the smallest set and M the number of sets",
        args: &[
            arg("numkeys", ArgKind::Integer),
            KEYS,
            Arg {
                optional: true,
                ..token("limit", ArgKind::Integer, "LIMIT")
            },
        ],
        key_specs: &[KeySpec {
            notes: None,
            flags: "RO access",
            begin_search: BeginSearch::Index(1),
            find_keys: FindKeys::Keynum {
                keynumidx: 0,
                firstkey: 1,
                keystep: 1,
            },
        }],
        ..RedisCommand {
            flags: "readonly movablekeys",
            acl_categories: "@read @set @slow",
            ..command("sintercard", sintercard_command, -3, "set")
        }
    },
    algebra(
        "sunion",
        sunion_command,
        "Returns the members any given set has",
    ),
    algebra_store(
        "sunionstore",
        sunionstore_command,
        "Stores the members any given set has",
        STORE_SPECS,
    ),
    algebra(
        "sdiff",
        sdiff_command,
        "Returns the members of the first set no other given set has",
    ),
    algebra_store(
        "sdiffstore",
        sdiffstore_command,
        "Stores the members of the first set no other given set has",
        STORE_SPECS,
    ),
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
            ("sadd a 4 3 2 1", ":4\r\n"),
            ("sadd a 2 5", ":1\r\n"),
            ("smembers a", "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"),
            ("sadd b 3 4 5 6", ":4\r\n"),
            ("sinter a b", "*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"),
            ("sunion a b", "*6\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n"),
            ("sdiff a b", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
            ("sdiff a a", "*0\r\n"),
            ("sdiff nokey a", "*0\r\n"),
            ("sinterstore d a b", ":3\r\n"),
            ("smembers d", "*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"),
            ("sdiffstore d a b", ":2\r\n"),
            ("sinterstore d a nokey", ":0\r\n"),
            ("exists d", ":0\r\n"),
            ("sintercard 2 a b limit 1", ":1\r\n"),
            ("sintercard 0 a", "-ERR numkeys should be greater than 0\r\n"),
            ("sintercard 3 a b", "-ERR Number of keys can't be greater than number of args\r\n"),
            ("sintercard 2 a b limit -1", "-ERR LIMIT can't be negative\r\n"),
            ("sintercard 2 a b foo 1", "-ERR syntax error\r\n"),
            ("smismember a 3 x 5", "*3\r\n:1\r\n:0\r\n:1\r\n"),
            ("scard nokey", ":0\r\n"),
            ("srem a 1 9", ":1\r\n"),
            ("smove a b 2", ":1\r\n"),
            ("smove a b 2", ":0\r\n"),
            ("smove nokey b 2", ":0\r\n"),
            ("smove a a 3", ":1\r\n"),
            ("sadd c x", ":1\r\n"),
            ("srandmember c 5", "*1\r\n$1\r\nx\r\n"),
            ("srandmember c -3", "*3\r\n$1\r\nx\r\n$1\r\nx\r\n$1\r\nx\r\n"),
            ("srandmember nokey 3", "*0\r\n"),
            ("srandmember a -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"),
            ("srandmember a 1 2", "-ERR syntax error\r\n"),
            ("spop nokey 2", "*0\r\n"),
            ("spop c", "$1\r\nx\r\n"),
            ("exists c", ":0\r\n"),
            ("spop a -1", "-ERR value is out of range, must be positive\r\n"),
            ("sadd e 1 2 3", ":3\r\n"),
            ("spop e 3", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"),
            ("exists e", ":0\r\n"),
            ("set str v", "+OK\r\n"),
            ("sadd str 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("sinter nokey str", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("smove a str 3", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("sadd n 01", ":1\r\n"),
            ("sadd n 1", ":1\r\n"),
            ("scard n", ":2\r\n"),
        ]);
    }
}

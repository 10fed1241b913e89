//! The list commands: the mirror of Redis's `t_list.c`.
//!
//! A list is a sequence of strings with two ends, head (left) and tail
//! (right). Here it is a `VecDeque`: pushing and popping at either end is
//! O(1), and so is reaching an element by index — what Redis's quicklist
//! gives for the ends, and better for the middle. A list never exists
//! empty: the command that removes its last element deletes the key.
//!
//! The blocking commands (`BLPOP`, `BRPOP`, `BLMOVE`, `BRPOPLPUSH`) behave
//! like their plain twins when there is something to pop. When there is not,
//! they park the client (see [`crate::server::blocked`]) until a push makes
//! the key ready or the timeout passes.

use crate::server::call::Call;
use std::collections::VecDeque;

use super::keys::{
    KEY, arg, argv_long_long_or_reply, command, key_spec, one_key_spec, token, with_keys,
};
use super::{Arg, ArgKind, KeySpec, RedisCommand, parse_range_or_reply};
use crate::server::aof;
use crate::server::blocked::{self, BlockState};
use crate::server::client::{CLIENT_DENY_BLOCKING, Client};
use crate::server::db::{Db, Sds, Typed, Value, WRONGTYPE_ERR};
use crate::server::util::arg_is;
use crate::server::{Server, Stats};

const ERR_SYNTAX: &str = "syntax error";
const ERR_POSITIVE: &str = "value is out of range, must be positive";

/// One end of a list (Redis's `LIST_HEAD` / `LIST_TAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListEnd {
    /// The left end, where LPUSH and LPOP work.
    Head,
    /// The right end, where RPUSH and RPOP work.
    Tail,
}

/// Pushes `element` at `end` (mirror of `listTypePush`).
pub fn push(list: &mut VecDeque<Sds>, element: Sds, end: ListEnd) {
    match end {
        ListEnd::Head => list.push_front(element),
        ListEnd::Tail => list.push_back(element),
    }
}

/// Pops from `end` (mirror of `listTypePop`).
pub fn pop(list: &mut VecDeque<Sds>, end: ListEnd) -> Option<Sds> {
    match end {
        ListEnd::Head => list.pop_front(),
        ListEnd::Tail => list.pop_back(),
    }
}

/// A key looked up as a list.
type Lookup<'a> = Typed<'a, VecDeque<Sds>>;

/// Looks `key` up, for reading (counting a keyspace hit or miss) or for
/// writing, and sorts the result (the lookup plus `checkType` of the list
/// commands).
fn lookup_list<'a>(db: &'a mut Db, stats: &mut Stats, key: &[u8], write: bool) -> Lookup<'a> {
    db.lookup_typed(key, stats, write, |v| match v {
        Value::List(x) => Some(&mut **x),
        _ => None,
    })
}

/// Deletes `key` if its list is empty; true if it did. A list is never kept
/// empty (the deletion part of `listElementsRemoved`).
pub fn delete_if_empty(db: &mut Db, stats: &mut Stats, key: &[u8]) -> bool {
    let empty = matches!(db.lookup_key_write(key, stats), Some(Value::List(l)) if l.is_empty());
    if empty {
        db.delete(key);
    }
    empty
}

/// Pushes the moved element onto the destination, creating the list if
/// needed (mirror of `lmoveHandlePush`). The caller has checked that the
/// destination is a list or missing, and replies the element.
pub fn lmove_handle_push(
    db: &mut Db,
    stats: &mut Stats,
    dst: &[u8],
    element: Sds,
    whereto: ListEnd,
) {
    match db.lookup_key_write(dst, stats) {
        Some(Value::List(list)) => {
            push(list, element, whereto);
            db.signal_modified_key(dst);
        }
        _ => db.add(dst, Value::List(Box::new(VecDeque::from([element])))),
    }
}

/// `LPUSH`/`RPUSH`/`LPUSHX`/`RPUSHX key element...`: replies the new length.
/// The X forms only push to a list that exists.
///
/// Mirror of `pushGenericCommand` (t_list.c).
fn push_generic(server: &mut Server, c: &mut Client, end: ListEnd, only_existing: bool) {
    let db = &mut server.dbs[c.db];
    let elements = c.argv[2..].iter().map(|e| Sds::new(e));
    match lookup_list(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing if only_existing => c.add_reply_long_long(0),
        Lookup::Missing => {
            let mut list = VecDeque::with_capacity(c.argv.len() - 2);
            for e in elements {
                push(&mut list, e, end);
            }
            let len = list.len();
            db.add(&c.argv[1], Value::List(Box::new(list)));
            c.add_reply_long_long(len as i64);
        }
        Lookup::Found(list) => {
            for e in elements {
                push(list, e, end);
            }
            let len = list.len();
            db.signal_modified_key(&c.argv[1]);
            c.add_reply_long_long(len as i64);
        }
    }
}

fn lpush_command(call: &mut Call) {
    let (server, c) = call.parts();
    push_generic(server, c, ListEnd::Head, false);
}

fn rpush_command(call: &mut Call) {
    let (server, c) = call.parts();
    push_generic(server, c, ListEnd::Tail, false);
}

fn lpushx_command(call: &mut Call) {
    let (server, c) = call.parts();
    push_generic(server, c, ListEnd::Head, true);
}

fn rpushx_command(call: &mut Call) {
    let (server, c) = call.parts();
    push_generic(server, c, ListEnd::Tail, true);
}

/// `LPOP`/`RPOP key [count]`: one element as a bulk string, or with a count
/// an array of up to `count` elements in popping order.
///
/// Mirror of `popGenericCommand` (t_list.c).
fn pop_generic(server: &mut Server, c: &mut Client, end: ListEnd) {
    if c.argv.len() > 3 {
        let name = if end == ListEnd::Head { "lpop" } else { "rpop" };
        return c.add_reply_error_arity(name);
    }
    let count = match c.argv.get(2).cloned() {
        Some(arg) => match parse_range_or_reply(c, &arg, 0, i64::MAX, Some(ERR_POSITIVE)) {
            Some(n) => Some(n),
            None => return,
        },
        None => None,
    };
    let db = &mut server.dbs[c.db];
    let list = match lookup_list(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing if count.is_some() => return c.add_reply_null_array(),
        Lookup::Missing => return c.add_reply_null(),
        Lookup::Found(list) => list,
    };
    match count {
        // Redis's fast path: an empty array even in RESP3, and the key is untouched.
        Some(0) => return c.add_reply_array_len(0),
        None => {
            if let Some(e) = pop(list, end) {
                c.add_reply_bulk(&e);
            }
        }
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX).min(list.len());
            c.add_reply_array_len(n);
            for _ in 0..n {
                if let Some(e) = pop(list, end) {
                    c.add_reply_bulk(&e);
                }
            }
        }
    }
    let emptied = list.is_empty();
    elements_removed(db, &c.argv[1], emptied);
}

/// After elements left a list: signals the change and deletes the key if
/// the list emptied (mirror of `listElementsRemoved`).
fn elements_removed(db: &mut Db, key: &[u8], emptied: bool) {
    db.signal_modified_key(key);
    if emptied {
        db.delete(key);
    }
}

fn lpop_command(call: &mut Call) {
    let (server, c) = call.parts();
    pop_generic(server, c, ListEnd::Head);
}

fn rpop_command(call: &mut Call) {
    let (server, c) = call.parts();
    pop_generic(server, c, ListEnd::Tail);
}

/// `LLEN key` (mirror of `llenCommand`).
fn llen_command(call: &mut Call) {
    let (server, c) = call.parts();
    match lookup_list(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => c.add_reply_long_long(0),
        Lookup::Found(list) => {
            let len = list.len() as i64;
            c.add_reply_long_long(len);
        }
    }
}

/// Turns `start..=end` (negative counting from the tail) into positions of a
/// list of `len` elements, or `None` when the range is empty (the range
/// arithmetic of `lrangeCommand`).
fn normalize_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start >= len || start > end {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// `LRANGE key start stop` (mirror of `lrangeCommand`).
fn lrange_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(start) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    let Some(end) = argv_long_long_or_reply(c, 3) else {
        return;
    };
    let list = match lookup_list(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_array_len(0),
        Lookup::Found(list) => list,
    };
    match normalize_range(start, end, list.len()) {
        None => c.add_reply_array_len(0),
        Some((from, to)) => {
            c.add_reply_array_len(to - from + 1);
            for e in list.range(from..=to) {
                c.add_reply_bulk(e);
            }
        }
    }
}

/// Turns a possibly negative index into a position of a list of `len`.
fn position(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let index = if index < 0 { len + index } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// `LINDEX key index`: the element, or null out of range (mirror of
/// `lindexCommand`, which looks the key up before reading the index).
fn lindex_command(call: &mut Call) {
    let (server, c) = call.parts();
    let list = match lookup_list(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_null(),
        Lookup::Found(list) => list,
    };
    let Some(index) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    match position(index, list.len()).and_then(|p| list.get(p)) {
        Some(e) => c.add_reply_bulk(e),
        None => c.add_reply_null(),
    }
}

/// `LSET key index element` (mirror of `lsetCommand`).
fn lset_command(call: &mut Call) {
    let (server, c) = call.parts();
    let db = &mut server.dbs[c.db];
    let list = match lookup_list(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_error("no such key"),
        Lookup::Found(list) => list,
    };
    let Some(index) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    match position(index, list.len()).and_then(|p| list.get_mut(p)) {
        Some(e) => {
            *e = Sds::new(&c.argv[3]);
            db.signal_modified_key(&c.argv[1]);
            c.add_reply_ok();
        }
        None => c.add_reply_error("index out of range"),
    }
}

/// `LREM key count element`: removes up to `count` matches from the head,
/// or from the tail for a negative count, or all of them for 0; replies how
/// many went (mirror of `lremCommand`).
fn lrem_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(count) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    let db = &mut server.dbs[c.db];
    let list = match lookup_list(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_long_long(0),
        Lookup::Found(list) => list,
    };
    let element = c.argv[3].as_slice();
    let limit = if count == 0 {
        u64::MAX
    } else {
        count.unsigned_abs()
    };
    let mut removed: u64 = 0;
    let mut kept = VecDeque::with_capacity(list.len());
    if count >= 0 {
        for e in list.drain(..) {
            if removed < limit && &*e == element {
                removed += 1;
            } else {
                kept.push_back(e);
            }
        }
    } else {
        for e in list.drain(..).rev() {
            if removed < limit && &*e == element {
                removed += 1;
            } else {
                kept.push_front(e);
            }
        }
    }
    *list = kept;
    if removed > 0 {
        let emptied = list.is_empty();
        elements_removed(db, &c.argv[1], emptied);
    }
    c.add_reply_long_long(i64::try_from(removed).unwrap_or(i64::MAX));
}

/// `LTRIM key start stop`: keeps only that range (mirror of `ltrimCommand`).
fn ltrim_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(start) = argv_long_long_or_reply(c, 2) else {
        return;
    };
    let Some(end) = argv_long_long_or_reply(c, 3) else {
        return;
    };
    let db = &mut server.dbs[c.db];
    let list = match lookup_list(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_ok(),
        Lookup::Found(list) => list,
    };
    match normalize_range(start, end, list.len()) {
        None => list.clear(),
        Some((from, to)) => {
            list.truncate(to + 1);
            list.drain(..from);
        }
    }
    let emptied = list.is_empty();
    elements_removed(db, &c.argv[1], emptied);
    c.add_reply_ok();
}

/// `LINSERT key BEFORE|AFTER pivot element`: the new length, `-1` when the
/// pivot is not found, `0` for a missing key (mirror of `linsertCommand`).
fn linsert_command(call: &mut Call) {
    let (server, c) = call.parts();
    let after = if arg_is(&c.argv[2], "after") {
        true
    } else if arg_is(&c.argv[2], "before") {
        false
    } else {
        return c.add_reply_error(ERR_SYNTAX);
    };
    let db = &mut server.dbs[c.db];
    let list = match lookup_list(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_long_long(0),
        Lookup::Found(list) => list,
    };
    let Some(at) = list.iter().position(|e| **e == *c.argv[3]) else {
        return c.add_reply_long_long(-1);
    };
    list.insert(at + usize::from(after), Sds::new(&c.argv[4]));
    let len = list.len() as i64;
    db.signal_modified_key(&c.argv[1]);
    c.add_reply_long_long(len);
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`: the
/// position of the rank-th match (negative ranks search from the tail), or
/// with COUNT an array of up to that many positions (0 = all), looking at
/// no more than MAXLEN elements (mirror of `lposCommand`).
fn lpos_command(call: &mut Call) {
    let (server, c) = call.parts();
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0i64);
    let mut j = 3;
    while j < c.argv.len() {
        let has_value = j + 1 < c.argv.len();
        let opt = &c.argv[j];
        let (rank_opt, count_opt, maxlen_opt) = (
            arg_is(opt, "rank"),
            arg_is(opt, "count"),
            arg_is(opt, "maxlen"),
        );
        if !has_value || !(rank_opt || count_opt || maxlen_opt) {
            return c.add_reply_error(ERR_SYNTAX);
        }
        let value = c.argv[j + 1].clone();
        if rank_opt {
            let Some(r) = super::parse_long_long_or_reply(c, &value, None) else {
                return;
            };
            if r == 0 {
                return c.add_reply_error(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative \
                     to start from the end of the list",
                );
            }
            rank = r;
        } else if count_opt {
            match parse_range_or_reply(c, &value, 0, i64::MAX, Some("COUNT can't be negative")) {
                Some(n) => count = Some(n),
                None => return,
            }
        } else {
            match parse_range_or_reply(c, &value, 0, i64::MAX, Some("MAXLEN can't be negative")) {
                Some(n) => maxlen = n,
                None => return,
            }
        }
        j += 2;
    }
    let list = match lookup_list(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], false) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing if count.is_some() => return c.add_reply_array_len(0),
        Lookup::Missing => return c.add_reply_null(),
        Lookup::Found(list) => list,
    };
    // A negative rank walks from the tail. Like Redis, the most negative
    // rank stays negative when negated, so then every match qualifies.
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let order: Box<dyn Iterator<Item = (usize, &Sds)>> = if from_tail {
        Box::new(list.iter().enumerate().rev())
    } else {
        Box::new(list.iter().enumerate())
    };
    let limit = if maxlen == 0 {
        usize::MAX
    } else {
        usize::try_from(maxlen).unwrap_or(usize::MAX)
    };
    let element = c.argv[2].as_slice();
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for (pos, e) in order.take(limit) {
        if **e != *element {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(pos as i64);
        match count {
            None => break,
            Some(n) if n != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= n => break,
            Some(_) => {}
        }
    }
    match count {
        Some(_) => {
            c.add_reply_array_len(found.len());
            for pos in found {
                c.add_reply_long_long(pos);
            }
        }
        None => match found.first() {
            Some(&pos) => c.add_reply_long_long(pos),
            None => c.add_reply_null(),
        },
    }
}

/// Reads `LEFT` or `RIGHT` (mirror of `getListPositionFromObjectOrReply`).
fn parse_list_end(c: &mut Client, idx: usize) -> Option<ListEnd> {
    if arg_is(&c.argv[idx], "left") {
        Some(ListEnd::Head)
    } else if arg_is(&c.argv[idx], "right") {
        Some(ListEnd::Tail)
    } else {
        c.add_reply_error(ERR_SYNTAX);
        None
    }
}

/// Moves one element from `argv[1]`'s `wherefrom` end to `argv[2]`'s
/// `whereto` end and replies it; null when the source is missing (mirror of
/// `lmoveGenericCommand`). Both keys are checked before anything moves.
fn lmove_generic(server: &mut Server, c: &mut Client, wherefrom: ListEnd, whereto: ListEnd) {
    let db = &mut server.dbs[c.db];
    match lookup_list(db, &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Missing => return c.add_reply_null(),
        Lookup::Found(_) => {}
    }
    if let Lookup::WrongType = lookup_list(db, &mut server.stats, &c.argv[2], true) {
        return c.add_reply_error(WRONGTYPE_ERR);
    }
    let Lookup::Found(source) = lookup_list(db, &mut server.stats, &c.argv[1], true) else {
        return;
    };
    let Some(element) = pop(source, wherefrom) else {
        return c.add_reply_null();
    };
    c.add_reply_bulk(&element);
    lmove_handle_push(db, &mut server.stats, &c.argv[2], element, whereto);
    delete_if_empty(db, &mut server.stats, &c.argv[1]);
    db.signal_modified_key(&c.argv[1]);
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT` (mirror of `lmoveCommand`).
fn lmove_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(wherefrom) = parse_list_end(c, 3) else {
        return;
    };
    let Some(whereto) = parse_list_end(c, 4) else {
        return;
    };
    lmove_generic(server, c, wherefrom, whereto);
}

/// `RPOPLPUSH source destination`: LMOVE RIGHT LEFT (mirror of `rpoplpushCommand`).
fn rpoplpush_command(call: &mut Call) {
    let (server, c) = call.parts();
    lmove_generic(server, c, ListEnd::Tail, ListEnd::Head);
}

/// `BLPOP`/`BRPOP key [key ...] timeout`: pops from the first non-empty
/// list as `[key, element]`, or blocks until one of the keys gets data.
/// Inside EXEC it cannot block and answers a null array.
///
/// Mirror of `blockingPopGenericCommand` (t_list.c).
fn blocking_pop_generic(server: &mut Server, c: &mut Client, end: ListEnd) {
    let last = c.argv.len() - 1;
    let Some(timeout) = blocked::get_timeout_or_reply(c, last) else {
        return;
    };
    let db = &mut server.dbs[c.db];
    for j in 1..last {
        match lookup_list(db, &mut server.stats, &c.argv[j], true) {
            Lookup::WrongType => return c.add_reply_error(WRONGTYPE_ERR),
            Lookup::Missing => {}
            Lookup::Found(list) => {
                let Some(e) = pop(list, end) else { continue };
                let emptied = list.is_empty();
                let key = std::mem::take(&mut c.argv[j]);
                c.add_reply_array_len(2);
                c.add_reply_bulk(&key);
                c.add_reply_bulk(&e);
                elements_removed(db, &key, emptied);
                // Written to the AOF as the plain pop it became.
                aof::propagate::propagate_instead(server, c, || {
                    vec![pop_name(end).to_vec(), key.clone()]
                });
                c.argv[j] = key;
                return;
            }
        }
    }
    if c.flags & CLIENT_DENY_BLOCKING != 0 {
        return c.add_reply_null_array();
    }
    let keys = c.argv[1..last].to_vec();
    let state = BlockState {
        keys: Vec::new(),
        timeout,
        target: None,
        wherefrom: end,
        whereto: ListEnd::Head,
    };
    blocked::block_for_keys(server, c, &keys, state);
}

/// The non-blocking pop a served BLPOP/BRPOP is written to the AOF as.
pub fn pop_name(end: ListEnd) -> &'static [u8] {
    match end {
        ListEnd::Head => b"LPOP",
        ListEnd::Tail => b"RPOP",
    }
}

fn blpop_command(call: &mut Call) {
    let (server, c) = call.parts();
    blocking_pop_generic(server, c, ListEnd::Head);
}

fn brpop_command(call: &mut Call) {
    let (server, c) = call.parts();
    blocking_pop_generic(server, c, ListEnd::Tail);
}

/// BLMOVE and BRPOPLPUSH: LMOVE at once if the source has elements, else
/// block on the source (a null bulk inside EXEC).
///
/// Mirror of `blmoveGenericCommand` (t_list.c).
fn blmove_generic(
    server: &mut Server,
    c: &mut Client,
    wherefrom: ListEnd,
    whereto: ListEnd,
    timeout_idx: usize,
) {
    let Some(timeout) = blocked::get_timeout_or_reply(c, timeout_idx) else {
        return;
    };
    match lookup_list(&mut server.dbs[c.db], &mut server.stats, &c.argv[1], true) {
        Lookup::WrongType => c.add_reply_error(WRONGTYPE_ERR),
        Lookup::Found(_) => lmove_generic(server, c, wherefrom, whereto),
        Lookup::Missing if c.flags & CLIENT_DENY_BLOCKING != 0 => c.add_reply_null(),
        Lookup::Missing => {
            let keys = [c.argv[1].clone()];
            let state = BlockState {
                keys: Vec::new(),
                timeout,
                target: Some(Sds::new(&c.argv[2])),
                wherefrom,
                whereto,
            };
            blocked::block_for_keys(server, c, &keys, state);
        }
    }
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout` (mirror of `blmoveCommand`).
fn blmove_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(wherefrom) = parse_list_end(c, 3) else {
        return;
    };
    let Some(whereto) = parse_list_end(c, 4) else {
        return;
    };
    blmove_generic(server, c, wherefrom, whereto, 5);
}

/// `BRPOPLPUSH source destination timeout` (mirror of `brpoplpushCommand`).
fn brpoplpush_command(call: &mut Call) {
    let (server, c) = call.parts();
    blmove_generic(server, c, ListEnd::Tail, ListEnd::Head, 3);
}

// ---------------------------------------------------------------------------
// The command table entries
// ---------------------------------------------------------------------------

const ELEMENTS: Arg = Arg {
    multiple: true,
    ..arg("element", ArgKind::String)
};

const LEFT_RIGHT: ArgKind = ArgKind::OneOf(&[
    token("left", ArgKind::PureToken, "LEFT"),
    token("right", ArgKind::PureToken, "RIGHT"),
]);

const SOURCE_DEST: [Arg; 2] = [
    arg("source", ArgKind::Key),
    arg("destination", ArgKind::Key),
];

const TIMEOUT: Arg = arg("timeout", ArgKind::Double);

/// A timeout read as seconds with decimals since 6.0.
const TIMEOUT_HISTORY: &[(&str, &str)] = &[(
    "6.0.0",
    "The timeout became a number of seconds with decimals.",
)];

/// The key specs of the two-key commands: the source is popped, the
/// destination pushed to.
const MOVE_SPECS: &[KeySpec] = &[
    one_key_spec("RW access delete"),
    key_spec("RW insert", 2, 0, 1),
];
const RW_INSERT: &[KeySpec] = &[one_key_spec("RW insert")];
const RW_ACCESS_DELETE: &[KeySpec] = &[one_key_spec("RW access delete")];
const BLOCKING_POP_SPECS: &[KeySpec] = &[key_spec("RW access delete", 1, -2, 1)];
const POP_ARGS: &[Arg] = &[
    KEY,
    Arg {
        optional: true,
        since: Some("6.2.0"),
        ..arg("count", ArgKind::Integer)
    },
];
const PUSH_ARGS: &[Arg] = &[KEY, ELEMENTS];
const BLOCKING_POP_ARGS: &[Arg] = &[
    Arg {
        multiple: true,
        ..KEY
    },
    TIMEOUT,
];
const POP_HISTORY: &[(&str, &str)] = &[("6.2.0", "The count argument.")];

/// A list command with one key, with the fields every list command shares.
const fn list_command(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    flags: &'static str,
    acl: &'static str,
    spec: &'static [KeySpec],
) -> RedisCommand {
    RedisCommand {
        flags,
        acl_categories: acl,
        ..with_keys(command(name, proc_, arity, "list"), 1, 1, spec)
    }
}

/// LPUSH, RPUSH, LPUSHX, RPUSHX.
const fn push_entry(
    name: &'static str,
    proc_: super::CommandProc,
    since: &'static str,
    summary: &'static str,
    history: &'static [(&'static str, &'static str)],
) -> RedisCommand {
    RedisCommand {
        since,
        summary,
        complexity: "O(1) per element pushed, so O(N) for N elements",
        args: PUSH_ARGS,
        history,
        ..list_command(
            name,
            proc_,
            -3,
            "write denyoom fast",
            "@write @list @fast",
            RW_INSERT,
        )
    }
}

/// LPOP and RPOP.
const fn pop_entry(
    name: &'static str,
    proc_: super::CommandProc,
    summary: &'static str,
) -> RedisCommand {
    RedisCommand {
        summary,
        complexity: "O(N), N being the number of elements popped",
        args: POP_ARGS,
        history: POP_HISTORY,
        ..list_command(
            name,
            proc_,
            -2,
            "write fast",
            "@write @list @fast",
            RW_ACCESS_DELETE,
        )
    }
}

/// BLPOP and BRPOP.
const fn blocking_pop_entry(
    name: &'static str,
    proc_: super::CommandProc,
    summary: &'static str,
) -> RedisCommand {
    RedisCommand {
        since: "2.0.0",
        summary,
        complexity: "O(N), N being the number of keys given",
        args: BLOCKING_POP_ARGS,
        history: TIMEOUT_HISTORY,
        ..with_keys(
            RedisCommand {
                flags: "write noscript blocking",
                acl_categories: "@write @list @slow @blocking",
                ..command(name, proc_, -3, "list")
            },
            -2,
            1,
            BLOCKING_POP_SPECS,
        )
    }
}

/// LMOVE-like entries: two keys, source then destination.
const fn move_entry(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    flags: &'static str,
    acl: &'static str,
) -> RedisCommand {
    RedisCommand {
        flags,
        acl_categories: acl,
        ..with_keys(command(name, proc_, arity, "list"), 2, 1, MOVE_SPECS)
    }
}

pub const COMMANDS: &[RedisCommand] = &[
    push_entry(
        "lpush",
        lpush_command,
        "1.0.0",
        "Pushes elements at the head of a list, creating it if needed",
        &[("2.4.0", "More than one element.")],
    ),
    push_entry(
        "rpush",
        rpush_command,
        "1.0.0",
        "Pushes elements at the tail of a list, creating it if needed",
        &[("2.4.0", "More than one element.")],
    ),
    push_entry(
        "lpushx",
        lpushx_command,
        "2.2.0",
        "Pushes elements at the head of a list, only if the list exists",
        &[("4.0.0", "More than one element.")],
    ),
    push_entry(
        "rpushx",
        rpushx_command,
        "2.2.0",
        "Pushes elements at the tail of a list, only if the list exists",
        &[("4.0.0", "More than one element.")],
    ),
    pop_entry(
        "lpop",
        lpop_command,
        "Removes and returns elements from the head of a list",
    ),
    pop_entry(
        "rpop",
        rpop_command,
        "Removes and returns elements from the tail of a list",
    ),
    RedisCommand {
        summary: "Returns the number of elements of a list",
        args: &[KEY],
        ..list_command(
            "llen",
            llen_command,
            2,
            "readonly fast",
            "@read @list @fast",
            &[one_key_spec("RO")],
        )
    },
    RedisCommand {
        summary: "Returns the elements between two positions of a list",
        complexity: "O(S+N), S being the start offset and N the number of elements returned",
        args: &[
            KEY,
            arg("start", ArgKind::Integer),
            arg("stop", ArgKind::Integer),
        ],
        ..list_command(
            "lrange",
            lrange_command,
            4,
            "readonly",
            "@read @list @slow",
            &[one_key_spec("RO access")],
        )
    },
    RedisCommand {
        summary: "Returns the element at a position of a list",
        complexity: "O(1) here; Redis walks its quicklist, O(N) to reach the middle",
        args: &[KEY, arg("index", ArgKind::Integer)],
        ..list_command(
            "lindex",
            lindex_command,
            3,
            "readonly",
            "@read @list @slow",
            &[one_key_spec("RO access")],
        )
    },
    RedisCommand {
        summary: "Replaces the element at a position of a list",
        complexity: "O(1) here; Redis walks its quicklist, O(N) to reach the middle",
        args: &[
            KEY,
            arg("index", ArgKind::Integer),
            arg("element", ArgKind::String),
        ],
        ..list_command(
            "lset",
            lset_command,
            4,
            "write denyoom",
            "@write @list @slow",
            &[one_key_spec("RW update")],
        )
    },
    RedisCommand {
        summary: "Removes elements equal to a value from a list",
        complexity: "O(N+M), N being the length of the list and M the number of elements removed",
        args: &[
            KEY,
            arg("count", ArgKind::Integer),
            arg("element", ArgKind::String),
        ],
        ..list_command(
            "lrem",
            lrem_command,
            4,
            "write",
            "@write @list @slow",
            &[one_key_spec("RW delete")],
        )
    },
    RedisCommand {
        summary: "Keeps only the elements between two positions of a list",
        complexity: "O(N), N being the number of elements removed",
        args: &[
            KEY,
            arg("start", ArgKind::Integer),
            arg("stop", ArgKind::Integer),
        ],
        ..list_command(
            "ltrim",
            ltrim_command,
            4,
            "write",
            "@write @list @slow",
            &[one_key_spec("RW delete")],
        )
    },
    RedisCommand {
        since: "2.2.0",
        summary: "Inserts an element before or after another one in a list",
        complexity: "O(N), N being the number of elements before the pivot",
        args: &[
            KEY,
            arg(
                "where",
                ArgKind::OneOf(&[
                    token("before", ArgKind::PureToken, "BEFORE"),
                    token("after", ArgKind::PureToken, "AFTER"),
                ]),
            ),
            arg("pivot", ArgKind::String),
            arg("element", ArgKind::String),
        ],
        ..list_command(
            "linsert",
            linsert_command,
            5,
            "write denyoom",
            "@write @list @slow",
            &[one_key_spec("RW insert")],
        )
    },
    RedisCommand {
        since: "6.0.6",
        summary: "Returns the positions of the elements of a list equal to a value",
        complexity: "O(N), N being the number of elements looked at; MAXLEN bounds it",
        args: &[
            KEY,
            arg("element", ArgKind::String),
            Arg {
                optional: true,
                ..token("rank", ArgKind::Integer, "RANK")
            },
            Arg {
                optional: true,
                ..token("num-matches", ArgKind::Integer, "COUNT")
            },
            Arg {
                optional: true,
                ..token("len", ArgKind::Integer, "MAXLEN")
            },
        ],
        ..list_command(
            "lpos",
            lpos_command,
            -3,
            "readonly",
            "@read @list @slow",
            &[one_key_spec("RO access")],
        )
    },
    RedisCommand {
        since: "6.2.0",
        summary: "Pops an element from one end of a list and pushes it at one end of another",
        args: &[
            SOURCE_DEST[0],
            SOURCE_DEST[1],
            arg("wherefrom", LEFT_RIGHT),
            arg("whereto", LEFT_RIGHT),
        ],
        ..move_entry(
            "lmove",
            lmove_command,
            5,
            "write denyoom",
            "@write @list @slow",
        )
    },
    RedisCommand {
        since: "1.2.0",
        summary: "Pops an element from the tail of a list and pushes it at the head of another",
        args: &SOURCE_DEST,
        doc_flags: "deprecated",
        deprecated_since: Some("6.2.0"),
        replaced_by: Some("`LMOVE` with `RIGHT` `LEFT`"),
        ..move_entry(
            "rpoplpush",
            rpoplpush_command,
            3,
            "write denyoom",
            "@write @list @slow",
        )
    },
    blocking_pop_entry(
        "blpop",
        blpop_command,
        "Pops the head of the first non-empty list, waiting for one if all are empty",
    ),
    blocking_pop_entry(
        "brpop",
        brpop_command,
        "Pops the tail of the first non-empty list, waiting for one if all are empty",
    ),
    RedisCommand {
        since: "6.2.0",
        summary: "LMOVE, waiting for the source to get an element if it is empty",
        args: &[
            SOURCE_DEST[0],
            SOURCE_DEST[1],
            arg("wherefrom", LEFT_RIGHT),
            arg("whereto", LEFT_RIGHT),
            TIMEOUT,
        ],
        ..move_entry(
            "blmove",
            blmove_command,
            6,
            "write denyoom noscript blocking",
            "@write @list @slow @blocking",
        )
    },
    RedisCommand {
        since: "2.2.0",
        summary: "RPOPLPUSH, waiting for the source to get an element if it is empty",
        args: &[SOURCE_DEST[0], SOURCE_DEST[1], TIMEOUT],
        history: TIMEOUT_HISTORY,
        doc_flags: "deprecated",
        deprecated_since: Some("6.2.0"),
        replaced_by: Some("`BLMOVE` with `RIGHT` `LEFT`"),
        ..move_entry(
            "brpoplpush",
            brpoplpush_command,
            4,
            "write denyoom noscript blocking",
            "@write @list @slow @blocking",
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
            ("rpush l a b c d e", ":5\r\n"),
            ("lrange l 0 -1", "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"),
            ("lrange l -100 100", "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"),
            ("lrange l 3 1", "*0\r\n"),
            ("lrange l x 1", "-ERR value is not an integer or out of range\r\n"),
            ("lrange nokey 0 -1", "*0\r\n"),
            ("lindex l 0", "$1\r\na\r\n"),
            ("lindex l -1", "$1\r\ne\r\n"),
            ("lindex l 10", "$-1\r\n"),
            ("lindex l x", "-ERR value is not an integer or out of range\r\n"),
            ("lindex nokey 0", "$-1\r\n"),
            ("lset l 0 A", "+OK\r\n"),
            ("lset l 10 x", "-ERR index out of range\r\n"),
            ("lset l -1 E", "+OK\r\n"),
            ("lset nokey 0 x", "-ERR no such key\r\n"),
            ("lset l x y", "-ERR value is not an integer or out of range\r\n"),
            ("lrem l 0 a", ":0\r\n"),
            ("lrem l x a", "-ERR value is not an integer or out of range\r\n"),
            ("lpush r a b a c a", ":5\r\n"),
            ("lrem r 2 a", ":2\r\n"),
            ("lrange r 0 -1", "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"),
            ("lrem r -1 a", ":1\r\n"),
            ("lrange r 0 -1", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
            ("ltrim r 0 0", "+OK\r\n"),
            ("lrange r 0 -1", "*1\r\n$1\r\nc\r\n"),
            ("ltrim r 5 10", "+OK\r\n"),
            ("exists r", ":0\r\n"),
            ("ltrim nokey 0 1", "+OK\r\n"),
            ("ltrim l x 1", "-ERR value is not an integer or out of range\r\n"),
            ("linsert l before c X", ":6\r\n"),
            ("linsert l after E Y", ":7\r\n"),
            ("linsert l after nope Y", ":-1\r\n"),
            ("linsert l middle c X", "-ERR syntax error\r\n"),
            ("linsert nokey before a b", ":0\r\n"),
            ("lrange l 0 -1", "*7\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nX\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\nE\r\n$1\r\nY\r\n"),
            ("lpushx nokey a", ":0\r\n"),
            ("rpushx nokey a", ":0\r\n"),
            ("lpushx l z y", ":9\r\n"),
            ("rpushx l w", ":10\r\n"),
            ("llen l", ":10\r\n"),
            ("llen nokey", ":0\r\n"),
            ("set s str", "+OK\r\n"),
            ("llen s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lpush s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lpushx s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lrange s 0 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lindex s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lset s 0 x", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("ltrim s 0 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("linsert s before a b", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lrem s 0 a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lpop s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("rpop s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lpos s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lmove s l left right", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lmove l s left right", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("rpoplpush s l", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lpop l 2", "*2\r\n$1\r\ny\r\n$1\r\nz\r\n"),
            ("rpop l 2", "*2\r\n$1\r\nw\r\n$1\r\nY\r\n"),
            ("lpop nokey", "$-1\r\n"),
            ("lpop nokey 2", "*-1\r\n"),
            ("rpop nokey", "$-1\r\n"),
            ("lpop l 0", "*0\r\n"),
            ("lpop l 100", "*6\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nX\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\nE\r\n"),
            ("exists l", ":0\r\n"),
        ]);
    }

    #[test]
    fn positions_moves_and_argument_errors_match_redis() {
        Harness::new().expect(&[
            // Captured from redis-server 7.0.15.
            ("set s str", "+OK\r\n"),
            ("lrem s x a", "-ERR value is not an integer or out of range\r\n"),
            ("lset s x y", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("lset nokey x y", "-ERR no such key\r\n"),
            ("lrange s x 1", "-ERR value is not an integer or out of range\r\n"),
            ("lindex s x", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            ("ltrim s x 1", "-ERR value is not an integer or out of range\r\n"),
            ("lpop s x", "-ERR value is out of range, must be positive\r\n"),
            ("lpop s -1", "-ERR value is out of range, must be positive\r\n"),
            ("lpop nokey x", "-ERR value is out of range, must be positive\r\n"),
            ("lpos s a rank 0", "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
            ("linsert s foo a b", "-ERR syntax error\r\n"),
            ("lmove s l up right", "-ERR syntax error\r\n"),
            ("lmove nokey l left right", "$-1\r\n"),
            ("lmove l nokey left down", "-ERR syntax error\r\n"),
            ("rpush l a b c b a b", ":6\r\n"),
            ("lpos l b", ":1\r\n"),
            ("lpos l b rank 2", ":3\r\n"),
            ("lpos l b rank -1", ":5\r\n"),
            ("lpos l b rank -4", "$-1\r\n"),
            ("lpos l b count 0", "*3\r\n:1\r\n:3\r\n:5\r\n"),
            ("lpos l b count 2", "*2\r\n:1\r\n:3\r\n"),
            ("lpos l b count 0 rank -1", "*3\r\n:5\r\n:3\r\n:1\r\n"),
            ("lpos l b maxlen 2", ":1\r\n"),
            ("lpos l b count 0 maxlen 3", "*1\r\n:1\r\n"),
            ("lpos l z", "$-1\r\n"),
            ("lpos l z count 0", "*0\r\n"),
            ("lpos nokey z", "$-1\r\n"),
            ("lpos nokey z count 0", "*0\r\n"),
            ("lpos l b rank x", "-ERR value is not an integer or out of range\r\n"),
            ("lpos l b count x", "-ERR COUNT can't be negative\r\n"),
            ("lpos l b maxlen -1", "-ERR MAXLEN can't be negative\r\n"),
            ("lpos l b maxlen x", "-ERR MAXLEN can't be negative\r\n"),
            ("lpos l b foo 1", "-ERR syntax error\r\n"),
            ("lpos l b rank", "-ERR syntax error\r\n"),
            ("lpos l b rank -9223372036854775808", ":5\r\n"),
            ("lpos l b rank 9223372036854775807", "$-1\r\n"),
            ("lmove l l left right", "$1\r\na\r\n"),
            ("lrange l 0 -1", "*6\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n"),
            ("lmove l d right left", "$1\r\na\r\n"),
            ("lmove l d right left", "$1\r\nb\r\n"),
            ("lrange d 0 -1", "*2\r\n$1\r\nb\r\n$1\r\na\r\n"),
            ("rpoplpush l d", "$1\r\na\r\n"),
            ("rpoplpush nokey d", "$-1\r\n"),
            ("lmove l d LEFT RIGHT", "$1\r\nb\r\n"),
            ("lrange d 0 -1", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nb\r\n"),
            ("lrange l 0 -1", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
            ("lpush l", "-ERR wrong number of arguments for 'lpush' command\r\n"),
            ("lpush", "-ERR wrong number of arguments for 'lpush' command\r\n"),
            ("linsert l before", "-ERR wrong number of arguments for 'linsert' command\r\n"),
            ("lrange l 0 9223372036854775807", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
            ("lrange l -9223372036854775808 -9223372036854775808", "*0\r\n"),
            ("lindex l -9223372036854775808", "$-1\r\n"),
            ("lset l 9223372036854775807 x", "-ERR index out of range\r\n"),
            ("ltrim l -9223372036854775808 9223372036854775807", "+OK\r\n"),
            ("lrange l 0 -1", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
            ("lpop l 9223372036854775807", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
        ]);
    }
}

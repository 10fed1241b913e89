//! Blocked clients: the mirror of Redis's `blocked.c` and of the blocked
//! half of `timeout.c`.
//!
//! `BLPOP k 0` on an empty `k` does not answer. The client is *blocked*: the
//! command returns without a reply, the client gets `CLIENT_BLOCKED`, and it
//! is parked in its database's `blocking_keys[k]` behind any client that
//! blocked on `k` earlier ([`block_for_keys`]). The loop goes on serving
//! everyone else; the blocked client's later input is read but not run.
//!
//! Three things can end the wait, and each finishes with [`unblock_client`],
//! which unparks the client and queues it so that the input it sent
//! meanwhile is processed (in `before_sleep`, by [`process_unblocked_clients`]):
//!
//! 1. **Data.** A push that creates `k` signals it as ready (see
//!    `db::signals`). Right after the pushing command, `process_command`
//!    calls [`handle_clients_blocked_on_keys`], which pops for the waiting
//!    clients in the order they blocked. So `LPUSH` from one connection
//!    serves `BLPOP` on another inside the same event-loop iteration, and the
//!    reply leaves in that iteration's `before_sleep`, like any other reply.
//!    `before_sleep` drains the ready keys once more, for keys made ready
//!    outside a command.
//! 2. **Timeout.** Blocked clients with a deadline sit in
//!    `clients_timeout_table`, ordered by deadline. `before_sleep` times out
//!    those whose deadline passed ([`handle_blocked_clients_timeout`]), so a
//!    0.1 s timeout fires within an iteration of its deadline rather than at
//!    the next cron tick; the cron checks each blocked client too
//!    ([`check_blocked_client_timeout`]). A timed-out client gets a null array.
//! 3. **The connection goes away** (`CLIENT KILL`, a closed socket).
//!
//! Inside EXEC a blocking command must not block (the transaction's reply
//! would never complete), so there it behaves like its non-blocking twin
//! and answers null at once.

use super::client::{CLIENT_BLOCKED, CLIENT_UNBLOCKED, Client, ClientRef};
use super::cmd::list::{self, ListEnd};
use super::db::{Sds, Value, WRONGTYPE_ERR, mstime_i64};
use super::networking::{self, process_input_buffer};
use super::util::long_double::LongDouble;
use super::{Server, aof, probes};
use crate::probe;
use crate::trace::Tracer;

/// What a blocked client waits for (mirror of Redis's `blockingState`, the
/// `bpop` field of a client).
#[derive(Debug)]
pub struct BlockState {
    /// The keys, each once, in the order the command named them.
    pub keys: Vec<Sds>,
    /// Deadline in Unix ms; 0 waits forever. Kept unsigned as Redis's
    /// timeout table keeps it: an overflowing deadline lies far in the future.
    pub timeout: u64,
    /// BLMOVE's destination; `None` for BLPOP/BRPOP.
    pub target: Option<Sds>,
    /// Which end to pop from, and (BLMOVE) which end to push to.
    pub wherefrom: ListEnd,
    pub whereto: ListEnd,
}

/// Parses a blocking command's timeout in seconds (decimals allowed) into
/// an absolute deadline in Unix ms, 0 meaning forever, or replies with the
/// error (mirror of `getTimeoutFromObjectOrReply` in 7.0.15).
///
/// Like Redis 7.0, the seconds are read as a `long double`, multiplied by
/// 1000 and rounded up to whole milliseconds, so `0.0001` waits 1 ms rather
/// than forever. Values too big for a 64-bit count of milliseconds come out
/// negative from C's conversion, hence "timeout is negative" for `1e300`.
pub fn get_timeout_or_reply(c: &mut Client, idx: usize) -> Option<u64> {
    let Some(seconds) = LongDouble::parse(&c.argv[idx]) else {
        c.add_reply_error("timeout is not a float or out of range");
        return None;
    };
    let ms = seconds.mul_u32(1000).ceil_to_i64();
    if ms < 0 {
        c.add_reply_error("timeout is negative");
        return None;
    }
    if ms == 0 {
        return Some(0);
    }
    // Redis 7.0 adds without an overflow check; the wrapped deadline, read
    // unsigned, is out of reach.
    Some(ms.wrapping_add(mstime_i64()) as u64)
}

/// Blocks `c` on `keys` (mirror of `blockForKeys` + `blockClient`): records
/// what it waits for, parks it in the database's line for each key (a key
/// named twice is waited on once), and enters its deadline in the timeout
/// table. No reply is sent now.
// anchor: blocked.block_for_keys
pub fn block_for_keys(server: &mut Server, c: &mut Client, keys: &[Vec<u8>], state: BlockState) {
    let me = c.client_ref();
    let mut unique: Vec<Sds> = Vec::with_capacity(keys.len());
    for key in keys {
        if unique.iter().any(|k| k.as_bytes() == key.as_slice()) {
            continue;
        }
        server.dbs[c.db].add_blocked_client(key, me);
        unique.push(Sds::new(key));
    }
    if state.timeout != 0 {
        server.clients_timeout_table.insert((state.timeout, me));
    }
    c.bpop = Some(Box::new(BlockState {
        keys: unique,
        ..state
    }));
    c.flags |= CLIENT_BLOCKED;
    server.blocked_clients += 1;
}

/// Ends a client's wait, however it ended (mirror of `unblockClient`):
/// leaves the key lines and the timeout table, and queues the client so its
/// pending input gets processed in `before_sleep`. `reason` is what the
/// trace shows when the client resumes there, with the reply that ended the
/// wait, which the caller appended from `reply_from` on (`None`: no reply).
pub fn unblock_client(
    server: &mut Server,
    c: &mut Client,
    reason: &'static str,
    reply_from: Option<usize>,
) {
    let Some(state) = c.bpop.take() else {
        return;
    };
    let me = c.client_ref();
    for key in &state.keys {
        server.dbs[c.db].remove_blocked_client(key, me);
    }
    if state.timeout != 0 {
        server.clients_timeout_table.remove(&(state.timeout, me));
    }
    c.flags &= !CLIENT_BLOCKED;
    c.unblock_reason = reason;
    c.unblock_reply_from = reply_from;
    server.blocked_clients -= 1;
    queue_client_for_reprocessing(server, c);
}

/// Mirror of `queueClientForReprocessing`.
fn queue_client_for_reprocessing(server: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_UNBLOCKED == 0 {
        c.flags |= CLIENT_UNBLOCKED;
        server.unblocked_clients.push_back(c.client_ref());
    }
}

/// The reply of a wait that timed out: a null array for the list commands
/// (mirror of `replyToBlockedClientTimedOut`), BLMOVE included.
fn reply_to_blocked_client_timed_out(c: &mut Client) {
    c.add_reply_null_array();
}

/// Times `c` out if it is blocked and its deadline passed; true if it did
/// (mirror of `checkBlockedClientTimeout`). The caller queues the reply.
pub fn check_blocked_client_timeout(server: &mut Server, c: &mut Client, now: u64) -> bool {
    let due = c
        .bpop
        .as_ref()
        .is_some_and(|b| b.timeout != 0 && b.timeout < now);
    if due && c.flags & CLIENT_BLOCKED != 0 {
        let reply_from = c.reply.pending_len();
        reply_to_blocked_client_timed_out(c);
        unblock_client(server, c, "timed out", Some(reply_from));
    }
    due
}

/// Times out every client whose deadline has passed, earliest first (mirror
/// of `handleBlockedClientsTimeout`, which `beforeSleep` runs so short
/// timeouts need not wait for the cron). Returns how many timed out.
// anchor: blocked.handle_blocked_clients_timeout
pub fn handle_blocked_clients_timeout(server: &mut Server) -> usize {
    if server.clients_timeout_table.is_empty() {
        return 0;
    }
    let now = mstime_i64() as u64;
    let mut timed_out = 0;
    while let Some(&(deadline, who)) = server.clients_timeout_table.first() {
        if deadline >= now {
            break;
        }
        server.clients_timeout_table.pop_first();
        with_client(server, who, |server, c| {
            if check_blocked_client_timeout(server, c, now) {
                timed_out += 1;
            }
        });
    }
    timed_out
}

/// Serves the clients blocked on every key signalled ready, until no key is
/// ready (mirror of `handleClientsBlockedOnKeys`). Serving BLMOVE pushes to
/// another key, which may make that one ready in turn, hence the loop.
/// Returns how many clients were served; with no key ready it returns at
/// once, so callers need not check first.
///
/// Redis keeps one server-wide list of ready keys; here each database keeps
/// its own, and they are drained in database order. The two orders differ
/// only when one transaction makes keys ready in several databases.
// anchor: blocked.handle_clients_blocked_on_keys
pub fn handle_clients_blocked_on_keys(tracer: &mut Tracer, server: &mut Server) -> usize {
    let mut served = 0;
    loop {
        let mut progressed = false;
        for db in 0..server.dbs.len() {
            if !server.dbs[db].has_ready_keys() {
                continue;
            }
            progressed = true;
            for key in server.dbs[db].take_ready_keys() {
                served += serve_clients_blocked_on_list_key(tracer, server, db, &key);
            }
        }
        if !progressed {
            return served;
        }
    }
}

/// Pops for the clients blocked on `key`, oldest first, while the list has
/// elements (mirror of `serveClientsBlockedOnListKey`). A key that is no
/// longer a list by now (a transaction pushed, then deleted or replaced it)
/// serves nobody: its waiters keep waiting.
fn serve_clients_blocked_on_list_key(
    tracer: &mut Tracer,
    server: &mut Server,
    db: usize,
    key: &[u8],
) -> usize {
    if !matches!(
        server.dbs[db].lookup_key_write(key, &mut server.stats),
        Some(Value::List(_))
    ) {
        return 0;
    }
    let mut served = 0;
    for who in server.dbs[db].blocked_clients_on(key) {
        let mut deleted = false;
        with_client(server, who, |server, receiver| {
            let reply_from = receiver.reply.pending_len();
            serve_client_blocked_on_list(tracer, server, receiver, key, &mut deleted);
            unblock_client(
                server,
                receiver,
                "served: the key got data",
                Some(reply_from),
            );
            served += 1;
        });
        if deleted {
            break;
        }
    }
    served
}

/// Gives one blocked client its element (mirror of
/// `serveClientBlockedOnList`): BLPOP/BRPOP get `[key, element]`; BLMOVE
/// moves the element to its destination and gets the element, or WRONGTYPE
/// if the destination is not a list (then nothing moves). Sets `deleted`
/// when the source list emptied and was removed.
fn serve_client_blocked_on_list(
    tracer: &mut Tracer,
    server: &mut Server,
    receiver: &mut Client,
    key: &[u8],
    deleted: &mut bool,
) {
    let Some(state) = receiver.bpop.as_ref() else {
        return;
    };
    let (wherefrom, whereto, target) = (state.wherefrom, state.whereto, state.target.clone());
    let db = &mut server.dbs[receiver.db];
    if let Some(target) = &target
        && db
            .lookup_key_write(target, &mut server.stats)
            .is_some_and(|v| !matches!(v, Value::List(_)))
    {
        receiver.add_reply_error(WRONGTYPE_ERR);
        return;
    }
    let Some(Value::List(source)) = db.lookup_key_write(key, &mut server.stats) else {
        return;
    };
    let Some(element) = list::pop(source, wherefrom) else {
        return;
    };
    db.signal_modified_key(key);
    match &target {
        None => {
            receiver.add_reply_array_len(2);
            receiver.add_reply_bulk(key);
            receiver.add_reply_bulk(&element);
        }
        Some(target) => {
            list::lmove_handle_push(db, &mut server.stats, target, element.clone(), whereto);
            receiver.add_reply_bulk(&element);
        }
    }
    *deleted = list::delete_if_empty(db, &mut server.stats, key);
    // The AOF gets the non-blocking command the served one amounts to.
    let brpoplpush = receiver.last_cmd == "brpoplpush";
    aof::propagate::propagate_now(tracer, server, receiver.db, || match &target {
        None => vec![list::pop_name(wherefrom).to_vec(), key.to_vec()],
        Some(target) if brpoplpush => vec![b"RPOPLPUSH".to_vec(), key.to_vec(), target.to_vec()],
        Some(target) => vec![
            b"LMOVE".to_vec(),
            key.to_vec(),
            target.to_vec(),
            end_name(wherefrom).to_vec(),
            end_name(whereto).to_vec(),
        ],
    });
}

/// How LMOVE names a list end.
fn end_name(end: ListEnd) -> &'static [u8] {
    match end {
        ListEnd::Head => b"left",
        ListEnd::Tail => b"right",
    }
}

/// Runs the input that unblocked clients sent while they waited (mirror of
/// `processUnblockedClients`, which `beforeSleep` calls).
// anchor: blocked.process_unblocked_clients
pub fn process_unblocked_clients(el: &mut crate::ae::EventLoop<Server>, server: &mut Server) {
    while let Some(who) = server.unblocked_clients.pop_front() {
        let Some(c) = server.client_mut(who) else {
            continue;
        };
        c.flags &= !CLIENT_UNBLOCKED;
        let reply_from = c.unblock_reply_from.take();
        probe!(el.tracer, "process_unblocked_clients" => "processUnblockedClients", |cx| {
            probes::client_unblocked(c, reply_from, cx.detail)
        });
        if c.flags & CLIENT_BLOCKED == 0 {
            process_input_buffer(el, server, who.fd);
        }
    }
}

/// Runs `f` on the connected client `who` with the server at hand, then puts
/// it back and queues whatever `f` replied (the client is lent out of the
/// table for the call, the way the networking code lends the current one).
pub fn with_client(server: &mut Server, who: ClientRef, f: impl FnOnce(&mut Server, &mut Client)) {
    let Some(mut c) = networking::take_client(server, who) else {
        return;
    };
    f(server, &mut c);
    networking::queue_client_write(server, &mut c);
    networking::restore_client(server, c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::cmd::test_support::{attach, client, run_str, server, show};

    #[test]
    fn timeouts_parse_like_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let mut parse = |arg: &str| {
            c.argv = vec![arg.as_bytes().to_vec()];
            let t = get_timeout_or_reply(&mut c, 0);
            (t, show(&c.reply.take()))
        };
        assert_eq!(parse("0"), (Some(0), String::new()));
        assert_eq!(parse("-0.0001"), (Some(0), String::new()));
        let (t, _) = parse("1.5");
        let now = mstime_i64() as u64;
        assert!(t.is_some_and(|t| t > now && t <= now + 1500));
        for (arg, err) in [
            ("-1", "-ERR timeout is negative\r\n"),
            ("1e300", "-ERR timeout is negative\r\n"),
            ("inf", "-ERR timeout is negative\r\n"),
            ("x", "-ERR timeout is not a float or out of range\r\n"),
            ("nan", "-ERR timeout is not a float or out of range\r\n"),
            (" 1", "-ERR timeout is not a float or out of range\r\n"),
        ] {
            assert_eq!(parse(arg), (None, err.to_string()), "{arg}");
        }
        let (t, _) = parse("9223372036854775");
        assert!(
            t.is_some_and(|t| t > 1 << 63),
            "an overflowing deadline is far away"
        );
    }

    /// Blocks `c` with `BLPOP keys... timeout` and puts it in the table.
    fn blocked(server: &mut Server, line: &str) -> ClientRef {
        let (mut c, peer) = client(server);
        std::mem::forget(peer);
        assert_eq!(run_str(server, &mut c, line), b"");
        assert!(c.flags & CLIENT_BLOCKED != 0);
        let me = c.client_ref();
        attach(server, c);
        me
    }

    fn reply_of(server: &mut Server, who: ClientRef) -> String {
        let c = server.client_mut(who).expect("connected");
        show(&c.reply.take())
    }

    #[test]
    fn clients_are_served_in_the_order_they_blocked() {
        let mut server = server();
        let first = blocked(&mut server, "BLPOP k 0");
        let second = blocked(&mut server, "BLPOP other k 0");
        let third = blocked(&mut server, "BLPOP k 0");
        assert_eq!(server.blocked_clients, 3);
        let (mut pusher, _p) = client(&mut server);
        assert_eq!(
            show(&run_str(&mut server, &mut pusher, "RPUSH k a b")),
            ":2\r\n"
        );
        assert_eq!(
            handle_clients_blocked_on_keys(&mut Tracer::disabled(), &mut server),
            2
        );
        assert_eq!(reply_of(&mut server, first), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
        assert_eq!(
            reply_of(&mut server, second),
            "*2\r\n$1\r\nk\r\n$1\r\nb\r\n"
        );
        assert_eq!(reply_of(&mut server, third), "");
        assert_eq!(server.blocked_clients, 1);
        assert_eq!(server.dbs[0].size(), 0, "the emptied list is gone");
        assert_eq!(server.dbs[0].blocked_clients_on(b"other"), []);
        assert_eq!(server.unblocked_clients, [first, second]);
    }

    #[test]
    fn blmove_chains_wake_the_next_waiter() {
        let mut server = server();
        let mover = blocked(&mut server, "BLMOVE src dst LEFT RIGHT 0");
        let popper = blocked(&mut server, "BRPOP dst 0");
        let (mut pusher, _p) = client(&mut server);
        run_str(&mut server, &mut pusher, "LPUSH src x");
        handle_clients_blocked_on_keys(&mut Tracer::disabled(), &mut server);
        assert_eq!(reply_of(&mut server, mover), "$1\r\nx\r\n");
        assert_eq!(
            reply_of(&mut server, popper),
            "*2\r\n$3\r\ndst\r\n$1\r\nx\r\n"
        );
        assert_eq!(server.dbs[0].size(), 0);
    }

    #[test]
    fn blmove_to_a_wrong_type_fails_without_moving() {
        let mut server = server();
        let mover = blocked(&mut server, "BLMOVE src dst LEFT RIGHT 0");
        let (mut pusher, _p) = client(&mut server);
        run_str(&mut server, &mut pusher, "SET dst v");
        run_str(&mut server, &mut pusher, "LPUSH src x");
        handle_clients_blocked_on_keys(&mut Tracer::disabled(), &mut server);
        assert_eq!(
            reply_of(&mut server, mover),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut pusher, "LLEN src")),
            ":1\r\n"
        );
        assert_eq!(server.blocked_clients, 0);
    }

    #[test]
    fn deadlines_pass_in_order() {
        let mut server = server();
        let soon = blocked(&mut server, "BLPOP k 0.001");
        let later = blocked(&mut server, "BLPOP k 100");
        let never = blocked(&mut server, "BLPOP k 0");
        assert_eq!(server.clients_timeout_table.len(), 2);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(handle_blocked_clients_timeout(&mut server), 1);
        assert_eq!(reply_of(&mut server, soon), "*-1\r\n");
        assert_eq!(reply_of(&mut server, later), "");
        assert_eq!(reply_of(&mut server, never), "");
        assert_eq!(server.clients_timeout_table.len(), 1);
        assert_eq!(server.blocked_clients, 2);
    }

    #[test]
    fn a_key_that_stopped_being_a_list_serves_nobody() {
        let mut server = server();
        let waiter = blocked(&mut server, "BLPOP k 0");
        let (mut c, _p) = client(&mut server);
        run_str(&mut server, &mut c, "RPUSH k a");
        run_str(&mut server, &mut c, "DEL k");
        run_str(&mut server, &mut c, "SET k v");
        assert_eq!(
            handle_clients_blocked_on_keys(&mut Tracer::disabled(), &mut server),
            0
        );
        assert_eq!(reply_of(&mut server, waiter), "");
        assert_eq!(server.blocked_clients, 1);
    }

    #[test]
    fn the_same_key_twice_is_waited_on_once() {
        let mut server = server();
        let who = blocked(&mut server, "BLPOP k k 0");
        assert_eq!(server.dbs[0].blocked_clients_on(b"k"), [who]);
    }
}

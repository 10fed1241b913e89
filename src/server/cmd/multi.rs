//! The transaction commands: `MULTI`, `EXEC`, `DISCARD`, `WATCH`,
//! `UNWATCH` (the command half of Redis's `multi.c`; the state they act on
//! is in [`crate::server::multi`]).

use crate::server::call::Call;
use std::sync::atomic::Ordering;

use super::keys::{KEY, command, key_spec, with_keys};
use super::{Arg, KeySpec, RedisCommand};
use crate::server::client::{CLIENT_DENY_BLOCKING, CLIENT_DIRTY_EXEC, CLIENT_MULTI};
use crate::server::multi;

/// The commands `process_command` runs even inside MULTI instead of
/// queueing them.
pub fn is_transaction_control(cmd: &RedisCommand) -> bool {
    matches!(
        cmd.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// `MULTI`: start queueing (mirror of `multiCommand`).
fn multi_command(call: &mut Call) {
    let c = &mut *call.c;
    if c.flags & CLIENT_MULTI != 0 {
        return c.add_reply_error("MULTI calls can not be nested");
    }
    c.flags |= CLIENT_MULTI;
    c.add_reply_ok();
}

/// `DISCARD`: drop the queue and the watched keys (mirror of `discardCommand`).
fn discard_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.flags & CLIENT_MULTI == 0 {
        return c.add_reply_error("DISCARD without MULTI");
    }
    multi::discard_transaction(server, c);
    c.add_reply_ok();
}

/// `EXEC`: run the queued commands as one, replying an array of their
/// replies; or `EXECABORT` if a command failed to queue; or a null array if
/// a watched key changed or expired (mirror of `execCommand`).
///
/// While the queue runs, the client may not block: a `BLPOP` in there
/// answers at once, since EXEC's reply must be complete.
fn exec_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.flags & CLIENT_MULTI == 0 {
        return c.add_reply_error("EXEC without MULTI");
    }
    if multi::is_watched_key_expired(server, c) {
        c.dirty_cas.store(true, Ordering::Relaxed);
    }
    if c.flags & CLIENT_DIRTY_EXEC != 0 || c.is_dirty_cas() {
        if c.flags & CLIENT_DIRTY_EXEC != 0 {
            c.add_reply_error("-EXECABORT Transaction discarded because of previous errors.");
        } else {
            c.add_reply_null_array();
        }
        return multi::discard_transaction(server, c);
    }
    let could_block = c.flags & CLIENT_DENY_BLOCKING == 0;
    c.flags |= CLIENT_DENY_BLOCKING;
    multi::unwatch_all_keys(server, c);
    let exec_argv = std::mem::take(&mut c.argv);
    c.add_reply_array_len(c.mstate.len());
    // The queue stays in place while it runs, as `CLIENT LIST` shows it.
    for j in 0..call.c.mstate.len() {
        let cmd = call.c.mstate[j].cmd;
        call.c.argv = std::mem::take(&mut call.c.mstate[j].argv);
        crate::server::call::call(call, cmd);
        call.c.mstate[j].argv = std::mem::take(&mut call.c.argv);
    }
    let (server, c) = call.parts();
    if could_block {
        c.flags &= !CLIENT_DENY_BLOCKING;
    }
    c.argv = exec_argv;
    multi::discard_transaction(server, c);
}

/// `WATCH key [key ...]` (mirror of `watchCommand`).
fn watch_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.flags & CLIENT_MULTI != 0 {
        return c.add_reply_error("WATCH inside MULTI is not allowed");
    }
    for j in 1..c.argv.len() {
        let key = std::mem::take(&mut c.argv[j]);
        multi::watch_for_key(server, c, &key);
        c.argv[j] = key;
    }
    c.add_reply_ok();
}

/// `UNWATCH` (mirror of `unwatchCommand`).
fn unwatch_command(call: &mut Call) {
    let (server, c) = call.parts();
    multi::unwatch_all_keys(server, c);
    c.dirty_cas.store(false, Ordering::Relaxed);
    c.add_reply_ok();
}

/// A transaction command: the flags and categories they all share.
const fn transaction_command(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    since: &'static str,
    summary: &'static str,
) -> RedisCommand {
    RedisCommand {
        flags: "noscript loading stale fast allow_busy",
        acl_categories: "@fast @transaction",
        since,
        summary,
        ..command(name, proc_, arity, "transactions")
    }
}

const WATCH_ARGS: &[Arg] = &[Arg {
    multiple: true,
    ..KEY
}];
const WATCH_SPECS: &[KeySpec] = &[key_spec("RO", 1, -1, 1)];

pub const COMMANDS: &[RedisCommand] = &[
    transaction_command(
        "multi",
        multi_command,
        1,
        "1.2.0",
        "Starts a transaction: later commands are queued",
    ),
    RedisCommand {
        flags: "noscript loading stale skip_slowlog",
        acl_categories: "@slow @transaction",
        complexity: "The sum of the queued commands' complexities",
        ..transaction_command(
            "exec",
            exec_command,
            1,
            "1.2.0",
            "Runs the queued commands of a transaction as one",
        )
    },
    RedisCommand {
        complexity: "O(N), N being the number of queued commands",
        ..transaction_command(
            "discard",
            discard_command,
            1,
            "2.0.0",
            "Drops the queued commands of a transaction",
        )
    },
    RedisCommand {
        complexity: "O(1) per key",
        args: WATCH_ARGS,
        ..with_keys(
            transaction_command(
                "watch",
                watch_command,
                -2,
                "2.2.0",
                "Makes the next EXEC fail if any of these keys changes first",
            ),
            -1,
            1,
            WATCH_SPECS,
        )
    },
    transaction_command(
        "unwatch",
        unwatch_command,
        1,
        "2.2.0",
        "Forgets every key WATCHed by this connection",
    ),
];

#[cfg(test)]
mod tests {
    //! Expected replies were captured from redis-server 7.0.15.

    use crate::server::cmd::test_support::{client, run_str, server, show};

    #[test]
    fn queueing_exec_and_discard() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let mut expect = |line: &str, want: &str| {
            assert_eq!(show(&run_str(&mut server, &mut c, line)), want, "{line}");
        };
        expect("EXEC", "-ERR EXEC without MULTI\r\n");
        expect("DISCARD", "-ERR DISCARD without MULTI\r\n");
        expect("MULTI", "+OK\r\n");
        expect("MULTI", "-ERR MULTI calls can not be nested\r\n");
        expect("WATCH x", "-ERR WATCH inside MULTI is not allowed\r\n");
        expect("DISCARD", "+OK\r\n");
        expect("EXEC", "-ERR EXEC without MULTI\r\n");
        expect("WATCH a b a", "+OK\r\n");
        expect("UNWATCH", "+OK\r\n");
    }

    #[test]
    fn exec_denies_blocking() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        c.flags |= super::CLIENT_MULTI;
        let set = server.commands.lookup(&[b"blpop".to_vec()]).expect("blpop");
        c.argv = vec![b"blpop".to_vec(), b"k".to_vec(), b"0".to_vec()];
        crate::server::multi::queue_multi_command(&mut c, set);
        assert_eq!(show(&run_str(&mut server, &mut c, "EXEC")), "*1\r\n*-1\r\n");
        assert_eq!(
            c.flags & (super::CLIENT_MULTI | super::CLIENT_DENY_BLOCKING),
            0
        );
        assert_eq!(server.blocked_clients, 0);
    }
}

//! Transactions and optimistic locking: the mirror of Redis's `multi.c`.
//!
//! After `MULTI`, `process_command` does not run a client's commands: it
//! checks them (a name or arity error *flags* the transaction) and queues
//! them, answering `+QUEUED`. `EXEC` then runs the queue in one go, inside a
//! single command, so no other client's command can come in between — the
//! loop is single-threaded. A flagged transaction is refused whole with
//! `EXECABORT`; errors a command meets while running (WRONGTYPE, …) are
//! just its reply in EXEC's array.
//!
//! `WATCH k` makes the next EXEC conditional: if anything changed `k`
//! meanwhile (another client, this one, an expiry, a FLUSHDB), the
//! databases have set the client's dirty flag (see `db::signals`) and EXEC
//! answers a null array without running anything. A watched key that
//! expires before EXEC also fails it, even if nobody looked at it since.

use std::sync::atomic::Ordering;

use super::Server;
use super::client::{CLIENT_DIRTY_EXEC, CLIENT_MULTI, Client, MultiCmd};
use super::cmd::RedisCommand;

/// Marks the transaction as failed when a command could not be queued
/// (mirror of `flagTransaction`).
pub fn flag_transaction(c: &mut Client) {
    if c.flags & CLIENT_MULTI != 0 {
        c.flags |= CLIENT_DIRTY_EXEC;
    }
}

/// Adds the current command to the transaction (mirror of
/// `queueMultiCommand`). A transaction that will fail anyway keeps nothing.
pub fn queue_multi_command(c: &mut Client, cmd: &'static RedisCommand) {
    if c.flags & CLIENT_DIRTY_EXEC != 0 || c.is_dirty_cas() {
        return;
    }
    // Copied, not taken: the trace shows the command after it is queued.
    let argv = c.argv.clone();
    let argv_mem = argv.iter().map(|a| a.len() + size_of::<usize>()).sum();
    c.mstate.push(MultiCmd {
        cmd,
        argv,
        argv_mem,
    });
}

/// Ends the transaction state: the queue, the flags, the watched keys
/// (mirror of `discardTransaction`).
pub fn discard_transaction(server: &mut Server, c: &mut Client) {
    c.mstate.clear();
    c.flags &= !(CLIENT_MULTI | CLIENT_DIRTY_EXEC);
    c.dirty_cas.store(false, Ordering::Relaxed);
    unwatch_all_keys(server, c);
}

/// Watches `key` in the client's current database, once (mirror of
/// `watchForKey`).
pub fn watch_for_key(server: &mut Server, c: &mut Client, key: &[u8]) {
    if c.watched_keys
        .iter()
        .any(|(db, k)| *db == c.db && **k == *key)
    {
        return;
    }
    server.dbs[c.db].watch_key(key, &c.dirty_cas);
    c.watched_keys.push((c.db, key.into()));
}

/// Stops watching every key; clearing the dirty flag is the caller's
/// business (mirror of `unwatchAllKeys`).
pub fn unwatch_all_keys(server: &mut Server, c: &mut Client) {
    for (db, key) in c.watched_keys.drain(..) {
        server.dbs[db].unwatch_key(&key, &c.dirty_cas);
    }
}

/// True when a watched key that was alive at WATCH time has expired since
/// (mirror of `isWatchedKeyExpired`).
pub fn is_watched_key_expired(server: &Server, c: &Client) -> bool {
    c.watched_keys
        .iter()
        .any(|(db, key)| server.dbs[*db].watched_key_expired(key, &c.dirty_cas))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::cmd::test_support::{client, run_str, server};

    #[test]
    fn watch_once_and_unwatch_everything() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        watch_for_key(&mut server, &mut c, b"k");
        watch_for_key(&mut server, &mut c, b"k");
        c.db = 1;
        watch_for_key(&mut server, &mut c, b"k");
        assert_eq!(c.watched_keys.len(), 2);
        let (mut other, _p) = client(&mut server);
        run_str(&mut server, &mut other, "SELECT 1");
        run_str(&mut server, &mut other, "SET k v");
        assert!(c.is_dirty_cas());
        discard_transaction(&mut server, &mut c);
        assert!(!c.is_dirty_cas() && c.watched_keys.is_empty());
        run_str(&mut server, &mut other, "SET k w");
        assert!(!c.is_dirty_cas(), "unwatched keys touch nobody");
    }

    #[test]
    fn a_flagged_transaction_stops_queueing() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let set = server.commands.lookup(&[b"set".to_vec()]).expect("set");
        c.flags |= CLIENT_MULTI;
        c.argv = vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()];
        queue_multi_command(&mut c, set);
        flag_transaction(&mut c);
        c.argv = vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()];
        queue_multi_command(&mut c, set);
        assert_eq!(c.mstate.len(), 1);
        assert!(c.flags & CLIENT_DIRTY_EXEC != 0);
    }
}

//! How a change to a key reaches the clients that care about it: the two
//! per-database tables Redis keeps for that, and the "signals" that consult
//! them (the mirror of `signalKeyAsReady` in `blocked.c`, and of
//! `signalModifiedKey` / `touchWatchedKey` in `db.c` and `multi.c`).
//!
//! # Blocked clients: `blocking_keys` and `ready_keys`
//!
//! A client running `BLPOP k 0` on an empty `k` is parked in
//! `blocking_keys[k]`, behind any client that blocked on `k` before it. When
//! a push creates `k`, the database does not serve anybody on the spot: it
//! only *signals* `k` as ready, appending it to `ready_keys` (once, however
//! many pushes follow). The server drains that list after the command that
//! pushed, and again in `before_sleep` (see `server::blocked`), serving the
//! waiting clients first come, first served.
//!
//! # WATCH: `watched_keys`
//!
//! `WATCH k` records the client under `watched_keys[k]`. Any change to `k`
//! *touches* it: every client watching it gets its dirty flag set, and its
//! next `EXEC` fails. The flag is shared between the client and this table
//! ([`DirtyFlag`]), so a touch marks the client without having to find it.
//!
//! Here every [`Db`] method that changes a key touches it, so the commands
//! need to signal only the changes they make in place (`INCR`, `LPUSH` on an
//! existing list, …), through [`Db::signal_modified_key`]. Both tables are
//! empty almost always, and every signal starts with that check, so a busy
//! server that nobody watches pays one branch per write.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Db;
use super::sds::Sds;
use crate::server::client::ClientRef;

/// The `CLIENT_DIRTY_CAS` bit of one client, shared with every
/// `watched_keys` entry of that client.
pub type DirtyFlag = Arc<AtomicBool>;

/// The clients blocked on one key, oldest first, and whether the key is
/// already in `ready_keys`.
#[derive(Default)]
pub struct BlockedOnKey {
    pub clients: VecDeque<ClientRef>,
    ready: bool,
}

/// One client watching one key (an entry of `watched_keys`; Redis's `watchedKey`).
pub struct Watcher {
    dirty: DirtyFlag,
    /// The key was already logically expired when WATCH ran: its deletion
    /// by expiry is then no change at all.
    expired: bool,
}

impl Db {
    // -----------------------------------------------------------------
    // Blocked clients
    // -----------------------------------------------------------------

    /// Parks `client` at the end of the line for `key` (the key half of
    /// `blockForKeys`).
    pub fn add_blocked_client(&mut self, key: &[u8], client: ClientRef) {
        match self.blocking_keys.get_mut(key) {
            Some(line) => line.clients.push_back(client),
            None => {
                let mut line = BlockedOnKey::default();
                line.clients.push_back(client);
                self.blocking_keys.insert(Sds::new(key), line);
            }
        }
    }

    /// Takes `client` out of the line for `key`, dropping the line when it
    /// empties (the key half of `unblockClientWaitingData`).
    pub fn remove_blocked_client(&mut self, key: &[u8], client: ClientRef) {
        if let Some(line) = self.blocking_keys.get_mut(key) {
            line.clients.retain(|c| *c != client);
            if line.clients.is_empty() {
                self.blocking_keys.remove(key);
            }
        }
    }

    /// The clients blocked on `key`, oldest first.
    pub fn blocked_clients_on(&self, key: &[u8]) -> Vec<ClientRef> {
        self.blocking_keys
            .get(key)
            .map(|line| line.clients.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Queues `key` in `ready_keys` if clients are blocked on it and it is not
    /// queued yet (mirror of `signalKeyAsReady`).
    // anchor: db.signal_key_as_ready
    pub fn signal_key_as_ready(&mut self, key: &[u8]) {
        if self.blocking_keys.is_empty() {
            return;
        }
        if let Some(line) = self.blocking_keys.get_mut(key)
            && !line.ready
        {
            line.ready = true;
            self.ready_keys.push(Sds::new(key));
        }
    }

    /// Hands over the keys signalled so far, oldest first, and marks them
    /// unqueued, so that serving them may signal them again.
    pub fn take_ready_keys(&mut self) -> Vec<Sds> {
        let keys = std::mem::take(&mut self.ready_keys);
        for key in &keys {
            if let Some(line) = self.blocking_keys.get_mut(key.as_bytes()) {
                line.ready = false;
            }
        }
        keys
    }

    pub fn has_ready_keys(&self) -> bool {
        !self.ready_keys.is_empty()
    }

    /// A value was just stored under `key`: it touches the watchers, and a
    /// list may wake clients blocked on the key (the `signalKeyAsReady` that
    /// `dbAdd` does).
    pub(super) fn signal_stored(&mut self, key: &[u8], is_list: bool) {
        if is_list {
            self.signal_key_as_ready(key);
        }
        self.note_change(key);
    }

    // -----------------------------------------------------------------
    // WATCH
    // -----------------------------------------------------------------

    /// Records that the client owning `dirty` watches `key` (the database
    /// half of `watchForKey`). The caller makes sure it is not watched twice.
    pub fn watch_key(&mut self, key: &[u8], dirty: &DirtyFlag) {
        let watcher = Watcher {
            dirty: Arc::clone(dirty),
            expired: self.key_is_expired(key),
        };
        match self.watched_keys.get_mut(key) {
            Some(watchers) => watchers.push(watcher),
            None => {
                self.watched_keys.insert(Sds::new(key), vec![watcher]);
            }
        }
    }

    /// Forgets that the client owning `dirty` watches `key` (the database
    /// half of `unwatchAllKeys`).
    pub fn unwatch_key(&mut self, key: &[u8], dirty: &DirtyFlag) {
        if let Some(watchers) = self.watched_keys.get_mut(key) {
            watchers.retain(|w| !Arc::ptr_eq(&w.dirty, dirty));
            if watchers.is_empty() {
                self.watched_keys.remove(key);
            }
        }
    }

    /// True when `key`, watched by the client owning `dirty`, was alive at
    /// WATCH time and has expired since (one step of `isWatchedKeyExpired`).
    pub fn watched_key_expired(&self, key: &[u8], dirty: &DirtyFlag) -> bool {
        let expired_at_watch = self
            .watched_keys
            .get(key)
            .and_then(|ws| ws.iter().find(|w| Arc::ptr_eq(&w.dirty, dirty)))
            .is_some_and(|w| w.expired);
        !expired_at_watch && self.key_is_expired(key)
    }

    /// What a command calls after changing `key` in place (mirror of
    /// `signalModifiedKey`; the [`Db`] methods that store or delete do it
    /// themselves).
    pub fn signal_modified_key(&mut self, key: &[u8]) {
        self.note_change(key);
    }

    /// A command changed `key`: count it in `dirty` and touch its watchers
    /// (an expiry only touches them: it is propagated on its own, as a DEL).
    #[inline]
    pub(super) fn note_change(&mut self, key: &[u8]) {
        self.dirty = self.dirty.wrapping_add(1);
        self.touch_watched_key(key);
    }

    /// Marks dirty every client watching `key` (mirror of `touchWatchedKey`).
    /// A watcher that saw the key already expired is spared when the touch is
    /// the expired key going away: nothing changed for it.
    #[inline]
    pub(super) fn touch_watched_key(&mut self, key: &[u8]) {
        if !self.watched_keys.is_empty() {
            self.touch_watchers_of(key);
        }
    }

    /// The part of [`Db::touch_watched_key`] that runs only when somebody
    /// watches some key, kept out of line so every write pays one branch.
    #[inline(never)]
    fn touch_watchers_of(&mut self, key: &[u8]) {
        let gone = self.dict.find(key).is_none();
        if let Some(watchers) = self.watched_keys.get_mut(key) {
            for w in watchers {
                if w.expired && gone {
                    w.expired = false;
                } else {
                    w.dirty.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Before FLUSHDB empties the database: marks dirty every client
    /// watching a key that exists, except where the key was already expired
    /// at WATCH time (mirror of `touchAllWatchedKeysInDb` without SWAPDB's
    /// second database).
    pub(super) fn touch_all_watched_keys(&mut self) {
        if self.watched_keys.is_empty() {
            return;
        }
        for (key, watchers) in &mut self.watched_keys {
            if self.dict.find(key).is_none() {
                continue;
            }
            for w in watchers {
                if w.expired {
                    w.expired = false;
                } else {
                    w.dirty.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Stats;
    use crate::server::db::Value;

    fn flag() -> DirtyFlag {
        Arc::new(AtomicBool::new(false))
    }

    fn is_set(f: &DirtyFlag) -> bool {
        f.load(Ordering::Relaxed)
    }

    const A: ClientRef = ClientRef { fd: 5, id: 1 };
    const B: ClientRef = ClientRef { fd: 6, id: 2 };

    #[test]
    fn ready_keys_are_queued_once_and_only_with_waiters() {
        let mut db = Db::new(0);
        db.add(b"nobody", Value::List(Box::default()));
        assert!(!db.has_ready_keys());
        db.add_blocked_client(b"k", A);
        db.add_blocked_client(b"k", B);
        db.add(b"k", Value::List(Box::default()));
        db.signal_key_as_ready(b"k");
        assert_eq!(db.take_ready_keys(), [Sds::new(b"k")]);
        assert!(!db.has_ready_keys());
        db.signal_key_as_ready(b"k");
        assert!(
            db.has_ready_keys(),
            "taking the keys allows signalling again"
        );
        assert_eq!(db.blocked_clients_on(b"k"), [A, B]);
        db.remove_blocked_client(b"k", A);
        db.remove_blocked_client(b"k", B);
        assert!(db.blocked_clients_on(b"k").is_empty());
        assert!(db.blocking_keys.is_empty());
    }

    #[test]
    fn a_string_does_not_wake_list_waiters() {
        let mut db = Db::new(0);
        db.add_blocked_client(b"k", A);
        db.set_key(b"k", Value::string(b"v"), false);
        assert!(!db.has_ready_keys());
    }

    #[test]
    fn writes_touch_watchers_and_unwatch_forgets() {
        let mut db = Db::new(0);
        let (a, b) = (flag(), flag());
        db.watch_key(b"k", &a);
        db.watch_key(b"k", &b);
        db.unwatch_key(b"k", &b);
        db.set_key(b"k", Value::string(b"v"), false);
        assert!(is_set(&a) && !is_set(&b));
        db.unwatch_key(b"k", &a);
        assert!(db.watched_keys.is_empty());
    }

    #[test]
    fn every_kind_of_change_touches() {
        let mut stats = Stats::default();
        let changes: [fn(&mut Db); 6] = [
            |db| db.signal_modified_key(b"k"),
            |db| {
                db.delete(b"k");
            },
            |db| db.set_expire(b"k", i64::MAX),
            |db| {
                db.take(b"k");
            },
            |db| {
                db.clear();
            },
            |db| db.add(b"new", Value::string(b"v")),
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let mut db = Db::new(0);
            db.set_key(b"k", Value::string(b"v"), false);
            let f = flag();
            db.watch_key(b"k", &f);
            db.watch_key(b"new", &f);
            change(&mut db);
            assert!(is_set(&f), "change {i} did not touch");
        }
        // Lookups and failed deletes change nothing.
        let mut db = Db::new(0);
        db.set_key(b"k", Value::string(b"v"), false);
        let f = flag();
        db.watch_key(b"k", &f);
        db.lookup_key_write(b"k", &mut stats);
        db.delete(b"nokey");
        assert!(!db.remove_expire(b"k"));
        assert!(!is_set(&f));
    }

    #[test]
    fn a_key_expired_before_watch_may_vanish_without_touching() {
        let mut stats = Stats::default();
        let mut db = Db::new(0);
        db.set_key(b"k", Value::string(b"v"), false);
        db.set_expire(b"k", 1);
        let f = flag();
        db.watch_key(b"k", &f);
        assert!(!db.watched_key_expired(b"k", &f));
        assert!(db.lookup_key_read(b"k", &mut stats).is_none());
        assert!(!is_set(&f), "the lazy deletion is no change");
        db.set_key(b"k", Value::string(b"v"), false);
        assert!(is_set(&f), "a new value is");
    }

    #[test]
    fn flush_touches_only_keys_that_exist() {
        let mut db = Db::new(0);
        db.set_key(b"k", Value::string(b"v"), false);
        db.set_key(b"old", Value::string(b"v"), false);
        db.set_expire(b"old", 1);
        let (on_k, on_missing, on_old) = (flag(), flag(), flag());
        db.watch_key(b"k", &on_k);
        db.watch_key(b"missing", &on_missing);
        db.watch_key(b"old", &on_old);
        db.clear();
        assert!(is_set(&on_k));
        assert!(!is_set(&on_missing) && !is_set(&on_old));
    }

    #[test]
    fn a_key_that_expires_after_watch_is_reported() {
        let mut db = Db::new(0);
        db.set_key(b"k", Value::string(b"v"), false);
        let f = flag();
        db.watch_key(b"k", &f);
        assert!(!db.watched_key_expired(b"k", &f));
        db.dict.set_expire_at(db.dict.find(b"k").expect("k"), 1);
        assert!(db.watched_key_expired(b"k", &f));
    }
}

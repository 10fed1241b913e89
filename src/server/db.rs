//! The keyspaces (`SELECT 0..15`) with expiry: the mirror of Redis's
//! `redisDb` and of `db.c`, the layer every command goes through to reach a
//! key.
//!
//! # Expiry, the lazy half
//!
//! A key with a TTL is not removed the instant its deadline passes. Redis
//! uses two mechanisms, and so do we:
//!
//! - **lazily**, here: every lookup first asks "has this key's deadline
//!   passed?" and, if so, deletes it and answers as if it were never there
//!   ([`Db::expire_if_needed`], called by [`Db::lookup_key_read`] and
//!   [`Db::lookup_key_write`]);
//! - **actively**, in [`crate::server::expire`]: the event loop samples keys
//!   with a TTL a few times a second and deletes the expired ones, so keys
//!   nobody reads again still go away.
//!
//! Until one of the two gets to it, an expired key still counts in `DBSIZE`,
//! exactly as in Redis.
//!
//! # Lookups and statistics
//!
//! Redis counts a `keyspace_hits` or `keyspace_misses` for every *read*
//! lookup (`GET`, `EXISTS`, `TYPE`, `TTL`, …) but not for lookups made to
//! write (`SET`, `INCR`, `EXPIRE`, …). Every key deleted because it expired
//! counts in `expired_keys`. The lookup functions take the server's
//! [`Stats`] to keep those counters exactly as Redis does.
//!
//! The table itself is [`dict::Dict`]; its docs explain the layout and the
//! SCAN cursor rule. Keys and strings are [`Sds`]; values are [`Value`].
//!
//! # Who is told about changes
//!
//! Blocked clients (`BLPOP`) and watchers (`WATCH`) wait on keys of one
//! database, so their tables live here, as in `redisDb`; [`signals`]
//! explains them. Every method below that stores, deletes or re-times a key
//! signals the change itself.

pub mod dense;
pub mod dict;
pub mod hash;
pub mod sds;
pub mod set;
pub mod signals;
pub mod value;

use std::collections::HashMap;

use dict::{Dict, Pos};
pub use sds::Sds;
pub use value::{Value, WRONGTYPE_ERR, type_name_of};

use super::{Stats, mstime};

/// One database: the mirror of Redis's `redisDb`.
pub struct Db {
    /// The database number (`SELECT id`).
    pub id: usize,
    dict: Dict,
    /// Running estimate of the TTL of keys with one, in ms, kept by the
    /// active expire cycle (`avg_ttl` of `redisDb`).
    pub(crate) avg_ttl: i64,
    /// Where the active expire cycle resumes in the expires table
    /// (`expires_cursor` of `redisDb`).
    pub(crate) expires_cursor: u64,
    /// The random generator behind `RANDOMKEY`, `SPOP`, `SRANDMEMBER`.
    rng: Xorshift64,
    /// Keys with clients blocked on them (`blocking_keys` of `redisDb`).
    blocking_keys: HashMap<Sds, signals::BlockedOnKey>,
    /// Keys of `blocking_keys` that received data, in order, each once
    /// (`ready_keys` of `redisDb`, plus its share of `server.ready_keys`).
    ready_keys: Vec<Sds>,
    /// Keys under WATCH, with their watchers (`watched_keys` of `redisDb`).
    watched_keys: HashMap<Sds, Vec<signals::Watcher>>,
    /// Changes made to this database (its share of Redis's `server.dirty`):
    /// `call` compares it before and after a command to decide whether the
    /// command is written to the AOF.
    pub dirty: u64,
    /// Remember expired keys in `expired_log`; only the AOF needs them.
    pub log_expired: bool,
    /// Keys deleted because they expired, waiting to be written to the AOF
    /// as DEL (what `deleteExpiredKeyAndPropagate` propagates).
    pub expired_log: Vec<Sds>,
    /// Keys a lookup found past their deadline and deleted (lazy expiry,
    /// `expireIfNeeded`) while [`Db::log_lazy_expiries`] is set, waiting for
    /// `process_command` to report them to the trace once the command returns.
    pub lazily_expired: Vec<(Sds, &'static crate::trace::model::Site)>,
    /// Set by `process_command` while a command runs with someone watching
    /// the trace: only then are lazily expired keys noted, so nobody pays
    /// for a report nobody reads, and a lookup outside a command (a blocked
    /// client served in beforeSleep) is never reported as some command's.
    pub log_lazy_expiries: bool,
}

/// A key looked up as one type (see [`Db::lookup_typed`]).
pub enum Typed<'a, T> {
    Missing,
    Found(&'a mut T),
    WrongType,
}

impl Db {
    pub fn new(id: usize) -> Self {
        // Seed each database differently; the quality needed is "spread
        // picks over the keys", as Redis gets from `random()`.
        let seed =
            std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), id);
        Db {
            id,
            dict: Dict::new(),
            avg_ttl: 0,
            expires_cursor: 0,
            rng: Xorshift64::seeded(seed),
            blocking_keys: HashMap::new(),
            ready_keys: Vec::new(),
            watched_keys: HashMap::new(),
            dirty: 0,
            log_expired: false,
            expired_log: Vec::new(),
            lazily_expired: Vec::new(),
            log_lazy_expiries: false,
        }
    }

    /// Number of keys (`DBSIZE`), including expired keys not yet removed.
    pub fn size(&self) -> usize {
        self.dict.len()
    }

    /// Number of keys with a time to live (`expires=` in `INFO keyspace`).
    pub fn expires_len(&self) -> usize {
        self.dict.expires_len()
    }

    /// Average TTL in ms of keys with an expire, as estimated by the active
    /// expire cycle (`avg_ttl=` in `INFO keyspace`).
    pub fn avg_ttl(&self) -> u64 {
        self.avg_ttl.max(0) as u64
    }

    /// Removes every key (`FLUSHDB`); returns how many there were.
    ///
    /// Mirror of `emptyDb` (db.c) for one database, which first touches the
    /// watched keys it is about to remove (`signalFlushedDb`).
    pub fn clear(&mut self) -> usize {
        self.touch_all_watched_keys();
        self.dirty = self.dirty.wrapping_add(1);
        self.avg_ttl = 0;
        self.expires_cursor = 0;
        self.dict.clear()
    }

    /// The table, for code that walks it (KEYS, SCAN, the expire cycle).
    pub fn dict(&self) -> &Dict {
        &self.dict
    }

    /// True when the entry at `pos` has a deadline and it has passed. The
    /// clock is only read for keys that have a deadline.
    ///
    /// Mirror of `keyIsExpired` (db.c).
    fn is_expired_at(&self, pos: Pos) -> bool {
        self.dict
            .expire_at(pos)
            .is_some_and(|when| mstime_i64() > when)
    }

    /// Deletes `key` if its deadline has passed, counting it in
    /// `expired_keys`; returns true if it did.
    ///
    /// Mirror of `expireIfNeeded` (db.c) on a master.
    // anchor: db.expire_if_needed
    pub fn expire_if_needed(&mut self, key: &[u8], stats: &mut Stats) -> bool {
        match self.dict.find(key) {
            Some(pos) => self.expire_pos_if_needed(pos, stats),
            None => false,
        }
    }

    fn expire_pos_if_needed(&mut self, pos: Pos, stats: &mut Stats) -> bool {
        if !self.is_expired_at(pos) {
            return false;
        }
        if self.log_lazy_expiries {
            // The probe is fired by `call` once the command returns (the
            // database cannot reach the tracer), but it names this line.
            let site = crate::site!("expire_pos_if_needed", "expireIfNeeded");
            self.lazily_expired
                .push((self.dict.key_at(pos).clone(), site));
        }
        self.delete_expired_at(pos, stats);
        true
    }

    /// Removes an entry whose deadline passed and counts it.
    ///
    /// Mirror of `deleteExpiredKeyAndPropagate` (db.c).
    fn delete_expired_at(&mut self, pos: Pos, stats: &mut Stats) {
        let (key, _) = self.dict.remove_at(pos);
        self.touch_watched_key(&key);
        stats.expiredkeys += 1;
        if self.log_expired {
            self.expired_log.push(key);
        }
    }

    /// True when `key` exists but its deadline has passed, without deleting
    /// it (mirror of `keyIsExpired`, db.c).
    pub fn key_is_expired(&self, key: &[u8]) -> bool {
        self.dict
            .find(key)
            .is_some_and(|pos| self.is_expired_at(pos))
    }

    /// Finds a live key, expiring it first if needed.
    fn lookup(&mut self, key: &[u8], stats: &mut Stats) -> Option<Pos> {
        let pos = self.dict.find(key)?;
        (!self.expire_pos_if_needed(pos, stats)).then_some(pos)
    }

    /// Looks a key up for reading: expires it if needed and counts a
    /// keyspace hit or miss.
    ///
    /// Mirror of `lookupKeyRead` (db.c).
    pub fn lookup_key_read(&mut self, key: &[u8], stats: &mut Stats) -> Option<&mut Value> {
        let found = self.lookup(key, stats);
        match found {
            Some(_) => stats.keyspace_hits += 1,
            None => stats.keyspace_misses += 1,
        }
        found.map(|pos| self.dict.value_at_mut(pos))
    }

    /// Looks a key up for writing: expires it if needed, counts nothing.
    ///
    /// Mirror of `lookupKeyWrite` (db.c).
    pub fn lookup_key_write(&mut self, key: &[u8], stats: &mut Stats) -> Option<&mut Value> {
        self.lookup(key, stats)
            .map(|pos| self.dict.value_at_mut(pos))
    }

    /// Looks `key` up for reading (counting a hit or miss) or for writing,
    /// and checks that it holds the type `as_type` picks out: the lookup plus
    /// `checkType` that every list, hash and set command starts with.
    pub fn lookup_typed<'a, T>(
        &'a mut self,
        key: &[u8],
        stats: &mut Stats,
        write: bool,
        as_type: impl FnOnce(&'a mut Value) -> Option<&'a mut T>,
    ) -> Typed<'a, T> {
        let found = if write {
            self.lookup_key_write(key, stats)
        } else {
            self.lookup_key_read(key, stats)
        };
        match found {
            None => Typed::Missing,
            Some(value) => as_type(value).map_or(Typed::WrongType, Typed::Found),
        }
    }

    /// Adds a key that does not exist (the caller has just looked it up).
    ///
    /// Mirror of `dbAdd` (db.c).
    pub fn add(&mut self, key: &[u8], value: Value) {
        let is_list = matches!(value, Value::List(_));
        self.dict.insert_new(Sds::new(key), value);
        self.signal_stored(key, is_list);
    }

    /// Stores `value` under `key`, replacing any old value. The old TTL is
    /// dropped unless `keep_ttl` (SET's `KEEPTTL`).
    ///
    /// Mirror of `setKey` (db.c). Like Redis, it does not look for an
    /// expired key first: an expired key is simply overwritten.
    pub fn set_key(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        match self.dict.find(key) {
            Some(pos) => {
                let is_list = matches!(value, Value::List(_));
                *self.dict.value_at_mut(pos) = value;
                if !keep_ttl {
                    self.dict.remove_expire_at(pos);
                }
                self.signal_stored(key, is_list);
            }
            None => self.add(key, value),
        }
    }

    /// Deletes `key`; true if it existed (expired or not: callers that care
    /// run [`Db::expire_if_needed`] first, as DEL does).
    ///
    /// Mirror of `dbSyncDelete` (db.c).
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.take(key).is_some()
    }

    /// Removes `key` and hands back its value and deadline (RENAME moves
    /// them to the new name).
    pub fn take(&mut self, key: &[u8]) -> Option<(Value, Option<i64>)> {
        let pos = self.dict.find(key)?;
        let when = self.dict.expire_at(pos);
        let (_, value) = self.dict.remove_at(pos);
        self.note_change(key);
        Some((value, when))
    }

    /// The deadline of `key` in Unix ms, or `None` if it has none (or does
    /// not exist).
    ///
    /// Mirror of `getExpire` (db.c), whose `-1` is our `None`.
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        self.dict.find(key).and_then(|pos| self.dict.expire_at(pos))
    }

    /// Gives an existing key the deadline `when` (Unix ms).
    ///
    /// Mirror of `setExpire` (db.c).
    pub fn set_expire(&mut self, key: &[u8], when: i64) {
        if let Some(pos) = self.dict.find(key) {
            self.dict.set_expire_at(pos, when);
            self.note_change(key);
        }
    }

    /// Makes `key` persistent; true if it had a deadline.
    ///
    /// Mirror of `removeExpire` (db.c).
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        let removed = self
            .dict
            .find(key)
            .is_some_and(|pos| self.dict.remove_expire_at(pos));
        if removed {
            self.note_change(key);
        }
        removed
    }

    /// The value of `key` as it is, without expiring it or counting a
    /// lookup (for the AOF, which writes down what a command left behind).
    pub fn peek(&self, key: &[u8]) -> Option<&Value> {
        self.dict.find(key).map(|pos| self.dict.value_at(pos))
    }

    /// A random live key, or `None` when the database is empty. Picks that
    /// turn out expired are deleted (and counted) and another key is drawn.
    ///
    /// Mirror of `dbRandomKey` (db.c) on a master.
    pub fn random_key(&mut self, stats: &mut Stats) -> Option<Sds> {
        loop {
            let random = self.next_random();
            let pos = self.dict.random_pos(random)?;
            if !self.expire_pos_if_needed(pos, stats) {
                return Some(self.dict.key_at(pos).clone());
            }
        }
    }

    /// A random number from the database's generator.
    pub fn next_random(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// One sample of the active expire cycle: takes the next key of the
    /// expires table (walking it with the SCAN cursor rule, wrapping around
    /// at the bottom) and deletes it if its deadline is before `now`.
    /// Returns the key's TTL as it was (zero or negative when it had expired)
    /// and whether it was deleted, or `None` when no key has a TTL.
    ///
    /// Mirror of the `dictScan` step plus `activeExpireCycleTryExpire`
    /// (expire.c).
    pub(crate) fn active_expire_try_next(
        &mut self,
        now: i64,
        stats: &mut Stats,
    ) -> Option<(i64, bool)> {
        let (from, _) = dict::scan_window(self.expires_cursor, 1, self.dict.expires_len());
        let slot = from.checked_sub(1)?;
        self.expires_cursor = slot as u64;
        let (pos, when) = self.dict.expire_slot(slot);
        let expired = now > when;
        if expired {
            self.delete_expired_at(pos, stats);
        }
        Some((when.saturating_sub(now), expired))
    }
}

/// xorshift64*: small, fast, and good enough to pick keys and members
/// (Redis uses `random()` for the same picks).
#[derive(Clone, Debug)]
pub struct Xorshift64(u64);

impl Xorshift64 {
    /// A generator started from `seed` (any value; zero is avoided).
    pub fn seeded(seed: u64) -> Self {
        Xorshift64(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `mstime()` as Redis's signed `mstime_t`, the type deadlines are kept in.
pub fn mstime_i64() -> i64 {
    i64::try_from(mstime()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past() -> i64 {
        1
    }

    fn future() -> i64 {
        mstime_i64() + 100_000
    }

    #[test]
    fn lookups_count_like_redis() {
        let mut db = Db::new(0);
        let mut stats = Stats::default();
        db.set_key(b"k", Value::string(b"v"), false);
        assert!(db.lookup_key_read(b"k", &mut stats).is_some());
        assert!(db.lookup_key_read(b"nope", &mut stats).is_none());
        assert!(db.lookup_key_write(b"k", &mut stats).is_some());
        assert!(db.lookup_key_write(b"nope", &mut stats).is_none());
        assert_eq!((stats.keyspace_hits, stats.keyspace_misses), (1, 1));
    }

    #[test]
    fn expired_keys_vanish_on_access_and_are_counted() {
        let mut db = Db::new(0);
        let mut stats = Stats::default();
        db.set_key(b"old", Value::string(b"v"), false);
        db.set_expire(b"old", past());
        db.set_key(b"new", Value::string(b"v"), false);
        db.set_expire(b"new", future());
        assert_eq!(
            db.size(),
            2,
            "an expired key counts until something removes it"
        );
        assert!(db.lookup_key_read(b"old", &mut stats).is_none());
        assert!(db.lookup_key_read(b"new", &mut stats).is_some());
        assert_eq!(db.size(), 1);
        assert_eq!(db.expires_len(), 1);
        assert_eq!(stats.expiredkeys, 1);
        assert_eq!((stats.keyspace_hits, stats.keyspace_misses), (1, 1));
    }

    #[test]
    fn lazily_expired_keys_are_noted_only_while_asked_to() {
        let mut db = Db::new(0);
        let mut stats = Stats::default();
        for key in [&b"unwatched"[..], b"watched"] {
            db.set_key(key, Value::string(b"v"), false);
            db.set_expire(key, past());
        }
        assert!(db.lookup_key_read(b"unwatched", &mut stats).is_none());
        assert!(
            db.lazily_expired.is_empty(),
            "nobody watches: nothing noted"
        );
        db.log_lazy_expiries = true;
        assert!(db.lookup_key_read(b"watched", &mut stats).is_none());
        let noted: Vec<&[u8]> = db
            .lazily_expired
            .iter()
            .map(|(key, _)| key.as_bytes())
            .collect();
        assert_eq!(noted, [b"watched"]);
        assert_eq!(stats.expiredkeys, 2, "both expired all the same");
    }

    #[test]
    fn set_key_drops_or_keeps_the_ttl() {
        let mut db = Db::new(0);
        db.set_key(b"k", Value::string(b"1"), false);
        db.set_expire(b"k", future());
        db.set_key(b"k", Value::string(b"2"), true);
        assert!(db.get_expire(b"k").is_some());
        db.set_key(b"k", Value::string(b"3"), false);
        assert_eq!(db.get_expire(b"k"), None);
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn take_returns_value_and_deadline() {
        let mut db = Db::new(0);
        let when = future();
        db.set_key(b"k", Value::string(b"v"), false);
        db.set_expire(b"k", when);
        assert_eq!(db.take(b"k"), Some((Value::string(b"v"), Some(when))));
        assert_eq!(db.take(b"k"), None);
        assert_eq!((db.size(), db.expires_len()), (0, 0));
    }

    #[test]
    fn random_key_skips_and_deletes_expired_keys() {
        let mut db = Db::new(0);
        let mut stats = Stats::default();
        assert_eq!(db.random_key(&mut stats), None);
        for i in 0..50 {
            let k = format!("dead:{i}");
            db.set_key(k.as_bytes(), Value::string(b"v"), false);
            db.set_expire(k.as_bytes(), past());
        }
        db.set_key(b"alive", Value::string(b"v"), false);
        assert_eq!(db.random_key(&mut stats).as_deref(), Some(&b"alive"[..]));
        assert_eq!(db.size() as u64 + stats.expiredkeys, 51);
    }

    #[test]
    fn random_key_reaches_every_key() {
        let mut db = Db::new(3);
        let mut stats = Stats::default();
        for i in 0..10 {
            db.set_key(format!("k{i}").as_bytes(), Value::string(b"v"), false);
        }
        let seen: std::collections::HashSet<Sds> = (0..1000)
            .filter_map(|_| db.random_key(&mut stats))
            .collect();
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn clear_resets_everything() {
        let mut db = Db::new(0);
        db.set_key(b"a", Value::string(b"v"), false);
        db.set_key(b"b", Value::string(b"v"), false);
        db.set_expire(b"b", future());
        db.avg_ttl = 5;
        assert_eq!(db.clear(), 2);
        assert_eq!((db.size(), db.expires_len(), db.avg_ttl()), (0, 0, 0));
    }
}

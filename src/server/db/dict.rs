//! [`Dict`]: the hash table behind one database, playing the part of the
//! two dicts of Redis's `redisDb` (`dict`: key → value, `expires`: key →
//! deadline).
//!
//! # Layout
//!
//! Every key lives once, in a dense vector of entries:
//!
//! ```text
//!   entries:  [ (k0,v0,-) (k1,v1,#0) (k2,v2,-) (k3,v3,#1) ]   dense, no holes
//!   index:    hash(key) -> position in `entries`            (u-size slots)
//!   expires:  [ (1, t1) (3, t3) ]                            dense, keys with a TTL
//! ```
//!
//! - `index` is a SwissTable (`hashbrown::HashTable`) holding only positions,
//!   so a key is stored once, in its entry. Lookups hash the key, and equal
//!   hashes are confirmed against `entries`.
//! - `expires` lists the entries that have a deadline, and each such entry
//!   remembers its slot in `expires`. A key without a TTL pays nothing extra,
//!   and the active expire cycle can walk the keys that have one.
//!
//! Deleting uses *swap-remove* in both vectors: the last element moves into
//! the hole, and the one or two positions that point at it are patched. So
//! every operation is O(1), and the vectors never have holes. That makes
//! uniform random sampling trivial (`RANDOMKEY`).
//!
//! # The SCAN cursor rule
//!
//! Redis promises that a full SCAN returns every key that existed for the
//! whole scan at least once, even while keys are added and removed between
//! calls. Redis gets that from its reverse-binary cursor over power-of-two
//! tables. Here it comes from one fact: **an entry only ever moves to a lower
//! position** (a swap-remove moves the last entry down into a hole; inserts
//! append at the end). So we scan from the top down:
//!
//! - cursor `0` starts a scan at the end of `entries`;
//! - cursor `c > 0` means "positions `0..c` are still to be visited";
//! - a call visits positions `c-1, c-2, …` downwards and returns the new
//!   lower bound, or `0` when it reached position 0.
//!
//! An unvisited entry sits below the cursor and can only move further down,
//! so it is still ahead of the scan at the next call. An entry that moves
//! down from the visited region may be returned twice, which SCAN allows.
//! Entries added during the scan land at the end, above the cursor, and
//! are not returned, which SCAN also allows. The expire cycle walks
//! `expires` with the same rule.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use std::collections::hash_map::RandomState;

use super::sds::Sds;
use super::value::Value;

/// One key with its value.
struct Entry {
    key: Sds,
    value: Value,
    /// Slot in `Dict::expires`, or `NO_EXPIRE`.
    expire_slot: usize,
}

const NO_EXPIRE: usize = usize::MAX;

/// A key with a deadline: where its entry is, and when it expires
/// (Unix time in milliseconds).
#[derive(Clone, Copy, Debug)]
struct Expire {
    entry: usize,
    when: i64,
}

/// A key → value table with optional per-key deadlines.
pub struct Dict {
    entries: Vec<Entry>,
    index: HashTable<usize>,
    /// Randomly seeded per table, so clients cannot choose keys that collide
    /// (Redis seeds its SipHash for the same reason).
    hasher: RandomState,
    expires: Vec<Expire>,
}

/// One position of the table, as handed out by [`Dict::find`]. It is valid
/// until the next insert or remove.
pub type Pos = usize;

impl Dict {
    pub fn new() -> Self {
        Dict {
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            expires: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys with a deadline.
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Removes every key; returns how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.entries.len();
        *self = Dict {
            hasher: std::mem::take(&mut self.hasher),
            ..Dict::new()
        };
        n
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The position of `key`, if present (mirror of `dictFind`).
    pub fn find(&self, key: &[u8]) -> Option<Pos> {
        let entries = &self.entries;
        self.index
            .find(self.hash(key), |&pos| entries[pos].key.as_bytes() == key)
            .copied()
    }

    pub fn key_at(&self, pos: Pos) -> &Sds {
        &self.entries[pos].key
    }

    pub fn value_at(&self, pos: Pos) -> &Value {
        &self.entries[pos].value
    }

    pub fn value_at_mut(&mut self, pos: Pos) -> &mut Value {
        &mut self.entries[pos].value
    }

    /// Adds a key that is not present yet and returns its position
    /// (mirror of `dictAdd`, which the caller only uses for new keys).
    pub fn insert_new(&mut self, key: Sds, value: Value) -> Pos {
        debug_assert!(self.find(&key).is_none(), "insert_new of an existing key");
        let pos = self.entries.len();
        let hash = self.hash(&key);
        let Dict {
            entries,
            index,
            hasher,
            ..
        } = self;
        index.insert_unique(hash, pos, |&p| hasher.hash_one(entries[p].key.as_bytes()));
        entries.push(Entry {
            key,
            value,
            expire_slot: NO_EXPIRE,
        });
        pos
    }

    /// Removes the entry at `pos` and returns its key and value. The last
    /// entry moves into `pos` (see the module docs for why that keeps SCAN's
    /// promise).
    pub fn remove_at(&mut self, pos: Pos) -> (Sds, Value) {
        self.remove_expire_at(pos);
        let hash = self.hash(&self.entries[pos].key);
        if let Ok(slot) = self.index.find_entry(hash, |&p| p == pos) {
            slot.remove();
        }
        let removed = self.entries.swap_remove(pos);
        if let Some(moved) = self.entries.get(pos) {
            // The former last entry now lives at `pos`: repoint its index
            // slot and its expire record.
            let old_pos = self.entries.len();
            let hash = self.hash(&moved.key);
            if let Some(p) = self.index.find_mut(hash, |&p| p == old_pos) {
                *p = pos;
            }
            if let Some(e) = self.expires.get_mut(moved.expire_slot) {
                e.entry = pos;
            }
        }
        (removed.key, removed.value)
    }

    /// The deadline of the entry at `pos`, if it has one.
    pub fn expire_at(&self, pos: Pos) -> Option<i64> {
        self.expires
            .get(self.entries[pos].expire_slot)
            .map(|e| e.when)
    }

    /// Sets or replaces the deadline of the entry at `pos`.
    pub fn set_expire_at(&mut self, pos: Pos, when: i64) {
        let entry = &mut self.entries[pos];
        match self.expires.get_mut(entry.expire_slot) {
            Some(e) => e.when = when,
            None => {
                entry.expire_slot = self.expires.len();
                self.expires.push(Expire { entry: pos, when });
            }
        }
    }

    /// Drops the deadline of the entry at `pos`; false if it had none.
    pub fn remove_expire_at(&mut self, pos: Pos) -> bool {
        let slot = std::mem::replace(&mut self.entries[pos].expire_slot, NO_EXPIRE);
        if slot == NO_EXPIRE {
            return false;
        }
        self.expires.swap_remove(slot);
        if let Some(moved) = self.expires.get(slot) {
            self.entries[moved.entry].expire_slot = slot;
        }
        true
    }

    /// The entry position and deadline in slot `slot` of the expires vector
    /// (`slot < expires_len()`), for the active expire cycle.
    pub fn expire_slot(&self, slot: usize) -> (Pos, i64) {
        let e = self.expires[slot];
        (e.entry, e.when)
    }

    /// The position of a uniformly chosen entry, given a random number.
    pub fn random_pos(&self, random: u64) -> Option<Pos> {
        if self.entries.is_empty() {
            return None;
        }
        Some((random % self.entries.len() as u64) as usize)
    }

    /// Visits up to `count` positions below `cursor` (see the module docs),
    /// handing each to `visit`, and returns the next cursor (0 = done).
    ///
    /// Plays the part of `dictScan` (dict.c) for SCAN.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Sds, &Value)) -> u64 {
        let (from, to) = scan_window(cursor, count, self.entries.len());
        for entry in self.entries[to..from].iter().rev() {
            visit(&entry.key, &entry.value);
        }
        to as u64
    }

    /// Iterates over every key, value and deadline, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&Sds, &Value, Option<i64>)> {
        self.entries.iter().map(|e| {
            (
                &e.key,
                &e.value,
                self.expires.get(e.expire_slot).map(|x| x.when),
            )
        })
    }
}

impl Default for Dict {
    fn default() -> Self {
        Dict::new()
    }
}

/// The positions `to..from` that a scan step visits (downwards from `from`),
/// given the cursor, the step size and the current length. A cursor beyond
/// the end (the table shrank, or the client made it up) is clamped.
pub fn scan_window(cursor: u64, count: usize, len: usize) -> (usize, usize) {
    let from = if cursor == 0 {
        len
    } else {
        usize::try_from(cursor).map_or(len, |c| c.min(len))
    };
    (from, from.saturating_sub(count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(i: usize) -> Sds {
        Sds::new(format!("key:{i}").as_bytes())
    }

    /// Checks every internal link: index ↔ entries ↔ expires.
    fn check_consistent(d: &Dict) {
        assert_eq!(d.index.len(), d.entries.len());
        for (pos, e) in d.entries.iter().enumerate() {
            assert_eq!(d.find(&e.key), Some(pos));
            if e.expire_slot != NO_EXPIRE {
                assert_eq!(d.expires[e.expire_slot].entry, pos);
            }
        }
        for (slot, x) in d.expires.iter().enumerate() {
            assert_eq!(d.entries[x.entry].expire_slot, slot);
        }
    }

    #[test]
    fn entries_are_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }

    #[test]
    fn insert_find_remove_keep_links_consistent() {
        let mut d = Dict::new();
        for i in 0..200 {
            let pos = d.insert_new(key(i), Value::string(b"v"));
            if i % 3 == 0 {
                d.set_expire_at(pos, i as i64);
            }
        }
        check_consistent(&d);
        assert_eq!(d.expires_len(), 67);
        for i in (0..200).step_by(7) {
            let pos = d.find(&key(i)).expect("present");
            let (k, _) = d.remove_at(pos);
            assert_eq!(k, key(i));
            check_consistent(&d);
        }
        assert_eq!(d.len(), 200 - 29);
        assert!(d.find(&key(7)).is_none());
        let pos = d.find(&key(3)).expect("present");
        assert_eq!(d.expire_at(pos), Some(3));
        assert!(d.remove_expire_at(pos));
        assert!(!d.remove_expire_at(pos));
        check_consistent(&d);
        assert_eq!(d.clear(), 171);
        assert!(d.is_empty() && d.expires_len() == 0);
    }

    /// A small deterministic generator for the interleavings below.
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    /// Runs a full scan with `count` per call, doing `churn` random deletes
    /// and inserts between calls, and checks SCAN's guarantee: every key that
    /// was present for the whole scan was returned at least once.
    fn scan_under_churn(count: usize, churn: usize, seed: u64) {
        let mut d = Dict::new();
        let mut rng = seed;
        let mut next_key = 0;
        for _ in 0..500 {
            d.insert_new(key(next_key), Value::string(b"v"));
            next_key += 1;
        }
        let mut ever_deleted = HashSet::new();
        let initial: HashSet<Sds> = d.iter().map(|(k, _, _)| k.clone()).collect();
        let mut returned = HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = d.scan(cursor, count, |k, _| {
                returned.insert(k.clone());
            });
            calls += 1;
            if cursor == 0 {
                break;
            }
            for _ in 0..churn {
                if lcg(&mut rng).is_multiple_of(2) && !d.is_empty() {
                    let pos = d.random_pos(lcg(&mut rng)).expect("non-empty");
                    let (k, _) = d.remove_at(pos);
                    ever_deleted.insert(k);
                } else {
                    d.insert_new(key(next_key), Value::string(b"v"));
                    next_key += 1;
                }
            }
            assert!(calls < 10_000, "scan does not terminate");
        }
        check_consistent(&d);
        for k in initial.difference(&ever_deleted) {
            assert!(
                returned.contains(k),
                "{k:?} was present throughout but never returned"
            );
        }
    }

    #[test]
    fn scan_guarantee_holds_with_interleaved_deletes_and_inserts() {
        for seed in 0..20 {
            scan_under_churn(10, 8, seed);
            scan_under_churn(1, 3, seed);
            scan_under_churn(37, 40, seed);
        }
    }

    #[test]
    fn scan_guarantee_holds_when_the_table_shrinks_below_the_cursor() {
        let mut d = Dict::new();
        for i in 0..100 {
            d.insert_new(key(i), Value::string(b"v"));
        }
        let mut returned = HashSet::new();
        let cursor = d.scan(0, 10, |k, _| {
            returned.insert(k.clone());
        });
        assert_eq!(cursor, 90);
        // Delete 60 keys that were already returned, some of them near the top.
        for i in 90..100 {
            let pos = d.find(&key(i)).expect("present");
            d.remove_at(pos);
        }
        for i in 0..50 {
            let pos = d.find(&key(i)).expect("present");
            d.remove_at(pos);
        }
        let mut cursor = cursor;
        while cursor != 0 {
            cursor = d.scan(cursor, 10, |k, _| {
                returned.insert(k.clone());
            });
        }
        for i in 50..90 {
            assert!(returned.contains(&key(i)), "key:{i} missed");
        }
    }

    #[test]
    fn scan_of_an_unchanged_table_returns_each_key_exactly_once() {
        let mut d = Dict::new();
        for i in 0..95 {
            d.insert_new(key(i), Value::string(b"v"));
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, 10, |k, _| seen.push(k.clone()));
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 95);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 95);
        assert_eq!(d.scan(0, 10, |_, _| {}), 85, "a new scan starts at the top");
    }

    #[test]
    fn scan_window_clamps_cursors() {
        assert_eq!(scan_window(0, 10, 25), (25, 15));
        assert_eq!(scan_window(5, 10, 25), (5, 0));
        assert_eq!(scan_window(1000, 10, 25), (25, 15));
        assert_eq!(scan_window(u64::MAX, 10, 25), (25, 15));
        assert_eq!(scan_window(0, 10, 0), (0, 0));
    }
}

//! [`DenseMap`]: the hash table inside a big hash or set value, playing the
//! part of the `dict` Redis switches a hash or set to once it outgrows its
//! compact encoding.
//!
//! It is the keyspace's [`super::dict::Dict`] idea without the expiry half:
//!
//! ```text
//!   entries:  [ (f0,v0) (f1,v1) (f2,v2) ]   dense, no holes
//!   index:    hash(field) -> position in `entries`
//! ```
//!
//! A member lives once, in `entries`; the SwissTable index holds positions
//! only. Deleting swaps the last entry into the hole and repoints its index
//! slot, so insert, lookup and delete are O(1), and because `entries` has no
//! holes, picking a uniformly random member is one modulo — which is what
//! `SPOP` and `SRANDMEMBER` do all day (Redis needs a random-bucket walk,
//! `dictGetFairRandomKey`, for the same job).
//!
//! Iteration follows `entries`: insertion order until a delete moves the last
//! member into a hole. Redis's order for these encodings is its hash order,
//! which clients must not rely on either.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use hashbrown::HashTable;

use super::sds::Sds;

/// One seed for every value's table, picked at random when the process
/// starts, so clients cannot choose members that collide (Redis seeds its
/// SipHash the same way, once). Sharing it keeps each table 16 bytes smaller.
fn hasher() -> &'static RandomState {
    static HASHER: OnceLock<RandomState> = OnceLock::new();
    HASHER.get_or_init(RandomState::new)
}

fn hash(bytes: &[u8]) -> u64 {
    hasher().hash_one(bytes)
}

/// A field → value table (a set uses `V = ()`), with O(1) random access.
#[derive(Clone, Default)]
pub struct DenseMap<V> {
    entries: Vec<(Sds, V)>,
    index: HashTable<usize>,
}

impl<V> DenseMap<V> {
    pub fn new() -> Self {
        DenseMap {
            entries: Vec::new(),
            index: HashTable::new(),
        }
    }

    /// An empty table with room for `n` entries (Redis's `dictExpand` before
    /// converting a compact encoding).
    pub fn with_capacity(n: usize) -> Self {
        DenseMap {
            entries: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of `field`, if present (mirror of `dictFind`).
    pub fn find(&self, field: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash(field), |&pos| entries[pos].0.as_bytes() == field)
            .copied()
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.find(field).is_some()
    }

    pub fn get(&self, field: &[u8]) -> Option<&V> {
        self.find(field).map(|pos| &self.entries[pos].1)
    }

    pub fn get_mut(&mut self, field: &[u8]) -> Option<&mut V> {
        self.find(field).map(|pos| &mut self.entries[pos].1)
    }

    /// Adds `field` or replaces its value; returns the old value, if any.
    pub fn insert(&mut self, field: &[u8], value: V) -> Option<V> {
        match self.find(field) {
            Some(pos) => Some(std::mem::replace(&mut self.entries[pos].1, value)),
            None => {
                self.push_new(Sds::new(field), value);
                None
            }
        }
    }

    /// Appends a field the caller knows is absent (a conversion from a
    /// compact encoding, whose fields are unique).
    pub fn push_new(&mut self, field: Sds, value: V) {
        let pos = self.entries.len();
        let entries = &self.entries;
        self.index
            .insert_unique(hash(&field), pos, |&p| hash(&entries[p].0));
        self.entries.push((field, value));
    }

    /// Removes `field`; returns its entry if it was there.
    pub fn remove(&mut self, field: &[u8]) -> Option<(Sds, V)> {
        self.find(field).map(|pos| self.remove_at(pos))
    }

    /// Removes the entry at `pos` (`pos < len()`). The last entry moves into
    /// its place.
    pub fn remove_at(&mut self, pos: usize) -> (Sds, V) {
        if let Ok(slot) = self
            .index
            .find_entry(hash(&self.entries[pos].0), |&p| p == pos)
        {
            slot.remove();
        }
        let removed = self.entries.swap_remove(pos);
        if let Some((moved, _)) = self.entries.get(pos) {
            let old_pos = self.entries.len();
            if let Some(p) = self.index.find_mut(hash(moved), |&p| p == old_pos) {
                *p = pos;
            }
        }
        removed
    }

    /// The entry at `pos` (`pos < len()`), for random picks.
    pub fn entry_at(&self, pos: usize) -> (&Sds, &V) {
        let (k, v) = &self.entries[pos];
        (k, v)
    }

    /// Every entry, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (&Sds, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<V: PartialEq> PartialEq for DenseMap<V> {
    /// Equal when they hold the same entries, whatever the order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for DenseMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_consistent<V>(m: &DenseMap<V>) {
        assert_eq!(m.index.len(), m.entries.len());
        for (pos, (k, _)) in m.entries.iter().enumerate() {
            assert_eq!(m.find(k), Some(pos));
        }
    }

    #[test]
    fn insert_replace_remove() {
        let mut m = DenseMap::new();
        for i in 0..300 {
            assert_eq!(m.insert(format!("f{i}").as_bytes(), i), None);
        }
        assert_eq!(m.insert(b"f7", 700), Some(7));
        assert_eq!(m.get(b"f7"), Some(&700));
        check_consistent(&m);
        for i in (0..300).step_by(3) {
            let (k, _) = m.remove(format!("f{i}").as_bytes()).expect("present");
            assert_eq!(&*k, format!("f{i}").as_bytes());
            check_consistent(&m);
        }
        assert_eq!(m.len(), 200);
        assert!(m.remove(b"f0").is_none());
        assert!(m.contains(b"f1") && !m.contains(b"f3"));
        *m.get_mut(b"f1").expect("present") += 1;
        assert_eq!(m.get(b"f1"), Some(&2));
    }

    #[test]
    fn order_is_insertion_order_until_a_delete() {
        let mut m = DenseMap::new();
        for f in ["a", "b", "c", "d"] {
            m.insert(f.as_bytes(), ());
        }
        let keys =
            |m: &DenseMap<()>| -> Vec<Vec<u8>> { m.iter().map(|(k, _)| k.to_vec()).collect() };
        assert_eq!(keys(&m), [b"a", b"b", b"c", b"d"]);
        m.remove(b"a");
        assert_eq!(keys(&m), [b"d", b"b", b"c"]);
    }

    #[test]
    fn equality_ignores_order() {
        let mut a = DenseMap::new();
        let mut b = DenseMap::new();
        a.insert(b"x", 1);
        a.insert(b"y", 2);
        b.insert(b"y", 2);
        b.insert(b"x", 1);
        assert_eq!(a, b);
        b.insert(b"x", 3);
        assert_ne!(a, b);
    }
}

//! [`Set`]: the value of a set key, with Redis 7.0's two encodings (the
//! mirror of the `setType*` functions of `t_set.c`).
//!
//! A set whose members are all integers — user ids, say — is kept by Redis
//! as an *intset*: a sorted array of machine integers, searched by
//! bisection. It is many times smaller than a hash table and, being sorted,
//! it answers `SMEMBERS` in numeric order. The first member that is not a
//! canonical integer (`"a"`, but also `"01"` or `"+1"`), or growing past 512
//! members (`set-max-intset-entries`), converts the set to a hash table for
//! good. Redis 7.2 added a third, listpack, encoding; 7.0 has these two.
//!
//! Random picks (`SPOP`, `SRANDMEMBER`) take a position: an intset is an
//! array, and the table is a [`DenseMap`], so both pick in O(1).

use std::borrow::Cow;

use super::dense::DenseMap;
use super::sds::Sds;
use crate::server::util::string2ll;

/// More members than this and an intset becomes a table (`set-max-intset-entries`).
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

/// A set value.
#[derive(Clone, Debug, PartialEq)]
pub enum Set {
    /// Sorted, distinct integers.
    IntSet(Vec<i64>),
    /// A hash table of members.
    Table(DenseMap<()>),
}

impl Set {
    /// An empty set in the encoding suited to its first member (mirror of
    /// `setTypeCreate`): an intset when that member is an integer.
    pub fn create_for(first: &[u8]) -> Self {
        if string2ll(first).is_some() {
            Set::IntSet(Vec::new())
        } else {
            Set::Table(DenseMap::new())
        }
    }

    /// Number of members (mirror of `setTypeSize`).
    pub fn len(&self) -> usize {
        match self {
            Set::IntSet(ints) => ints.len(),
            Set::Table(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `member`; true if it was not there (mirror of `setTypeAdd`).
    pub fn add(&mut self, member: &[u8]) -> bool {
        match self {
            Set::IntSet(ints) => match string2ll(member) {
                Some(n) => {
                    let Err(at) = ints.binary_search(&n) else {
                        return false;
                    };
                    ints.insert(at, n);
                    if ints.len() > SET_MAX_INTSET_ENTRIES {
                        self.convert(0);
                    }
                    true
                }
                None => {
                    self.convert(1);
                    self.add(member)
                }
            },
            Set::Table(table) => table.insert(member, ()).is_none(),
        }
    }

    /// Removes `member`; true if it was there (mirror of `setTypeRemove`).
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::IntSet(ints) => match string2ll(member).map(|n| ints.binary_search(&n)) {
                Some(Ok(at)) => {
                    ints.remove(at);
                    true
                }
                _ => false,
            },
            Set::Table(table) => table.remove(member).is_some(),
        }
    }

    /// Mirror of `setTypeIsMember`.
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::IntSet(ints) => string2ll(member).is_some_and(|n| ints.binary_search(&n).is_ok()),
            Set::Table(table) => table.contains(member),
        }
    }

    /// The member at position `pos` (`pos < len()`) in iteration order.
    pub fn member_at(&self, pos: usize) -> Cow<'_, [u8]> {
        match self {
            Set::IntSet(ints) => Cow::Owned(ints[pos].to_string().into_bytes()),
            Set::Table(table) => Cow::Borrowed(table.entry_at(pos).0),
        }
    }

    /// A member chosen uniformly by `random` (mirror of `setTypeRandomElement`).
    pub fn random_member(&self, random: u64) -> Option<Cow<'_, [u8]>> {
        let len = self.len() as u64;
        (len > 0).then(|| self.member_at((random % len) as usize))
    }

    /// Removes and returns a member chosen by `random` (mirror of
    /// `setTypePopRandom`).
    pub fn pop_random(&mut self, random: u64) -> Option<Sds> {
        let len = self.len() as u64;
        if len == 0 {
            return None;
        }
        let pos = (random % len) as usize;
        Some(match self {
            Set::IntSet(ints) => Sds::new(ints.remove(pos).to_string().as_bytes()),
            Set::Table(table) => table.remove_at(pos).0,
        })
    }

    /// Every member, in the encoding's order (numeric for an intset).
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> {
        (0..self.len()).map(|pos| self.member_at(pos))
    }

    /// The encoding's name, as `OBJECT ENCODING` says it (which this
    /// server does not implement; the tests check the conversions with it).
    #[cfg(test)]
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::IntSet(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// Intset → table with room for `extra` more members, keeping the
    /// numeric order (mirror of `setTypeConvert`).
    fn convert(&mut self, extra: usize) {
        if let Set::IntSet(ints) = self {
            let mut table = DenseMap::with_capacity(ints.len() + extra);
            for n in ints.iter() {
                table.push_new(Sds::new(n.to_string().as_bytes()), ());
            }
            *self = Set::Table(table);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &Set) -> Vec<String> {
        s.iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .collect()
    }

    #[test]
    fn integers_stay_sorted_in_an_intset() {
        let mut s = Set::create_for(b"3");
        for m in ["3", "1", "2", "-5", "2"] {
            s.add(m.as_bytes());
        }
        assert_eq!(members(&s), ["-5", "1", "2", "3"]);
        assert_eq!(s.encoding(), "intset");
        assert!(s.contains(b"2") && !s.contains(b"02") && !s.contains(b"x"));
        assert!(s.remove(b"1") && !s.remove(b"1") && !s.remove(b"x"));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn a_non_canonical_integer_converts() {
        let mut s = Set::create_for(b"1");
        s.add(b"2");
        s.add(b"1");
        assert!(s.add(b"01"));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(members(&s), ["1", "2", "01"]);
        assert!(s.contains(b"01") && s.contains(b"1"));
        assert_eq!(Set::create_for(b"a").encoding(), "hashtable");
    }

    #[test]
    fn converts_past_the_entry_limit() {
        let mut s = Set::create_for(b"0");
        for i in 0..SET_MAX_INTSET_ENTRIES as i64 {
            s.add(i.to_string().as_bytes());
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"100000");
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), SET_MAX_INTSET_ENTRIES + 1);
    }

    #[test]
    fn random_picks_cover_every_member() {
        let mut s = Set::create_for(b"a");
        for m in ["a", "b", "c"] {
            s.add(m.as_bytes());
        }
        let seen: std::collections::HashSet<Vec<u8>> = (0..30)
            .filter_map(|r| s.random_member(r).map(|m| m.to_vec()))
            .collect();
        assert_eq!(seen.len(), 3);
        let mut popped = Vec::new();
        while let Some(m) = s.pop_random(7) {
            popped.push(m.to_vec());
        }
        popped.sort();
        assert_eq!(popped, [b"a", b"b", b"c"]);
        assert!(s.random_member(1).is_none());
    }
}

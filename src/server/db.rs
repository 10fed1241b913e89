//! The keyspaces (`SELECT 0..15`) with expiry: lazy on access, active in a cycle.
//!
//! Placeholder shape; the keyspace work fills this in.

/// One database: the mirror of Redis's `redisDb` (a dict of keys and a dict of expire times).
#[derive(Default)]
pub struct Db {
    pub id: usize,
}

impl Db {
    pub fn new(id: usize) -> Self {
        Db { id }
    }

    /// Number of keys (`DBSIZE`).
    pub fn size(&self) -> usize {
        0
    }
}

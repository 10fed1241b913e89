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

    /// Number of keys with a time to live (`expires=` in `INFO keyspace`).
    pub fn expires_len(&self) -> usize {
        0
    }

    /// Average TTL in ms of keys with an expire, as estimated by the active
    /// expire cycle (`avg_ttl=` in `INFO keyspace`).
    pub fn avg_ttl(&self) -> u64 {
        0
    }

    /// Removes every key (`FLUSHDB`); returns how many there were.
    pub fn clear(&mut self) -> usize {
        0
    }
}

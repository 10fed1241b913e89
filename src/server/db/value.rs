//! [`Value`]: what a key holds, the mirror of Redis's `robj` with its `type`.
//!
//! Redis wraps every value in a `robj` that records its type (string, list,
//! set, hash, …) and encoding. Here the type is the enum variant. A command
//! that expects one type and finds another replies with the `WRONGTYPE`
//! error, like Redis's `checkType`.
//!
//! Strings are stored inline in the enum, since they are most of the data.
//! The collection types are boxed, so a `Value` stays 24 bytes whatever it
//! holds:
//!
//! - a list is a `VecDeque`, a ring buffer: O(1) pushes and pops at both
//!   ends and O(1) indexing, which covers what Redis's quicklist is for;
//! - a hash is a [`Hash`], a small listpack or a table, as in Redis;
//! - a set is a [`Set`], an intset or a table, as in Redis 7.0.

use std::collections::VecDeque;

use super::hash::Hash;
use super::sds::Sds;
use super::set::Set;

/// The error every command replies when a key holds another type
/// (Redis's `shared.wrongtypeerr`).
pub const WRONGTYPE_ERR: &str =
    "-WRONGTYPE Operation against a key holding the wrong kind of value";

/// The value stored under a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(Sds),
    List(Box<VecDeque<Sds>>),
    Hash(Box<Hash>),
    Set(Box<Set>),
}

impl Value {
    /// A string value holding a copy of `bytes`.
    pub fn string(bytes: &[u8]) -> Self {
        Value::String(Sds::new(bytes))
    }

    /// The name `TYPE` replies and `SCAN … TYPE` filters on.
    ///
    /// Mirror of `getObjectTypeName` (db.c) for a value that exists.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
        }
    }
}

/// The type name of a lookup result: `"none"` when there is no value.
///
/// Mirror of `getObjectTypeName` (db.c), which maps a missing key to `none`.
pub fn type_name_of(value: Option<&Value>) -> &'static str {
    value.map_or("none", Value::type_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_as_small_as_its_string() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn type_names_match_redis() {
        assert_eq!(type_name_of(Some(&Value::string(b"x"))), "string");
        assert_eq!(type_name_of(Some(&Value::List(Box::default()))), "list");
        assert_eq!(type_name_of(Some(&Value::Hash(Box::default()))), "hash");
        assert_eq!(
            type_name_of(Some(&Value::Set(Box::new(Set::create_for(b"1"))))),
            "set"
        );
        assert_eq!(type_name_of(None), "none");
    }
}

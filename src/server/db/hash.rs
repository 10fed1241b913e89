//! [`Hash`]: the value of a hash key, with Redis's two encodings (the
//! mirror of the `hashType*` functions of `t_hash.c`).
//!
//! Most hashes are small — an object with a handful of short fields — and
//! for those a hash table is wasted memory: an index slot per field, a
//! pointer per string. Redis keeps a small hash as a *listpack*, one flat
//! array of field, value, field, value…, searched from the start, and
//! converts it to a real hash table for good once it has more than 128
//! fields or any field or value longer than 64 bytes. Both limits are
//! Redis's defaults (`hash-max-listpack-entries`, `hash-max-listpack-value`).
//!
//! We do the same, with a `Vec` of pairs as the listpack. The difference
//! shows in `HGETALL`: a listpack answers in insertion order, exactly as
//! Redis's does, which is what people compare; a converted hash answers in
//! table order, which nobody may rely on.

use super::dense::DenseMap;
use super::sds::Sds;

/// More fields than this and a listpack becomes a table (`hash-max-listpack-entries`).
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 128;
/// A field or value longer than this makes a listpack a table (`hash-max-listpack-value`).
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;

/// A hash value.
#[derive(Clone, Debug, PartialEq)]
pub enum Hash {
    /// Field/value pairs in insertion order, searched linearly.
    Listpack(Vec<(Sds, Sds)>),
    /// A hash table, once the hash outgrew the listpack.
    Table(DenseMap<Sds>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Vec::new())
    }
}

impl Hash {
    /// Number of fields (mirror of `hashTypeLength`).
    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(pairs) => pairs.len(),
            Hash::Table(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field` (mirror of `hashTypeGetValue`).
    pub fn get(&self, field: &[u8]) -> Option<&Sds> {
        match self {
            Hash::Listpack(pairs) => pairs.iter().find(|(f, _)| &**f == field).map(|(_, v)| v),
            Hash::Table(table) => table.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts a listpack to a table if any of `args` is too long to be
    /// stored in one, before those arguments are written (mirror of
    /// `hashTypeTryConversion`).
    pub fn try_conversion(&mut self, args: &[Vec<u8>]) {
        if matches!(self, Hash::Listpack(_))
            && args.iter().any(|a| a.len() > HASH_MAX_LISTPACK_VALUE)
        {
            self.convert();
        }
    }

    /// Sets `field` to `value`; true when the field is new (mirror of
    /// `hashTypeSet`). A listpack that grows past the entry limit becomes
    /// a table.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self {
            Hash::Listpack(pairs) => {
                if let Some((_, v)) = pairs.iter_mut().find(|(f, _)| &**f == field) {
                    *v = Sds::new(value);
                    return false;
                }
                pairs.push((Sds::new(field), Sds::new(value)));
                if pairs.len() > HASH_MAX_LISTPACK_ENTRIES {
                    self.convert();
                }
                true
            }
            Hash::Table(table) => table.insert(field, Sds::new(value)).is_none(),
        }
    }

    /// Removes `field`; true if it was there (mirror of `hashTypeDelete`).
    /// A listpack keeps the order of the fields that remain.
    pub fn delete(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(pairs) => match pairs.iter().position(|(f, _)| &**f == field) {
                Some(pos) => {
                    pairs.remove(pos);
                    true
                }
                None => false,
            },
            Hash::Table(table) => table.remove(field).is_some(),
        }
    }

    /// Every field and value, in the encoding's order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&Sds, &Sds)> + '_> {
        match self {
            Hash::Listpack(pairs) => Box::new(pairs.iter().map(|(f, v)| (f, v))),
            Hash::Table(table) => Box::new(table.iter()),
        }
    }

    /// The encoding's name, as `OBJECT ENCODING` says it (which this
    /// server does not implement; the tests check the conversions with it).
    #[cfg(test)]
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// Listpack → table, keeping the fields' order (mirror of `hashTypeConvert`).
    fn convert(&mut self) {
        if let Hash::Listpack(pairs) = self {
            let mut table = DenseMap::with_capacity(pairs.len());
            for (f, v) in std::mem::take(pairs) {
                table.push_new(f, v);
            }
            *self = Hash::Table(table);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(h: &Hash) -> Vec<Vec<u8>> {
        h.iter().map(|(f, _)| f.to_vec()).collect()
    }

    #[test]
    fn listpack_keeps_insertion_order_through_updates_and_deletes() {
        let mut h = Hash::default();
        assert!(h.set(b"a", b"1"));
        assert!(h.set(b"b", b"2"));
        assert!(h.set(b"c", b"3"));
        assert!(!h.set(b"a", b"10"));
        assert!(h.delete(b"b"));
        assert!(!h.delete(b"b"));
        assert_eq!(fields(&h), [b"a", b"c"]);
        assert_eq!(h.get(b"a").map(|v| v.to_vec()), Some(b"10".to_vec()));
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn converts_past_the_entry_limit() {
        let mut h = Hash::default();
        for i in 0..HASH_MAX_LISTPACK_ENTRIES {
            h.set(format!("f{i}").as_bytes(), b"v");
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"one-more", b"v");
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), HASH_MAX_LISTPACK_ENTRIES + 1);
        assert_eq!(fields(&h)[0], b"f0", "conversion keeps the order");
        assert!(h.contains(b"f127") && h.contains(b"one-more"));
    }

    #[test]
    fn long_arguments_convert_before_writing() {
        let mut h = Hash::default();
        h.try_conversion(&[b"f".to_vec(), vec![b'x'; HASH_MAX_LISTPACK_VALUE]]);
        assert_eq!(h.encoding(), "listpack");
        h.try_conversion(&[b"f".to_vec(), vec![b'x'; HASH_MAX_LISTPACK_VALUE + 1]]);
        assert_eq!(h.encoding(), "hashtable");
        assert!(h.is_empty());
    }
}

//! [`Sds`]: the byte string that keys and string values are made of, named
//! after Redis's "simple dynamic string".
//!
//! Most keys and values are short (`user:1000`, `42`, `OK`). Redis keeps a
//! short string in the same allocation as its object header (the "embstr"
//! encoding) to save a malloc per value. We go one step further: a string of
//! up to [`INLINE_CAP`] bytes lives *inside* the 24-byte `Sds` itself, with no
//! heap allocation at all. A million small keys then cost one `Vec` slot each
//! instead of a slot plus two tiny heap blocks, which is what lets a keyspace
//! stay as small as Redis's.
//!
//! Longer strings go to the heap, exactly sized. A string that is being
//! grown (`APPEND`, `SETRANGE`) switches to a growable buffer that doubles
//! its capacity, as `sdsMakeRoomFor` does, so a loop of appends stays linear.
//! Growing a short string that still fits inline keeps it inline.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Strings up to this many bytes are stored inline.
pub const INLINE_CAP: usize = 22;

/// A binary-safe byte string, compact when short.
#[derive(Clone)]
pub struct Sds(Repr);

#[derive(Clone)]
#[allow(
    clippy::box_collection,
    reason = "the box keeps Sds at 24 bytes; only grown strings pay for it"
)]
enum Repr {
    Inline {
        len: u8,
        buf: [u8; INLINE_CAP],
    },
    /// Exactly sized: the common case for values written once.
    Exact(Box<[u8]>),
    /// With spare capacity, once the string has been grown in place. Boxed
    /// so the `Vec` header does not make every `Sds` bigger.
    Growable(Box<Vec<u8>>),
}

impl Sds {
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..bytes.len()].copy_from_slice(bytes);
            Sds(Repr::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            Sds(Repr::Exact(bytes.into()))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Exact(b) => b,
            Repr::Growable(v) => v,
        }
    }

    /// Appends `tail` (mirror of `sdscatlen`).
    pub fn append(&mut self, tail: &[u8]) {
        self.set_range(self.len(), tail);
    }

    /// Writes `bytes` at `offset`, first padding with zero bytes up to
    /// `offset + bytes.len()` if the string is shorter (mirror of
    /// `sdsgrowzero` followed by a copy, as SETRANGE does). The caller keeps
    /// the sizes within `proto-max-bulk-len`.
    pub fn set_range(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset.saturating_add(bytes.len());
        if let Repr::Inline { len, buf } = &mut self.0
            && end <= INLINE_CAP
        {
            let old = usize::from(*len);
            if offset > old {
                buf[old..offset].fill(0);
            }
            buf[offset..end].copy_from_slice(bytes);
            *len = old.max(end) as u8;
            return;
        }
        let mut v = match std::mem::replace(&mut self.0, Repr::Exact(Box::default())) {
            Repr::Growable(v) => v,
            other => {
                let old = Sds(other);
                let mut v = Vec::with_capacity(end.max(old.len()));
                v.extend_from_slice(old.as_bytes());
                Box::new(v)
            }
        };
        if v.len() < end {
            // `resize` grows the capacity geometrically, like sdsMakeRoomFor.
            v.resize(end, 0);
        }
        v[offset..end].copy_from_slice(bytes);
        self.0 = Repr::Growable(v);
    }
}

impl Deref for Sds {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Sds {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<&[u8]> for Sds {
    fn from(bytes: &[u8]) -> Self {
        Sds::new(bytes)
    }
}

impl PartialEq for Sds {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Sds {}

impl Hash for Sds {
    /// Hashes exactly like the `[u8]` it holds, so maps keyed by `Sds` can be
    /// queried with a plain byte slice.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for Sds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_24_bytes() {
        assert_eq!(std::mem::size_of::<Sds>(), 24);
    }

    #[test]
    fn short_and_long_strings_round_trip() {
        for len in [0, 1, INLINE_CAP, INLINE_CAP + 1, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(Sds::new(&bytes).as_bytes(), &bytes[..]);
        }
    }

    #[test]
    fn append_grows_across_representations() {
        let mut s = Sds::new(b"hello");
        s.append(b" world");
        assert_eq!(&*s, b"hello world");
        for _ in 0..100 {
            s.append(b"!");
        }
        assert_eq!(s.len(), 111);
        assert!(s.ends_with(b"!!!"));
    }

    #[test]
    fn set_range_pads_with_zeros() {
        let mut s = Sds::new(b"");
        s.set_range(3, b"ab");
        assert_eq!(&*s, b"\0\0\0ab");
        s.set_range(0, b"x");
        assert_eq!(&*s, b"x\0\0ab");
        s.set_range(30, b"z");
        assert_eq!(s.len(), 31);
        assert_eq!(&s[..5], b"x\0\0ab");
        assert_eq!(s[30], b'z');
        let mut long = Sds::new(&[b'a'; 40]);
        long.set_range(1, b"bc");
        assert_eq!(&long[..4], b"abca");
    }
}

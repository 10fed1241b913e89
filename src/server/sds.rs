//! How a query buffer grows: the mirror of sds.c's `sdsMakeRoomFor` and
//! `sdsMakeRoomForNonGreedy`, on a `Vec<u8>` whose capacity plays the part
//! of the sds string's `alloc`.
//!
//! The figures matter because `readQueryFromClient` asks the kernel for as
//! much as the buffer has room for once it has grown: the free space of the
//! buffer *is* the read size. An sds string is a header (3, 5, 9 or 17 bytes,
//! by how long the string may get), the bytes, and a NUL; Redis asks zmalloc
//! for all three and keeps whatever the allocator's size class adds as free
//! space. We compute that class ([`zmalloc::usable_size`], jemalloc's rule)
//! rather than ask the system allocator, so a fresh buffer that makes room
//! for 16 KiB ends with 20,474 bytes of room, as redis-server's does.
//!
//! Greedy growth (`sdsMakeRoomFor`) doubles the needed length below 1 MiB
//! and adds 1 MiB above it, so a growing buffer is not reallocated on every
//! read; the non-greedy form asks for just what is needed.

use std::collections::TryReserveError;

use super::zmalloc;

/// Above this length greedy growth adds this much instead of doubling
/// (Redis's `SDS_MAX_PREALLOC`).
const SDS_MAX_PREALLOC: usize = 1024 * 1024;

/// The header size and the longest length of the sds type Redis picks for a
/// string of `len` bytes that will be appended to (`sdsReqType`, where
/// growing strings never use the 1-byte type 5, which cannot hold free space).
fn header(len: usize) -> (usize, usize) {
    if len < 1 << 8 {
        (3, u8::MAX as usize)
    } else if len < 1 << 16 {
        (5, u16::MAX as usize)
    } else if len < 1 << 32 {
        (9, u32::MAX as usize)
    } else {
        (17, usize::MAX)
    }
}

/// Makes room for `addlen` more bytes, reserving extra as greedy growth does
/// (mirror of `sdsMakeRoomFor`).
pub fn make_room_for(buf: &mut Vec<u8>, addlen: usize) -> Result<(), TryReserveError> {
    grow(buf, addlen, true)
}

/// Makes room for exactly `addlen` more bytes, up to the allocator's class
/// (mirror of `sdsMakeRoomForNonGreedy`).
pub fn make_room_for_non_greedy(buf: &mut Vec<u8>, addlen: usize) -> Result<(), TryReserveError> {
    grow(buf, addlen, false)
}

/// The body both share, as in sds.c (`_sdsMakeRoomFor`). Where Redis's
/// zmalloc would abort the server when memory runs out, this reports it, so
/// a client announcing a huge argument cannot bring the server down.
fn grow(buf: &mut Vec<u8>, addlen: usize, greedy: bool) -> Result<(), TryReserveError> {
    let len = buf.len();
    if buf.capacity() - len >= addlen {
        return Ok(());
    }
    let mut newlen = len.saturating_add(addlen);
    if greedy {
        newlen = if newlen < SDS_MAX_PREALLOC {
            newlen * 2
        } else {
            newlen.saturating_add(SDS_MAX_PREALLOC)
        };
    }
    let (hdr, max) = header(newlen);
    let asked = newlen.saturating_add(hdr + 1);
    let alloc = (zmalloc::usable_size(asked).saturating_sub(hdr + 1)).clamp(newlen, max);
    buf.try_reserve_exact(alloc - len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_buffer_gets_16_kib_and_the_rest_of_its_20_kib_class() {
        let mut buf = Vec::new();
        make_room_for_non_greedy(&mut buf, 16 * 1024).unwrap();
        assert_eq!(buf.capacity(), 20474);
        // Room already there: nothing changes, so Redis reads all 20,474.
        make_room_for(&mut buf, 16 * 1024).unwrap();
        assert_eq!(buf.capacity(), 20474);
    }

    #[test]
    fn greedy_growth_doubles_below_a_mebibyte() {
        let mut buf = vec![0; 10_000];
        make_room_for(&mut buf, 16 * 1024).unwrap();
        // 26,384 bytes doubled, the sds16 header and the NUL: the 57,344-byte class.
        assert_eq!(buf.capacity(), 57344 - 6);
        let mut big = vec![0; SDS_MAX_PREALLOC];
        make_room_for(&mut big, 1).unwrap();
        let newlen = SDS_MAX_PREALLOC + 1 + SDS_MAX_PREALLOC;
        assert_eq!(big.capacity(), zmalloc::usable_size(newlen + 10) - 10);
    }

    #[test]
    fn non_greedy_room_for_a_big_argument() {
        // A 100,000-byte value with 16,353 bytes of it read: the rest is asked.
        let mut buf = vec![0; 16353];
        make_room_for_non_greedy(&mut buf, 83649).unwrap();
        assert_eq!(buf.capacity(), zmalloc::usable_size(100_002 + 10) - 10);
    }

    #[test]
    fn small_types_never_claim_more_than_their_length_field_holds() {
        let mut buf = Vec::new();
        make_room_for_non_greedy(&mut buf, 250).unwrap();
        // 250 + 3 + 1 bytes get a 256-byte block, and sds8 holds at most 255.
        assert_eq!(buf.capacity(), 252);
        let mut buf = Vec::new();
        make_room_for_non_greedy(&mut buf, 255).unwrap();
        assert_eq!(buf.capacity(), 255);
    }

    #[test]
    fn an_impossible_size_is_refused_not_a_panic() {
        let mut buf = vec![0; 10];
        assert!(make_room_for_non_greedy(&mut buf, usize::MAX - 5).is_err());
        assert!(make_room_for(&mut buf, 1 << 62).is_err());
        assert_eq!(buf.len(), 10);
    }
}

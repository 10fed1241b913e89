//! Parsing numbers out of request arguments, with Redis's exact rules.
//!
//! Redis is strict about integers: `string2ll` accepts only the canonical
//! decimal form, so `+1`, `01`, `-0`, ` 1` and `1 ` are all "not an integer".
//! The same function decides whether a stored string can be `INCR`ed. SCAN
//! cursors are the exception: they go through C's `strtoul`, which is much
//! more forgiving (a sign, leading zeros, even an empty string are fine).

use super::{c_str_prefix, is_c_space};

/// The reply when an argument (or a stored value) is not a 64-bit integer.
pub const ERR_NOT_INTEGER: &str = "value is not an integer or out of range";
/// The reply when an argument (or a stored value) is not a `long double`.
pub const ERR_NOT_FLOAT: &str = "value is not a valid float";

/// Redis's `LONG_STR_SIZE`: room for the longest `long long` plus its NUL.
/// Longer strings are rejected without looking at them.
const LONG_STR_SIZE: usize = 21;

/// Parses a canonical decimal `i64`: an optional `-`, then digits without a
/// leading zero (except `0` itself), nothing else, no overflow.
///
/// Mirror of `string2ll` (util.c).
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        // `i64::MIN` has no positive twin, so go through the unsigned value.
        (v <= i64::MIN.unsigned_abs()).then(|| 0i64.wrapping_sub_unsigned(v))
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a SCAN cursor the way C's `strtoul(s, &end, 10)` does, plus the
/// checks Redis adds: no leading blank, every byte consumed, no overflow.
/// A sign is allowed (`-1` wraps to `u64::MAX`, as in C) and an empty string
/// is cursor 0.
///
/// Mirror of `parseScanCursorOrReply` (db.c), without the reply.
pub fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    let s = c_str_prefix(arg, usize::MAX);
    let Some(&first) = s.first() else {
        // strtoul converts nothing and leaves `end` on the terminating NUL.
        return Some(0);
    };
    if is_c_space(first) {
        return None;
    }
    let (negative, digits) = match first {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_accepts_only_canonical_integers() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"10"), Some(10));
        assert_eq!(string2ll(b"-10"), Some(-10));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b"00",
            b" 1",
            b"1 ",
            b"1.0",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
            b"1\x002",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn scan_cursor_follows_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+0"), Some(0));
        assert_eq!(parse_scan_cursor(b"007"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"12\0junk"), Some(12));
        for bad in [
            &b"18446744073709551616"[..],
            b" 0",
            b"abc",
            b"1a",
            b"+",
            b"-",
            b"0x10",
        ] {
            assert_eq!(
                parse_scan_cursor(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

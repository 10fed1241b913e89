//! Small parsing and matching helpers shared by the commands: the mirror of the
//! parts of Redis's `util.c` that replies depend on.
//!
//! They matter because users compare our replies byte for byte with Redis's:
//! Redis refuses `+5`, ` 5` and `05` as integers, accepts `1gb` where a memory
//! size is expected, and matches `CONFIG GET *max*` with its own glob rules. A
//! "close enough" parser would accept or refuse different inputs, so each
//! helper here follows the exact rules of the Redis function it names.

/// Parses a whole byte string as a signed 64-bit integer, strictly: an optional
/// `-`, then digits with no leading zero (except `0` itself), nothing else. No
/// spaces, no `+`, no `-0`, no overflow.
///
/// Mirror of `string2ll` (util.c), which every "is this an integer?" check in
/// Redis goes through (`getLongLongFromObject`).
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some(_) => (false, s),
        None => return None,
    };
    // The first digit must be 1..=9: this refuses "", "-", "05" and "-0".
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // The magnitude of i64::MIN is one more than i64::MAX.
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i128).wrapping_neg() as i64)
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a memory size such as `100`, `1k`, `5mb` or `2GB`: digits followed by
/// an optional unit, `b`, `k` (1000), `kb` (1024), `m`, `mb`, `g`, `gb`,
/// case-insensitively. A leading `-` or an unknown unit is an error.
///
/// Mirror of `memtoull` (util.c), which `CONFIG SET` uses for memory
/// parameters. Like it, digits beyond the range of u64 saturate and the
/// multiplication by the unit wraps, so absurd sizes come out as some number
/// that the caller's range check then refuses.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let ndigits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (digits, unit) = s.split_at(ndigits);
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first and gives up on longer ones.
    if digits.len() >= 128 {
        return None;
    }
    let value = digits.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(value.wrapping_mul(mul))
}

/// Parses the longest prefix of `s` that is a floating point number, after
/// optional leading white space, and returns 0.0 when there is none: C's
/// `strtod`, which Redis calls directly where it is lenient (`DEBUG SLEEP`).
/// Hex floats, `inf` and `nan` are accepted, as C accepts them.
pub fn strtod_prefix(s: &[u8]) -> f64 {
    // strtod reads a C string: it stops at the first NUL.
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let Ok(cstr) = std::ffi::CString::new(&s[..end]) else {
        return 0.0;
    };
    // SAFETY: `cstr` is a valid NUL-terminated string that outlives the call,
    // and a null end pointer is allowed.
    unsafe { libc::strtod(cstr.as_ptr(), std::ptr::null_mut()) }
}

/// Redis's limit on how many `*` a glob pattern may nest before matching gives
/// up, which keeps abusive patterns from running for ever.
const MAX_GLOB_STARS: usize = 1000;

/// Glob-style matching: `*` matches any run of bytes, `?` any one byte,
/// `[abc]`, `[a-z]` and `[^...]` a class of bytes, and `\` escapes the next
/// byte. With `nocase`, ASCII letters match either case.
///
/// Mirror of `stringmatchlen` (util.c), used by `KEYS`, `CONFIG GET` and
/// `COMMAND LIST FILTERBY PATTERN`. Redis tries every split at each `*` by
/// recursion; this version keeps only the position of the last `*` and
/// retries from there, which accepts exactly the same strings without the
/// exponential cost. Two Redis quirks are kept on purpose: an empty string
/// matches only an empty pattern (even `*` does not match it), and a pattern
/// with more than 1000 stars matches nothing.
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0usize, 0usize);
    // Where to resume after a failed match: the pattern just past the last
    // `*`, and the next string position that star should swallow.
    let mut resume: Option<(usize, usize)> = None;
    if star_groups_before_end(pattern) > MAX_GLOB_STARS {
        return false;
    }
    while s < string.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            resume = Some((p, s + 1));
            continue;
        }
        let step = match_one(pattern, p, string[s], nocase);
        match step {
            Some(next_p) => {
                p = next_p;
                s += 1;
            }
            None => match resume {
                Some((rp, rs)) if rs < string.len() => {
                    p = rp;
                    s = rs;
                    resume = Some((rp, rs + 1));
                }
                _ => return false,
            },
        }
    }
    // The string is used up: only stars may be left in the pattern.
    pattern[p.min(pattern.len())..].iter().all(|&b| b == b'*')
}

/// Counts the runs of `*` that are followed by more pattern. Redis recurses
/// once per such run, and gives up past [`MAX_GLOB_STARS`] levels; a match has
/// to pass every one of them, so the count alone decides that limit.
fn star_groups_before_end(pattern: &[u8]) -> usize {
    let mut groups = 0;
    let mut i = 0;
    while i < pattern.len() {
        if pattern[i] == b'*' {
            while i < pattern.len() && pattern[i] == b'*' {
                i += 1;
            }
            if i < pattern.len() {
                groups += 1;
            }
        } else {
            i = token_end(pattern, i);
        }
    }
    groups
}

/// The index just past the non-star token at `p`: an escaped byte, a whole
/// `[...]` class (scanned with the same steps as [`match_class`]), or one byte.
fn token_end(pattern: &[u8], p: usize) -> usize {
    match pattern[p] {
        b'\\' if p + 1 < pattern.len() => p + 2,
        b'[' => {
            let mut q = p + 1;
            if pattern.get(q) == Some(&b'^') {
                q += 1;
            }
            while q < pattern.len() && pattern[q] != b']' {
                q += if pattern[q] == b'\\' && q + 1 < pattern.len() {
                    2
                } else if q + 2 < pattern.len() && pattern[q + 1] == b'-' {
                    3
                } else {
                    1
                };
            }
            (q + 1).min(pattern.len())
        }
        _ => p + 1,
    }
}

/// Matches one byte `c` against the pattern token at `p` (not a `*`) and
/// returns the index just past the token, or `None` if it does not match.
fn match_one(pattern: &[u8], p: usize, c: u8, nocase: bool) -> Option<usize> {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let &tok = pattern.get(p)?;
    match tok {
        b'?' => Some(p + 1),
        b'[' => match_class(pattern, p + 1, c, nocase),
        b'\\' if p + 1 < pattern.len() => eq(pattern[p + 1], c).then_some(p + 2),
        _ => eq(tok, c).then_some(p + 1),
    }
}

/// Matches `c` against a `[...]` class whose body starts at `p`; returns the
/// index just past the closing `]`. An unclosed class runs to the end of the
/// pattern, as in Redis.
fn match_class(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> Option<usize> {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            matched |= pattern[p + 1] == c;
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' {
            let (a, b) = (fold(pattern[p]), fold(pattern[p + 2]));
            let x = fold(c);
            matched |= a.min(b) <= x && x <= a.max(b);
            p += 3;
        } else {
            matched |= fold(pattern[p]) == fold(c);
            p += 1;
        }
    }
    // Step over the `]` when there is one.
    let next = (p + 1).min(pattern.len());
    (matched != negate).then_some(next)
}

/// Formats a byte count the way `INFO` shows it: `512B`, `1.21M`, `23.54G`
/// (mirror of `bytesToHuman`, server.c).
pub fn bytes_to_human(n: u64) -> String {
    let mut scale = 1u64;
    for unit in ["K", "M", "G", "T", "P"] {
        // The unit fits when n is below 1024 of it; `scale` is one of the previous unit.
        let (Some(unit_size), Some(limit)) =
            (scale.checked_mul(1024), scale.checked_mul(1024 * 1024))
        else {
            break;
        };
        if n < unit_size {
            break;
        }
        if n < limit {
            return format!("{:.2}{unit}", n as f64 / unit_size as f64);
        }
        scale = unit_size;
    }
    // Below 1K, and (as in Redis) beyond the petabytes, the plain byte count.
    format!("{n}B")
}

/// The first `max` bytes of `s`, stopping at a NUL byte: what C's `%.128s`
/// prints of a Redis string, used to quote user input inside error messages.
pub fn c_str_prefix(s: &[u8], max: usize) -> &[u8] {
    let end = s
        .iter()
        .take(max)
        .position(|&b| b == 0)
        .unwrap_or(s.len().min(max));
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_is_strict_like_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"05",
            b"-0",
            b"+5",
            b" 5",
            b"5 ",
            b"1.5",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn memtoull_units() {
        assert_eq!(memtoull(b"2mb"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"1G"), Some(1_000_000_000));
        assert_eq!(memtoull(b"1gb"), Some(1 << 30));
        assert_eq!(memtoull(b"1048576B"), Some(1_048_576));
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"1.5m"), None);
        assert_eq!(memtoull(b"2t"), None);
        assert_eq!(memtoull(b"abc"), None);
        assert_eq!(memtoull(b"99999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn strtod_reads_a_prefix_like_c() {
        assert_eq!(strtod_prefix(b"0.25"), 0.25);
        assert_eq!(strtod_prefix(b" 1"), 1.0);
        assert_eq!(strtod_prefix(b"1.5abc"), 1.5);
        assert_eq!(strtod_prefix(b"0x10"), 16.0);
        assert_eq!(strtod_prefix(b"x"), 0.0);
        assert_eq!(strtod_prefix(b"1e-2"), 0.01);
        assert_eq!(strtod_prefix(b"2\x003"), 2.0);
        assert!(strtod_prefix(b"inf").is_infinite());
    }

    #[test]
    fn glob_matching() {
        let m = |p: &str, s: &str| string_match(p.as_bytes(), s.as_bytes(), false);
        assert!(m("*", "anything"));
        assert!(!m("*", ""));
        assert!(m("", ""));
        assert!(m("h?", "hz"));
        assert!(m("[h]z", "hz"));
        assert!(m("*max*len*", "proto-max-bulk-len"));
        assert!(!m("*max*len*", "maxclients"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("[a-c]x", "bx"));
        assert!(m("[c-a]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\", "a\\"));
        assert!(m("[abc", "b"));
        assert!(m("x*", "x"));
        assert!(m("*x*", "x"));
        assert!(!m("?", ""));
        assert!(string_match(b"P*RT", b"port", true));
        assert!(!string_match(b"P*RT", b"port", false));
        assert!(string_match(b"[A-Z]", b"q", true));
        // Exponential patterns for a naive matcher stay fast here.
        assert!(!m(&format!("{}b", "a*".repeat(100)), &"a".repeat(5000)));
        // 1001 stars followed by more pattern is one level too deep for Redis;
        // a trailing star needs no level of its own.
        let long = "a".repeat(MAX_GLOB_STARS + 5);
        assert!(!m(&"a*".repeat(MAX_GLOB_STARS + 2), &long));
        assert!(m(&"a*".repeat(MAX_GLOB_STARS + 1), &long));
        // Escaped or bracketed stars are plain bytes, not stars.
        let escaped = format!("{}a", "\\*".repeat(MAX_GLOB_STARS + 1));
        assert!(m(&escaped, &format!("{}a", "*".repeat(MAX_GLOB_STARS + 1))));
        assert!(m(&"a*".repeat(10), &"a".repeat(20)));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(200), "200B");
        assert_eq!(bytes_to_human(32768), "32.00K");
        assert_eq!(bytes_to_human(1264504), "1.21M");
        assert_eq!(bytes_to_human(25276510208), "23.54G");
    }

    #[test]
    fn c_str_prefix_stops_at_nul_and_limit() {
        assert_eq!(c_str_prefix(b"fo\0o", 128), b"fo");
        assert_eq!(c_str_prefix(b"abcdef", 3), b"abc");
        assert_eq!(c_str_prefix(b"ab", 3), b"ab");
    }
}

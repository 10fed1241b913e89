//! Small parsing and matching helpers shared by the commands: the mirror of the
//! parts of Redis's `util.c` that replies depend on.
//!
//! They matter because users compare our replies byte for byte with Redis's:
//! Redis refuses `+5`, ` 5` and `05` as integers, accepts `1gb` where a memory
//! size is expected, and matches `CONFIG GET *max*` with its own glob rules. A
//! "close enough" parser would accept or refuse different inputs, so each
//! helper here follows the exact rules of the Redis function it names.
//!
//! The larger helpers have their own modules:
//! - [`glob`]: the glob matcher behind `KEYS`, `SCAN MATCH`, `CONFIG GET`.
//! - [`number`]: integers and SCAN cursors, parsed exactly like Redis does.
//! - [`long_double`]: the 80-bit `long double` arithmetic of `INCRBYFLOAT`.

mod bignum;
pub mod glob;
pub mod long_double;
pub mod number;
#[cfg(test)]
pub(crate) mod testkit;

pub use glob::string_match;
pub use number::string2ll;

/// True when `arg` names the option `name`, compared the way Redis's
/// `strcasecmp(arg, "name") == 0` compares them: ASCII case-insensitive, and
/// blind to anything after an embedded NUL (C string functions stop there,
/// so `"nx\0junk"` reads as `"nx"`).
pub fn arg_is(arg: &[u8], name: &str) -> bool {
    c_str_prefix(arg, usize::MAX).eq_ignore_ascii_case(name.as_bytes())
}

/// C's `isspace` in the "C" locale, which Redis uses to reject numbers with
/// leading blanks.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
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

/// C's `atoi`, which Redis calls where it reads a number without checking
/// it (`DEBUG SET-ACTIVE-EXPIRE`): leading white space and a sign are
/// allowed, the digits end at the first other byte, and no digits at all
/// read as 0 (so `x` is 0, `5abc` is 5).
pub fn atoi(s: &[u8]) -> i32 {
    // atoi reads a C string: it stops at the first NUL.
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let Ok(cstr) = std::ffi::CString::new(&s[..end]) else {
        return 0;
    };
    // SAFETY: `cstr` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::atoi(cstr.as_ptr()) }
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
        const MAX_GLOB_STARS: usize = 1000;
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
    fn arg_is_compares_like_strcasecmp() {
        assert!(arg_is(b"nX", "nx"));
        assert!(arg_is(b"NX\0garbage", "nx"));
        assert!(!arg_is(b"nxx", "nx"));
        assert!(!arg_is(b"n", "nx"));
        assert!(!arg_is(b"", "nx"));
    }

    #[test]
    fn c_str_prefix_stops_at_nul_and_limit() {
        assert_eq!(c_str_prefix(b"fo\0o", 128), b"fo");
        assert_eq!(c_str_prefix(b"abcdef", 3), b"abc");
        assert_eq!(c_str_prefix(b"ab", 3), b"ab");
    }
}

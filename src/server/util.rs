//! Small helpers that several command families share, the mirror of the
//! parts of Redis's `util.c` the commands lean on.
//!
//! Redis parses every number and every option word of a request itself, with
//! rules that are stricter (or sometimes looser) than Rust's `str::parse`: a
//! client that sends `+5` or `05` as an integer gets an error from Redis, and
//! so must get one from us. The rules live here once so that every family
//! (strings, keys, and later lists, hashes, sets, pub/sub) agrees on them.
//!
//! - [`glob`]: the glob matcher behind `KEYS`, `SCAN MATCH` and `PSUBSCRIBE`.
//! - [`number`]: integers and cursors, parsed exactly like Redis does.
//! - [`long_double`]: the 80-bit `long double` arithmetic of `INCRBYFLOAT`.

mod bignum;
pub mod glob;
pub mod long_double;
pub mod number;
#[cfg(test)]
pub(crate) mod testkit;

pub use glob::string_match;
pub use number::string2ll;

/// The bytes a C function would see: Redis hands its arguments to C string
/// functions (`strcasecmp`, `strtold`, `strtoul`), which stop at the first
/// NUL byte, so `"nx\0junk"` reads as `"nx"` to them.
pub fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    }
}

/// True when `arg` names the option `name`, compared the way Redis's
/// `strcasecmp(arg, "name") == 0` compares them: ASCII case-insensitive, and
/// blind to anything after an embedded NUL.
pub fn arg_is(arg: &[u8], name: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(name.as_bytes())
}

/// C's `isspace` in the "C" locale, which Redis uses to reject numbers with
/// leading blanks.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_is_compares_like_strcasecmp() {
        assert!(arg_is(b"nX", "nx"));
        assert!(arg_is(b"NX\0garbage", "nx"));
        assert!(!arg_is(b"nxx", "nx"));
        assert!(!arg_is(b"n", "nx"));
        assert!(!arg_is(b"", "nx"));
    }

    #[test]
    fn c_str_stops_at_nul() {
        assert_eq!(c_str(b"ab\0cd"), b"ab");
        assert_eq!(c_str(b"abcd"), b"abcd");
        assert_eq!(c_str(b"\0"), b"");
    }
}

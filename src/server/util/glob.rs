//! Glob-style matching of keys and channel names: `KEYS h?llo`,
//! `SCAN 0 MATCH user:*`, and later `PSUBSCRIBE news.*`.
//!
//! With `nocase` (what `CONFIG GET` uses) ASCII letters match either case.
//!
//! The pattern language is Redis's, not the shell's:
//! - `*` matches any run of bytes (also none), `?` exactly one byte;
//! - `[abc]` one of the listed bytes, `[^abc]` any other byte, `[a-z]` a range
//!   (given backwards, `[z-a]`, it is the same range), `\x` inside brackets a
//!   literal `x`;
//! - `\x` outside brackets matches `x` literally.
//!
//! Redis's matcher (`stringmatchlen`) has quirks that a client can observe,
//! and we keep them all:
//! - an unclosed `[` simply ends the class at the end of the pattern;
//! - range bounds compare as C's *signed* `char`, so a byte above `0x7f` is
//!   "smaller" than `a` (`[\xff-a]` does not match `\x80`);
//! - an empty string matches only the empty pattern, not even `*` (which is
//!   why `KEYS *` and `SCAN` treat a lone `*` as "everything" before matching);
//! - more than 1000 nested `*` retries give up and report "no match", the
//!   guard Redis added against patterns built to take forever or to overflow
//!   the stack.
//!
//! Bytes are bytes: matching never assumes UTF-8.

/// How deep `*` may recurse before the match is abandoned (Redis's limit).
const MAX_NESTING: u32 = 1000;

/// True when `string` matches the glob `pattern`; with `nocase`, ASCII
/// letters compare without case.
///
/// Mirror of `stringmatchlen` (util.c).
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut m = Matcher {
        nocase,
        skip_longer_matches: false,
    };
    m.match_from(pattern, string, 0)
}

/// The state shared by all recursion levels of one match.
struct Matcher {
    nocase: bool,
    /// Redis's shortcut for patterns like `*a*a*a*b`: once the tail after a
    /// `*` failed to match at *every* later position, no earlier `*` can help
    /// by swallowing more, so all levels give up at once.
    skip_longer_matches: bool,
}

impl Matcher {
    /// Byte equality, folding ASCII case when asked (C's `tolower` leaves
    /// bytes above 0x7f alone, and so does this).
    fn same(&self, a: u8, b: u8) -> bool {
        if self.nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    }

    /// One level of the matcher: consumes `pattern` and `string` together.
    ///
    /// Mirror of `stringmatchlen_impl` (util.c).
    fn match_from(&mut self, mut p: &[u8], mut s: &[u8], nesting: u32) -> bool {
        if nesting > MAX_NESTING {
            return false;
        }
        while let (Some(&pc), Some(&sc)) = (p.first(), s.first()) {
            match pc {
                b'*' => {
                    while p.get(1) == Some(&b'*') {
                        p = &p[1..];
                    }
                    if p.len() == 1 {
                        return true;
                    }
                    while !s.is_empty() {
                        if self.match_from(&p[1..], s, nesting + 1) {
                            return true;
                        }
                        if self.skip_longer_matches {
                            return false;
                        }
                        s = &s[1..];
                    }
                    self.skip_longer_matches = true;
                    return false;
                }
                b'?' => p = &p[1..],
                b'[' => {
                    let (matched, rest) = self.match_class(&p[1..], sc);
                    if !matched {
                        return false;
                    }
                    p = rest;
                }
                b'\\' if p.len() >= 2 => {
                    if !self.same(p[1], sc) {
                        return false;
                    }
                    p = &p[2..];
                }
                _ => {
                    if !self.same(pc, sc) {
                        return false;
                    }
                    p = &p[1..];
                }
            }
            s = &s[1..];
            if s.is_empty() {
                // Trailing stars match the empty rest of the string.
                while p.first() == Some(&b'*') {
                    p = &p[1..];
                }
                break;
            }
        }
        p.is_empty() && s.is_empty()
    }

    /// Matches one byte `c` against a bracket class. `p` starts just after
    /// the `[`; the result says whether `c` is in the class and returns the
    /// pattern after the class (after its `]`, or empty when unclosed).
    fn match_class<'p>(&self, mut p: &'p [u8], c: u8) -> (bool, &'p [u8]) {
        let negate = p.first() == Some(&b'^');
        if negate {
            p = &p[1..];
        }
        let mut matched = false;
        loop {
            match p {
                // An escaped byte inside a class compares exactly, even with nocase.
                [b'\\', escaped, ..] => {
                    matched |= *escaped == c;
                    p = &p[2..];
                }
                [b']', rest @ ..] => {
                    p = rest;
                    break;
                }
                [] => break,
                [start, b'-', end, rest @ ..] => {
                    // C compares these as signed chars; keep that, bug for bug.
                    let (mut lo, mut hi) = (*start as i8, *end as i8);
                    if lo > hi {
                        std::mem::swap(&mut lo, &mut hi);
                    }
                    let mut x = c as i8;
                    if self.nocase {
                        (lo, hi, x) = (to_lower(lo), to_lower(hi), to_lower(x));
                    }
                    matched |= (lo..=hi).contains(&x);
                    p = rest;
                }
                [literal, rest @ ..] => {
                    matched |= self.same(*literal, c);
                    p = rest;
                }
            }
        }
        (matched != negate, p)
    }
}

/// C's `tolower` on a signed char: only `A`..=`Z` change.
fn to_lower(c: i8) -> i8 {
    (c as u8).to_ascii_lowercase() as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        string_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn stars_and_question_marks() {
        // Redis's matcher never matches an empty string (KEYS * and SCAN
        // special-case the lone `*` instead): KEYS ** skips the key "".
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(!m("user:*:name", "user:42:age"));
        assert!(m("a**b", "axxb"));
        assert!(m("ab*", "ab"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m("a", ""));
    }

    #[test]
    fn classes_ranges_and_negation() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(
            m("h[b-a]llo", "hallo"),
            "a backwards range is the same range"
        );
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[\\]]", "]"));
        assert!(
            m("[a-]", "]"),
            "`]` ends the range, so the class is still open"
        );
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\a", "a"));
        assert!(
            !m("a\\", "a"),
            "a lone trailing backslash must match a backslash"
        );
        assert!(m("a\\", "a\\"));
    }

    #[test]
    fn unclosed_class_ends_at_the_end_of_the_pattern() {
        // Seen on redis-server 7.0.15: KEYS [a, KEYS aaa[a, KEYS aaa[^, KEYS aaa[\ and KEYS aaa[a- against the key "aaaa".
        assert!(!m("[a", "aaaa"));
        assert!(m("aaa[a", "aaaa"));
        assert!(
            m("aaa[^", "aaaa"),
            "an empty negated class matches anything"
        );
        assert!(!m("aaa[\\", "aaaa"));
        assert!(m("aaa[a-", "aaaa"));
    }

    #[test]
    fn range_bounds_are_signed_chars() {
        // 0xff is -1 as a signed char, so [\xff-a] spans -1..=97 and 0x80 (-128) is outside.
        assert!(!string_match(b"[\xff-a]", b"\x80", false));
        assert!(string_match(b"[\xff-a]", b"\xff", false));
        assert!(string_match(b"[\xff-a]", b"A", false));
        assert!(string_match(b"[a-\xff]*", b"aaaa", false));
    }

    #[test]
    fn nocase_folds_ascii_letters_only() {
        assert!(string_match(b"P*RT", b"port", true));
        assert!(!string_match(b"P*RT", b"port", false));
        assert!(string_match(b"[A-Z]", b"q", true));
        assert!(string_match(b"[q]", b"Q", true));
        assert!(
            !string_match(b"[\\q]", b"Q", true),
            "an escaped class byte compares exactly"
        );
        assert!(string_match(b"\\Q", b"q", true));
        assert!(!string_match(b"\xc9", b"\xe9", true));
    }

    #[test]
    fn nesting_limit_matches_redis() {
        // On redis-server 7.0.15 "a*" repeated 1001 times still matches 2000 a's, 1002 times does not.
        let key = vec![b'a'; 2000];
        assert!(string_match(&b"a*".repeat(1001), &key, false));
        assert!(!string_match(&b"a*".repeat(1002), &key, false));
    }

    #[test]
    fn pathological_pattern_finishes() {
        let key = vec![b'a'; 5000];
        let mut pattern = b"*a".repeat(40);
        pattern.push(b'b');
        assert!(!string_match(&pattern, &key, false));
    }
}

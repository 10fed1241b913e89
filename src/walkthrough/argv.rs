//! Turning a line typed at `redis-cli` into the arguments Redis receives.
//!
//! A chapter writes its action the way a learner would type it
//! (`SET greeting "hello world"`), so the guide can show the very line to
//! type. The built-in client must send exactly what `redis-cli` would send for
//! that line, so the line is split with `redis-cli`'s rules, which are Redis's
//! `sdssplitargs` (sds.c):
//!
//! - arguments are separated by spaces, tabs and newlines;
//! - `"double quotes"` allow spaces and the escapes `\n \r \t \b \a \\ \"`
//!   and `\xHH` (one byte in hex); any other escaped character stands for itself;
//! - `'single quotes'` are taken literally, except `\'` for a quote;
//! - a closing quote must be followed by a space or the end of the line, and a
//!   quote that is never closed is an error.
//!
//! Each argument is then sent as a RESP bulk string inside one multibulk
//! request ([`encode_request`]): what `redis-cli` puts on the wire.

use std::fmt;

/// Why a line could not be split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitError(pub &'static str);

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Splits `line` into arguments with `redis-cli`'s rules (mirror of
/// `sdssplitargs`, sds.c). An empty line gives no arguments.
pub fn split_args(line: &str) -> Result<Vec<Vec<u8>>, SplitError> {
    let bytes = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(|b| is_space(*b)) {
            i += 1;
        }
        if i >= bytes.len() {
            return Ok(args);
        }
        let mut arg = Vec::new();
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' => i = double_quoted(bytes, i + 1, &mut arg)?,
                b'\'' => i = single_quoted(bytes, i + 1, &mut arg)?,
                _ if is_space(b) => break,
                _ => {
                    arg.push(b);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
}

/// `sdssplitargs` treats these as separators (NUL included).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0)
}

/// Reads a double-quoted part starting after its opening quote; returns the
/// index after the closing quote.
fn double_quoted(bytes: &[u8], mut i: usize, arg: &mut Vec<u8>) -> Result<usize, SplitError> {
    loop {
        match bytes.get(i) {
            None => return Err(SplitError("unbalanced quotes")),
            Some(b'\\') => {
                let hex = (bytes.get(i + 1) == Some(&b'x'))
                    .then(|| {
                        Some((
                            hex_digit(*bytes.get(i + 2)?)?,
                            hex_digit(*bytes.get(i + 3)?)?,
                        ))
                    })
                    .flatten();
                if let Some((hi, lo)) = hex {
                    arg.push(hi * 16 + lo);
                    i += 4;
                    continue;
                }
                let Some(&c) = bytes.get(i + 1) else {
                    return Err(SplitError("unbalanced quotes"));
                };
                arg.push(match c {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                i += 2;
            }
            Some(b'"') => return after_closing_quote(bytes, i + 1),
            Some(&b) => {
                arg.push(b);
                i += 1;
            }
        }
    }
}

/// Reads a single-quoted part starting after its opening quote.
fn single_quoted(bytes: &[u8], mut i: usize, arg: &mut Vec<u8>) -> Result<usize, SplitError> {
    loop {
        match bytes.get(i) {
            None => return Err(SplitError("unbalanced quotes")),
            Some(b'\\') if bytes.get(i + 1) == Some(&b'\'') => {
                arg.push(b'\'');
                i += 2;
            }
            Some(b'\'') => return after_closing_quote(bytes, i + 1),
            Some(&b) => {
                arg.push(b);
                i += 1;
            }
        }
    }
}

/// A closing quote must end the argument.
fn after_closing_quote(bytes: &[u8], i: usize) -> Result<usize, SplitError> {
    match bytes.get(i) {
        Some(&b) if !is_space(b) => Err(SplitError(
            "a closing quote must be followed by a space or the end of the line",
        )),
        _ => Ok(i),
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Appends one RESP multibulk request for `argv` to `out`: `*<n>` then each
/// argument as `$<len>` and its bytes, every line ending in CRLF.
pub fn encode_request(argv: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for arg in argv {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes `argv` back as a line a learner can type: plain words as they are,
/// anything else in double quotes with escapes, so `split_args` of the result
/// gives `argv` again.
pub fn display_args(argv: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for (n, arg) in argv.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        let plain = !arg.is_empty()
            && arg
                .iter()
                .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
        if plain {
            out.extend(arg.iter().map(|&b| b as char));
            continue;
        }
        out.push('"');
        for &b in arg {
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<String> {
        split_args(line)
            .expect("splits")
            .into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect()
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(split("  SET  foo bar "), ["SET", "foo", "bar"]);
        assert_eq!(split(r#"SET k "hello world""#), ["SET", "k", "hello world"]);
        assert_eq!(split(r#"SET k 'it\'s'"#), ["SET", "k", "it's"]);
        assert_eq!(split(r#"ECHO "a\nb\x41\q""#), ["ECHO", "a\nbAq"]);
        // A quote in the middle of a word opens a quoted part, as in Redis.
        assert_eq!(split(r#"ECHO a"b c""#), ["ECHO", "ab c"]);
        assert_eq!(split(r#"ECHO """#), ["ECHO", ""]);
        assert!(split("").is_empty());
    }

    #[test]
    fn broken_quotes_are_errors() {
        assert!(split_args(r#"SET k "open"#).is_err());
        assert!(split_args("SET k 'open").is_err());
        assert!(split_args(r#"SET k "a"b"#).is_err());
        assert!(split_args(r#"SET k "ends with backslash\"#).is_err());
        // An incomplete hex escape is just an escaped `x`.
        assert_eq!(split(r#"ECHO "\x4""#), ["ECHO", "x4"]);
    }

    #[test]
    fn encodes_multibulk() {
        let mut out = Vec::new();
        encode_request(&[b"GET".to_vec(), b"foo".to_vec()], &mut out);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n");
    }

    #[test]
    fn display_round_trips() {
        let argv = vec![
            b"SET".to_vec(),
            b"a key".to_vec(),
            b"\x00\"\\\n".to_vec(),
            Vec::new(),
        ];
        let shown = display_args(&argv);
        assert_eq!(shown, r#"SET "a key" "\x00\"\\\n" """#);
        assert_eq!(split_args(&shown).expect("splits"), argv);
    }
}

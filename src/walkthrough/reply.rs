//! Reading the server's replies on the client side, and showing them the way
//! `redis-cli` does (`OK`, `(integer) 1`, `"bar"`, `(nil)`, `1) ...`).
//!
//! The built-in client needs this to know when the reply to an action is
//! complete (a reply may arrive in many pieces: a megabyte-long string comes
//! in many reads) and to show the learner what came back. Both RESP2 and the
//! RESP3 types (`HELLO 3`) are understood.

/// One reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
    /// RESP3 double, big number and verbatim text keep their text as sent.
    Double(String),
    BigNumber(String),
    Verbatim(Vec<u8>),
    Boolean(bool),
}

/// Aggregates nested deeper than this are refused rather than recursed into.
const MAX_DEPTH: usize = 64;

/// Parses one reply from the start of `buf`. `Ok(None)`: more bytes are
/// needed. `Ok(Some((reply, used)))`: a whole reply of `used` bytes. `Err`:
/// the bytes are not RESP (the connection cannot be trusted any more).
pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let mut pos = 0;
    Ok(parse_at(buf, &mut pos, 0)?.map(|r| (r, pos)))
}

/// The line at `buf[*pos..]` up to CRLF, advancing past it.
fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    rest.get(..end)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn number(bytes: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad number in reply: {:?}", text(bytes)))
}

fn parse_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Reply>, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".into());
    }
    let Some(&kind) = buf.get(*pos) else {
        return Ok(None);
    };
    *pos += 1;
    let Some(head) = line(buf, pos) else {
        return Ok(None);
    };
    let reply = match kind {
        b'+' => Reply::Status(text(head)),
        b'-' => Reply::Error(text(head)),
        b':' => Reply::Integer(number(head)?),
        b',' => Reply::Double(text(head)),
        b'(' => Reply::BigNumber(text(head)),
        b'#' => Reply::Boolean(head == b"t"),
        b'_' => Reply::Null,
        b'$' | b'=' | b'!' => {
            let len = number(head)?;
            if len < 0 {
                return Ok(Some(Reply::Null));
            }
            let len = usize::try_from(len).map_err(|e| e.to_string())?;
            let Some(end) = pos
                .checked_add(len)
                .filter(|e| e.saturating_add(2) <= buf.len())
            else {
                return Ok(None);
            };
            let body = buf[*pos..end].to_vec();
            if buf.get(end..end + 2) != Some(b"\r\n") {
                return Err("bulk string not followed by CRLF".into());
            }
            *pos = end + 2;
            match kind {
                b'$' => Reply::Bulk(body),
                b'=' => Reply::Verbatim(body.get(4..).unwrap_or_default().to_vec()),
                _ => Reply::Error(text(&body)),
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = number(head)?;
            if n < 0 {
                return Ok(Some(Reply::Null));
            }
            let items = if matches!(kind, b'%' | b'|') {
                n.saturating_mul(2)
            } else {
                n
            };
            let mut all = Vec::new();
            for _ in 0..items {
                match parse_at(buf, pos, depth + 1)? {
                    Some(r) => all.push(r),
                    None => return Ok(None),
                }
            }
            match kind {
                b'*' => Reply::Array(all),
                b'~' => Reply::Set(all),
                b'>' => Reply::Push(all),
                b'%' => Reply::Map(pairs(all)),
                // An attribute annotates the reply that follows it: show that one.
                _ => return parse_at(buf, pos, depth + 1),
            }
        }
        other => return Err(format!("unknown reply type byte 0x{other:02x}")),
    };
    Ok(Some(reply))
}

fn pairs(all: Vec<Reply>) -> Vec<(Reply, Reply)> {
    let mut it = all.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// Strings longer than this are summarised when shown.
const SHOW_BYTES: usize = 120;

/// `bytes` quoted and escaped as `redis-cli` shows a string (its
/// `sdscatrepr`); a string longer than [`SHOW_BYTES`] as its length and size
/// (`$33554432 bulk (32 MiB)`), since a screen of escapes says less.
fn quoted(bytes: &[u8]) -> String {
    if bytes.len() > SHOW_BYTES {
        let len = bytes.len() as u64;
        return format!("${len} bulk ({})", crate::trace::model::size_text(len));
    }
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// The reply as `redis-cli` prints it (aggregates one element per line).
pub fn render(reply: &Reply) -> String {
    let mut out = String::new();
    render_into(reply, "", &mut out);
    out
}

fn render_into(reply: &Reply, indent: &str, out: &mut String) {
    match reply {
        Reply::Status(s) => out.push_str(s),
        Reply::Error(e) => out.push_str(&format!("(error) {e}")),
        Reply::Integer(n) => out.push_str(&format!("(integer) {n}")),
        Reply::Bulk(b) => out.push_str(&quoted(b)),
        Reply::Verbatim(b) => out.push_str(&String::from_utf8_lossy(b)),
        Reply::Null => out.push_str("(nil)"),
        Reply::Double(d) => out.push_str(&format!("(double) {d}")),
        Reply::BigNumber(n) => out.push_str(&format!("(big number) {n}")),
        Reply::Boolean(b) => out.push_str(if *b { "(true)" } else { "(false)" }),
        Reply::Array(items) | Reply::Push(items) => list(items, ")", indent, out),
        Reply::Set(items) => list(items, "~", indent, out),
        Reply::Map(pairs) => {
            if pairs.is_empty() {
                out.push_str("(empty hash)");
            }
            for (i, (k, v)) in pairs.iter().enumerate() {
                let label = format!("{}# ", i + 1);
                if i > 0 {
                    out.push('\n');
                    out.push_str(indent);
                }
                out.push_str(&label);
                render_into(k, indent, out);
                out.push_str(" => ");
                render_into(v, &format!("{indent}{}", " ".repeat(label.len())), out);
            }
        }
    }
}

fn list(items: &[Reply], mark: &str, indent: &str, out: &mut String) {
    if items.is_empty() {
        out.push_str("(empty array)");
    }
    for (i, item) in items.iter().enumerate() {
        let label = format!("{}{mark} ", i + 1);
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(&label);
        render_into(item, &format!("{indent}{}", " ".repeat(label.len())), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Reply {
        let (r, used) = parse(bytes).expect("valid").expect("complete");
        assert_eq!(used, bytes.len());
        r
    }

    #[test]
    fn renders_like_redis_cli() {
        assert_eq!(render(&one(b"+OK\r\n")), "OK");
        assert_eq!(render(&one(b"-ERR nope\r\n")), "(error) ERR nope");
        assert_eq!(render(&one(b":42\r\n")), "(integer) 42");
        assert_eq!(render(&one(b"$3\r\nbar\r\n")), "\"bar\"");
        assert_eq!(render(&one(b"$-1\r\n")), "(nil)");
        assert_eq!(render(&one(b"*0\r\n")), "(empty array)");
        assert_eq!(
            render(&one(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n")),
            "1) \"a\"\n2) 1) (integer) 1"
        );
        assert_eq!(
            render(&one(b"%1\r\n$1\r\nk\r\n#t\r\n")),
            "1# \"k\" => (true)"
        );
        assert_eq!(render(&one(b"$2\r\n\x00\n\r\n")), "\"\\x00\\n\"");
        let big = format!("${}\r\n{}\r\n", 1000, "a".repeat(1000));
        assert_eq!(render(&one(big.as_bytes())), "$1000 bulk (1000 bytes)");
        let mut huge = b"$33554432\r\n".to_vec();
        huge.resize(huge.len() + 33_554_432, 0);
        huge.extend_from_slice(b"\r\n");
        assert_eq!(render(&one(&huge)), "$33554432 bulk (32 MiB)");
    }

    #[test]
    fn partial_replies_need_more() {
        let whole = b"*2\r\n$3\r\nfoo\r\n:7\r\n";
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse(whole).expect("ok").is_some());
    }

    /// Valid replies cut, spliced and flipped at random: the reader answers
    /// "need more", "here is one" or "not RESP", and never panics.
    #[test]
    fn mutated_replies_never_panic() {
        let mut rng = crate::walkthrough::testkit::Rng::new(11);
        let seeds: [&[u8]; 5] = [
            b"*3\r\n$3\r\nfoo\r\n:-12\r\n%1\r\n+k\r\n_\r\n",
            b"$5\r\nhello\r\n",
            b">2\r\n=8\r\ntxt:abcd\r\n,1.5\r\n",
            b"|1\r\n+a\r\n+b\r\n#f\r\n",
            b"-ERR x\r\n(123\r\n~0\r\n",
        ];
        let alphabet = b"*$%>|~:+-_#,(=!\r\n0123456789-x";
        for _ in 0..5000 {
            let mut bytes = rng.pick(&seeds).to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(3) {
                    0 => bytes.insert(at, rng.pick(alphabet)),
                    1 if at < bytes.len() => bytes[at] = rng.pick(alphabet),
                    _ => bytes.truncate(at),
                }
            }
            if let Ok(Some((reply, used))) = parse(&bytes) {
                assert!(used <= bytes.len());
                render(&reply);
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"?\r\n").is_err());
        assert!(parse(b":x\r\n").is_err());
        assert!(parse(b"$3\r\nabcd\r\n").is_err());
        assert!(parse(b"$99999999999999999999\r\n").is_err());
        assert_eq!(parse(b"$9223372036854775807\r\n"), Ok(None));
        let deep = "*1\r\n".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }
}

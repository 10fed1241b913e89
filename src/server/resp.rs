//! RESP, the Redis protocol: parsing requests and encoding replies.
//!
//! **Requests.** A client sends either a *multibulk* request
//! (`*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n`) or an *inline* one (`GET foo\r\n`, what
//! you type into `telnet`). Redis tells them apart by the first byte
//! (`processInputBuffer` in networking.c) and parses each incrementally, because a
//! request may arrive split across any number of reads. [`QueryParser`] keeps
//! that state between reads, like the `multibulklen` / `bulklen` fields of
//! Redis's client struct.
//!
//! **Replies.** Commands never write to the socket: they append encoded replies
//! to the client's reply buffer with the `add_reply_*` methods below, which
//! mirror Redis's `addReply*` family. Where RESP2 and RESP3 differ (nulls, maps,
//! sets, doubles, booleans, verbatim strings) the client's protocol version
//! (`HELLO 3`) decides the bytes.

use super::client::Client;

/// Incremental request parser state (mirror of the `reqtype`, `multibulklen`
/// and `bulklen` fields of Redis's client).
#[derive(Default, Debug)]
pub struct QueryParser {}

/// A request that breaks the protocol. `message` is the text after `-ERR `
/// (for example `Protocol error: invalid multibulk length`); the connection is
/// closed once the error reply is written, as `setProtocolError` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub message: String,
}

impl QueryParser {
    /// Parses the next request from `buf[*pos..]`.
    ///
    /// Returns `Ok(Some(argv))` for a complete request (advancing `*pos` past
    /// it; `argv` may be empty for an empty inline line, which Redis skips),
    /// `Ok(None)` when more bytes are needed, or the protocol error.
    pub fn parse(&mut self, buf: &[u8], pos: &mut usize) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let _ = (buf, pos);
        unimplemented!("the resp parser lands with the parser work")
    }
}

/// Formats a double the way C's `printf("%.17g")` does, which Redis uses for
/// double replies.
pub fn format_double_g17(d: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is large enough for any %.17g output and snprintf
    // always NUL-terminates within the given size.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), d) };
    String::from_utf8_lossy(&buf[..n.clamp(0, 63) as usize]).into_owned()
}

impl Client {
    fn push_len(&mut self, prefix: u8, len: i64) {
        self.reply.push(prefix);
        self.push_int(len);
        self.reply.extend_from_slice(b"\r\n");
    }

    fn push_int(&mut self, n: i64) {
        self.reply.extend_from_slice(itoa_buf(n).as_slice());
    }

    /// Appends bytes that are already RESP (mirror of `addReplyProto`).
    pub fn add_reply_proto(&mut self, bytes: &[u8]) {
        self.reply.extend_from_slice(bytes);
    }

    /// `+OK\r\n` (mirror of `addReply(c, shared.ok)`).
    pub fn add_reply_ok(&mut self) {
        self.reply.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply `+text\r\n` (mirror of `addReplyStatus`).
    pub fn add_reply_status(&mut self, text: &str) {
        self.reply.push(b'+');
        self.reply.extend_from_slice(text.as_bytes());
        self.reply.extend_from_slice(b"\r\n");
    }

    /// An error reply (mirror of `addReplyError`). Like Redis, a message that
    /// does not start with `-` gets the generic `-ERR ` code, and newlines in the
    /// message are turned into spaces so the reply stays one line.
    pub fn add_reply_error(&mut self, msg: &str) {
        if !msg.starts_with('-') {
            self.reply.extend_from_slice(b"-ERR ");
        }
        self.reply
            .extend(msg.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.reply.extend_from_slice(b"\r\n");
    }

    /// `-ERR wrong number of arguments for 'name' command` (mirror of `addReplyErrorArity`).
    pub fn add_reply_error_arity(&mut self, fullname: &str) {
        self.add_reply_error(&format!("wrong number of arguments for '{fullname}' command"));
    }

    /// A bulk string `$len\r\nbytes\r\n` (mirror of `addReplyBulkCBuffer`).
    pub fn add_reply_bulk(&mut self, bytes: &[u8]) {
        self.push_len(b'$', bytes.len() as i64);
        self.reply.extend_from_slice(bytes);
        self.reply.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n` (mirror of `addReplyBulkLongLong`).
    pub fn add_reply_bulk_long_long(&mut self, n: i64) {
        self.add_reply_bulk(n.to_string().as_bytes());
    }

    /// An integer reply `:n\r\n` (mirror of `addReplyLongLong`).
    pub fn add_reply_long_long(&mut self, n: i64) {
        self.push_len(b':', n);
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3 (mirror of `addReplyNull`).
    pub fn add_reply_null(&mut self) {
        if self.resp == 2 {
            self.reply.extend_from_slice(b"$-1\r\n");
        } else {
            self.reply.extend_from_slice(b"_\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3 (mirror of `addReplyNullArray`).
    pub fn add_reply_null_array(&mut self) {
        if self.resp == 2 {
            self.reply.extend_from_slice(b"*-1\r\n");
        } else {
            self.reply.extend_from_slice(b"_\r\n");
        }
    }

    /// The header of an array of `len` elements (mirror of `addReplyArrayLen`).
    pub fn add_reply_array_len(&mut self, len: usize) {
        self.push_len(b'*', len as i64);
    }

    /// The header of a map of `len` pairs: `%len` in RESP3, a flat array of
    /// `2*len` elements in RESP2 (mirror of `addReplyMapLen`).
    pub fn add_reply_map_len(&mut self, len: usize) {
        if self.resp == 2 {
            self.push_len(b'*', 2 * len as i64);
        } else {
            self.push_len(b'%', len as i64);
        }
    }

    /// The header of a set: `~len` in RESP3, an array in RESP2 (mirror of `addReplySetLen`).
    pub fn add_reply_set_len(&mut self, len: usize) {
        self.push_len(if self.resp == 2 { b'*' } else { b'~' }, len as i64);
    }

    /// The header of a push message: `>len` in RESP3, an array in RESP2 (mirror of `addReplyPushLen`).
    pub fn add_reply_push_len(&mut self, len: usize) {
        self.push_len(if self.resp == 2 { b'*' } else { b'>' }, len as i64);
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2 (mirror of `addReplyBool`).
    pub fn add_reply_bool(&mut self, b: bool) {
        if self.resp == 2 {
            self.add_reply_long_long(b as i64);
        } else {
            self.reply.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        }
    }

    /// A double: a bulk string in RESP2, `,` in RESP3, formatted like `%.17g`
    /// (mirror of `addReplyDouble`).
    pub fn add_reply_double(&mut self, d: f64) {
        let text = if d.is_infinite() {
            if d > 0.0 { "inf".to_string() } else { "-inf".to_string() }
        } else {
            format_double_g17(d)
        };
        if self.resp == 2 {
            self.add_reply_bulk(text.as_bytes());
        } else {
            self.reply.push(b',');
            self.reply.extend_from_slice(text.as_bytes());
            self.reply.extend_from_slice(b"\r\n");
        }
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2),
    /// used by `INFO`, `CLIENT LIST` and friends (mirror of `addReplyVerbatim`).
    pub fn add_reply_verbatim(&mut self, text: &[u8], ext: &str) {
        if self.resp == 2 {
            self.add_reply_bulk(text);
        } else {
            self.push_len(b'=', (text.len() + 4) as i64);
            self.reply.extend_from_slice(ext.as_bytes());
            self.reply.push(b':');
            self.reply.extend_from_slice(text);
            self.reply.extend_from_slice(b"\r\n");
        }
    }

    /// The reply to `<COMMAND> HELP` (mirror of `addReplyHelp`): a header line
    /// naming the command, the given lines, then the standard HELP entry.
    pub fn add_reply_help(&mut self, command: &str, lines: &[&str]) {
        self.add_reply_array_len(lines.len() + 3);
        self.add_reply_status(&format!(
            "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            command.to_ascii_uppercase()
        ));
        for line in lines {
            self.add_reply_status(line);
        }
        self.add_reply_status("HELP");
        self.add_reply_status("    Print this help.");
    }
}

/// Decimal digits of `n` without allocating.
fn itoa_buf(n: i64) -> SmallDigits {
    let mut out = SmallDigits { buf: [0; 20], len: 0 };
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    let mut tmp = [0u8; 20];
    let mut i = 0;
    loop {
        tmp[i] = b'0' + (v % 10) as u8;
        i += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        out.buf[0] = b'-';
        out.len = 1;
    }
    while i > 0 {
        i -= 1;
        out.buf[out.len] = tmp[i];
        out.len += 1;
    }
    out
}

struct SmallDigits {
    buf: [u8; 20],
    len: usize,
}

impl SmallDigits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

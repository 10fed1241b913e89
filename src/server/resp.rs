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
//! The parser never looks at bytes twice if it can help it: once a `$len`
//! header is read it only waits until `len + 2` bytes are there, so a 512 MB
//! argument arriving in 16 KiB reads costs a length check per read, and
//! arguments already parsed are kept, so a request with a million arguments is
//! parsed in one pass however it is split.
//!
//! Real Redis is lenient in a few places, and clients comparing us byte for
//! byte can tell, so we are lenient in exactly the same places:
//! - the two bytes after a bulk argument are skipped without checking that they
//!   are `\r\n`, and so is the byte after the `\r` that ends a `*` or `$` line;
//! - lines are found with C's `strchr` on a NUL-terminated buffer, so a NUL
//!   byte before the line end hides it: the request just waits for more bytes
//!   (until the 64 KiB limit turns that into an error);
//! - an inline line may end in a bare `\n`.
//!
//! **Replies.** Commands never write to the socket: they append encoded replies
//! to the client's reply buffer with the `add_reply_*` methods below, which
//! mirror Redis's `addReply*` family. Where RESP2 and RESP3 differ (nulls, maps,
//! sets, doubles, booleans, verbatim strings) the client's protocol version
//! (`HELLO 3`) decides the bytes.

use std::fmt;

use super::client::Client;

/// The longest inline request, or `*` / `$` header line, Redis waits for
/// before giving up on finding its end (`PROTO_INLINE_MAX_SIZE`).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;

/// Bulk arguments at least this long are read with reads sized to the
/// argument (`PROTO_MBULK_BIG_ARG`); see [`QueryParser::big_arg_missing`].
pub const PROTO_MBULK_BIG_ARG: usize = 32 * 1024;

/// Default `proto-max-bulk-len`: the largest bulk argument a request may carry.
pub const CONFIG_DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// How many arguments a client that still has to `AUTH` may send in one
/// multibulk request.
const UNAUTHENTICATED_MAX_MULTIBULK_LEN: i64 = 10;

/// The longest bulk argument a client that still has to `AUTH` may send.
const UNAUTHENTICATED_MAX_BULK_LEN: i64 = 16 * 1024;

/// Which of the two request syntaxes the request being parsed uses
/// (mirror of `PROTO_REQ_INLINE` / `PROTO_REQ_MULTIBULK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReqType {
    Inline,
    Multibulk,
}

/// Incremental request parser state (mirror of the `reqtype`, `multibulklen`,
/// `bulklen` and `argv` fields of Redis's client).
///
/// Everything it remembers is relative to the caller's parse position, never
/// an absolute offset, so the caller may drop consumed bytes from the front of
/// its buffer between calls, as Redis trims its query buffer.
#[derive(Debug)]
pub struct QueryParser {
    /// `proto-max-bulk-len`: a `$len` above this is a protocol error. Redis
    /// reads the global config on every header, so the caller may update this
    /// field at any time (for example after `CONFIG SET`).
    pub max_bulk_len: u64,
    /// True while the client still has to authenticate. Redis then allows
    /// only small requests (at most 10 arguments of at most 16 KiB), so an
    /// unauthenticated peer cannot make the server buffer much.
    pub auth_required: bool,
    /// The syntax of the request in progress; `None` between requests.
    reqtype: Option<ReqType>,
    /// Arguments of the multibulk request still to be read (0: the `*` line
    /// has not been read yet).
    multibulklen: u64,
    /// Length of the bulk argument being waited for, once its `$` line is read.
    bulklen: Option<usize>,
    /// Arguments of the multibulk request read so far.
    argv: Vec<Vec<u8>>,
    /// How many bytes after the parse position are already known not to hold
    /// the end of the line being looked for, so a header or inline line that
    /// arrives in small pieces is not searched from its start every time.
    scanned: usize,
}

impl Default for QueryParser {
    fn default() -> Self {
        QueryParser::new(CONFIG_DEFAULT_PROTO_MAX_BULK_LEN)
    }
}

/// Which rule a request broke. Each maps to the exact error text Redis sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolErrorKind {
    /// An inline request longer than [`PROTO_INLINE_MAX_SIZE`] without a newline.
    TooBigInlineRequest,
    /// An inline request whose quotes do not close, or close in mid-word.
    UnbalancedQuotes,
    /// A `*count` line longer than [`PROTO_INLINE_MAX_SIZE`] without a `\r`.
    TooBigMbulkCountString,
    /// A `*count` that is not an integer or is above `i32::MAX`.
    InvalidMultibulkLength,
    /// A `*count` above 10 from a client that has not authenticated.
    UnauthenticatedMultibulkLength,
    /// A `$len` line longer than [`PROTO_INLINE_MAX_SIZE`] without a `\r`.
    TooBigBulkCountString,
    /// An argument header that does not start with `$`; holds the byte found.
    ExpectedDollar(u8),
    /// A `$len` that is not an integer, is negative or is above `proto-max-bulk-len`.
    InvalidBulkLength,
    /// A `$len` above 16 KiB from a client that has not authenticated.
    UnauthenticatedBulkLength,
}

/// A request that breaks the protocol. `message` is the text after `-ERR `
/// (for example `Protocol error: invalid multibulk length`); the connection is
/// closed once the error reply is written, as `setProtocolError` does.
///
/// The only message that can hold a non-ASCII byte is `expected '$', got 'x'`:
/// `message` shows such a byte as U+FFFD, while [`ProtocolError::message_bytes`]
/// and [`Client::add_reply_protocol_error`] keep the raw byte, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub kind: ProtocolErrorKind,
    pub message: String,
}

impl ProtocolError {
    pub fn new(kind: ProtocolErrorKind) -> Self {
        let message = String::from_utf8_lossy(&message_bytes(kind)).into_owned();
        ProtocolError { kind, message }
    }

    /// The exact bytes Redis sends after `-ERR ` for this error.
    pub fn message_bytes(&self) -> Vec<u8> {
        message_bytes(self.kind)
    }
}

fn message_bytes(kind: ProtocolErrorKind) -> Vec<u8> {
    let text: &str = match kind {
        ProtocolErrorKind::TooBigInlineRequest => "too big inline request",
        ProtocolErrorKind::UnbalancedQuotes => "unbalanced quotes in request",
        ProtocolErrorKind::TooBigMbulkCountString => "too big mbulk count string",
        ProtocolErrorKind::InvalidMultibulkLength => "invalid multibulk length",
        ProtocolErrorKind::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
        ProtocolErrorKind::TooBigBulkCountString => "too big bulk count string",
        ProtocolErrorKind::InvalidBulkLength => "invalid bulk length",
        ProtocolErrorKind::UnauthenticatedBulkLength => "unauthenticated bulk length",
        ProtocolErrorKind::ExpectedDollar(got) => {
            // Redis formats this one, and formatted errors have their line
            // breaks turned into spaces so the reply stays on one line.
            let got = if got == b'\r' || got == b'\n' {
                b' '
            } else {
                got
            };
            let mut msg = b"Protocol error: expected '$', got '".to_vec();
            msg.push(got);
            msg.push(b'\'');
            return msg;
        }
    };
    format!("Protocol error: {text}").into_bytes()
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProtocolError {}

/// What parsing one request produced: a command, an empty request, or a need
/// for more bytes.
type ParseResult = Result<Option<Vec<Vec<u8>>>, ProtocolError>;

fn protocol_error(kind: ProtocolErrorKind) -> ParseResult {
    Err(ProtocolError::new(kind))
}

impl QueryParser {
    /// A parser that rejects bulk arguments longer than `max_bulk_len`
    /// (the `proto-max-bulk-len` setting).
    pub fn new(max_bulk_len: u64) -> Self {
        QueryParser {
            max_bulk_len,
            auth_required: false,
            reqtype: None,
            multibulklen: 0,
            bulklen: None,
            argv: Vec::new(),
            scanned: 0,
        }
    }

    /// Parses the next request from `buf[*pos..]`.
    ///
    /// Returns `Ok(Some(argv))` for a complete request (advancing `*pos` past
    /// it; `argv` is empty for an empty request such as `*0\r\n`, `*-1\r\n` or
    /// a blank inline line, which Redis skips), `Ok(None)` when more bytes are
    /// needed (`*pos` may still have advanced past the parts already read), or
    /// the protocol error. After an error the connection is done for; the
    /// parser is reset so it never acts on half a request.
    ///
    /// The request type is chosen as in `processInputBuffer` (networking.c):
    /// a request starting with `*` is multibulk, anything else inline.
    pub fn parse(&mut self, buf: &[u8], pos: &mut usize) -> ParseResult {
        let rest = match buf.get(*pos..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => return Ok(None),
        };
        let reqtype = *self.reqtype.get_or_insert(if rest[0] == b'*' {
            ReqType::Multibulk
        } else {
            ReqType::Inline
        });
        let result = match reqtype {
            ReqType::Inline => self.process_inline_buffer(buf, pos),
            ReqType::Multibulk => self.process_multibulk_buffer(buf, pos),
        };
        if !matches!(result, Ok(None)) {
            self.reset();
        }
        result
    }

    /// If a bulk argument of at least [`PROTO_MBULK_BIG_ARG`] bytes is being
    /// read, the number of its bytes (with the trailing `\r\n`) still missing
    /// from the `unparsed` bytes the caller holds (zero once all are there,
    /// waiting to be parsed). Redis sizes its next read to exactly this, so
    /// the big argument ends at the end of the query buffer (mirror of the
    /// big-argument branch of `readQueryFromClient`).
    pub fn big_arg_missing(&self, unparsed: usize) -> Option<usize> {
        let bulklen = self.bulklen.filter(|&len| len >= PROTO_MBULK_BIG_ARG)?;
        Some(bulklen.saturating_add(2).saturating_sub(unparsed))
    }

    /// Forgets the request in progress (mirror of the parser half of `resetClient`).
    fn reset(&mut self) {
        self.reqtype = None;
        self.multibulklen = 0;
        self.bulklen = None;
        self.argv = Vec::new();
        self.scanned = 0;
    }

    /// Moves the parse position `n` bytes on. Every advance goes through here
    /// so the line-search memo, which is relative to the position, is reset.
    fn consume(&mut self, pos: &mut usize, n: usize) {
        *pos += n;
        self.scanned = 0;
    }

    /// Index in `rest` of the first `target` byte, searched like C's `strchr`
    /// on Redis's NUL-terminated query buffer: a NUL byte ends the search, so
    /// a line end behind a NUL is never found. Resumes where the previous
    /// call for the same line stopped. Like Redis, it gives up with `too_big`
    /// once more than 64 KiB have arrived without the line end.
    fn find_line_end(
        &mut self,
        rest: &[u8],
        target: u8,
        too_big: ProtocolErrorKind,
    ) -> Result<Option<usize>, ProtocolError> {
        let start = self.scanned.min(rest.len());
        match rest[start..].iter().position(|&b| b == target || b == 0) {
            Some(offset) => {
                // Stop *on* the byte found: if it is the target but the line is
                // not complete yet, the next call finds it again at once.
                self.scanned = start + offset;
                if rest[self.scanned] == target {
                    return Ok(Some(self.scanned));
                }
            }
            None => self.scanned = rest.len(),
        }
        if rest.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::new(too_big));
        }
        Ok(None)
    }

    /// Finds the `\r` ending a `*count` or `$len` line and returns its index,
    /// or `Ok(None)` if the line is not complete: Redis also wants one byte
    /// after the `\r` (taken to be the `\n`, never checked).
    fn header_line(
        &mut self,
        rest: &[u8],
        too_big: ProtocolErrorKind,
    ) -> Result<Option<usize>, ProtocolError> {
        let cr = self.find_line_end(rest, b'\r', too_big)?;
        Ok(cr.filter(|&cr| cr + 2 <= rest.len()))
    }

    /// Parses one inline request: a line split into words like a shell would
    /// (mirror of `processInlineBuffer`, networking.c).
    fn process_inline_buffer(&mut self, buf: &[u8], pos: &mut usize) -> ParseResult {
        let rest = &buf[*pos..];
        let too_big = ProtocolErrorKind::TooBigInlineRequest;
        let Some(newline) = self.find_line_end(rest, b'\n', too_big)? else {
            return Ok(None);
        };
        let line_len = if newline > 0 && rest[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let Some(argv) = split_args(&rest[..line_len]) else {
            return protocol_error(ProtocolErrorKind::UnbalancedQuotes);
        };
        self.consume(pos, newline + 1);
        Ok(Some(argv))
    }

    /// Parses (the rest of) one multibulk request: a `*count` line, then
    /// `count` arguments each sent as `$len\r\n` plus `len` bytes plus `\r\n`
    /// (mirror of `processMultibulkBuffer`, networking.c). Each part is
    /// consumed as soon as it is complete, so a call resumes where the last
    /// one stopped.
    fn process_multibulk_buffer(&mut self, buf: &[u8], pos: &mut usize) -> ParseResult {
        if self.multibulklen == 0 {
            let rest = &buf[*pos..];
            let Some(cr) = self.header_line(rest, ProtocolErrorKind::TooBigMbulkCountString)?
            else {
                return Ok(None);
            };
            // rest[0] is the '*' the request type was chosen by.
            let count = match rest.get(1..cr).and_then(string2ll) {
                Some(count) if count <= i64::from(i32::MAX) => count,
                _ => return protocol_error(ProtocolErrorKind::InvalidMultibulkLength),
            };
            if count > UNAUTHENTICATED_MAX_MULTIBULK_LEN && self.auth_required {
                return protocol_error(ProtocolErrorKind::UnauthenticatedMultibulkLength);
            }
            self.consume(pos, cr + 2);
            if count <= 0 {
                return Ok(Some(Vec::new()));
            }
            // The count is untrusted: reserve a little and let the vector grow
            // as arguments really arrive, as Redis does.
            self.multibulklen = count as u64;
            self.argv = Vec::with_capacity(count.min(1024) as usize);
        }

        while self.multibulklen > 0 {
            let bulklen = match self.bulklen {
                Some(len) => len,
                None => {
                    let rest = &buf[*pos..];
                    let Some(cr) =
                        self.header_line(rest, ProtocolErrorKind::TooBigBulkCountString)?
                    else {
                        return Ok(None);
                    };
                    if rest[0] != b'$' {
                        return protocol_error(ProtocolErrorKind::ExpectedDollar(rest[0]));
                    }
                    let len = self.bulk_len(&rest[1..cr])?;
                    self.consume(pos, cr + 2);
                    self.bulklen = Some(len);
                    len
                }
            };
            let rest = &buf[*pos..];
            if rest.len() < bulklen.saturating_add(2) {
                return Ok(None);
            }
            self.argv.push(rest[..bulklen].to_vec());
            self.consume(pos, bulklen + 2);
            self.bulklen = None;
            self.multibulklen -= 1;
        }
        Ok(Some(std::mem::take(&mut self.argv)))
    }

    /// Validates the digits of a `$len` line against the bulk limits.
    fn bulk_len(&self, digits: &[u8]) -> Result<usize, ProtocolError> {
        let len = string2ll(digits)
            .filter(|&len| len >= 0 && len as u64 <= self.max_bulk_len)
            .and_then(|len| usize::try_from(len).ok())
            .ok_or_else(|| ProtocolError::new(ProtocolErrorKind::InvalidBulkLength))?;
        if len as i64 > UNAUTHENTICATED_MAX_BULK_LEN && self.auth_required {
            return Err(ProtocolError::new(
                ProtocolErrorKind::UnauthenticatedBulkLength,
            ));
        }
        Ok(len)
    }
}

/// Splits an inline request line into arguments the way a shell would
/// (mirror of `sdssplitargs`, sds.c). Words are separated by blanks; a word
/// may contain `"double quoted"` parts, where `\n \r \t \b \a`, `\xHH` and a
/// backslash before any other character are escapes, and `'single quoted'`
/// parts, where only `\'` is. A closing quote must be followed by a blank or
/// the end of the line. Returns `None` for unbalanced quotes.
///
/// The C original walks a NUL-terminated string, so reading past the end
/// yields 0 here and a NUL byte ends the line just like the real end does.
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut argv = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && is_c_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(argv);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        let mut done = false;
        while !done {
            let c = at(p);
            if in_double {
                if let (b'\\', b'x', Some(hi), Some(lo)) =
                    (c, at(p + 1), hex_value(at(p + 2)), hex_value(at(p + 3)))
                {
                    current.push(hi * 16 + lo);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        argv.push(current);
    }
}

/// C's `isspace` in the C locale: also vertical tab and form feed, which
/// separate words before a word starts but not inside one.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Parses a strict decimal `i64` (mirror of `string2ll`, util.c): an optional
/// `-` and digits, no `+`, no blanks, no leading zeros (`0` itself is fine, `-0`
/// is not), nothing after, and no overflow.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
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
        self.reply.add(&[prefix]);
        self.push_int(len);
        self.reply.add(b"\r\n");
    }

    fn push_int(&mut self, n: i64) {
        self.reply.add(itoa_buf(n).as_slice());
    }

    /// Appends bytes that are already RESP (mirror of `addReplyProto`).
    pub fn add_reply_proto(&mut self, bytes: &[u8]) {
        self.reply.add(bytes);
    }

    /// `+OK\r\n` (mirror of `addReply(c, shared.ok)`).
    pub fn add_reply_ok(&mut self) {
        self.reply.add(b"+OK\r\n");
    }

    /// A status reply `+text\r\n` (mirror of `addReplyStatus`).
    pub fn add_reply_status(&mut self, text: &str) {
        self.reply.add(b"+");
        self.reply.add(text.as_bytes());
        self.reply.add(b"\r\n");
    }

    /// An error reply (mirror of `addReplyError`). Like Redis, a message that
    /// does not start with `-` gets the generic `-ERR ` code, and newlines in the
    /// message are turned into spaces so the reply stays one line.
    pub fn add_reply_error(&mut self, msg: &str) {
        self.push_error_line(msg.as_bytes());
    }

    /// The error reply for a request that broke the protocol, byte for byte
    /// what Redis sends (the parse functions' `addReplyError` before
    /// `setProtocolError`). Unlike `add_reply_error(&err.message)` it keeps a
    /// non-ASCII byte in `expected '$', got 'x'` as the raw byte.
    pub fn add_reply_protocol_error(&mut self, err: &ProtocolError) {
        self.push_error_line(&err.message_bytes());
    }

    fn push_error_line(&mut self, msg: &[u8]) {
        if msg.first() != Some(&b'-') {
            self.reply.add(b"-ERR ");
        }
        let line: Vec<u8> = msg
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        self.reply.add(&line);
        self.reply.add(b"\r\n");
    }

    /// `-ERR wrong number of arguments for 'name' command` (mirror of `addReplyErrorArity`).
    pub fn add_reply_error_arity(&mut self, fullname: &str) {
        self.add_reply_error(&format!(
            "wrong number of arguments for '{fullname}' command"
        ));
    }

    /// A bulk string `$len\r\nbytes\r\n` (mirror of `addReplyBulkCBuffer`).
    // anchor: net.add_reply
    pub fn add_reply_bulk(&mut self, bytes: &[u8]) {
        self.push_len(b'$', bytes.len() as i64);
        self.reply.add(bytes);
        self.reply.add(b"\r\n");
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
            self.reply.add(b"$-1\r\n");
        } else {
            self.reply.add(b"_\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3 (mirror of `addReplyNullArray`).
    pub fn add_reply_null_array(&mut self) {
        if self.resp == 2 {
            self.reply.add(b"*-1\r\n");
        } else {
            self.reply.add(b"_\r\n");
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
            self.reply.add(if b { b"#t\r\n" } else { b"#f\r\n" });
        }
    }

    /// A double: a bulk string in RESP2, `,` in RESP3, formatted like `%.17g`
    /// (mirror of `addReplyDouble`).
    pub fn add_reply_double(&mut self, d: f64) {
        let text = if d.is_infinite() {
            if d > 0.0 {
                "inf".to_string()
            } else {
                "-inf".to_string()
            }
        } else {
            format_double_g17(d)
        };
        if self.resp == 2 {
            self.add_reply_bulk(text.as_bytes());
        } else {
            self.reply.add(b",");
            self.reply.add(text.as_bytes());
            self.reply.add(b"\r\n");
        }
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2),
    /// used by `INFO`, `CLIENT LIST` and friends (mirror of `addReplyVerbatim`).
    /// The format tag is always three bytes on the wire: a shorter `ext` is
    /// padded with spaces and a longer one cut, as Redis does, so the length
    /// in the header stays right.
    pub fn add_reply_verbatim(&mut self, text: &[u8], ext: &str) {
        if self.resp == 2 {
            self.add_reply_bulk(text);
        } else {
            self.push_len(b'=', (text.len() + 4) as i64);
            let mut tag = [b' '; 3];
            for (slot, &b) in tag.iter_mut().zip(ext.as_bytes()) {
                *slot = b;
            }
            self.reply.add(&tag);
            self.reply.add(b":");
            self.reply.add(text);
            self.reply.add(b"\r\n");
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
        self.add_reply_status("    Prints this help.");
    }
}

/// Decimal digits of `n` without allocating.
fn itoa_buf(n: i64) -> SmallDigits {
    let mut out = SmallDigits {
        buf: [0; 20],
        len: 0,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    type Argv = Vec<Vec<u8>>;

    fn argv(words: &[&[u8]]) -> Argv {
        words.iter().map(|w| w.to_vec()).collect()
    }

    /// Everything one buffer yields, parsed in one go: the requests (empty ones
    /// included), the error if any, and where parsing stopped.
    fn parse_all(
        parser: &mut QueryParser,
        buf: &[u8],
    ) -> (Vec<Argv>, Option<ProtocolError>, usize) {
        let mut pos = 0;
        let mut requests = Vec::new();
        loop {
            match parser.parse(buf, &mut pos) {
                Ok(Some(argv)) => requests.push(argv),
                Ok(None) => return (requests, None, pos),
                Err(e) => return (requests, Some(e), pos),
            }
        }
    }

    fn parse_fresh(buf: &[u8]) -> (Vec<Argv>, Option<ProtocolError>, usize) {
        parse_all(&mut QueryParser::default(), buf)
    }

    /// Plays the networking code: appends each chunk to a query buffer, parses
    /// until more bytes are needed, then drops the consumed prefix, so the
    /// parser sees its buffer re-based between calls.
    fn feed_chunks<'a>(
        parser: &mut QueryParser,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> (Vec<Argv>, Option<ProtocolError>) {
        let mut querybuf = Vec::new();
        let mut requests = Vec::new();
        for chunk in chunks {
            querybuf.extend_from_slice(chunk);
            let mut qb_pos = 0;
            loop {
                let before = qb_pos;
                let result = parser.parse(&querybuf, &mut qb_pos);
                assert!(qb_pos >= before && qb_pos <= querybuf.len());
                match result {
                    Ok(Some(argv)) => requests.push(argv),
                    Ok(None) => break,
                    Err(e) => return (requests, Some(e)),
                }
            }
            querybuf.drain(..qb_pos);
        }
        (requests, None)
    }

    fn err_of(buf: &[u8]) -> ProtocolError {
        match parse_fresh(buf) {
            (_, Some(e), _) => e,
            other => panic!(
                "expected an error for {:?}, got {other:?}",
                String::from_utf8_lossy(buf)
            ),
        }
    }

    fn assert_error(buf: &[u8], text: &str) {
        let e = err_of(buf);
        assert_eq!(e.message, text, "for {:?}", String::from_utf8_lossy(buf));
        assert_eq!(e.message_bytes(), text.as_bytes());
    }

    fn assert_waits(buf: &[u8]) {
        let (requests, err, _) = parse_fresh(buf);
        assert!(
            requests.is_empty() && err.is_none(),
            "{:?} should wait for more",
            String::from_utf8_lossy(buf)
        );
    }

    #[test]
    fn multibulk_single_argument() {
        let buf = b"*1\r\n$3\r\nfoo\r\n";
        let (requests, err, pos) = parse_fresh(buf);
        assert_eq!(requests, vec![argv(&[b"foo"])]);
        assert!(err.is_none());
        assert_eq!(pos, buf.len());
    }

    #[test]
    fn multibulk_variants_that_redis_accepts_or_waits_on() {
        // The two bytes after the payload are skipped unchecked.
        let (requests, _, pos) = parse_fresh(b"*1\r\n$3\r\nfooXY");
        assert_eq!((requests, pos), (vec![argv(&[b"foo"])], 13));
        // The byte after a header's '\r' is not checked either.
        assert_eq!(parse_fresh(b"*1\rX$3\r\nfoo\r\n").0, vec![argv(&[b"foo"])]);
        assert_eq!(parse_fresh(b"*1\r\n$3\rXfoo\r\n").0, vec![argv(&[b"foo"])]);
        // Anything short of the trailing two bytes waits, keeping what it has.
        for partial in [
            &b"*1"[..],
            b"*1\r",
            b"*1\r\n$3",
            b"*1\r\n$3\r",
            b"*1\r\n$3\r\nfo",
            b"*1\r\n$3\r\nfoo\r",
        ] {
            assert_waits(partial);
        }
        let (_, _, pos) = parse_fresh(b"*1\r\n$3\r\nfoo\r");
        assert_eq!(
            pos, 8,
            "the *1 and $3 lines are consumed as soon as they are complete"
        );
        // Zero-length argument.
        assert_eq!(
            parse_fresh(b"*2\r\n$3\r\nfoo\r\n$0\r\n\r\n").0,
            vec![argv(&[b"foo", b""])]
        );
    }

    #[test]
    fn pipelined_requests_in_one_buffer() {
        let buf = b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nSET k \"v w\"\n*1\r\n$3\r\nGET";
        let (requests, err, pos) = parse_fresh(buf);
        assert_eq!(
            requests,
            vec![
                argv(&[b"PING"]),
                argv(&[b"PING"]),
                argv(&[b"ECHO", b"hi"]),
                argv(&[b"SET", b"k", b"v w"])
            ]
        );
        assert!(err.is_none());
        // The unfinished GET has its header consumed and waits for its payload.
        assert_eq!(&buf[pos..], b"GET");
    }

    #[test]
    fn empty_requests_are_returned_empty() {
        let buf = b"*0\r\n*-1\r\n*-5\r\n\r\n\n   \r\n\x0c\t\r\nPING\r\n";
        let (requests, err, pos) = parse_fresh(buf);
        let empty: Argv = Vec::new();
        assert_eq!(
            requests,
            vec![
                empty.clone(),
                empty.clone(),
                empty.clone(),
                empty.clone(),
                empty.clone(),
                empty.clone(),
                empty,
                argv(&[b"PING"])
            ]
        );
        assert!(err.is_none());
        assert_eq!(pos, buf.len());
    }

    #[test]
    fn bulk_arguments_are_binary_safe() {
        let buf = b"*2\r\n$4\r\nECHO\r\n$8\r\na\r\nb\0c\r\n\r\n";
        assert_eq!(parse_fresh(buf).0, vec![argv(&[b"ECHO", b"a\r\nb\0c\r\n"])]);
        let all_bytes: Vec<u8> = (0..=255).collect();
        let mut buf = b"*1\r\n$256\r\n".to_vec();
        buf.extend_from_slice(&all_bytes);
        buf.extend_from_slice(b"\r\n");
        assert_eq!(parse_fresh(&buf).0, vec![vec![all_bytes]]);
    }

    #[test]
    fn inline_quotes_and_escapes_split_like_redis() {
        // Each expectation was checked against redis-server 7.0.15 with ECHO.
        let cases: &[(&[u8], &[&[u8]])] = &[
            (
                b"ECHO \"a\\x41\\n\\q\\\"\\\\\"\r\n",
                &[b"ECHO", b"aA\nq\"\\"],
            ),
            (b"ECHO \"\\x4g\"\r\n", &[b"ECHO", b"x4g"]),
            (b"ECHO \"\\xZZ\"\r\n", &[b"ECHO", b"xZZ"]),
            (b"ECHO \"\\r\\t\\b\\a\"\r\n", &[b"ECHO", b"\r\t\x08\x07"]),
            (b"ECHO 'a\\nb\\'c'\r\n", &[b"ECHO", b"a\\nb'c"]),
            (b"ECHO \"\" ''\r\n", &[b"ECHO", b"", b""]),
            (b"ECHO x\"y\"\r\n", &[b"ECHO", b"xy"]),
            (b"ECHO x\"a b\" c\r\n", &[b"ECHO", b"xa b", b"c"]),
            (b"ECHO \"a\"\t\r\n", &[b"ECHO", b"a"]),
            (b"ECHO \x0bab\x0bc\r\n", &[b"ECHO", b"ab\x0bc"]),
            (b"ECHO \"x\"\x0b\r\n", &[b"ECHO", b"x"]),
            (b"ECHO a\x0c\r\n", &[b"ECHO", b"a\x0c"]),
            (b"ECHO \"\xff\\xfF\"\r\n", &[b"ECHO", b"\xff\xff"]),
            (b"PING\r\r\n", &[b"PING"]),
            (b"  SET   k  v  \n", &[b"SET", b"k", b"v"]),
        ];
        for (line, expected) in cases {
            let (requests, err, _) = parse_fresh(line);
            assert!(
                err.is_none(),
                "{:?}: {err:?}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(
                requests.first(),
                Some(&argv(expected)),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn inline_error_texts() {
        for line in [
            &b"ECHO \"abc\"d\r\n"[..],
            b"ECHO \"abc\r\n",
            b"ECHO 'abc'd\r\n",
            b"ECHO 'abc\r\n",
            b"ECHO a\"b c\"d\r\n",
            b"ECHO \"\\\r\n",
            b"GET \"a\nb\"\n",
        ] {
            assert_error(line, "Protocol error: unbalanced quotes in request");
        }
        assert_waits(&[b'A'; PROTO_INLINE_MAX_SIZE]);
        assert_error(
            &[b'A'; PROTO_INLINE_MAX_SIZE + 1],
            "Protocol error: too big inline request",
        );
        // The limit is only for a line whose end has not arrived.
        let mut long_line = vec![b'A'; 70_000];
        long_line.push(b'\n');
        assert_eq!(parse_fresh(&long_line).0, vec![vec![vec![b'A'; 70_000]]]);
    }

    #[test]
    fn multibulk_count_error_texts() {
        for bad in [
            &b"*-0\r\n"[..],
            b"*01\r\n",
            b"*+1\r\n",
            b"*\r\n",
            b"*1xyz\r\n",
            b"*1 \r\n",
            b"*2147483648\r\n",
            b"*99999999999999999999\r\n",
        ] {
            assert_error(bad, "Protocol error: invalid multibulk length");
        }
        // Redis 7 allows any count up to INT_MAX; 6.x stopped at 1024*1024.
        assert_waits(b"*2147483647\r\n");
        assert_waits(b"*1048577\r\n");
        let mut count = b"*".to_vec();
        count.resize(PROTO_INLINE_MAX_SIZE, b'1');
        assert_waits(&count);
        count.push(b'1');
        assert_error(&count, "Protocol error: too big mbulk count string");
    }

    #[test]
    fn bulk_header_error_texts() {
        assert_error(
            b"*1\r\nX4\r\nPING\r\n",
            "Protocol error: expected '$', got 'X'",
        );
        // A line break in the message is sent as a space.
        assert_error(b"*1\r\n\r\n\r\n", "Protocol error: expected '$', got ' '");
        assert_error(b"*1\r\n\nx\r\n", "Protocol error: expected '$', got ' '");
        let e = err_of(b"*1\r\n\xff\r\n");
        assert_eq!(e.kind, ProtocolErrorKind::ExpectedDollar(0xff));
        assert_eq!(
            e.message_bytes(),
            b"Protocol error: expected '$', got '\xff'"
        );
        assert_eq!(e.message, "Protocol error: expected '$', got '\u{fffd}'");
        for bad in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$04\r\n",
            b"*1\r\n$ 4\r\n",
            b"*1\r\n$4 \r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$536870913\r\n",
        ] {
            assert_error(bad, "Protocol error: invalid bulk length");
        }
        let mut header = b"*1\r\n$".to_vec();
        header.resize(4 + PROTO_INLINE_MAX_SIZE, b'1');
        assert_waits(&header);
        header.push(b'1');
        assert_error(&header, "Protocol error: too big bulk count string");
    }

    #[test]
    fn max_bulk_len_comes_from_the_config() {
        assert_waits(b"*1\r\n$536870912\r\n");
        let mut parser = QueryParser::new(1_000_000);
        assert_eq!(parse_all(&mut parser, b"*1\r\n$1000000\r\n").1, None);
        let mut parser = QueryParser::new(1_000_000);
        let e = parse_all(&mut parser, b"*1\r\n$1000001\r\n")
            .1
            .expect("over the limit");
        assert_eq!(e.kind, ProtocolErrorKind::InvalidBulkLength);
    }

    #[test]
    fn unauthenticated_clients_get_small_limits() {
        let unauth = |buf: &[u8]| {
            let mut parser = QueryParser {
                auth_required: true,
                ..QueryParser::default()
            };
            parse_all(&mut parser, buf).1.map(|e| e.message)
        };
        assert_eq!(unauth(b"*10\r\n"), None);
        assert_eq!(
            unauth(b"*11\r\n").as_deref(),
            Some("Protocol error: unauthenticated multibulk length")
        );
        // The general checks come first.
        assert_eq!(
            unauth(b"*2147483648\r\n").as_deref(),
            Some("Protocol error: invalid multibulk length")
        );
        assert_eq!(unauth(b"*1\r\n$16384\r\n"), None);
        assert_eq!(
            unauth(b"*1\r\n$16385\r\n").as_deref(),
            Some("Protocol error: unauthenticated bulk length")
        );
        assert_eq!(
            unauth(b"*1\r\n$536870913\r\n").as_deref(),
            Some("Protocol error: invalid bulk length")
        );
    }

    #[test]
    fn nul_byte_hides_the_line_end_like_strchr() {
        assert_waits(b"*1\0\r\n$4\r\nPING\r\n");
        assert_waits(b"PING\0\r\n");
        assert_waits(b"ECHO a\0b\n");
        // ...until the 64 KiB limit gives up on the line.
        let mut buf = b"PING\0\r\n".to_vec();
        buf.resize(PROTO_INLINE_MAX_SIZE + 1, b'x');
        assert_eq!(err_of(&buf).kind, ProtocolErrorKind::TooBigInlineRequest);
        // Inside a bulk payload a NUL is just data.
        assert_eq!(
            parse_fresh(b"*1\r\n$3\r\n\0\0\0\r\n").0,
            vec![vec![vec![0u8; 3]]]
        );
    }

    #[test]
    fn requests_before_an_error_are_returned_and_bytes_after_are_left() {
        // Redis runs the two PINGs, replies with the error, then closes
        // without looking at the trailing PING.
        let buf = b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n";
        let (requests, err, pos) = parse_fresh(buf);
        assert_eq!(requests, vec![argv(&[b"PING"]), argv(&[b"PING"])]);
        assert_eq!(
            err.map(|e| e.kind),
            Some(ProtocolErrorKind::InvalidMultibulkLength)
        );
        assert_eq!(&buf[pos..], b"*x\r\nPING\r\n");
    }

    #[test]
    fn parse_position_may_start_anywhere() {
        let buf = b"junk*1\r\n$3\r\nfoo\r\n";
        let mut parser = QueryParser::default();
        let mut pos = 4;
        assert_eq!(parser.parse(buf, &mut pos), Ok(Some(argv(&[b"foo"]))));
        assert_eq!(pos, buf.len());
        assert_eq!(parser.parse(buf, &mut pos), Ok(None));
        let mut past_end = buf.len() + 5;
        assert_eq!(parser.parse(buf, &mut past_end), Ok(None));
        assert_eq!(past_end, buf.len() + 5);
    }

    /// Streams whose outcome cannot depend on how they are split.
    fn split_corpus() -> Vec<Vec<u8>> {
        vec![
            b"*1\r\n$3\r\nfoo\r\n".to_vec(),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\na\r\nb\0c\r\nde\r\nPING\r\n*0\r\n\r\nECHO \"x\\x41\\n\" 'y\\'z'\n*-1\r\n".to_vec(),
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n  \t\r\nGET a\n*1\r\nX".to_vec(),
            b"PING\r\nECHO \"unterminated\r\n".to_vec(),
            b"*1\r\n$3\r\nfoo\r\n*01\r\n".to_vec(),
            b"*2\r\n$3\r\nfoo\r\n$-3\r\n".to_vec(),
        ]
    }

    #[test]
    fn split_at_every_byte_boundary_gives_the_same_requests() {
        for stream in split_corpus() {
            let expected = {
                let (requests, err, _) = parse_fresh(&stream);
                (requests, err)
            };
            for k in 0..=stream.len() {
                let got = feed_chunks(&mut QueryParser::default(), [&stream[..k], &stream[k..]]);
                assert_eq!(
                    got,
                    expected,
                    "split at {k} of {:?}",
                    String::from_utf8_lossy(&stream)
                );
                for j in k..=stream.len() {
                    let got = feed_chunks(
                        &mut QueryParser::default(),
                        [&stream[..k], &stream[k..j], &stream[j..]],
                    );
                    assert_eq!(got, expected, "split at {k} and {j}");
                }
            }
            let byte_by_byte = feed_chunks(&mut QueryParser::default(), stream.chunks(1));
            assert_eq!(byte_by_byte, expected);
        }
    }

    #[test]
    fn huge_bulk_arrives_in_chunks() {
        const LEN: usize = 4 * 1024 * 1024;
        let payload: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let mut stream = format!("*2\r\n$3\r\nSET\r\n${LEN}\r\n").into_bytes();
        let header_len = stream.len();
        stream.extend_from_slice(&payload);
        stream.extend_from_slice(b"\r\n");

        let mut parser = QueryParser::default();
        let mut querybuf: Vec<u8> = Vec::new();
        let mut done = None;
        for chunk in stream.chunks(16 * 1024) {
            querybuf.extend_from_slice(chunk);
            let mut qb_pos = 0;
            if let Some(argv) = parser.parse(&querybuf, &mut qb_pos).expect("valid stream") {
                done = Some(argv);
            } else if querybuf.len() > header_len {
                // Only the payload is left: the caller can read exactly what is missing.
                assert_eq!(
                    parser.big_arg_missing(querybuf.len() - qb_pos),
                    Some(LEN + 2 - (querybuf.len() - qb_pos))
                );
            }
            querybuf.drain(..qb_pos);
        }
        assert_eq!(done, Some(vec![b"SET".to_vec(), payload]));
        assert!(querybuf.is_empty());
        assert_eq!(parser.big_arg_missing(0), None);
    }

    #[test]
    fn big_arg_missing_only_for_big_arguments() {
        let mut parser = QueryParser::default();
        let mut pos = 0;
        assert_eq!(parser.parse(b"*1\r\n$100\r\nabc", &mut pos), Ok(None));
        assert_eq!(parser.big_arg_missing(3), None);
        let mut parser = QueryParser::default();
        let mut pos = 0;
        assert_eq!(parser.parse(b"*1\r\n$536870912\r\nabc", &mut pos), Ok(None));
        assert_eq!(parser.big_arg_missing(3), Some(536_870_912 + 2 - 3));
    }

    #[test]
    fn a_million_arguments_in_pieces() {
        const N: usize = 1_000_000;
        let mut stream = format!("*{N}\r\n").into_bytes();
        for i in 0..N {
            let arg = (i % 10).to_string();
            stream.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        let (requests, err) =
            feed_chunks(&mut QueryParser::default(), stream.chunks(16 * 1024 + 3));
        assert!(err.is_none());
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].len(), N);
        assert_eq!(requests[0][N - 1], b"9");
    }

    #[test]
    fn a_line_arriving_in_pieces_is_searched_once() {
        let mut parser = QueryParser::default();
        let mut buf = vec![b'A'; 1000];
        let mut pos = 0;
        assert_eq!(parser.parse(&buf, &mut pos), Ok(None));
        assert_eq!(parser.scanned, 1000);
        buf.extend_from_slice(b" B\r");
        assert_eq!(parser.parse(&buf, &mut pos), Ok(None));
        assert_eq!(parser.scanned, 1003);
        buf.push(b'\n');
        assert_eq!(
            parser.parse(&buf, &mut pos),
            Ok(Some(vec![vec![b'A'; 1000], b"B".to_vec()]))
        );
        assert_eq!((parser.scanned, pos), (0, 1004));
    }

    #[test]
    fn no_panic_on_pseudo_random_bytes() {
        const ALPHABET: &[u8] = b"**$$$0123456789-\r\n\r\n \"'\\xaF\t\x0b\0\xffPING";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5000 {
            let len = (next() % 80) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                    }
                })
                .collect();
            let mut rest = &bytes[..];
            let mut chunks = Vec::new();
            while !rest.is_empty() {
                let n = 1 + (next() as usize % rest.len());
                chunks.push(&rest[..n]);
                rest = &rest[n..];
            }
            // feed_chunks asserts that the position never moves back or past the end.
            feed_chunks(&mut QueryParser::default(), chunks);
            let mut parser = QueryParser::new(next() % 64);
            parser.auth_required = next() % 2 == 0;
            parse_all(&mut parser, &bytes);
        }
    }

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999999",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    /// A client on a real loopback connection, only used to collect replies.
    fn test_client(resp: u8) -> Client {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("listener address");
        let stream = std::net::TcpStream::connect(addr).expect("connect loopback");
        let laddr = stream.local_addr().expect("local address");
        let mut c = Client::new(1, 0, mio::net::TcpStream::from_std(stream), laddr, addr);
        c.resp = resp;
        c
    }

    /// The bytes one encoder call produces under RESP2 and under RESP3.
    fn encode(f: impl Fn(&mut Client)) -> (Vec<u8>, Vec<u8>) {
        let mut two = test_client(2);
        let mut three = test_client(3);
        f(&mut two);
        f(&mut three);
        (two.reply.take(), three.reply.take())
    }

    fn assert_encodes(f: impl Fn(&mut Client), resp2: &[u8], resp3: &[u8]) {
        let (two, three) = encode(f);
        assert_eq!(
            String::from_utf8_lossy(&two),
            String::from_utf8_lossy(resp2)
        );
        assert_eq!(
            String::from_utf8_lossy(&three),
            String::from_utf8_lossy(resp3)
        );
    }

    #[test]
    fn nulls_differ_between_resp2_and_resp3() {
        assert_encodes(|c| c.add_reply_null(), b"$-1\r\n", b"_\r\n");
        assert_encodes(|c| c.add_reply_null_array(), b"*-1\r\n", b"_\r\n");
    }

    #[test]
    fn aggregates_differ_between_resp2_and_resp3() {
        assert_encodes(|c| c.add_reply_map_len(2), b"*4\r\n", b"%2\r\n");
        assert_encodes(|c| c.add_reply_set_len(3), b"*3\r\n", b"~3\r\n");
        assert_encodes(|c| c.add_reply_push_len(3), b"*3\r\n", b">3\r\n");
        assert_encodes(|c| c.add_reply_array_len(0), b"*0\r\n", b"*0\r\n");
    }

    #[test]
    fn doubles_and_booleans() {
        assert_encodes(|c| c.add_reply_double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n");
        assert_encodes(
            |c| c.add_reply_double(0.1),
            b"$19\r\n0.10000000000000001\r\n",
            b",0.10000000000000001\r\n",
        );
        assert_encodes(
            |c| c.add_reply_double(f64::INFINITY),
            b"$3\r\ninf\r\n",
            b",inf\r\n",
        );
        assert_encodes(
            |c| c.add_reply_double(f64::NEG_INFINITY),
            b"$4\r\n-inf\r\n",
            b",-inf\r\n",
        );
        assert_encodes(
            |c| c.add_reply_double(1e300),
            b"$23\r\n1.0000000000000001e+300\r\n",
            b",1.0000000000000001e+300\r\n",
        );
        assert_encodes(|c| c.add_reply_bool(true), b":1\r\n", b"#t\r\n");
        assert_encodes(|c| c.add_reply_bool(false), b":0\r\n", b"#f\r\n");
    }

    #[test]
    fn verbatim_strings() {
        assert_encodes(
            |c| c.add_reply_verbatim(b"a\r\nb", "txt"),
            b"$4\r\na\r\nb\r\n",
            b"=8\r\ntxt:a\r\nb\r\n",
        );
        // The tag is always three bytes, so the length stays right.
        assert_encodes(
            |c| c.add_reply_verbatim(b"x", "md"),
            b"$1\r\nx\r\n",
            b"=5\r\nmd :x\r\n",
        );
        assert_encodes(
            |c| c.add_reply_verbatim(b"x", "html"),
            b"$1\r\nx\r\n",
            b"=5\r\nhtm:x\r\n",
        );
    }

    #[test]
    fn errors_stay_on_one_line() {
        assert_encodes(
            |c| c.add_reply_error("bad\r\nthing"),
            b"-ERR bad  thing\r\n",
            b"-ERR bad  thing\r\n",
        );
        assert_encodes(
            |c| c.add_reply_error("-WRONGTYPE no"),
            b"-WRONGTYPE no\r\n",
            b"-WRONGTYPE no\r\n",
        );
        assert_encodes(|c| c.add_reply_error(""), b"-ERR \r\n", b"-ERR \r\n");
        assert_encodes(
            |c| c.add_reply_error_arity("get"),
            b"-ERR wrong number of arguments for 'get' command\r\n",
            b"-ERR wrong number of arguments for 'get' command\r\n",
        );
        let e = ProtocolError::new(ProtocolErrorKind::ExpectedDollar(0xff));
        let expected = b"-ERR Protocol error: expected '$', got '\xff'\r\n";
        let (two, three) = encode(|c| c.add_reply_protocol_error(&e));
        assert_eq!(
            (two.as_slice(), three.as_slice()),
            (&expected[..], &expected[..])
        );
    }

    #[test]
    fn scalars_and_help() {
        assert_encodes(
            |c| c.add_reply_long_long(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        );
        assert_encodes(
            |c| c.add_reply_bulk_long_long(-42),
            b"$3\r\n-42\r\n",
            b"$3\r\n-42\r\n",
        );
        assert_encodes(|c| c.add_reply_bulk(b""), b"$0\r\n\r\n", b"$0\r\n\r\n");
        assert_encodes(|c| c.add_reply_ok(), b"+OK\r\n", b"+OK\r\n");
        assert_encodes(|c| c.add_reply_status("PONG"), b"+PONG\r\n", b"+PONG\r\n");
        let help = b"*4\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n+HELP\r\n+    Prints this help.\r\n";
        assert_encodes(
            |c| c.add_reply_help("object", &["ENCODING <key>"]),
            help,
            help,
        );
    }

    /// Pieces requests are made of, so that random streams are mostly
    /// protocol: headers, counts, line ends, quotes and escapes.
    const FRAGMENTS: &[&[u8]] = &[
        b"*", b"$", b"*2\r\n", b"$3\r\n", b"$0\r\n", b"*-1\r\n", b"0", b"1", b"3", b"12", b"-",
        b"\r\n", b"\r", b"\n", b" ", b"\t", b"\"", b"'", b"\\", b"\\x4", b"\0", b"SET", b"PING",
        b"abc", b"\xff",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// However a stream is cut into reads, it yields the requests and
        /// the error it yields in one piece, under any limits.
        #[test]
        fn chunked_parse_matches_one_shot(
            pieces in proptest::collection::vec(0..FRAGMENTS.len(), 0..60),
            cuts in proptest::collection::vec(1usize..12, 1..8),
            auth_required: bool,
            max_bulk_len in proptest::prop_oneof![
                proptest::strategy::Just(CONFIG_DEFAULT_PROTO_MAX_BULK_LEN),
                0u64..20,
            ],
        ) {
            let stream: Vec<u8> = pieces.iter().flat_map(|&i| FRAGMENTS[i].iter().copied()).collect();
            let parser = || {
                let mut p = QueryParser::new(max_bulk_len);
                p.auth_required = auth_required;
                p
            };
            let (requests, err, _) = parse_all(&mut parser(), &stream);
            let mut chunks = Vec::new();
            let mut rest = &stream[..];
            for &n in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at(n.min(rest.len()));
                chunks.push(chunk);
                rest = tail;
            }
            proptest::prop_assert_eq!(feed_chunks(&mut parser(), chunks), (requests, err));
        }
    }
}

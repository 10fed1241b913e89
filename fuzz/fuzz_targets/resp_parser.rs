//! The request parser (`server::resp::QueryParser`) on arbitrary bytes.
//!
//! Input: one byte of settings (bit 0: the client still has to AUTH; bits 1-2:
//! `proto-max-bulk-len`), one byte that seeds how the stream is cut into
//! reads, then the stream itself.
//!
//! Properties, beyond "no panic":
//! - the parse position never moves back and never passes the end;
//! - fed in chunks, re-basing the buffer between reads as the networking code
//!   does, the stream gives the same requests and the same error as parsed in
//!   one go (for streams under 64 KiB: above that, Redis's "too big" limits
//!   depend on how much had arrived, in Redis as here);
//! - every request parsed, written back as a multibulk request, parses to
//!   itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use loopscope::server::resp::{
    CONFIG_DEFAULT_PROTO_MAX_BULK_LEN, PROTO_INLINE_MAX_SIZE, ProtocolError, QueryParser,
};
use loopscope::walkthrough::argv::encode_request;

type Argv = Vec<Vec<u8>>;
type Outcome = (Vec<Argv>, Option<ProtocolError>);

fn parser(settings: u8) -> QueryParser {
    let max_bulk_len = match (settings >> 1) & 3 {
        0 => CONFIG_DEFAULT_PROTO_MAX_BULK_LEN,
        1 => 0,
        2 => 5,
        _ => 100,
    };
    let mut p = QueryParser::new(max_bulk_len);
    p.auth_required = settings & 1 != 0;
    p
}

/// Parses until more bytes are needed or an error; checks the position rule.
fn drain(
    p: &mut QueryParser,
    buf: &[u8],
    pos: &mut usize,
    out: &mut Vec<Argv>,
) -> Result<(), ProtocolError> {
    loop {
        let before = *pos;
        let result = p.parse(buf, pos);
        assert!(
            *pos >= before && *pos <= buf.len(),
            "position {before} -> {pos}"
        );
        match result? {
            Some(argv) => out.push(argv),
            None => return Ok(()),
        }
    }
}

fn one_shot(settings: u8, stream: &[u8]) -> Outcome {
    let mut p = parser(settings);
    let (mut requests, mut pos) = (Vec::new(), 0);
    let err = drain(&mut p, stream, &mut pos, &mut requests).err();
    (requests, err)
}

/// Cut lengths from a small xorshift generator: mostly short reads, so that
/// headers and arguments are split everywhere, sometimes long ones.
fn chunked(settings: u8, seed: u8, stream: &[u8]) -> Outcome {
    let mut state = u32::from(seed) | 0x1_0000;
    let mut next_len = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let max = if state & 0x100 != 0 { 64 } else { 4 };
        1 + (state as usize >> 9) % max
    };
    let mut p = parser(settings);
    let (mut querybuf, mut requests) = (Vec::new(), Vec::new());
    let mut rest = stream;
    while !rest.is_empty() {
        let n = next_len().min(rest.len());
        querybuf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        let mut pos = 0;
        if let Err(e) = drain(&mut p, &querybuf, &mut pos, &mut requests) {
            return (requests, Some(e));
        }
        querybuf.drain(..pos);
    }
    (requests, None)
}

fuzz_target!(|data: &[u8]| {
    let [settings, seed, stream @ ..] = data else {
        return;
    };
    let whole = one_shot(*settings, stream);
    let pieces = chunked(*settings, *seed, stream);
    if stream.len() <= PROTO_INLINE_MAX_SIZE {
        assert_eq!(whole, pieces, "one-shot and chunked parses differ");
    }
    for argv in whole.0.iter().filter(|argv| !argv.is_empty()) {
        let mut encoded = Vec::new();
        encode_request(argv, &mut encoded);
        // Inline arguments obey no count or length limit, so re-parse with none.
        let (again, err) = one_shot(0, &encoded);
        assert!(err.is_none(), "re-encoded request rejected: {err:?}");
        assert_eq!(again, vec![argv.clone()]);
    }
});

//! A client's pending replies: the mirror of the reply fields of Redis's
//! `client` (`buf`, `bufpos`, `sentlen`, `reply`, `reply_bytes`) and of the
//! networking.c functions that fill them and forget what was written.
//!
//! Every reply goes first into the client's fixed buffer of 16 KiB
//! (`PROTO_REPLY_CHUNK_BYTES`). What does not fit goes to a list of *reply
//! blocks*: the last block is filled up first, and a new block is at least
//! 16 KiB, or the size of the piece that needs it, so one large reply lands
//! in one block of its own size. Each block is as big as the allocator's size
//! class for it, as in Redis, where a 16 KiB block plus its header is a 20 KiB
//! allocation and holds 20,464 bytes ([`zmalloc::usable_size`]). Once the list
//! holds anything, nothing more goes to the fixed buffer, so bytes leave in
//! the order they were added.
//!
//! The write side (`networking.rs`) sends the fixed buffer with one `write`
//! while the list is empty (the fast path of every small reply), and
//! otherwise gathers the buffer and the blocks into one `writev`
//! ([`ReplyBuffer::gather`]); [`ReplyBuffer::written`] then frees every block
//! that went out whole and remembers how far into the next one it got.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::IoSlice;

use super::networking::NET_MAX_WRITES_PER_EVENT;
use super::zmalloc;

/// Size of the fixed reply buffer every client has, and the smallest reply
/// block (Redis's `PROTO_REPLY_CHUNK_BYTES`).
pub const PROTO_REPLY_CHUNK_BYTES: usize = 16 * 1024;

/// Most buffers one `writev` may take (`IOV_MAX` of Linux's `limits.h`).
pub const IOV_MAX: usize = 1024;

/// Bytes of a `clientReplyBlock` before its payload: its `size` and `used`.
const REPLY_BLOCK_HEADER: usize = 2 * size_of::<usize>();

/// Bytes of the `listNode` that links a block into Redis's list: three pointers.
const LIST_NODE_SIZE: usize = 3 * size_of::<usize>();

/// One block of the reply list (mirror of `clientReplyBlock`): `size` bytes
/// of room, of which `buf.len()` (Redis's `used`) are filled.
struct ClientReplyBlock {
    size: usize,
    buf: Vec<u8>,
}

/// The reply bytes of one client that are not written yet.
pub struct ReplyBuffer {
    /// The fixed buffer; its length is Redis's `bufpos`.
    buf: Vec<u8>,
    /// Bytes already written of the fixed buffer while it holds anything,
    /// else of the first block (Redis's `sentlen`, which does both jobs).
    sentlen: usize,
    /// The reply list (Redis's `reply`).
    reply: VecDeque<ClientReplyBlock>,
    /// The room of every block in the list (Redis's `reply_bytes`).
    reply_bytes: usize,
}

impl Default for ReplyBuffer {
    fn default() -> Self {
        ReplyBuffer {
            buf: Vec::with_capacity(PROTO_REPLY_CHUNK_BYTES),
            sentlen: 0,
            reply: VecDeque::new(),
            reply_bytes: 0,
        }
    }
}

impl ReplyBuffer {
    /// Appends reply bytes: as many as fit into the fixed buffer, the rest to
    /// the list (mirror of `_addReplyToBufferOrList`,
    /// <https://github.com/redis/redis/blob/f35f36a265403c07b119830aa4bb3b7d71653ec9/src/networking.c#L383-L399>).
    #[inline]
    pub fn add(&mut self, s: &[u8]) {
        let copied = self.add_to_buffer(s);
        if copied < s.len() {
            self.add_proto_to_list(&s[copied..]);
        }
    }

    /// Copies what fits of `s` into the fixed buffer, nothing once the list
    /// has started (mirror of `_addReplyToBuffer`). Returns the bytes copied.
    #[inline]
    fn add_to_buffer(&mut self, s: &[u8]) -> usize {
        if !self.reply.is_empty() {
            return 0;
        }
        let n = s.len().min(PROTO_REPLY_CHUNK_BYTES - self.buf.len());
        self.buf.extend_from_slice(&s[..n]);
        n
    }

    /// Fills the last block, then puts the rest into a new block of at least
    /// 16 KiB (mirror of `_addReplyProtoToList`).
    fn add_proto_to_list(&mut self, mut s: &[u8]) {
        if let Some(tail) = self.reply.back_mut() {
            let n = s.len().min(tail.size - tail.buf.len());
            tail.buf.extend_from_slice(&s[..n]);
            s = &s[n..];
        }
        if s.is_empty() {
            return;
        }
        let asked = s.len().max(PROTO_REPLY_CHUNK_BYTES) + REPLY_BLOCK_HEADER;
        let size = zmalloc::usable_size(asked) - REPLY_BLOCK_HEADER;
        let mut buf = Vec::with_capacity(size);
        buf.extend_from_slice(s);
        self.reply.push_back(ClientReplyBlock { size, buf });
        self.reply_bytes += size;
    }

    /// True while some bytes are not written (mirror of `clientHasPendingReplies`).
    #[inline]
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty() || !self.reply.is_empty()
    }

    /// Bytes in the fixed buffer (Redis's `bufpos`; `obl` in `CLIENT LIST`).
    pub fn bufpos(&self) -> usize {
        self.buf.len()
    }

    /// Room in the fixed buffer (Redis's `buf_usable_size`; `rbs`).
    pub fn buf_usable_size(&self) -> usize {
        PROTO_REPLY_CHUNK_BYTES
    }

    /// Blocks in the list (`oll` in `CLIENT LIST`).
    pub fn list_len(&self) -> usize {
        self.reply.len()
    }

    /// What the output buffer limits count, and `omem` shows: the room of
    /// the blocks plus their list nodes; the fixed buffer is free (mirror of
    /// `getClientOutputBufferMemoryUsage` for a client that is no replica).
    pub fn output_buffer_memory_usage(&self) -> usize {
        self.reply_bytes + (LIST_NODE_SIZE + REPLY_BLOCK_HEADER) * self.reply.len()
    }

    /// The unwritten part of the fixed buffer: what `_writeToClient` passes to
    /// `write` while the list is empty.
    pub fn buf_pending(&self) -> &[u8] {
        &self.buf[self.sentlen..]
    }

    /// Fills `iov` the way `_writevToClient` does: the fixed buffer's unsent
    /// part, then the blocks, the first one from where the last write stopped,
    /// until [`IOV_MAX`] entries or [`NET_MAX_WRITES_PER_EVENT`] bytes are
    /// gathered. Blocks are whole, so the last one may go past the 64 KiB:
    /// four 20,464-byte blocks make the 81,856-byte `writev` of redis-server.
    /// (Redis also frees empty blocks here, left by its deferred lengths; this
    /// list never holds one.)
    pub fn gather<'a>(&'a self, iov: &mut Vec<IoSlice<'a>>) {
        let mut bytes = 0;
        let mut offset = self.sentlen;
        if !self.buf.is_empty() {
            iov.push(IoSlice::new(&self.buf[offset..]));
            bytes += self.buf.len() - offset;
            offset = 0;
        }
        for block in &self.reply {
            if iov.len() >= IOV_MAX || bytes >= NET_MAX_WRITES_PER_EVENT {
                break;
            }
            iov.push(IoSlice::new(&block.buf[offset..]));
            bytes += block.buf.len() - offset;
            offset = 0;
        }
    }

    /// Forgets `n` written bytes: empties the fixed buffer once it is all
    /// sent, frees each block sent whole, and keeps in `sentlen` how far into
    /// the next one the write got (the second half of `_writevToClient`, and
    /// the `sentlen` update of `_writeToClient`).
    pub fn written(&mut self, mut n: usize) {
        if !self.buf.is_empty() {
            let left = self.buf.len() - self.sentlen;
            if n < left {
                self.sentlen += n;
                return;
            }
            n -= left;
            self.buf.clear();
            self.sentlen = 0;
        }
        while n > 0 {
            let Some(head) = self.reply.front() else {
                break;
            };
            let left = head.buf.len() - self.sentlen;
            if n < left {
                self.sentlen += n;
                return;
            }
            n -= left;
            self.reply_bytes -= head.size;
            self.reply.pop_front();
            self.sentlen = 0;
        }
    }

    /// The unwritten bytes, in the order they will leave.
    fn pending_slices(&self) -> impl Iterator<Item = &[u8]> {
        let (buf_sent, head_sent) = if self.buf.is_empty() {
            (0, self.sentlen)
        } else {
            (self.sentlen, 0)
        };
        let blocks = self.reply.iter().enumerate().map(move |(i, block)| {
            let sent = if i == 0 { head_sent } else { 0 };
            &block.buf[sent..]
        });
        std::iter::once(&self.buf[buf_sent..]).chain(blocks)
    }

    /// How many bytes are not written yet (asked before every command, so
    /// the usual case, an empty list, is answered without walking it).
    #[inline]
    pub fn pending_len(&self) -> usize {
        if self.reply.is_empty() {
            return self.buf.len() - self.sentlen;
        }
        self.pending_slices().map(<[u8]>::len).sum()
    }

    /// The unwritten bytes from the `from`-th on, borrowed when they lie in
    /// one buffer (the trace shows the reply a command added this way).
    pub fn pending(&self, from: usize) -> Cow<'_, [u8]> {
        let mut skip = from;
        let mut parts = self.pending_slices().filter_map(|s| {
            let kept = s.get(skip..).unwrap_or_default();
            skip = skip.saturating_sub(s.len());
            (!kept.is_empty()).then_some(kept)
        });
        let Some(first) = parts.next() else {
            return Cow::Borrowed(&[]);
        };
        match parts.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut all = [first, second].concat();
                parts.for_each(|s| all.extend_from_slice(s));
                Cow::Owned(all)
            }
        }
    }

    /// Drops every pending byte.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.sentlen = 0;
        self.reply.clear();
        self.reply_bytes = 0;
    }

    /// Hands over every pending byte and empties the buffer (tests and
    /// callers that consume replies without a socket).
    pub fn take(&mut self) -> Vec<u8> {
        let all = self.pending(0).into_owned();
        self.clear();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Room of a block that holds `n` bytes, as Redis sizes it.
    fn block_size(n: usize) -> usize {
        zmalloc::usable_size(n.max(PROTO_REPLY_CHUNK_BYTES) + REPLY_BLOCK_HEADER)
            - REPLY_BLOCK_HEADER
    }

    fn gathered(r: &ReplyBuffer) -> Vec<usize> {
        let mut iov = Vec::new();
        r.gather(&mut iov);
        iov.iter().map(|s| s.len()).collect()
    }

    #[test]
    fn small_replies_stay_in_the_fixed_buffer() {
        let mut r = ReplyBuffer::default();
        r.add(b"+OK\r\n");
        r.add(b":1\r\n");
        assert_eq!((r.bufpos(), r.list_len()), (9, 0));
        assert_eq!(r.output_buffer_memory_usage(), 0);
        assert_eq!(r.buf_pending(), b"+OK\r\n:1\r\n");
        assert_eq!(&*r.pending(5), b":1\r\n");
    }

    #[test]
    fn many_small_pieces_fill_the_buffer_then_20464_byte_blocks() {
        let mut r = ReplyBuffer::default();
        let piece = b"$10\r\nelement:42\r\n";
        let mut all = Vec::new();
        for _ in 0..100_000 {
            r.add(piece);
            all.extend_from_slice(piece);
        }
        assert_eq!(block_size(1), 20464);
        let in_blocks = all.len() - PROTO_REPLY_CHUNK_BYTES;
        assert_eq!(r.bufpos(), PROTO_REPLY_CHUNK_BYTES);
        assert_eq!(r.list_len(), in_blocks.div_ceil(20464));
        assert_eq!(
            r.output_buffer_memory_usage(),
            r.list_len() * (20464 + LIST_NODE_SIZE + REPLY_BLOCK_HEADER)
        );
        assert_eq!(r.pending_len(), all.len());
        // The first writev: the buffer and three blocks reach 64 KiB.
        assert_eq!(gathered(&r), [16384, 20464, 20464, 20464]);
        r.written(16384 + 20464 + 100);
        assert_eq!(
            (r.bufpos(), r.list_len()),
            (0, in_blocks.div_ceil(20464) - 1)
        );
        // Later ones: four blocks, 81,856 bytes, the first one's rest first.
        assert_eq!(gathered(&r), [20364, 20464, 20464, 20464]);
        r.written(20364);
        assert_eq!(gathered(&r).iter().sum::<usize>(), 81856);
        assert_eq!(r.take(), all[16384 + 20464 + 20464..]);
        assert!(!r.has_pending());
    }

    #[test]
    fn a_large_reply_gets_one_block_of_its_size() {
        let mut r = ReplyBuffer::default();
        r.add(b"$1000000\r\n");
        let value = vec![b'x'; 1_000_000];
        r.add(&value);
        r.add(b"\r\n");
        let rest = 1_000_000 - (PROTO_REPLY_CHUNK_BYTES - 10);
        assert_eq!(r.list_len(), 1);
        assert_eq!(r.output_buffer_memory_usage(), block_size(rest) + 40);
        assert_eq!(block_size(rest), 1_048_576 - 16);
        // One writev of everything: the buffer and the one block.
        assert_eq!(gathered(&r), [PROTO_REPLY_CHUNK_BYTES, rest + 2]);
        r.written(PROTO_REPLY_CHUNK_BYTES + rest + 2);
        assert!(!r.has_pending());
        assert_eq!(r.output_buffer_memory_usage(), 0);
    }

    #[test]
    fn a_short_write_of_the_fixed_buffer_resumes_where_it_stopped() {
        let mut r = ReplyBuffer::default();
        r.add(b"+PONG\r\n+PONG\r\n");
        r.written(3);
        assert_eq!(r.buf_pending(), b"NG\r\n+PONG\r\n");
        assert_eq!(r.pending_len(), 11);
        r.written(11);
        assert!(!r.has_pending());
        assert_eq!(r.bufpos(), 0);
    }
}

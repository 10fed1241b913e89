//! One connection: the mirror of Redis's `client` struct (server.h).
//!
//! A client owns its socket, the bytes read but not yet parsed (`querybuf`),
//! the command being run (`argv`) and the bytes of replies not yet written
//! (`reply`, see `reply.rs`). Replies are never written from here: commands append to `reply`,
//! and the client is queued on the server's pending-writes list, which
//! `before_sleep` drains (see `networking.rs`).
//!
//! A client can also be in one of the states that make the loop interesting:
//! *blocked* on keys (`BLPOP`, see `blocked.rs`), *subscribed* to channels
//! (see `pubsub.rs`), inside a *transaction* (`MULTI`, see `multi.rs`), or a
//! *monitor* that receives every command. Each state is a flag bit plus the
//! fields that go with it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::blocked::BlockState;
use super::cmd::RedisCommand;
use super::db::Sds;
use super::db::dense::DenseMap;
use super::db::signals::DirtyFlag;
use super::reply::ReplyBuffer;
use super::resp::QueryParser;
use crate::ae::Fd;

/// Close the connection once everything in `reply` is written (QUIT, protocol errors).
pub const CLIENT_CLOSE_AFTER_REPLY: u32 = 1 << 0;
/// Close the connection in the next `before_sleep`, without writing more.
pub const CLIENT_CLOSE_ASAP: u32 = 1 << 1;
/// The client is on the server's pending-writes list.
pub const CLIENT_PENDING_WRITE: u32 = 1 << 2;
/// The connection was closed because of a protocol error.
pub const CLIENT_PROTOCOL_ERROR: u32 = 1 << 3;
/// Waiting for data on keys (`BLPOP` and friends); `bpop` says which.
pub const CLIENT_BLOCKED: u32 = 1 << 4;
/// Just unblocked: queued to have the rest of its input processed.
pub const CLIENT_UNBLOCKED: u32 = 1 << 5;
/// Subscribed to at least one channel or pattern.
pub const CLIENT_PUBSUB: u32 = 1 << 6;
/// Inside MULTI: commands are queued, not run.
pub const CLIENT_MULTI: u32 = 1 << 7;
/// A command failed to queue, so EXEC will refuse the transaction.
pub const CLIENT_DIRTY_EXEC: u32 = 1 << 8;
/// A MONITOR: receives a line for every command the server runs.
pub const CLIENT_MONITOR: u32 = 1 << 9;
/// Must get one reply per command, so blocking commands may not block
/// (set while EXEC runs the queued commands).
pub const CLIENT_DENY_BLOCKING: u32 = 1 << 10;
/// The running command reported what to propagate in its place (Redis's
/// `CLIENT_PREVENT_PROP`); see `aof::propagate`.
pub const CLIENT_PREVENT_PROP: u32 = 1 << 11;
/// The loop neither reads from nor writes to this client for now: its
/// command runs the loop from inside (`DEBUG LOADAOF`) and must not be
/// disturbed meanwhile (Redis's `CLIENT_PROTECTED`); see
/// `networking::protect_client`.
pub const CLIENT_PROTECTED: u32 = 1 << 12;

/// A client as the server's tables refer to it: its fd, which is its slot
/// in `server.clients`, and its id, so a closed client's reused fd is never
/// mistaken for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientRef {
    pub fd: Fd,
    pub id: u64,
}

/// A command queued by MULTI (mirror of `multiCmd`).
pub struct MultiCmd {
    pub cmd: &'static RedisCommand,
    pub argv: Vec<Vec<u8>>,
    /// Its footprint as Redis counts it in `multi-mem`: the argument bytes
    /// plus a pointer per argument.
    pub argv_mem: usize,
}

/// One connected client.
pub struct Client {
    /// Unique, increasing id (`CLIENT ID`), never reused, unlike the fd.
    pub id: u64,
    pub fd: Fd,
    pub conn: mio::net::TcpStream,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    /// Set by `CLIENT SETNAME` / `HELLO ... SETNAME`.
    pub name: Option<Vec<u8>>,
    /// Selected database index.
    pub db: usize,
    /// Protocol version: 2 (default) or 3 after `HELLO 3`.
    pub resp: u8,
    pub flags: u32,
    /// Bytes read from the socket; `qb_pos` marks how far they have been parsed.
    pub querybuf: Vec<u8>,
    pub qb_pos: usize,
    /// Incremental parser state for a request split across reads.
    pub parser: QueryParser,
    /// The command being executed.
    pub argv: Vec<Vec<u8>>,
    /// Encoded replies not yet written: Redis's fixed buffer and reply list.
    pub reply: ReplyBuffer,
    /// When the connection was accepted and when it last sent a command.
    pub ctime: Instant,
    pub last_interaction: Instant,
    /// Name of the last command run (`cmd=` in `CLIENT LIST`).
    pub last_cmd: &'static str,
    /// True while the writable handler (`send_reply_to_client`) is registered
    /// for this client's fd (`events=rw` in `CLIENT LIST`).
    pub write_handler_installed: bool,
    /// Why the connection is being closed, once it is (shown by the trace).
    pub close_reason: &'static str,
    /// Totals for this connection.
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// What a blocked client waits for (Redis's `bpop`).
    pub bpop: Option<Box<BlockState>>,
    /// Channels, patterns and shard channels this client is subscribed to
    /// (`pubsub_channels`, `pubsub_patterns`, `pubsub_shard_channels`).
    /// Patterns are kept in subscription order, as Redis's list is.
    pub pubsub_channels: DenseMap<()>,
    pub pubsub_patterns: Vec<Sds>,
    pub pubsub_shard_channels: DenseMap<()>,
    /// Commands queued since MULTI (`mstate`).
    pub mstate: Vec<MultiCmd>,
    /// Keys under WATCH, as (database, key) (`watched_keys`).
    pub watched_keys: Vec<(usize, Sds)>,
    /// `CLIENT_DIRTY_CAS`: a watched key was touched. Shared with the
    /// databases' watch tables, which set it.
    pub dirty_cas: DirtyFlag,
    /// When the pending output first went past the soft limit of the
    /// client's class, while it stays past it (`obuf_soft_limit_reached_time`).
    pub obuf_soft_limit_reached_time: Option<Instant>,
    /// Whether the client passed AUTH, or needed not to (Redis's `authenticated`).
    /// Set by the accept path from the config; true for a bare `Client::new`.
    pub authenticated: bool,
    /// Why the client's last wait ended, for the trace (see `blocked::unblock_client`).
    pub unblock_reason: &'static str,
    /// Where in `reply` the reply that ended the wait begins, until the
    /// client resumes (the trace shows that reply beside the command).
    pub unblock_reply_from: Option<usize>,
}

impl Client {
    /// A fresh client in the state `createClient` leaves it: db 0, RESP2, empty buffers.
    pub fn new(
        id: u64,
        fd: Fd,
        conn: mio::net::TcpStream,
        addr: SocketAddr,
        laddr: SocketAddr,
    ) -> Self {
        let now = Instant::now();
        Client {
            id,
            fd,
            conn,
            addr,
            laddr,
            name: None,
            db: 0,
            resp: 2,
            flags: 0,
            querybuf: Vec::new(),
            qb_pos: 0,
            parser: QueryParser::default(),
            argv: Vec::new(),
            reply: ReplyBuffer::default(),
            ctime: now,
            last_interaction: now,
            last_cmd: "NULL",
            write_handler_installed: false,
            close_reason: "",
            net_input_bytes: 0,
            net_output_bytes: 0,
            bpop: None,
            pubsub_channels: DenseMap::new(),
            pubsub_patterns: Vec::new(),
            pubsub_shard_channels: DenseMap::new(),
            mstate: Vec::new(),
            watched_keys: Vec::new(),
            dirty_cas: Arc::new(AtomicBool::new(false)),
            obuf_soft_limit_reached_time: None,
            authenticated: true,
            unblock_reason: "",
            unblock_reply_from: None,
        }
    }

    /// This client as the server's tables refer to it.
    pub fn client_ref(&self) -> ClientRef {
        ClientRef {
            fd: self.fd,
            id: self.id,
        }
    }

    /// True once a watched key was touched (`CLIENT_DIRTY_CAS`).
    pub fn is_dirty_cas(&self) -> bool {
        self.dirty_cas.load(Ordering::Relaxed)
    }

    /// Number of channels and patterns subscribed to, shard channels aside
    /// (mirror of `clientSubscriptionsCount`).
    pub fn subscriptions_count(&self) -> usize {
        self.pubsub_channels.len() + self.pubsub_patterns.len()
    }

    /// The pending output that counts against the output buffer limits
    /// (mirror of `getClientOutputBufferMemoryUsage`): the reply list, not
    /// the fixed buffer.
    pub fn output_buffer_memory_usage(&self) -> usize {
        self.reply.output_buffer_memory_usage()
    }

    /// True while some reply bytes are still waiting to be written
    /// (the mirror of `clientHasPendingReplies`).
    #[inline]
    pub fn has_pending_replies(&self) -> bool {
        self.reply.has_pending()
    }
}

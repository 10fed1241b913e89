//! One connection: the mirror of Redis's `client` struct (server.h).
//!
//! A client owns its socket, the bytes read but not yet parsed (`querybuf`),
//! the command being run (`argv`) and the bytes of replies not yet written
//! (`reply`). Replies are never written from here: commands append to `reply`,
//! and the client is queued on the server's pending-writes list, which
//! `before_sleep` drains (see `networking.rs`).

use std::net::SocketAddr;
use std::time::Instant;

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
    /// Encoded replies not yet written; `sentlen` bytes of it are already sent.
    pub reply: Vec<u8>,
    pub sentlen: usize,
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
            reply: Vec::new(),
            sentlen: 0,
            ctime: now,
            last_interaction: now,
            last_cmd: "NULL",
            write_handler_installed: false,
            close_reason: "",
            net_input_bytes: 0,
            net_output_bytes: 0,
        }
    }

    /// True while some reply bytes are still waiting to be written
    /// (the mirror of `clientHasPendingReplies`).
    pub fn has_pending_replies(&self) -> bool {
        self.sentlen < self.reply.len()
    }
}

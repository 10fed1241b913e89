//! The Redis subset that runs on top of [`crate::ae`]: the mirror of Redis's
//! `server.c` (start-up, `serverCron`, `beforeSleep`, command dispatch) and
//! `networking.c` (accepting, reading, parsing, replying).
//!
//! # Layout
//! - [`Server`]: the global state, the mirror of Redis's `struct redisServer`.
//! - [`client`]: one connection, the mirror of Redis's `client`.
//! - [`networking`]: accept, read, parse, the pending-writes queue, write handler.
//! - [`resp`]: the protocol: request parsing and reply encoding.
//! - [`db`]: the keyspaces and expiry.
//! - [`cmd`]: the command table, one file per family.

pub mod client;
pub mod cmd;
pub mod db;
pub mod networking;
pub mod resp;

use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::ae::Fd;
use client::Client;
use db::Db;

/// Default TCP port: one above Redis's 6379, so loopscope can run beside a real Redis.
pub const DEFAULT_PORT: u16 = 6380;
/// Redis's `CONFIG_DEFAULT_HZ`.
pub const CONFIG_DEFAULT_HZ: u32 = 10;
/// Redis's default `maxclients`.
pub const CONFIG_DEFAULT_MAX_CLIENTS: u32 = 10000;
/// Redis's `CONFIG_FDSET_INCR`: the loop's setsize is `maxclients` plus this many
/// slots for the server's own fds (listeners, files, …).
pub const CONFIG_FDSET_INCR: usize = 128;
/// Number of databases (`databases 16`).
pub const CONFIG_DEFAULT_DBNUM: usize = 16;

/// Settings, from the command line and `CONFIG SET` (mirror of the config part of `redisServer`).
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: String,
    pub port: u16,
    /// serverCron frequency, 1..=500.
    pub hz: u32,
    pub maxclients: u32,
    /// Close clients idle for this many seconds; 0 = never.
    pub timeout: u64,
    /// `proto-max-bulk-len`: the largest bulk string a request may carry.
    pub proto_max_bulk_len: u64,
    /// `client-query-buffer-limit`: a client whose unparsed input exceeds this is closed.
    pub client_query_buffer_limit: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1".to_string(),
            port: DEFAULT_PORT,
            hz: CONFIG_DEFAULT_HZ,
            maxclients: CONFIG_DEFAULT_MAX_CLIENTS,
            timeout: 0,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
        }
    }
}

/// Counters reported by `INFO stats` (mirror of the `stat_*` fields of `redisServer`).
#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub numconnections: u64,
    pub numcommands: u64,
    pub rejected_conn: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub expiredkeys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Samples for `instantaneous_ops_per_sec`, taken by serverCron every 100 ms
    /// (mirror of `trackInstantaneousMetric`).
    pub ops_samples: [u64; 16],
    pub ops_sample_idx: usize,
    pub ops_last_sample_time: Option<Instant>,
    pub ops_last_sample_count: u64,
}

/// The whole server: the mirror of Redis's `struct redisServer`. The event loop
/// itself is kept beside it (see [`crate::ae::EventLoop`]) rather than inside it,
/// so handlers can borrow both.
pub struct Server {
    pub config: Config,
    pub listener: mio::net::TcpListener,
    pub listener_fd: Fd,
    /// Connected clients, indexed by fd (Redis keeps a list; the fd index gives
    /// the handlers, which are called with an fd, O(1) access).
    pub clients: Vec<Option<Box<Client>>>,
    /// Number of `Some` entries in `clients`.
    pub num_clients: usize,
    /// Clients with replies to write in the next `before_sleep`, newest first,
    /// as `(fd, client id)` (mirror of `clients_pending_write`).
    pub clients_pending_write: Vec<(Fd, u64)>,
    /// Clients to free in the next `before_sleep` (mirror of `clients_to_close`).
    pub clients_to_close: Vec<(Fd, u64)>,
    pub next_client_id: u64,
    pub dbs: Vec<Db>,
    pub commands: cmd::CommandTable,
    pub stats: Stats,
    /// Monotonic and wall-clock start time, for `uptime_in_seconds`.
    pub start_instant: Instant,
    pub start_unix_ms: u64,
    /// Number of serverCron runs (`cronloops`).
    pub cronloops: u64,
    /// The id of the serverCron time event.
    pub cron_id: i64,
    /// Where the server actually listens (the port may have been 0 = pick one).
    pub local_addr: SocketAddr,
}

/// Milliseconds since the Unix epoch (mirror of `mstime`).
pub fn mstime() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Microseconds since the Unix epoch (mirror of `ustime`).
pub fn ustime() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

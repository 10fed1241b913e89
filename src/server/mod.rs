//! The Redis subset that runs on top of [`crate::ae`]: the mirror of Redis's
//! `server.c` (start-up, `serverCron`, `beforeSleep`, command dispatch) and
//! `networking.c` (accepting, reading, parsing, replying).
//!
//! # Layout
//! - [`Server`]: the global state, the mirror of Redis's `struct redisServer`.
//! - [`client`]: one connection, the mirror of Redis's `client`.
//! - [`networking`]: accept, read, parse, the pending-writes queue, write handler.
//! - [`resp`]: the protocol: request parsing and reply encoding.
//! - [`reply`]: a client's pending replies, the fixed buffer and the reply list.
//! - [`sds`]: how the query buffer grows, and so how much each read asks for.
//! - [`db`]: the keyspaces and expiry.
//! - [`cmd`]: the command table, one file per family.
//! - [`blocked`], [`pubsub`], [`multi`], [`monitor`]: the client states
//!   that make the loop do more than request → reply: blocked on keys,
//!   subscribed, inside a transaction, watching every command.
//! - [`auth`]: the password (`requirepass`, AUTH) and protected mode.
//! - [`util`]: Redis's strict number parsing and glob matching.
//! - [`zmalloc`]: the counting allocator behind `INFO memory`.
//! - [`log`]: the server log.
//! - [`aof`]: persistence, the append-only file written in `before_sleep`.

pub mod aof;
pub mod auth;
pub mod blocked;
pub mod call;
pub mod client;
pub mod cmd;
pub mod db;
pub mod expire;
pub mod log;
pub mod monitor;
pub mod multi;
pub mod networking;
pub mod probes;
pub mod pubsub;
pub mod reply;
pub mod resp;
pub mod sds;
pub mod util;
pub mod zmalloc;

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::ae::{AE_ERR, AE_READABLE, EventLoop, Fd, Handler};
use client::{CLIENT_BLOCKED, CLIENT_MONITOR, CLIENT_PUBSUB, Client, ClientRef};
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
    /// `enable-debug-command`: who may run DEBUG. Redis defaults to `no`;
    /// loopscope defaults to `local`, because its chapters block the loop
    /// with `DEBUG SLEEP` from a loopback connection.
    pub enable_debug_command: ProtectedAction,
    /// `client-output-buffer-limit`, per [`networking::ClientClass`].
    pub client_obuf_limits: [networking::ClientBufferLimit; 3],
    /// `requirepass`: the default user's password; empty means none.
    pub requirepass: Vec<u8>,
    /// `protected-mode`: with no password, refuse clients that are not on loopback.
    pub protected_mode: bool,
    /// `appendonly`: keep an append-only file (see [`aof`]).
    pub appendonly: bool,
    /// `appendfsync`: when the AOF is fsynced.
    pub appendfsync: aof::AppendFsync,
    /// `appendfilename`: the name the AOF's parts and manifest start with.
    pub appendfilename: String,
    /// `dir`: the working directory; the AOF lives in `<dir>/appendonlydir`.
    pub dir: std::path::PathBuf,
}

/// Who may run a protected command such as DEBUG (Redis's `PROTECTED_ACTION_ALLOWED_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectedAction {
    No,
    Yes,
    /// Only clients connected over loopback.
    Local,
}

impl ProtectedAction {
    /// The config value as `CONFIG GET` shows it.
    pub fn name(self) -> &'static str {
        match self {
            ProtectedAction::No => "no",
            ProtectedAction::Yes => "yes",
            ProtectedAction::Local => "local",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1".to_string(),
            port: DEFAULT_PORT,
            hz: CONFIG_DEFAULT_HZ,
            maxclients: CONFIG_DEFAULT_MAX_CLIENTS,
            timeout: 0,
            proto_max_bulk_len: resp::CONFIG_DEFAULT_PROTO_MAX_BULK_LEN,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            enable_debug_command: ProtectedAction::Local,
            client_obuf_limits: networking::CLIENT_BUFFER_LIMITS_DEFAULT,
            requirepass: Vec::new(),
            protected_mode: true,
            appendonly: false,
            appendfsync: aof::AppendFsync::Everysec,
            appendfilename: aof::DEFAULT_APPENDFILENAME.to_string(),
            dir: std::path::PathBuf::from("."),
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
    /// Clients closed for going over their output buffer limit.
    pub client_outbuf_limit_disconnections: u64,
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
    /// Clients protected while their command runs the loop from inside,
    /// with how the trace showed them then: they are lent out of
    /// `clients` meanwhile, and a snapshot still lists them.
    pub protected_clients: Vec<(ClientRef, crate::trace::model::ClientInfo)>,
    pub next_client_id: u64,
    pub dbs: Vec<Db>,
    pub commands: cmd::CommandTable,
    pub stats: Stats,
    /// State and statistics of the active expire cycle (see [`expire`]).
    pub expire_cycle: expire::ExpireCycle,
    /// Whether serverCron and beforeSleep run the active expire cycle
    /// (`active_expire_enabled`; `DEBUG SET-ACTIVE-EXPIRE 0|1`). While it is
    /// off, a key past its deadline goes only when a command looks it up.
    pub active_expire_enabled: bool,
    /// Monotonic and wall-clock start time, for `uptime_in_seconds`.
    pub start_instant: Instant,
    pub start_unix_ms: u64,
    /// Number of serverCron runs (`cronloops`).
    pub cronloops: u64,
    /// The id of the serverCron time event.
    pub cron_id: i64,
    /// Where the server actually listens (the port may have been 0 = pick one).
    pub local_addr: SocketAddr,
    /// Number of clients blocked on keys (`blocked_clients`).
    pub blocked_clients: usize,
    /// Blocked clients with a deadline, earliest first
    /// (`clients_timeout_table`, a radix tree in Redis).
    pub clients_timeout_table: BTreeSet<(u64, ClientRef)>,
    /// Clients unblocked since the last `before_sleep`, whose pending input
    /// is to be processed (`unblocked_clients`).
    pub unblocked_clients: VecDeque<ClientRef>,
    /// Channel and pattern subscriptions (`pubsub_channels`, …).
    pub pubsub: pubsub::PubSub,
    /// Clients in MONITOR mode, in the order they asked (`monitors`).
    pub monitors: Vec<ClientRef>,
    /// The append-only file's state (the `aof_*` fields of `redisServer`).
    pub aof: aof::Aof,
    /// Set by SHUTDOWN: the loop runs nothing more and stops (Redis exits
    /// inside the command; we stop the loop so the trace is flushed too).
    pub shutdown_requested: bool,
    /// The dataset is being loaded (`loading`): set by [`start_loading`],
    /// cleared by [`stop_loading`]. Meanwhile the loader runs the loop now
    /// and then, and commands without the `loading` flag get `-LOADING`.
    pub loading: bool,
    /// When loading started, in Unix seconds (`loading_start_time`).
    pub loading_start_time: u64,
    /// Bytes to load in all (`loading_total_bytes`): the sizes of the AOF's files.
    pub loading_total_bytes: u64,
    /// Bytes loaded so far (`loading_loaded_bytes`), updated every 1024 commands.
    pub loading_loaded_bytes: u64,
    /// How deep we are inside [`networking::process_events_while_blocked`]
    /// (Redis's global `ProcessingEventsWhileBlocked`, a counter because the
    /// calls can nest). While it is non-zero `before_sleep` does only the
    /// vital part of its work.
    pub processing_events_while_blocked: u32,
    /// Events handled by loop iterations run from inside a blocking
    /// operation (`events_processed_while_blocked`): how
    /// `process_events_while_blocked` tells that an iteration did nothing.
    pub events_processed_while_blocked: u64,
    /// Inside [`networking::process_events_while_blocked`]: who called it,
    /// and which of its (at most four) iterations runs; the trace shows both.
    pub while_blocked: Option<(networking::WhileBlockedCaller, u32)>,
    /// Milliseconds up to which `while_blocked_cron` has done its periodic
    /// work (`blocked_last_cron`); 0 when no blocking operation runs.
    pub blocked_last_cron: u64,
}

impl Server {
    /// The connected client `who`, unless it is the one whose command is
    /// running (which the input path holds outside the table).
    pub fn client_mut(&mut self, who: ClientRef) -> Option<&mut Client> {
        self.clients
            .get_mut(who.fd as usize)?
            .as_deref_mut()
            .filter(|c| c.id == who.id)
    }

    /// A server with no clients and empty databases, listening on
    /// `listener` (the state `initServer` builds before the loop starts).
    pub fn new(
        config: Config,
        listener: mio::net::TcpListener,
        listener_fd: Fd,
        local_addr: SocketAddr,
    ) -> Server {
        Server {
            config,
            listener,
            listener_fd,
            clients: Vec::new(),
            num_clients: 0,
            clients_pending_write: Vec::new(),
            clients_to_close: Vec::new(),
            protected_clients: Vec::new(),
            next_client_id: 1,
            dbs: (0..CONFIG_DEFAULT_DBNUM).map(Db::new).collect(),
            commands: cmd::CommandTable::new(),
            stats: Stats::default(),
            expire_cycle: expire::ExpireCycle::default(),
            active_expire_enabled: true,
            start_instant: Instant::now(),
            start_unix_ms: mstime(),
            cronloops: 0,
            cron_id: 0,
            local_addr,
            blocked_clients: 0,
            clients_timeout_table: BTreeSet::new(),
            unblocked_clients: VecDeque::new(),
            pubsub: pubsub::PubSub::default(),
            monitors: Vec::new(),
            aof: aof::Aof::default(),
            shutdown_requested: false,
            loading: false,
            loading_start_time: 0,
            loading_total_bytes: 0,
            loading_loaded_bytes: 0,
            processing_events_while_blocked: 0,
            events_processed_while_blocked: 0,
            while_blocked: None,
            blocked_last_cron: 0,
        }
    }
}

/// Milliseconds since the Unix epoch (mirror of `mstime`).
pub fn mstime() -> u64 {
    #[cfg(test)]
    if let Some(ms) = frozen_clock::now() {
        return ms;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Unit tests that compare TTLs in whole seconds stop the clock, so a machine
/// that stalls for half a second between EXPIRE and TTL cannot change the
/// rounded answer. Per thread, as each test runs on its own thread.
#[cfg(test)]
pub mod frozen_clock {
    use std::cell::Cell;

    thread_local! {
        static FROZEN_MS: Cell<Option<u64>> = const { Cell::new(None) };
    }

    /// From now on, [`super::mstime`] on this thread answers the present moment.
    pub fn freeze() {
        let now = super::mstime();
        FROZEN_MS.with(|f| f.set(Some(now)));
    }

    pub(super) fn now() -> Option<u64> {
        FROZEN_MS.with(Cell::get)
    }
}

/// Microseconds since the Unix epoch (mirror of `ustime`).
pub fn ustime() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Redis's `CONFIG_MIN_RESERVED_FDS`: fds kept for the server's own use when
/// sizing the open-files limit.
pub const CONFIG_MIN_RESERVED_FDS: u64 = 32;

/// Set by the SIGINT/SIGTERM handler, read by serverCron (mirror of `shutdown_asap`).
static SHUTDOWN_ASAP: AtomicBool = AtomicBool::new(false);

/// Why the server could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// Sets up everything the loop needs before the first iteration (mirror of
/// `initServer` plus `initListeners`): raises the open-files limit, creates the
/// loop with room for `maxclients + 128` fds, binds the listener and registers
/// it READABLE with the accept handler, creates the serverCron time event and
/// installs the sleep hooks.
///
/// It does not load the data: as in Redis's `main`, that comes after, in
/// [`load_data_from_disk`], once the caller has installed the tracer. The
/// listener is live by then, so a client can connect while the data loads
/// and be told `-LOADING` (see [`networking::process_events_while_blocked`]).
// anchor: server.init_server
pub fn init_server(mut config: Config) -> Result<(EventLoop<Server>, Server), StartError> {
    config.maxclients = adjust_open_files_limit(config.maxclients);
    let setsize = config.maxclients as usize + CONFIG_FDSET_INCR;
    let mut el = EventLoop::create(setsize)
        .map_err(|e| StartError(format!("Failed creating the event loop: {e}")))?;

    let addr = format!("{}:{}", config.bind, config.port);
    let std_listener = std::net::TcpListener::bind(&addr).map_err(|e| {
        StartError(if e.kind() == std::io::ErrorKind::AddrInUse {
            format!("Could not listen on {addr}: the port is already in use. Stop what is using it, or pick another with --port.")
        } else {
            format!("Could not listen on {addr}: {e}")
        })
    })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| StartError(format!("Could not listen on {addr}: {e}")))?;
    let local_addr = std_listener
        .local_addr()
        .map_err(|e| StartError(e.to_string()))?;
    let listener = mio::net::TcpListener::from_std(std_listener);
    auth::warn_if_exposed(&config);
    let listener_fd = std::os::fd::AsRawFd::as_raw_fd(&listener);

    let mut server = Server::new(config, listener, listener_fd, local_addr);
    server.cron_id = el.create_time_event(1, SERVER_CRON, None);
    if el.create_file_event(listener_fd, AE_READABLE, networking::ACCEPT_TCP_HANDLER) == AE_ERR {
        return Err(StartError(
            "Could not register the listening socket with the event loop".into(),
        ));
    }
    el.before_sleep = Some(BEFORE_SLEEP);
    el.describe = Some(probes::describe);
    install_shutdown_signal_handlers();
    Ok((el, server))
}

/// Loads the dataset (mirror of `loadDataFromDisk`, which Redis's `main`
/// calls after `initServer` and before `aeMain`). loopscope has no RDB, so
/// this is the AOF when `appendonly` is on, and nothing otherwise. The loop
/// is not running yet, but the loader runs a few of its iterations every
/// 1024 commands, so clients are accepted and answered meanwhile.
///
/// A SHUTDOWN, or a SIGTERM, during the load stops it: then
/// `server.shutdown_requested` is set, and the caller should not enter the loop.
// anchor: server.load_data_from_disk
pub fn load_data_from_disk(
    el: &mut EventLoop<Server>,
    server: &mut Server,
) -> Result<(), StartError> {
    let start = Instant::now();
    let loaded = aof::load::load_append_only_files(el, server).map_err(StartError)?;
    if loaded && !server.shutdown_requested {
        log::notice(&format!(
            "DB loaded from append only file: {:.3} seconds",
            start.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// Marks the server as loading and starts the progress counters (mirror of
/// `startLoading`): from now on commands without the `loading` flag are
/// refused, and INFO shows the `loading_*` fields. Loading is a blocking
/// operation, so it also starts the clock of [`while_blocked_cron`].
pub fn start_loading(server: &mut Server, size: u64) {
    server.loading = true;
    server.loading_start_time = mstime() / 1000;
    server.loading_loaded_bytes = 0;
    server.loading_total_bytes = size;
    blocking_operation_starts(server);
}

/// Loading is over (mirror of `stopLoading`).
pub fn stop_loading(server: &mut Server) {
    server.loading = false;
    blocking_operation_ends(server);
}

/// Adds `size` bytes to the loading progress (mirror of `loadingIncrProgress`).
pub fn loading_incr_progress(server: &mut Server, size: u64) {
    server.loading_loaded_bytes += size;
}

/// A long operation that runs the loop from inside starts (mirror of
/// `blockingOperationStarts`): `while_blocked_cron` counts from now.
pub fn blocking_operation_starts(server: &mut Server) {
    if server.blocked_last_cron == 0 {
        server.blocked_last_cron = mstime();
    }
}

/// The long operation is over (mirror of `blockingOperationEnds`).
pub fn blocking_operation_ends(server: &mut Server) {
    server.blocked_last_cron = 0;
}

/// What stands in for serverCron while the server is blocked (mirror of
/// `whileBlockedCron`, which `processEventsWhileBlocked` calls after its
/// iterations, since those run no time events). At most once per `1000/hz`
/// ms of time gone by it counts the cron loops serverCron would have run,
/// so `run_with_period` stays in step (Redis also defragments there, which
/// loopscope does not do). And it is where a SIGTERM received during
/// loading is acted on: Redis shuts down without saving and exits right
/// there; we stop the load and the caller does not enter the loop.
// anchor: server.while_blocked_cron
pub fn while_blocked_cron(el: &mut EventLoop<Server>, server: &mut Server) {
    let now = mstime();
    if server.blocked_last_cron >= now {
        return;
    }
    let hz_ms = 1000 / u64::from(server.config.hz.clamp(1, 500));
    while server.blocked_last_cron < now {
        server.blocked_last_cron += hz_ms;
        server.cronloops += 1;
    }
    if server.loading && SHUTDOWN_ASAP.swap(false, Ordering::SeqCst) {
        log::warning("Received shutdown signal during loading, scheduling shutdown.");
        server.shutdown_requested = true;
        prepare_for_shutdown(el, server);
    }
}

/// Raises RLIMIT_NOFILE to fit `maxclients` plus the reserved fds, or lowers
/// `maxclients` to fit the limit the OS allows (mirror of `adjustOpenFilesLimit`).
fn adjust_open_files_limit(maxclients: u32) -> u32 {
    let wanted = maxclients as u64 + CONFIG_MIN_RESERVED_FDS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return maxclients;
    }
    if limit.rlim_cur >= wanted {
        return maxclients;
    }
    let raised = libc::rlimit {
        rlim_cur: wanted.min(limit.rlim_max),
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    let granted = if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        raised.rlim_cur
    } else {
        limit.rlim_cur
    };
    if granted >= wanted {
        return maxclients;
    }
    let reduced = granted.saturating_sub(CONFIG_MIN_RESERVED_FDS).max(1) as u32;
    log::warning(&format!(
        "You requested maxclients of {maxclients} requiring at least {wanted} max file descriptors. \
         Server can't set maximum open files to {wanted}; maxclients has been reduced to {reduced}."
    ));
    reduced
}

extern "C" fn sig_shutdown_handler(_sig: libc::c_int) {
    SHUTDOWN_ASAP.store(true, Ordering::SeqCst);
    // A loop paused at the gate runs no serverCron: let it go on to one.
    crate::trace::tracer::release_gate_for_shutdown();
}

/// SIGINT and SIGTERM only set a flag; serverCron sees it within 1/hz s and
/// stops the loop (mirror of `sigShutdownHandler` + the check in serverCron).
/// The handler interrupts a sleeping poll, which returns zero events.
fn install_shutdown_signal_handlers() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = sig_shutdown_handler as *const () as usize;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGINT, &act, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &act, std::ptr::null_mut());
    }
}

/// The before-sleep hook.
pub const BEFORE_SLEEP: Handler<crate::ae::SleepProc<Server>> = Handler {
    name: "before_sleep",
    mirrors: "beforeSleep",
    proc_: before_sleep,
};

/// Runs just before the loop sleeps in poll (mirror of `beforeSleep`). The
/// order matters and is Redis 7.0's: work that may produce replies first
/// (blocked clients whose deadline passed, the fast expire cycle, the input
/// of clients unblocked meanwhile, clients blocked on keys that became
/// ready), then the AOF buffer is written to the file — *before* any reply,
/// so no client is told of a write the file does not have — then the
/// replies are written, then clients marked for closing are freed.
// anchor: server.before_sleep
pub fn before_sleep(el: &mut EventLoop<Server>, server: &mut Server) {
    if let Some((caller, round)) = server.while_blocked {
        crate::probe!(el.tracer, "before_sleep" => "processEventsWhileBlocked", probes::events_while_blocked(server, caller, round));
    }
    crate::probe!(el.tracer, "before_sleep" => "beforeSleep", crate::trace::model::ProbeData::BeforeSleepBegin {});
    if server.processing_events_while_blocked > 0 {
        return before_sleep_while_blocked(el, server);
    }
    blocked::handle_blocked_clients_timeout(server);
    if server.active_expire_enabled {
        let stats = expire::active_expire_cycle(server, expire::ExpireCycleKind::Fast);
        if stats.ran {
            crate::probe!(el.tracer, "before_sleep" => "activeExpireCycle", probes::expire_cycle(true, &stats));
        }
    }
    blocked::process_unblocked_clients(el, server);
    if server.shutdown_requested {
        // An unblocked client's pending input held a SHUTDOWN.
        return prepare_for_shutdown(el, server);
    }
    blocked::handle_clients_blocked_on_keys(&mut el.tracer, server);
    if server.aof.on {
        aof::propagate_expired_deletions(&mut el.tracer, server);
        let flushed = aof::flush_append_only_file(server, false);
        if flushed.did_something() {
            crate::probe!(el.tracer, "before_sleep" => "flushAppendOnlyFile", probes::aof_flushed(server, &flushed));
        }
        if let Some(kind) = flushed.fsync {
            crate::probe!(el.tracer, "before_sleep" => "aof_fsync", probes::aof_fsynced(server, kind));
        }
    }
    networking::handle_clients_with_pending_writes(el, server);
    networking::free_clients_in_async_free_queue(el, server);
    el.tracer
        .before_sleep_end(crate::site!("before_sleep", "beforeSleep"), || {
            probes::keyspace(server)
        });
}

/// The part of `beforeSleep` that still runs when the loop is entered from
/// [`networking::process_events_while_blocked`] (the early return at the top
/// of Redis's `beforeSleep`): only what is vital — the AOF flush, the
/// replies, the clients to free. No expiry, no blocked-client work: the
/// server is in the middle of something and the data may be half there.
/// What it did counts as events processed, so the caller runs another
/// iteration after one that only wrote replies.
// anchor: server.before_sleep_while_blocked
fn before_sleep_while_blocked(el: &mut EventLoop<Server>, server: &mut Server) {
    let mut processed = 0;
    if server.aof.on {
        let flushed = aof::flush_append_only_file(server, false);
        if flushed.did_something() {
            crate::probe!(el.tracer, "before_sleep_while_blocked" => "flushAppendOnlyFile", probes::aof_flushed(server, &flushed));
        }
    }
    processed += networking::handle_clients_with_pending_writes(el, server);
    processed += networking::free_clients_in_async_free_queue(el, server);
    server.events_processed_while_blocked += processed as u64;
    el.tracer.before_sleep_end(
        crate::site!("before_sleep_while_blocked", "beforeSleep"),
        || probes::keyspace(server),
    );
}

/// The last things before the server goes (mirror of `prepareForShutdown`
/// and `finishShutdown`): what the AOF buffer holds is written and synced,
/// then the loop is told to stop. Replies still waiting in clients' buffers
/// are not sent, as in Redis, which exits right after.
pub fn prepare_for_shutdown(el: &mut EventLoop<Server>, server: &mut Server) {
    aof::flush_for_shutdown(server);
    log::warning("Redis-compatible server is now ready to exit, bye bye...");
    el.stop();
}

/// Every file and time event handler the server registers, as (our name,
/// the Redis name): what a trace event's handler can be, and so what a
/// `handler` breakpoint may name.
pub const EVENT_HANDLERS: [(&str, &str); 4] = [
    (
        networking::ACCEPT_TCP_HANDLER.name,
        networking::ACCEPT_TCP_HANDLER.mirrors,
    ),
    (
        networking::READ_QUERY_FROM_CLIENT.name,
        networking::READ_QUERY_FROM_CLIENT.mirrors,
    ),
    (
        networking::SEND_REPLY_TO_CLIENT.name,
        networking::SEND_REPLY_TO_CLIENT.mirrors,
    ),
    (SERVER_CRON.name, SERVER_CRON.mirrors),
];

/// The serverCron time event.
pub const SERVER_CRON: Handler<crate::ae::TimeProc<Server>> = Handler {
    name: "server_cron",
    mirrors: "serverCron",
    proc_: server_cron,
};

/// The server's heartbeat, run `hz` times a second (mirror of `serverCron`):
/// client housekeeping, and the shutdown check. Returns the ms until the next
/// run, which is how a time event becomes periodic.
// anchor: server.server_cron
pub fn server_cron(el: &mut EventLoop<Server>, server: &mut Server, _id: i64) -> i64 {
    if SHUTDOWN_ASAP.swap(false, Ordering::SeqCst) {
        log::warning("Received shutdown signal, scheduling shutdown...");
        prepare_for_shutdown(el, server);
    }
    if run_with_period(server, 100) {
        cmd::server::track_instantaneous_metrics(server);
    }
    // Redis grows the loop in `updateMaxclients`, at CONFIG SET time; our
    // config code cannot reach the loop, so the next cron tick does it.
    // Like Redis, only ever grow: lowering maxclients keeps the slots.
    let wanted_setsize = server.config.maxclients as usize + CONFIG_FDSET_INCR;
    if wanted_setsize > el.setsize && el.resize_set_size(wanted_setsize) == AE_ERR {
        log::warning(
            "Could not resize the event loop for the new maxclients: an fd above it is in use",
        );
    }
    clients_cron(server);
    databases_cron(el, server);
    if let Some(flushed) = aof::aof_cron(server, run_with_period(server, 1000)) {
        crate::probe!(el.tracer, "server_cron" => "flushAppendOnlyFile", probes::aof_flushed(server, &flushed));
    }
    server.cronloops += 1;
    1000 / server.config.hz.clamp(1, 500) as i64
}

/// Per-client housekeeping (mirror of `clientsCron`): timeouts, then the
/// output buffer limits, which a client over its soft limit can reach with
/// no new reply. Redis visits a slice of the clients per run, so that each
/// is seen about once a second; this visits them all.
fn clients_cron(server: &mut Server) {
    let clients: Vec<ClientRef> = server
        .clients
        .iter()
        .flatten()
        .map(|c| c.client_ref())
        .collect();
    for who in clients {
        networking::with_client(server, who, |server, c| {
            if !clients_cron_handle_timeout(server, c) {
                networking::close_client_on_output_buffer_limit_reached_in_cron(server, c);
            }
        });
    }
}

/// Closes a client idle longer than `timeout` seconds — except blocked
/// clients, subscribers and monitors, which are idle by design — and times
/// out a blocked client whose deadline passed; true if the client is to be
/// closed (mirror of `clientsCronHandleTimeout`).
fn clients_cron_handle_timeout(server: &mut Server, c: &mut Client) -> bool {
    let max_idle = Duration::from_secs(server.config.timeout);
    if server.config.timeout != 0
        && c.flags & (CLIENT_BLOCKED | CLIENT_PUBSUB | CLIENT_MONITOR) == 0
        && c.last_interaction.elapsed() > max_idle
    {
        log::verbose("Closing idle client");
        networking::mark_close_asap(server, c, "idle longer than the timeout setting");
        return true;
    }
    if c.flags & CLIENT_BLOCKED != 0 {
        blocked::check_blocked_client_timeout(server, c, mstime());
    }
    false
}

/// True when a block meant to run every `ms` milliseconds is due in this
/// serverCron run (mirror of the `run_with_period` macro).
fn run_with_period(server: &Server, ms: u64) -> bool {
    let tick = 1000 / u64::from(server.config.hz.clamp(1, 500));
    ms <= tick || server.cronloops.is_multiple_of(ms / tick)
}

/// Background work on the keyspaces (mirror of `databasesCron`): the slow
/// active expire cycle, which may use up to a quarter of each cron tick,
/// unless `DEBUG SET-ACTIVE-EXPIRE 0` turned it off.
fn databases_cron(el: &mut EventLoop<Server>, server: &mut Server) {
    if !server.active_expire_enabled {
        return;
    }
    let stats = expire::active_expire_cycle(server, expire::ExpireCycleKind::Slow);
    crate::probe!(el.tracer, "databases_cron" => "activeExpireCycle", probes::expire_cycle(false, &stats));
}

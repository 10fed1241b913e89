//! Running one command: the mirror of `processCommand` and `call` in Redis's
//! `server.c`.
//!
//! By the time a command gets here, `networking.rs` has read it from the
//! socket and parsed it into `c.argv`. What happens next is the same for
//! every command, and it is all in this file:
//!
//! 1. [`process_command`] looks the name up in the command table and makes
//!    Redis's checks, in Redis's order: does the command exist, is the
//!    number of arguments right, may this client run it now (AUTH, a
//!    transaction, RESP2 pub/sub, a monitor, loading). A command that fails
//!    one is answered with an error and never runs.
//! 2. Inside MULTI, a command that passes is queued instead of run.
//! 3. Otherwise [`call`] runs its procedure and keeps the books: the
//!    command statistics, the MONITOR feed and the AOF.
//!
//! A procedure gets one argument, a [`Call`]: the client whose command it
//! is, the server, and the event loop. In Redis a command reaches the
//! server and the loop through globals (`server`, `server.el`); here they
//! are handed in, which is also how a probe inside a command reaches the
//! tracer (`call.el.tracer`) and fires at the line where its work happens.

use super::client::{CLIENT_BLOCKED, CLIENT_MONITOR, CLIENT_MULTI, CLIENT_PUBSUB, Client};
use super::cmd::{self, RedisCommand};
use super::{Server, aof, auth, blocked, monitor, multi, networking, probes};
use crate::ae::EventLoop;
use crate::probe;
use crate::trace::Tracer;

/// What a command procedure works with: the mirror of the `client *c` that
/// every Redis command takes, plus the globals Redis reaches from there.
pub struct Call<'a> {
    /// The event loop the command runs in (Redis's `server.el`). Its
    /// `tracer` is where a command's probes go; a command that must run
    /// the loop from inside (`DEBUG LOADAOF`) runs it through this.
    pub el: &'a mut EventLoop<Server>,
    /// The server (Redis's global `server`).
    pub server: &'a mut Server,
    /// The client whose command this is (Redis's `c`): `c.argv` holds the
    /// command, and replies are queued on it.
    pub c: &'a mut Client,
}

impl Call<'_> {
    /// The server and the client, for a procedure that needs no more.
    pub fn parts(&mut self) -> (&mut Server, &mut Client) {
        (self.server, self.c)
    }

    /// The tracer, for a probe fired from inside a command.
    pub fn tracer(&mut self) -> &mut Tracer {
        &mut self.el.tracer
    }
}

/// Looks the command up, checks it, and runs it (mirror of `processCommand`).
///
/// A command that fails a check is refused with an error, which also dooms
/// an open transaction. Inside MULTI a command that passes is queued rather
/// than run. A command that ran may have given blocked clients their data:
/// they are served right away, before the next command is read.
// anchor: server.process_command
pub fn process_command(el: &mut EventLoop<Server>, server: &mut Server, c: &mut Client) {
    let had_pending = c.has_pending_replies();
    let (reply_start, stopwatch) = (c.reply.pending_len(), el.tracer.stopwatch());
    let found = server.commands.lookup(&c.argv);
    c.last_cmd = found.map_or("NULL", |cmd| cmd.name);
    match check_command(server, c, found) {
        Err(msg) => reject_command(c, &msg),
        Ok(cmd) if c.flags & CLIENT_MULTI != 0 && !cmd::multi::is_transaction_control(cmd) => {
            multi::queue_multi_command(c, cmd);
            c.add_reply_status("QUEUED");
            probe!(el.tracer, "process_command" => "queueMultiCommand", probes::command_queued(c, cmd));
        }
        Ok(cmd) => {
            call(&mut Call { el, server, c }, cmd);
            if c.flags & CLIENT_BLOCKED != 0 {
                probe!(el.tracer, "process_command" => "blockForKeys", probes::client_blocked(c));
            }
            blocked::handle_clients_blocked_on_keys(&mut el.tracer, server);
        }
    }
    probe!(el.tracer, "process_command" => "call", |cx| {
        let reply = c.reply.pending(reply_start);
        probes::command(c, found, &reply, cx.elapsed_us(stopwatch), cx.detail)
    });
    networking::queue_if_first_reply(server, c, had_pending);
    networking::close_client_on_output_buffer_limit_reached(server, c);
}

/// The commands a RESP2 subscriber may still send (the pub/sub check of
/// `processCommand`).
const PUBSUB_CONTEXT_COMMANDS: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// The checks `processCommand` makes before running or queueing a command,
/// in Redis's order; `Err` holds the error to reply.
fn check_command(
    server: &Server,
    c: &Client,
    found: Option<&'static RedisCommand>,
) -> Result<&'static RedisCommand, String> {
    let Some(cmd) = found else {
        return Err(cmd::command_lookup_error(&c.argv, &server.commands));
    };
    if !cmd.accepts_argc(c.argv.len()) {
        return Err(format!(
            "wrong number of arguments for '{}' command",
            cmd.name
        ));
    }
    if cmd::is_protected(cmd) && !protected_allowed(server.config.enable_debug_command, c) {
        return Err(format!(
            "{} command not allowed. If the enable-debug-command option is set to \"local\", you can run it \
             from a local connection, otherwise you need to set this option in the configuration file, and then \
             restart the server.",
            cmd.name.to_ascii_uppercase()
        ));
    }
    if auth::auth_required(&server.config, c) && !cmd.flags.split(' ').any(|f| f == "no_auth") {
        return Err(auth::NOAUTH_ERROR.to_string());
    }
    if c.flags & CLIENT_MULTI != 0 && cmd.flags.split(' ').any(|f| f == "no_multi") {
        return Err("Command not allowed inside a transaction".to_string());
    }
    if c.flags & CLIENT_PUBSUB != 0 && c.resp == 2 && !PUBSUB_CONTEXT_COMMANDS.contains(&cmd.name) {
        return Err(format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        ));
    }
    // A monitor is a replica to Redis, and replicas may not touch the keyspace.
    if c.flags & CLIENT_MONITOR != 0
        && (cmd::may_replicate(cmd) || cmd.flags.split(' ').any(|f| f == "readonly"))
    {
        return Err("Replica can't interact with the keyspace".to_string());
    }
    if server.loading && is_denyloading_command(c, cmd) {
        return Err(LOADING_ERROR.to_string());
    }
    Ok(cmd)
}

/// The reply to a command refused while the data loads (Redis's
/// `shared.loadingerr`), byte for byte once encoded:
/// `-LOADING Redis is loading the dataset in memory\r\n`.
pub const LOADING_ERROR: &str = "-LOADING Redis is loading the dataset in memory";

/// Whether a command must wait until loading is over (the
/// `is_denyloading_command` test of `processCommand`): one without the
/// `loading` flag, or an EXEC whose queue holds one. Only commands that
/// may run on half-loaded data have the flag: INFO, CONFIG, SELECT, ECHO,
/// AUTH, HELLO, MULTI/EXEC, SUBSCRIBE, PUBLISH, SHUTDOWN… but not PING,
/// GET, SET or DBSIZE.
fn is_denyloading_command(c: &Client, cmd: &RedisCommand) -> bool {
    let has_loading = |cmd: &RedisCommand| cmd.flags.split(' ').any(|f| f == "loading");
    !has_loading(cmd) || (cmd.name == "exec" && c.mstate.iter().any(|q| !has_loading(q.cmd)))
}

/// Refuses a command: the error, and a doomed transaction if one is open
/// (mirror of `rejectCommand`).
fn reject_command(c: &mut Client, msg: &str) {
    multi::flag_transaction(c);
    c.add_reply_error(msg);
}

/// Whether `c` may run a protected command (the check in `processCommand`).
fn protected_allowed(setting: super::ProtectedAction, c: &Client) -> bool {
    match setting {
        super::ProtectedAction::Yes => true,
        super::ProtectedAction::No => false,
        super::ProtectedAction::Local => c.addr.ip().is_loopback(),
    }
}

/// Runs a command and keeps the books (mirror of `call`): counts it, shows
/// it to the monitors unless it is an admin command, and with the AOF on
/// propagates it to the AOF buffer if it changed the data.
///
/// While someone watches, the databases note the keys the command finds
/// past their deadline and deletes on lookup (lazy expiry); they are
/// reported as soon as the procedure returns, each at the line of
/// `expire_if_needed` that deleted it.
#[inline]
// anchor: server.call
pub fn call(call: &mut Call, cmd: &'static RedisCommand) {
    let aof_mark = aof::propagate::before_call(call.server, call.c);
    let watched = call.el.tracer.observed();
    if watched {
        log_lazy_expiries(call.server, true);
    }
    (cmd.proc_)(call);
    if watched {
        log_lazy_expiries(call.server, false);
        report_lazily_expired(call);
    }
    let Call { el, server, c } = call;
    server.stats.numcommands += 1;
    if !server.monitors.is_empty() && !cmd.flags.split(' ').any(|f| f == "admin") {
        monitor::replication_feed_monitors(server, c);
    }
    if let Some(mark) = aof_mark {
        aof::propagate::after_call(&mut el.tracer, server, c, cmd, mark);
    }
}

/// Starts or stops noting lazily expired keys in every database (see
/// [`super::db::Db::log_lazy_expiries`]).
fn log_lazy_expiries(server: &mut Server, on: bool) {
    for db in &mut server.dbs {
        db.log_lazy_expiries = on;
    }
}

/// Reports the keys the command just ran found past their deadline and
/// deleted on lookup (lazy expiry, `expireIfNeeded` in db.c): one probe
/// per key, at the site in `db.rs` that noted it.
#[cold]
fn report_lazily_expired(call: &mut Call) {
    for db in 0..call.server.dbs.len() {
        for (key, site) in std::mem::take(&mut call.server.dbs[db].lazily_expired) {
            let c = &*call.c;
            call.el
                .tracer
                .probe(site, |_| probes::lazy_expired(c, db, &key));
        }
    }
}

#[cfg(test)]
mod loading_tests {
    use super::*;
    use crate::server::cmd::test_support;

    /// The check `processCommand` makes while loading: commands without
    /// the `loading` flag are refused with Redis's exact error, which also
    /// dooms an open transaction; flagged ones run. An EXEC is refused too
    /// when its queue holds an unflagged command (queued before loading
    /// began: Redis's `cmd_inv_flags` rule).
    #[test]
    fn while_loading_only_commands_with_the_loading_flag_run() {
        let mut server = test_support::server();
        let (mut c, _peer) = test_support::client(&mut server);
        let mut el = test_support::event_loop();
        let mut send = |server: &mut Server, c: &mut Client, words: &[&str]| {
            c.argv = words.iter().map(|w| w.as_bytes().to_vec()).collect();
            process_command(&mut el, server, c);
            c.reply.take()
        };
        assert_eq!(send(&mut server, &mut c, &["MULTI"]), b"+OK\r\n");
        assert_eq!(send(&mut server, &mut c, &["PING"]), b"+QUEUED\r\n");
        server.loading = true;
        let loading = b"-LOADING Redis is loading the dataset in memory\r\n";
        assert_eq!(send(&mut server, &mut c, &["EXEC"]), loading);
        assert_eq!(send(&mut server, &mut c, &["DISCARD"]), b"+OK\r\n");
        for refused in [
            &["PING"][..],
            &["GET", "k"],
            &["SET", "k", "v"],
            &["DBSIZE"],
        ] {
            assert_eq!(send(&mut server, &mut c, refused), loading, "{refused:?}");
        }
        assert_eq!(send(&mut server, &mut c, &["ECHO", "x"]), b"$1\r\nx\r\n");
        assert_eq!(send(&mut server, &mut c, &["SELECT", "1"]), b"+OK\r\n");
        let info = send(&mut server, &mut c, &["INFO", "persistence"]);
        let info = String::from_utf8_lossy(&info);
        assert!(info.contains("\r\nloading:1\r\n"), "{info}");
        assert!(info.contains("\r\nloading_total_bytes:0\r\n"), "{info}");
        assert_eq!(send(&mut server, &mut c, &["MULTI"]), b"+OK\r\n");
        assert_eq!(send(&mut server, &mut c, &["GET", "k"]), loading);
        assert_eq!(
            send(&mut server, &mut c, &["EXEC"]),
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        server.loading = false;
        assert_eq!(send(&mut server, &mut c, &["PING"]), b"+PONG\r\n");
    }
}

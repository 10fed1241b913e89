//! What the server tells the trace: the builders behind the probes in
//! `networking.rs` and `before_sleep`, and the server's part of a snapshot.
//!
//! They live here so the probe calls in the Redis-mirroring code stay one
//! line each. Every function runs only when someone observes the loop (the
//! probe's closure calls it), so none of this costs anything otherwise.

use std::borrow::Cow;
use std::io;

use super::Server;
use super::client::{CLIENT_BLOCKED, CLIENT_UNBLOCKED, Client};
use super::cmd::RedisCommand;
use crate::trace::model::{
    ClientInfo, IoOutcome, KeyspaceInfo, ListenerInfo, MAX_ARGS, ProbeData, ReplyInfo, Snapshot,
    short_bytes,
};
use crate::trace::{Facts, TraceClock};

/// Creates the tracer of `server`'s loop, told the server's static facts
/// (for every viewer's hello), installs it in `el`, and returns the handle
/// viewers subscribe through. `start_paused`: the gate holds the loop
/// before its first iteration, until a viewer lets it go.
pub fn install_tracer(
    el: &mut crate::ae::EventLoop<Server>,
    server: &Server,
    start_paused: bool,
) -> crate::trace::TraceHandle {
    let (mut tracer, handle) = crate::trace::tracer(start_paused);
    tracer.set_facts(facts(server, el.setsize));
    el.set_tracer(tracer);
    handle
}

/// The static facts of this server, for the trace's hello.
fn facts(server: &Server, setsize: usize) -> Facts {
    Facts {
        setsize,
        hz: server.config.hz,
        port: server.local_addr.port(),
        listeners: vec![ListenerInfo {
            fd: server.listener_fd,
            addr: server.local_addr.to_string(),
        }],
    }
}

/// Adds the server's part to a loop snapshot: listeners, clients, keyspace.
/// Installed as the event loop's `describe` hook.
pub fn describe(server: &Server, clock: &TraceClock, snap: &mut Snapshot) {
    snap.listeners = vec![ListenerInfo {
        fd: server.listener_fd,
        addr: server.local_addr.to_string(),
    }];
    snap.clients = server
        .clients
        .iter()
        .flatten()
        .map(|c| client_info(c, clock))
        .chain(
            server
                .protected_clients
                .iter()
                .map(|(_, info)| info.clone()),
        )
        .collect();
    snap.clients.sort_by_key(|c| c.id);
    snap.keyspace = keyspace(server);
    snap.relabel_all();
}

pub fn client_info(c: &Client, clock: &TraceClock) -> ClientInfo {
    ClientInfo {
        id: c.id,
        fd: c.fd,
        addr: c.addr.to_string(),
        name: c.name.as_deref().map(short_bytes),
        db: c.db as u32,
        qbuf: c.querybuf.len().saturating_sub(c.qb_pos) as u64,
        reply_bytes: c.reply.pending_len() as u64,
        last_cmd: Cow::Borrowed(c.last_cmd),
        // Still waiting, or woken and waiting to resume in beforeSleep.
        blocked: c.flags & (CLIENT_BLOCKED | CLIENT_UNBLOCKED) != 0,
        ctime_us: clock.us(c.ctime),
        last_interaction_us: clock.us(c.last_interaction),
    }
}

/// The non-empty databases, as `INFO keyspace` lists them.
pub fn keyspace(server: &Server) -> Vec<KeyspaceInfo> {
    server
        .dbs
        .iter()
        .enumerate()
        .filter(|(_, db)| db.size() > 0)
        .map(|(i, db)| KeyspaceInfo {
            db: i as u32,
            keys: db.size() as u64,
            expires: db.expires_len() as u64,
        })
        .collect()
}

/// One read from a client's socket; `drained` says it left nothing in the
/// socket (it got fewer bytes than asked, or nothing more is queued).
pub fn read(c: &Client, result: &io::Result<usize>, drained: bool) -> ProbeData {
    let (bytes, outcome) = match result {
        Ok(0) => (0, IoOutcome::Eof),
        Ok(n) if drained => (*n, IoOutcome::Drained),
        Ok(n) => (*n, IoOutcome::Ok),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => (0, IoOutcome::Drained),
        Err(e) => (
            0,
            IoOutcome::Error {
                message: e.to_string(),
            },
        ),
    };
    ProbeData::Read {
        client: c.id,
        fd: c.fd,
        bytes: bytes as u64,
        qbuf: c.querybuf.len().saturating_sub(c.qb_pos) as u64,
        outcome,
    }
}

/// One command that ran, with the reply bytes it appended. Without `detail`
/// (nobody will read this event, see [`ProbeCx`](crate::trace::ProbeCx)) the
/// arguments, keys and reply preview are left empty: the tracer's state needs
/// none of them, and they are most of what a command event costs to build.
pub fn command(
    c: &Client,
    cmd: Option<&RedisCommand>,
    reply: &[u8],
    duration_us: u64,
    detail: bool,
) -> ProbeData {
    let (argv, keys) = if detail {
        let argv = c.argv.iter().take(MAX_ARGS).map(|a| short_bytes(a));
        let keys = cmd.map_or_else(Vec::new, |cmd| {
            key_positions(cmd, c.argv.len())
                .map(|i| short_bytes(&c.argv[i]))
                .collect()
        });
        (argv.collect(), keys)
    } else {
        (Vec::new(), Vec::new())
    };
    ProbeData::Command {
        client: c.id,
        client_name: c.name.as_deref().map(short_bytes),
        fd: c.fd,
        db: c.db as u32,
        name: cmd.map(|cmd| Cow::Borrowed(cmd.name)),
        argv,
        argc: c.argv.len() as u32,
        keys,
        reply: if detail {
            ReplyInfo::from_resp(reply)
        } else {
            ReplyInfo::summary(reply)
        },
        duration_us,
    }
}

/// The indices of the key arguments, from the command's legacy key spec
/// (first, last, step; a negative last counts from the end), as
/// `getKeysFromCommand` finds them for simple commands.
fn key_positions(cmd: &RedisCommand, argc: usize) -> impl Iterator<Item = usize> {
    let argc = argc as i64;
    let first = i64::from(cmd.first_key);
    let last = match i64::from(cmd.last_key) {
        l if l < 0 => argc + l,
        l => l,
    };
    let step = i64::from(cmd.key_step).max(1);
    // A command without keys has first = 0: an empty range.
    let last = if first > 0 {
        last.min(argc - 1)
    } else {
        first - 1
    };
    (first..=last)
        .step_by(step as usize)
        .map(|i| i as usize)
        .take(MAX_ARGS)
}

/// A reply write; `pending` bytes remain after it.
pub fn write(c: &Client, bytes: usize, outcome: IoOutcome) -> ProbeData {
    ProbeData::Write {
        client: c.id,
        fd: c.fd,
        bytes: bytes as u64,
        pending: c.reply.pending_len() as u64,
        outcome,
    }
}

/// A client being freed, and why, as far as its flags tell.
pub fn client_closed(c: &Client) -> ProbeData {
    ProbeData::ClientClosed {
        client: c.id,
        fd: c.fd,
        addr: c.addr.to_string(),
        reason: c.close_reason.to_string(),
    }
}

/// A client a blocking command just parked on its keys.
pub fn client_blocked(c: &Client) -> ProbeData {
    let (keys, deadline_ms) = c.bpop.as_deref().map_or((Vec::new(), 0), |b| {
        let keys = b
            .keys
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned());
        (keys.collect(), b.timeout)
    });
    ProbeData::ClientBlocked {
        client: c.id,
        fd: c.fd,
        keys,
        deadline_ms,
    }
}

/// A client resumes after its wait, with the reply that ended it: the
/// pending bytes from the `reply_from`-th on (the count of pending bytes
/// before the reply was added; nothing is written in between).
pub fn client_unblocked(c: &Client, reply_from: Option<usize>, detail: bool) -> ProbeData {
    let reply = reply_from
        .map(|from| c.reply.pending(from))
        .filter(|bytes| !bytes.is_empty())
        .map(|bytes| {
            if detail {
                ReplyInfo::from_resp(&bytes)
            } else {
                ReplyInfo::summary(&bytes)
            }
        });
    ProbeData::ClientUnblocked {
        client: c.id,
        fd: c.fd,
        reason: c.unblock_reason.to_string(),
        reply,
    }
}

/// A command queued inside MULTI.
pub fn command_queued(c: &Client, cmd: &RedisCommand) -> ProbeData {
    ProbeData::CommandQueued {
        client: c.id,
        fd: c.fd,
        name: cmd.name.to_string(),
    }
}

/// What one active expire cycle did.
pub fn expire_cycle(fast: bool, stats: &super::expire::ExpireCycleStats) -> ProbeData {
    ProbeData::ExpireCycle {
        fast,
        sampled: stats.sampled,
        expired: stats.expired,
        duration_us: stats.elapsed_us,
    }
}

/// What a flush of the AOF buffer did (`flushAppendOnlyFile`).
pub fn aof_flushed(server: &Server, flushed: &super::aof::FlushOutcome) -> ProbeData {
    ProbeData::AofFlushed {
        bytes: flushed.written,
        postponed: flushed.postponed.map(str::to_string),
        fsync: server.config.appendfsync.name().to_string(),
    }
}

/// An fsync of the AOF, inline or handed to the background thread.
pub fn aof_fsynced(server: &Server, kind: super::aof::FsyncKind) -> ProbeData {
    ProbeData::AofFsynced {
        mode: server.config.appendfsync.name().to_string(),
        background: kind == super::aof::FsyncKind::Background,
    }
}

/// A key the running command found past its deadline and deleted
/// (`expireIfNeeded`, db.c): lazy expiry.
pub fn lazy_expired(c: &Client, db: usize, key: &[u8]) -> ProbeData {
    ProbeData::LazyExpired {
        client: c.id,
        fd: c.fd,
        db: db as u32,
        key: String::from_utf8_lossy(key).into_owned(),
    }
}

/// The first probe of an iteration run by `process_events_while_blocked`.
pub fn events_while_blocked(
    server: &Server,
    caller: crate::server::networking::WhileBlockedCaller,
    round: u32,
) -> ProbeData {
    ProbeData::EventsWhileBlocked {
        caller: caller.mirrors().to_string(),
        round,
        loading: server.loading,
        loaded_bytes: server.loading_loaded_bytes,
        total_bytes: server.loading_total_bytes,
    }
}

//! Accepting, reading, parsing, replying: the mirror of Redis's `networking.c`.
//!
//! Follow one command through this file and you have followed Redis:
//!
//! 1. The listening socket is readable: [`accept_tcp_handler`] accepts, and
//!    [`create_client`] registers the new fd READABLE with
//!    [`read_query_from_client`].
//! 2. The client's fd is readable: [`read_query_from_client`] does *one* read
//!    (16 KiB, or what the query buffer has room for) and calls
//!    [`process_input_buffer`], which parses as many complete requests as the
//!    buffer holds and runs each one (`call.rs`:
//!    [`process_command`](super::call::process_command) →
//!    [`call`](super::call::call)).
//! 3. A command never writes to the socket. It appends to the client's reply
//!    buffer, and the client joins the server's pending-writes list
//!    ([`put_client_in_pending_write_queue`]).
//! 4. Before the loop sleeps again, `before_sleep` calls
//!    [`handle_clients_with_pending_writes`], which writes each reply directly
//!    — usually the whole reply, in one `write`, with no writable event at all.
//! 5. Only if the socket cannot take everything, or more than 64 KiB went out
//!    and the rest must wait its turn, is a writable handler
//!    ([`send_reply_to_client`]) installed, and it removes itself once the
//!    reply is drained.
//!
//! Replies can also be *pushed* to a client that sent nothing: a pub/sub
//! message, a MONITOR line, the element a blocked client waited for. Those
//! go through [`with_client`], and a client whose pending output outgrows
//! its class's limit is closed ([`close_client_on_output_buffer_limit_reached`]).

use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use crate::ae::{AE_BARRIER, AE_ERR, AE_READABLE, AE_WRITABLE, EventLoop, Fd, Handler};

use super::client::{
    CLIENT_BLOCKED, CLIENT_CLOSE_AFTER_REPLY, CLIENT_CLOSE_ASAP, CLIENT_MONITOR,
    CLIENT_PENDING_WRITE, CLIENT_PROTECTED, CLIENT_PROTOCOL_ERROR, CLIENT_PUBSUB, CLIENT_UNBLOCKED,
    Client, ClientRef,
};
use super::cmd::{self};
use super::{Server, auth, blocked, log, monitor, multi, probes, pubsub, reply, sds};
use crate::probe;
use crate::trace::model::{IoOutcome, ProbeData};

/// Bytes a read asks for on a fresh query buffer (Redis's `PROTO_IOBUF_LEN`).
pub const PROTO_IOBUF_LEN: usize = 16 * 1024;
/// Stop writing to one client after this many bytes per event, so one big
/// reply cannot starve the others (Redis's `NET_MAX_WRITES_PER_EVENT`).
pub const NET_MAX_WRITES_PER_EVENT: usize = 64 * 1024;
/// Connections accepted per readable event on the listener (Redis 7.0's
/// `MAX_ACCEPTS_PER_CALL`; Redis 7.4 made it a setting defaulting to 10).
pub const MAX_ACCEPTS_PER_CALL: usize = 1000;

type ServerLoop = EventLoop<Server>;

/// The listener's READABLE handler.
pub const ACCEPT_TCP_HANDLER: Handler<crate::ae::FileProc<Server>> = Handler {
    name: "accept_tcp_handler",
    mirrors: "acceptTcpHandler",
    proc_: accept_tcp_handler,
};
/// A client's READABLE handler.
pub const READ_QUERY_FROM_CLIENT: Handler<crate::ae::FileProc<Server>> = Handler {
    name: "read_query_from_client",
    mirrors: "readQueryFromClient",
    proc_: read_query_from_client,
};
/// A client's WRITABLE handler, installed only while a reply does not fit the socket.
pub const SEND_REPLY_TO_CLIENT: Handler<crate::ae::FileProc<Server>> = Handler {
    name: "send_reply_to_client",
    mirrors: "sendReplyToClient",
    proc_: send_reply_to_client,
};

/// Accepts up to [`MAX_ACCEPTS_PER_CALL`] connections (mirror of `acceptTcpHandler`).
/// Connections still waiting are taken in the next iteration: the listener
/// stays "ready" until `accept` says `WouldBlock`.
// anchor: net.accept_tcp_handler
pub fn accept_tcp_handler(el: &mut ServerLoop, server: &mut Server, fd: Fd, _mask: u8) {
    for _ in 0..MAX_ACCEPTS_PER_CALL {
        match server.listener.accept() {
            Ok((stream, addr)) => accept_common_handler(el, server, stream, addr),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                el.clear_ready(fd, AE_READABLE);
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::warning(&format!("Accepting client connection: {e}"));
                el.clear_ready(fd, AE_READABLE);
                return;
            }
        }
    }
}

/// Refuses the connection when `maxclients` is reached, else creates the
/// client (mirror of `acceptCommonHandler`).
fn accept_common_handler(
    el: &mut ServerLoop,
    server: &mut Server,
    mut stream: mio::net::TcpStream,
    addr: SocketAddr,
) {
    if server.num_clients >= server.config.maxclients as usize {
        // Best effort, like Redis: the socket is fresh, so the write will fit.
        let _ = stream.write(b"-ERR max number of clients reached\r\n");
        server.stats.rejected_conn += 1;
        return;
    }
    if let Some(fd) = create_client(el, server, stream, addr) {
        client_accept_handler(el, server, fd);
    }
}

/// Runs once a new connection is set up (mirror of `clientAcceptHandler`):
/// this is where protected mode refuses a peer that is not on loopback
/// while no password is set. The refusal is written at once, best effort,
/// and the client freed without reading anything from it.
fn client_accept_handler(el: &mut ServerLoop, server: &mut Server, fd: Fd) {
    let Some(mut c) = server.clients.get_mut(fd as usize).and_then(Option::take) else {
        return;
    };
    if auth::protected_mode_refuses(&server.config, c.addr) {
        // A fresh socket's buffer takes the whole text in one write.
        let _ = (&c.conn).write(auth::PROTECTED_MODE_DENIED);
        server.stats.rejected_conn += 1;
        c.close_reason = "refused by protected mode";
        free_client(el, server, c);
        return;
    }
    server.clients[fd as usize] = Some(c);
}

/// Sets up a new connection (mirror of `createClient`): TCP_NODELAY so small
/// replies leave at once, keepalive to notice dead peers, then the READABLE
/// registration that makes the loop call [`read_query_from_client`].
/// Returns the client's fd, or `None` if it could not be registered.
// anchor: net.create_client
pub fn create_client(
    el: &mut ServerLoop,
    server: &mut Server,
    stream: mio::net::TcpStream,
    addr: SocketAddr,
) -> Option<Fd> {
    let fd = stream.as_raw_fd();
    let _ = stream.set_nodelay(true);
    let sock = socket2::SockRef::from(&stream);
    let _ = sock.set_tcp_keepalive(
        &socket2::TcpKeepalive::new().with_time(std::time::Duration::from_secs(300)),
    );
    let laddr = stream.local_addr().unwrap_or(server.local_addr);
    if el.create_file_event(fd, AE_READABLE, READ_QUERY_FROM_CLIENT) == AE_ERR {
        log::warning(&format!(
            "Error registering fd event for the new client: fd {fd} is out of range"
        ));
        return None;
    }
    let id = server.next_client_id;
    server.next_client_id += 1;
    let slot = fd as usize;
    if server.clients.len() <= slot {
        server.clients.resize_with(slot + 1, || None);
    }
    let mut c = Box::new(Client::new(id, fd, stream, addr, laddr));
    c.authenticated = auth::starts_authenticated(&server.config);
    server.clients[slot] = Some(c);
    probe!(el.tracer, "create_client" => "createClient", ProbeData::ClientConnected {
        client: id,
        fd,
        addr: addr.to_string(),
    });
    server.num_clients += 1;
    server.stats.numconnections += 1;
    Some(fd)
}

/// Reads once from a client and runs what it sent (mirror of `readQueryFromClient`,
/// <https://github.com/redis/redis/blob/f35f36a265403c07b119830aa4bb3b7d71653ec9/src/networking.c#L2619-L2718>).
///
/// One read per event, as in Redis: if more is waiting, the level-trigger
/// emulation fires this fd again in the next iteration, after every other
/// ready client had its turn. How much it asks for follows Redis 7.0:
/// - a fresh or small query buffer makes room for [`PROTO_IOBUF_LEN`] (16 KiB)
///   and asks for exactly that;
/// - a buffer that already has that much room grows greedily (see `sds.rs`)
///   and asks for all its free space: 20,474 bytes once a fresh buffer has
///   had its first read, since the allocator rounded 16 KiB up to 20 KiB;
/// - while a bulk argument of 32 KiB or more arrives, it asks for exactly the
///   rest of that argument, so the argument ends the buffer.
// anchor: net.read_query_from_client
pub fn read_query_from_client(el: &mut ServerLoop, server: &mut Server, fd: Fd, _mask: u8) {
    // After SHUTDOWN, the rest of this iteration's fired events find a server
    // that, in Redis, has already exited.
    if server.shutdown_requested {
        return;
    }
    let Some(c) = server
        .clients
        .get_mut(fd as usize)
        .and_then(|c| c.as_deref_mut())
    else {
        return;
    };
    if c.flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY) != 0 {
        el.clear_ready(fd, AE_READABLE);
        return;
    }
    let big_arg = c.parser.big_arg_missing(c.querybuf.len() - c.qb_pos);
    // Nothing missing happens when a paused or blocked client already holds
    // the whole argument; Redis then reads the usual 16 KiB.
    let mut readlen = big_arg.filter(|&n| n > 0).unwrap_or(PROTO_IOBUF_LEN);
    let greedy = big_arg.is_none() && c.querybuf.capacity() >= PROTO_IOBUF_LEN;
    let room = if greedy {
        sds::make_room_for(&mut c.querybuf, readlen)
    } else {
        sds::make_room_for_non_greedy(&mut c.querybuf, readlen)
    };
    if room.is_err() {
        el.clear_ready(fd, AE_READABLE);
        let Some(mut c) = server.clients.get_mut(fd as usize).and_then(Option::take) else {
            return;
        };
        close_for_query_buffer_memory(server, &mut c, readlen);
        server.clients[fd as usize] = Some(c);
        return;
    }
    if greedy {
        readlen = c.querybuf.capacity() - c.querybuf.len();
    }
    let result = read_into_spare(fd, &mut c.querybuf, readlen);
    let drained = matches!(result, Ok(n) if n > 0 && (n < readlen || queued_bytes(fd) == 0));
    probe!(el.tracer, "read_query_from_client" => "readQueryFromClient", probes::read(c, &result, drained));
    match result {
        Ok(0) => {
            el.clear_ready(fd, AE_READABLE);
            free_client_async(server, fd, "the client closed the connection");
            return;
        }
        Ok(n) => {
            if drained {
                el.short_read(fd);
            }
            c.net_input_bytes += n as u64;
            server.stats.net_input_bytes += n as u64;
            c.last_interaction = Instant::now();
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            el.clear_ready(fd, AE_READABLE);
            return;
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
        Err(e) => {
            log::verbose(&format!("Reading from client: {e}"));
            el.clear_ready(fd, AE_READABLE);
            free_client_async(server, fd, "read error");
            return;
        }
    }
    let unparsed = (c.querybuf.len() - c.qb_pos) as u64;
    if unparsed > server.config.client_query_buffer_limit {
        log::warning(&format!(
            "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
            c.id,
            c.addr,
            String::from_utf8_lossy(&c.querybuf[c.qb_pos..c.querybuf.len().min(c.qb_pos + 64)])
        ));
        free_client_async(server, fd, "query buffer over client-query-buffer-limit");
        return;
    }
    process_input_buffer(el, server, fd);
    if server.shutdown_requested {
        super::prepare_for_shutdown(el, server);
    }
}

/// Appends up to `len` bytes read from `fd` to `buf`, into the room made
/// for them, without zero-filling them first (Redis reads straight into the
/// free space of its sds buffer).
fn read_into_spare(fd: Fd, buf: &mut Vec<u8>, len: usize) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    let len = len.min(spare.len());
    // SAFETY: `spare` has room for at least `len` bytes; read(2) writes at most
    // that many and reports how many, and only those are marked initialised.
    let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: the kernel initialised exactly `n` bytes past the old length.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// Bytes the kernel holds for reading on `fd` (`FIONREAD`), asked only when
/// a read got all it asked for. Redis's level-triggered epoll would not
/// report the fd again if nothing is left; mio cannot tell, so without this
/// the emulation would fire the fd once more for a read that finds nothing,
/// a call redis-server never makes. (It costs an `ioctl` instead, which
/// redis-server does not make either, but it leaves the reads as Redis's.)
fn queued_bytes(fd: Fd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer given.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    // On failure, say "maybe more": the next read finds out.
    if rc < 0 { 1 } else { n.max(0) as usize }
}

/// Parses and runs every complete request in the client's query buffer
/// (mirror of `processInputBuffer`). Stops at a partial request (the rest
/// arrives with a later read), once the client is to be closed — which is
/// why commands pipelined after QUIT never run — or once a command blocked
/// it: what it sent after `BLPOP` waits until the BLPOP is answered.
// anchor: net.process_input_buffer
pub fn process_input_buffer(el: &mut ServerLoop, server: &mut Server, fd: Fd) {
    let Some(mut c) = server.clients.get_mut(fd as usize).and_then(Option::take) else {
        return;
    };
    let mut commands = 0;
    // Redis reads proto-max-bulk-len on every `$` line, so CONFIG SET applies at once.
    c.parser.max_bulk_len = server.config.proto_max_bulk_len;
    while c.flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_BLOCKED) == 0
        && c.qb_pos < c.querybuf.len()
        && !server.shutdown_requested
    {
        // Redis asks on every header, so an AUTH earlier in the same
        // pipeline lifts the small-request limits for what follows.
        c.parser.auth_required = auth::auth_required(&server.config, &c);
        match c.parser.parse(&c.querybuf, &mut c.qb_pos) {
            Ok(Some(argv)) if argv.is_empty() => {}
            Ok(Some(argv)) => {
                c.argv = argv;
                super::call::process_command(el, server, &mut c);
                c.argv.clear();
                commands += 1;
            }
            Ok(None) => break,
            Err(e) => {
                let had_pending = c.has_pending_replies();
                c.add_reply_protocol_error(&e);
                c.flags |= CLIENT_CLOSE_AFTER_REPLY | CLIENT_PROTOCOL_ERROR;
                log::verbose(&format!(
                    "Protocol error ({}) from client: id={} addr={}",
                    e.message, c.id, c.addr
                ));
                queue_if_first_reply(server, &mut c, had_pending);
                break;
            }
        }
    }
    // Drop the parsed bytes, as Redis's sdsrange(c->querybuf, c->qb_pos, -1).
    if c.qb_pos > 0 {
        c.querybuf.drain(..c.qb_pos);
        c.qb_pos = 0;
    }
    // A big argument on its way gets room for all of it now, as in
    // processMultibulkBuffer, so it arrives into one buffer of its size.
    if let Some(missing) = c.parser.big_arg_missing(c.querybuf.len())
        && sds::make_room_for_non_greedy(&mut c.querybuf, missing).is_err()
    {
        close_for_query_buffer_memory(server, &mut c, missing);
    }
    probe!(el.tracer, "process_input_buffer" => "processInputBuffer", ProbeData::InputProcessed {
        client: c.id,
        fd,
        commands,
        qbuf: c.querybuf.len() as u64,
    });
    server.clients[fd as usize] = Some(c);
}

/// Closes a client whose query buffer cannot grow by `need` bytes: it
/// announced an argument larger than memory. Redis's allocator would abort
/// the whole server; loopscope refuses that one client.
fn close_for_query_buffer_memory(server: &mut Server, c: &mut Client, need: usize) {
    log::warning(&format!(
        "Closing client whose query buffer cannot grow by {need} bytes: id={} addr={}",
        c.id, c.addr
    ));
    mark_close_asap(server, c, "no memory for its query buffer");
}

/// Who called [`process_events_while_blocked`], as the trace shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhileBlockedCaller {
    /// The AOF loader, every 1024 commands (`loadSingleAppendOnlyFile`).
    AofLoading,
}

impl WhileBlockedCaller {
    /// The Redis function that makes the call.
    pub fn mirrors(self) -> &'static str {
        match self {
            WhileBlockedCaller::AofLoading => "loadSingleAppendOnlyFile",
        }
    }
}

/// Runs the event loop for a moment from inside a long operation (mirror of
/// `processEventsWhileBlocked`, in Redis's networking.c), so clients are not
/// left hanging while the server loads its data: new connections are
/// accepted, queries read and answered (mostly with `-LOADING`).
///
/// It runs up to four iterations, each with file events only and without
/// waiting (`AE_FILE_EVENTS | AE_DONT_WAIT`, plus both sleep hooks), and
/// stops early after an iteration that processed nothing: four are enough
/// for a new client's accept, read, write and close. No time event runs, so
/// no serverCron: [`super::while_blocked_cron`] stands in for it after the
/// iterations. While this runs, `before_sleep` does only its vital part.
// anchor: net.process_events_while_blocked
pub fn process_events_while_blocked(
    el: &mut ServerLoop,
    server: &mut Server,
    caller: WhileBlockedCaller,
) {
    use crate::ae::{AE_CALL_AFTER_SLEEP, AE_CALL_BEFORE_SLEEP, AE_DONT_WAIT, AE_FILE_EVENTS};
    let mut iterations = 4;
    server.processing_events_while_blocked += 1;
    let outer = server.while_blocked.replace((caller, 0));
    while iterations > 0 {
        iterations -= 1;
        if let Some((_, round)) = server.while_blocked.as_mut() {
            *round += 1;
        }
        let startval = server.events_processed_while_blocked;
        let ae_events = el.process_events(
            server,
            AE_FILE_EVENTS | AE_DONT_WAIT | AE_CALL_BEFORE_SLEEP | AE_CALL_AFTER_SLEEP,
        );
        // The reduced before_sleep adds what it did to the same counter.
        server.events_processed_while_blocked += ae_events as u64;
        if server.events_processed_while_blocked == startval || server.shutdown_requested {
            break;
        }
    }
    super::while_blocked_cron(el, server);
    server.while_blocked = outer;
    server.processing_events_while_blocked -= 1;
}

/// Queues the client for a write in `before_sleep` if this request produced
/// its first pending reply (what `prepareClientToWrite` does on the first `addReply`).
pub fn queue_if_first_reply(server: &mut Server, c: &mut Client, had_pending: bool) {
    if !had_pending && c.has_pending_replies() && !c.write_handler_installed {
        put_client_in_pending_write_queue(server, c);
    }
}

/// Links the client into `clients_pending_write` (mirror of
/// `putClientInPendingWriteQueue`). No write happens here, and no writable
/// handler is installed: `before_sleep` will try writing directly.
// anchor: net.put_client_in_pending_write_queue
pub fn put_client_in_pending_write_queue(server: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_PENDING_WRITE == 0 {
        c.flags |= CLIENT_PENDING_WRITE;
        server.clients_pending_write.push((c.fd, c.id));
    }
}

/// Writes every queued client's replies, directly, before the loop sleeps
/// (mirror of `handleClientsWithPendingWrites`). A client whose reply does
/// not fit gets the writable handler. Returns how many clients were handled.
// anchor: net.handle_clients_with_pending_writes
pub fn handle_clients_with_pending_writes(el: &mut ServerLoop, server: &mut Server) -> usize {
    let queue = std::mem::take(&mut server.clients_pending_write);
    let mut processed = 0;
    // Redis links new clients at the head and walks from it: newest first.
    for &(fd, id) in queue.iter().rev() {
        let Some(mut c) = take_client(server, ClientRef { fd, id }) else {
            continue;
        };
        c.flags &= !CLIENT_PENDING_WRITE;
        processed += 1;
        if c.flags & CLIENT_CLOSE_ASAP == 0 {
            write_to_client(el, server, &mut c, false);
            if c.has_pending_replies() && c.flags & CLIENT_CLOSE_ASAP == 0 {
                install_client_write_handler(el, server, &mut c);
            }
        }
        server.clients[fd as usize] = Some(c);
    }
    // Keep the allocation for the next iteration.
    let mut queue = queue;
    queue.clear();
    server.clients_pending_write = queue;
    processed
}

/// Registers the writable handler for a client whose reply did not fit
/// (mirror of `installClientWriteHandler`).
///
/// With the AOF on and `appendfsync always`, the handler is installed with
/// the write *barrier*: ae's `AE_BARRIER` bit beside `AE_WRITABLE`, which
/// makes the loop run this fd's writer before its reader when both fire in
/// one iteration. Otherwise a command read in that iteration could be
/// answered by the writer right after the reader ran it, before
/// `before_sleep` wrote and fsynced the AOF. Redis 5 passed `AE_BARRIER` to
/// ae exactly here; Redis 6 moved the flag into its connection layer
/// (`CONN_FLAG_WRITE_BARRIER`), which we do not have.
// anchor: net.install_client_write_handler
fn install_client_write_handler(el: &mut ServerLoop, server: &Server, c: &mut Client) {
    if c.write_handler_installed {
        return;
    }
    let barrier = server.aof.on && server.config.appendfsync == super::aof::AppendFsync::Always;
    let mask = if barrier {
        AE_WRITABLE | AE_BARRIER
    } else {
        AE_WRITABLE
    };
    if el.create_file_event(c.fd, mask, SEND_REPLY_TO_CLIENT) != AE_ERR {
        c.write_handler_installed = true;
        probe!(el.tracer, "install_client_write_handler" => "installClientWriteHandler", ProbeData::WriteHandlerInstalled {
            client: c.id,
            fd: c.fd,
            barrier,
        });
    }
}

/// Takes the client `who` out of the table if it is still connected (its fd
/// may have been closed and reused since it was recorded). Put it back with
/// [`restore_client`].
pub fn take_client(server: &mut Server, who: ClientRef) -> Option<Box<Client>> {
    let slot = server.clients.get_mut(who.fd as usize)?;
    if slot.as_ref().is_some_and(|c| c.id == who.id) {
        slot.take()
    } else {
        None
    }
}

/// Puts a client taken with [`take_client`] back in its slot.
pub fn restore_client(server: &mut Server, c: Box<Client>) {
    let slot = c.fd as usize;
    server.clients[slot] = Some(c);
}

/// Queues a client that has replies for `before_sleep` to write, unless its
/// writable handler is already on it (what `prepareClientToWrite` does for
/// a reply pushed to a client that sent nothing).
pub fn queue_client_write(server: &mut Server, c: &mut Client) {
    if c.has_pending_replies() && !c.write_handler_installed {
        put_client_in_pending_write_queue(server, c);
    }
}

/// Runs `f` on the connected client `who` with the server at hand, then
/// queues whatever `f` replied (the client is lent out of the table for the
/// call, the way the input path lends the client whose command runs).
pub fn with_client(server: &mut Server, who: ClientRef, f: impl FnOnce(&mut Server, &mut Client)) {
    let Some(mut c) = take_client(server, who) else {
        return;
    };
    f(server, &mut c);
    queue_client_write(server, &mut c);
    restore_client(server, c);
}

/// Writes the client's pending replies until the socket is full or more than
/// [`NET_MAX_WRITES_PER_EVENT`] bytes went out (mirror of `writeToClient`,
/// <https://github.com/redis/redis/blob/f35f36a265403c07b119830aa4bb3b7d71653ec9/src/networking.c#L1957-L2029>).
///
/// The 64 KiB stop keeps one big reply from starving the other clients: the
/// rest waits for the writable handler, one event per iteration. Redis lifts
/// it in two cases: when used memory is over `maxmemory` (loopscope has no
/// maxmemory, it is always 0, so that case never arises), and for replicas,
/// which loopscope does not have, and MONITOR clients, which Redis flags as
/// replicas: a monitor gets everything the socket takes.
///
/// As in Redis, a write that the socket takes only in part is followed by
/// another, which finds the socket full (`WouldBlock`), unless the 64 KiB
/// are already out. Once the reply is fully sent the writable handler (if
/// this is it) is removed, and a client marked close-after-reply (QUIT,
/// protocol error) is scheduled for closing.
// anchor: net.write_to_client
pub fn write_to_client(
    el: &mut ServerLoop,
    server: &mut Server,
    c: &mut Client,
    handler_installed: bool,
) {
    let mut totwritten = 0;
    let mut outcome = IoOutcome::Ok;
    while c.has_pending_replies() {
        match write_once_to_client(c) {
            Ok((n, offered)) => {
                totwritten += n;
                if n < offered {
                    // The socket buffer is full; mio will say when it drains.
                    el.clear_ready(c.fd, AE_WRITABLE);
                    outcome = IoOutcome::Short;
                    // As in Redis, a write of nothing ends the loop.
                    if n == 0 {
                        break;
                    }
                } else {
                    outcome = IoOutcome::Ok;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                el.clear_ready(c.fd, AE_WRITABLE);
                outcome = IoOutcome::Drained;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::verbose(&format!("Error writing to client: {e}"));
                probe!(el.tracer, "write_to_client" => "writeToClient", {
                    probes::write(c, totwritten, IoOutcome::Error { message: e.to_string() })
                });
                mark_close_asap(server, c, "write error");
                return;
            }
        }
        if totwritten > NET_MAX_WRITES_PER_EVENT && c.flags & CLIENT_MONITOR == 0 {
            break;
        }
    }
    probe!(el.tracer, "write_to_client" => "writeToClient", probes::write(c, totwritten, outcome));
    c.net_output_bytes += totwritten as u64;
    server.stats.net_output_bytes += totwritten as u64;
    if !c.has_pending_replies() {
        if handler_installed {
            el.delete_file_event(c.fd, AE_WRITABLE);
            c.write_handler_installed = false;
        }
        close_if_last_reply_sent(server, c);
    }
}

/// One write of pending replies: a `writev` of the fixed buffer and the
/// reply blocks once the list holds any, else a plain `write` of the fixed
/// buffer, the path of every small reply. Returns the bytes written and the
/// bytes offered. Mirror of `_writeToClient`,
/// <https://github.com/redis/redis/blob/f35f36a265403c07b119830aa4bb3b7d71653ec9/src/networking.c#L1896-L1947>.
fn write_once_to_client(c: &mut Client) -> io::Result<(usize, usize)> {
    if c.reply.list_len() > 0 {
        return writev_to_client(c);
    }
    let pending = c.reply.buf_pending();
    let offered = pending.len();
    let n = (&c.conn).write(pending)?;
    c.reply.written(n);
    Ok((n, offered))
}

/// One `writev` of the fixed buffer and the reply blocks, up to `IOV_MAX`
/// buffers and about 64 KiB, then frees the blocks sent whole. Returns the
/// bytes written and the bytes offered. Mirror of `_writevToClient`,
/// <https://github.com/redis/redis/blob/f35f36a265403c07b119830aa4bb3b7d71653ec9/src/networking.c#L1824-L1889>.
fn writev_to_client(c: &mut Client) -> io::Result<(usize, usize)> {
    let mut iov = Vec::with_capacity(c.reply.list_len().min(reply::IOV_MAX - 1) + 1);
    c.reply.gather(&mut iov);
    let offered = iov.iter().map(|s| s.len()).sum();
    let n = (&c.conn).write_vectored(&iov)?;
    drop(iov);
    c.reply.written(n);
    Ok((n, offered))
}

/// Once every reply is written, schedules the close of a client that asked
/// for it (QUIT) or broke the protocol (`CLIENT_CLOSE_AFTER_REPLY`).
pub fn close_if_last_reply_sent(server: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_CLOSE_AFTER_REPLY != 0 {
        let reason = if c.flags & CLIENT_PROTOCOL_ERROR != 0 {
            "protocol error"
        } else {
            "closed after its last reply (QUIT, or CLIENT KILL of itself)"
        };
        mark_close_asap(server, c, reason);
    }
}

/// The writable handler (mirror of `sendReplyToClient`).
// anchor: net.send_reply_to_client
pub fn send_reply_to_client(el: &mut ServerLoop, server: &mut Server, fd: Fd, _mask: u8) {
    let Some(mut c) = server.clients.get_mut(fd as usize).and_then(Option::take) else {
        return;
    };
    write_to_client(el, server, &mut c, true);
    server.clients[fd as usize] = Some(c);
}

/// Schedules the client at `fd` to be closed in the next `before_sleep`
/// (mirror of `freeClientAsync`): a handler may still be running with it.
/// A client already lent out of the table is marked with [`mark_close_asap`].
/// `reason` is what the trace shows when it closes.
pub fn free_client_async(server: &mut Server, fd: Fd, reason: &'static str) {
    if let Some(mut c) = server.clients.get_mut(fd as usize).and_then(Option::take) {
        mark_close_asap(server, &mut c, reason);
        server.clients[fd as usize] = Some(c);
    }
}

/// Flags `c` to be closed in the next `before_sleep`, and queues it there.
pub fn mark_close_asap(server: &mut Server, c: &mut Client, reason: &'static str) {
    if c.flags & CLIENT_CLOSE_ASAP == 0 {
        c.flags |= CLIENT_CLOSE_ASAP;
        c.close_reason = reason;
        server.clients_to_close.push((c.fd, c.id));
    }
}

/// Closes every client scheduled by [`free_client_async`] (mirror of
/// `freeClientsInAsyncFreeQueue`). Returns how many were closed.
// anchor: net.free_clients_in_async_free_queue
pub fn free_clients_in_async_free_queue(el: &mut ServerLoop, server: &mut Server) -> usize {
    let queue = std::mem::take(&mut server.clients_to_close);
    let mut freed = 0;
    for &(fd, id) in &queue {
        let who = ClientRef { fd, id };
        if server.protected_clients.iter().any(|(p, _)| *p == who) {
            // As in Redis, a protected client is freed later, once its
            // command is over.
            server.clients_to_close.push((fd, id));
        } else if let Some(c) = take_client(server, who) {
            free_client(el, server, c);
            freed += 1;
        }
    }
    freed
}

/// Stops the loop from reading or writing `c` while its command runs the
/// loop from inside (mirror of `protectClient`): its handlers are removed,
/// so the inner iterations neither read its next command nor write its
/// replies, and a close asked meanwhile waits. The caller must undo it
/// with [`unprotect_client`] before the command returns.
// anchor: net.protect_client
pub fn protect_client(el: &mut ServerLoop, server: &mut Server, c: &mut Client) {
    c.flags |= CLIENT_PROTECTED;
    el.delete_file_event(c.fd, AE_READABLE | AE_WRITABLE);
    c.write_handler_installed = false;
    let info = probes::client_info(c, &el.tracer.clock());
    server.protected_clients.push((c.client_ref(), info));
}

/// Gives the loop its client back (mirror of `unprotectClient`): the read
/// handler again, and the client queued for writing if replies wait.
///
/// An inner `before_sleep` may have taken the client off the pending-write
/// queue while it was lent out, without being able to clear its flag (in
/// Redis it clears the flag, then skips a protected client): so the flag
/// and any entry left are dropped here, and the queueing starts afresh.
// anchor: net.unprotect_client
pub fn unprotect_client(el: &mut ServerLoop, server: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_PROTECTED == 0 {
        return;
    }
    c.flags &= !CLIENT_PROTECTED;
    let who = c.client_ref();
    server.protected_clients.retain(|(p, _)| *p != who);
    el.create_file_event(c.fd, AE_READABLE, READ_QUERY_FROM_CLIENT);
    server
        .clients_pending_write
        .retain(|&(fd, id)| ClientRef { fd, id } != who);
    c.flags &= !CLIENT_PENDING_WRITE;
    if c.has_pending_replies() {
        put_client_in_pending_write_queue(server, c);
    }
}

/// Unregisters the fd from the loop and closes the connection (mirror of
/// `freeClient`, which unlinks the connection before closing it).
// anchor: net.free_client
pub fn free_client(el: &mut ServerLoop, server: &mut Server, mut c: Box<Client>) {
    unlink_client_state(server, &mut c);
    el.delete_file_event(c.fd, AE_READABLE | AE_WRITABLE);
    probe!(el.tracer, "free_client" => "freeClient", probes::client_closed(&c));
    server.num_clients -= 1;
    drop(c);
}

/// Takes a departing client out of every table that refers to it: the
/// blocked lines and timeout table, the queue of unblocked clients, the
/// watched keys, the subscriptions and the monitors (the part of
/// `freeClient` that keeps the server's tables from naming a dead client).
pub fn unlink_client_state(server: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_BLOCKED != 0 {
        blocked::unblock_client(server, c, "the client was freed", None);
    }
    if c.flags & CLIENT_UNBLOCKED != 0 {
        let me = c.client_ref();
        server.unblocked_clients.retain(|&u| u != me);
        c.flags &= !CLIENT_UNBLOCKED;
    }
    multi::discard_transaction(server, c);
    pubsub::unsubscribe_all(server, c);
    if c.flags & CLIENT_MONITOR != 0 {
        monitor::remove_monitor(server, c.client_ref());
        c.flags &= !CLIENT_MONITOR;
    }
}

// ---------------------------------------------------------------------------
// Output buffer limits
// ---------------------------------------------------------------------------

/// The classes `client-output-buffer-limit` sets limits for (Redis's
/// `CLIENT_TYPE_NORMAL`, `_SLAVE`, `_PUBSUB`), in the order the setting lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    PubSub = 2,
}

impl ClientClass {
    pub const ALL: [ClientClass; 3] = [
        ClientClass::Normal,
        ClientClass::Replica,
        ClientClass::PubSub,
    ];

    /// The class's name in the setting (`CONFIG GET` says `slave`, as Redis 7.0 does).
    pub fn name(self) -> &'static str {
        match self {
            ClientClass::Normal => "normal",
            ClientClass::Replica => "slave",
            ClientClass::PubSub => "pubsub",
        }
    }

    /// The class of a client (mirror of `getClientType`). There are no
    /// replicas here, and a MONITOR counts as normal, as in Redis.
    pub fn of(c: &Client) -> ClientClass {
        if c.flags & CLIENT_PUBSUB != 0 {
            ClientClass::PubSub
        } else {
            ClientClass::Normal
        }
    }
}

/// One class's limits: close at `hard` bytes pending, or after staying above
/// `soft` bytes for more than `soft_seconds` (0 disables a limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientBufferLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// Redis's defaults: `normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60`.
pub const CLIENT_BUFFER_LIMITS_DEFAULT: [ClientBufferLimit; 3] = [
    ClientBufferLimit {
        hard: 0,
        soft: 0,
        soft_seconds: 0,
    },
    ClientBufferLimit {
        hard: 256 << 20,
        soft: 64 << 20,
        soft_seconds: 60,
    },
    ClientBufferLimit {
        hard: 32 << 20,
        soft: 8 << 20,
        soft_seconds: 60,
    },
];

/// True when `c`'s pending output is past its class's hard limit, or has
/// been past the soft limit for longer than allowed (mirror of
/// `checkClientOutputBufferLimits`). Keeps the time the soft limit was first
/// reached, and forgets it when the output shrinks back.
pub fn check_client_output_buffer_limits(server: &Server, c: &mut Client) -> bool {
    let used = c.output_buffer_memory_usage() as u64;
    let limit = server.config.client_obuf_limits[ClientClass::of(c) as usize];
    let hard = limit.hard != 0 && used >= limit.hard;
    let mut soft = limit.soft != 0 && used >= limit.soft;
    if soft {
        match c.obuf_soft_limit_reached_time {
            None => {
                c.obuf_soft_limit_reached_time = Some(Instant::now());
                soft = false;
            }
            Some(since) if since.elapsed().as_secs() <= limit.soft_seconds => soft = false,
            Some(_) => {}
        }
    } else {
        c.obuf_soft_limit_reached_time = None;
    }
    soft || hard
}

/// Schedules `c` to close if its output buffer is over the limits, logging
/// its `CLIENT LIST` line and counting it; true if so (mirror of
/// `closeClientOnOutputBufferLimitReached` in its asynchronous form, the one
/// replies use).
pub fn close_client_on_output_buffer_limit_reached(server: &mut Server, c: &mut Client) -> bool {
    close_on_limit(server, c, "scheduled to be closed ASAP")
}

/// The shared body of the two forms; `what` is how the log line says it.
fn close_on_limit(server: &mut Server, c: &mut Client, what: &str) -> bool {
    if c.output_buffer_memory_usage() == 0 || c.flags & CLIENT_CLOSE_ASAP != 0 {
        return false;
    }
    if !check_client_output_buffer_limits(server, c) {
        return false;
    }
    let mut line = Vec::new();
    cmd::connection::client::cat_client_info(&mut line, c);
    log::warning(&format!(
        "Client {} {what} for overcoming of output buffer limits.",
        String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(&line))
    ));
    server.stats.client_outbuf_limit_disconnections += 1;
    mark_close_asap(server, c, "over its client-output-buffer-limit");
    true
}

/// The form serverCron uses (Redis frees the client on the spot there; the
/// loop closes it in the next `before_sleep`, before any write).
pub fn close_client_on_output_buffer_limit_reached_in_cron(
    server: &mut Server,
    c: &mut Client,
) -> bool {
    close_on_limit(server, c, "closed")
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Duration;

    use super::*;
    use crate::server::Config;
    use crate::server::cmd::test_support::{attach, client, server};

    /// Runs the accept-time check on a client whose peer address is `peer`
    /// (a real loopback socket underneath, with the address it reports
    /// replaced, since no remote machine is at hand). Returns what the peer
    /// received and whether the client is still connected.
    fn accept_from(config: Config, peer: &str) -> (Vec<u8>, bool) {
        let mut el = EventLoop::create(1024).expect("event loop");
        let mut server = server();
        server.config = Config {
            port: server.config.port,
            ..config
        };
        let (mut c, mut remote) = client(&mut server);
        c.addr = peer.parse().expect("an address");
        let fd = c.fd;
        attach(&mut server, c);
        client_accept_handler(&mut el, &mut server, fd);
        let still_connected = server.clients[fd as usize].is_some();
        remote
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut got = Vec::new();
        let _ = remote.read_to_end(&mut got);
        (got, still_connected)
    }

    #[test]
    fn protected_mode_denies_a_remote_peer_and_closes() {
        let (got, connected) = accept_from(Config::default(), "192.0.2.7:41000");
        assert_eq!(got, auth::PROTECTED_MODE_DENIED);
        assert!(!connected);
    }

    #[test]
    fn protected_mode_lets_loopback_and_passwords_through() {
        let (got, connected) = accept_from(Config::default(), "127.0.0.1:41000");
        assert!(got.is_empty() && connected);
        let with_password = Config {
            requirepass: b"pw".to_vec(),
            ..Config::default()
        };
        let (got, connected) = accept_from(with_password, "192.0.2.7:41000");
        assert!(got.is_empty() && connected);
        let off = Config {
            protected_mode: false,
            ..Config::default()
        };
        let (got, connected) = accept_from(off, "192.0.2.7:41000");
        assert!(got.is_empty() && connected);
    }
}

#[cfg(test)]
mod write_tests {
    use std::io::Read;

    use super::*;
    use crate::server::cmd::test_support;

    /// A reply of many small pieces, as LRANGE builds: its first write is
    /// one writev of the fixed buffer and three 20,464-byte blocks, and then
    /// the 64 KiB stop leaves the rest for the writable handler. (The peer
    /// reads nothing, so the socket may take less; never more.)
    #[test]
    fn a_long_reply_stops_after_one_writev_past_64_kib() {
        let mut server = test_support::server();
        let (mut c, mut peer) = test_support::client(&mut server);
        let slot = usize::try_from(c.fd).expect("a real fd");
        let mut el: ServerLoop = EventLoop::create(slot + 1).expect("event loop");
        for i in 0..100_000 {
            c.add_reply_bulk(format!("element:{i}").as_bytes());
        }
        let total = c.reply.pending_len();
        write_to_client(&mut el, &mut server, &mut c, false);
        let written = total - c.reply.pending_len();
        assert!(written > 0 && written <= 16384 + 3 * 20464, "{written}");
        assert!(c.has_pending_replies());
        assert_eq!(c.net_output_bytes, written as u64);
        let mut got = vec![0; written];
        peer.read_exact(&mut got).expect("the bytes written");
        assert!(got.starts_with(b"$9\r\nelement:0\r\n$9\r\nelement:1\r\n"));
    }
}

#[cfg(test)]
mod barrier_tests {
    use super::*;
    use crate::server::aof::AppendFsync;
    use crate::server::cmd::test_support;

    /// Redis 5's rule: the write handler carries AE_BARRIER exactly when the
    /// AOF is on with `appendfsync always` (the ae tests show what the bit
    /// does: the writer runs before the reader).
    #[test]
    fn write_handler_gets_the_barrier_only_under_appendfsync_always() {
        for (on, policy, want) in [
            (true, AppendFsync::Always, true),
            (true, AppendFsync::Everysec, false),
            (true, AppendFsync::No, false),
            (false, AppendFsync::Always, false),
        ] {
            let mut server = test_support::server();
            server.aof.on = on;
            server.config.appendfsync = policy;
            let (mut c, _peer) = test_support::client(&mut server);
            let slot = usize::try_from(c.fd).expect("a real fd");
            let mut el: ServerLoop = EventLoop::create(slot + 1).expect("event loop");
            install_client_write_handler(&mut el, &server, &mut c);
            let mask = el.events[slot].mask;
            assert_ne!(mask & AE_WRITABLE, 0);
            assert_eq!(mask & AE_BARRIER != 0, want, "aof {on}, {policy:?}");
        }
    }
}

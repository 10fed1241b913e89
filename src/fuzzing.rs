//! A server driven without a network, for the `commands` fuzz target (see
//! `fuzz/README.md`) and its regression tests.
//!
//! Requests go where a read would put them, into a client's query buffer,
//! and through the real input path (`process_input_buffer`: parsing,
//! `processCommand`'s checks, MULTI queueing, blocking). Then come the parts
//! of `before_sleep` that do not touch a socket: blocked clients' deadlines,
//! the fast expire cycle, unblocked clients' pending input, clients blocked on
//! keys that became ready, and freeing clients marked for closing. The socket
//! write alone is replaced: every queued reply is handed back to the caller
//! as if the kernel had taken all of it, so a fuzzer is never slowed by, or
//! made to depend on, a socket buffer.
//!
//! The clients' sockets exist (a `Client` owns one) but are never read or
//! written: the harness opens a few loopback connections once and gives each
//! session duplicates of their fds, so that thousands of sessions a second
//! open no new connection.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use crate::ae::{EventLoop, Fd};
use crate::server::client::{CLIENT_PENDING_WRITE, Client};
use crate::server::expire::{ExpireCycleKind, active_expire_cycle};
use crate::server::{Config, ProtectedAction, Server, blocked, networking};

/// One loopback connection: the server's end (duplicated for each session's
/// client) and the peer's end, which only has to stay open.
struct Connection {
    server_end: TcpStream,
    _peer: TcpStream,
    addr: SocketAddr,
    laddr: SocketAddr,
}

/// What sessions share: the listener, the connections and an event loop
/// (which `free_client` needs; no fd is ever registered in it).
pub struct Harness {
    listener: TcpListener,
    connections: Vec<Connection>,
    el: EventLoop<Server>,
}

impl Harness {
    /// Opens `clients` loopback connections for sessions to use.
    pub fn new(clients: usize) -> io::Result<Harness> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let mut connections = Vec::with_capacity(clients);
        for _ in 0..clients {
            let peer = TcpStream::connect(listener.local_addr()?)?;
            let (server_end, addr) = listener.accept()?;
            server_end.set_nonblocking(true)?;
            let laddr = server_end.local_addr()?;
            connections.push(Connection {
                server_end,
                _peer: peer,
                addr,
                laddr,
            });
        }
        let config = Config::default();
        let el = EventLoop::create(config.maxclients as usize + crate::server::CONFIG_FDSET_INCR)?;
        Ok(Harness {
            listener,
            connections,
            el,
        })
    }

    /// A fresh server, with empty databases and every client connected
    /// (authenticated, RESP2, db 0). DEBUG is disabled, so no request can
    /// put the process to sleep.
    pub fn session(&mut self) -> io::Result<Session<'_>> {
        let listener = self.listener.try_clone()?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let listener_fd = listener.as_raw_fd();
        let config = Config {
            port: local_addr.port(),
            enable_debug_command: ProtectedAction::No,
            ..Config::default()
        };
        let mut server = Server::new(
            config,
            mio::net::TcpListener::from_std(listener),
            listener_fd,
            local_addr,
        );
        let mut fds = Vec::with_capacity(self.connections.len());
        for conn in &self.connections {
            let stream = conn.server_end.try_clone()?;
            let fd = stream.as_raw_fd();
            let id = server.next_client_id;
            server.next_client_id += 1;
            let c = Client::new(
                id,
                fd,
                mio::net::TcpStream::from_std(stream),
                conn.addr,
                conn.laddr,
            );
            let slot = usize::try_from(fd).map_err(|_| io::Error::other("negative fd"))?;
            if server.clients.len() <= slot {
                server.clients.resize_with(slot + 1, || None);
            }
            server.clients[slot] = Some(Box::new(c));
            server.num_clients += 1;
            fds.push(fd);
        }
        Ok(Session {
            el: &mut self.el,
            server,
            fds,
        })
    }
}

/// One server and its clients, for one fuzz input.
pub struct Session<'a> {
    el: &'a mut EventLoop<Server>,
    pub server: Server,
    fds: Vec<Fd>,
}

impl Session<'_> {
    /// Number of clients the session started with (some may be closed since).
    pub fn clients(&self) -> usize {
        self.fds.len()
    }

    /// Client `n` sends `request` (raw protocol bytes), as one read would
    /// deliver them; then the loop goes on to its next `before_sleep`.
    /// Returns the bytes each client was sent, by client index. A client
    /// already closed sends nothing.
    pub fn send(&mut self, n: usize, request: &[u8]) -> Vec<Vec<u8>> {
        if let Some(&fd) = self.fds.get(n)
            && let Some(c) = self
                .server
                .clients
                .get_mut(fd as usize)
                .and_then(|c| c.as_mut())
        {
            c.querybuf.extend_from_slice(request);
            networking::process_input_buffer(self.el, &mut self.server, fd);
        }
        self.before_sleep()
    }

    /// `before_sleep` with the write replaced by handing the replies over.
    fn before_sleep(&mut self) -> Vec<Vec<u8>> {
        let server = &mut self.server;
        blocked::handle_blocked_clients_timeout(server);
        active_expire_cycle(server, ExpireCycleKind::Fast);
        blocked::process_unblocked_clients(self.el, server);
        blocked::handle_clients_blocked_on_keys(&mut self.el.tracer, server);
        let mut sent = vec![Vec::new(); self.fds.len()];
        for (fd, id) in std::mem::take(&mut server.clients_pending_write) {
            let Some(mut c) =
                networking::take_client(server, crate::server::client::ClientRef { fd, id })
            else {
                continue;
            };
            c.flags &= !CLIENT_PENDING_WRITE;
            if let Some(n) = self.fds.iter().position(|&f| f == fd) {
                sent[n].extend_from_slice(&c.reply.pending(0));
            }
            c.reply.clear();
            networking::close_if_last_reply_sent(server, &mut c);
            networking::restore_client(server, c);
        }
        networking::free_clients_in_async_free_queue(self.el, server);
        sent
    }

    /// Checks that the server's tables agree with its clients: the client
    /// count, the blocked count, and every client the tables name is live.
    pub fn check_tables(&self) -> Result<(), String> {
        use crate::server::client::{CLIENT_BLOCKED, CLIENT_MONITOR};
        let s = &self.server;
        let live: Vec<&Client> = s.clients.iter().flatten().map(|c| &**c).collect();
        if live.len() != s.num_clients {
            return Err(format!(
                "num_clients {} but {} live",
                s.num_clients,
                live.len()
            ));
        }
        let blocked = live
            .iter()
            .filter(|c| c.flags & CLIENT_BLOCKED != 0)
            .count();
        if blocked != s.blocked_clients {
            return Err(format!(
                "blocked_clients {} but {blocked} blocked",
                s.blocked_clients
            ));
        }
        let is_live =
            |who: &crate::server::client::ClientRef| live.iter().any(|c| c.client_ref() == *who);
        if let Some(m) = s.monitors.iter().find(|m| !is_live(m)) {
            return Err(format!("monitor {m:?} is not a live client"));
        }
        if let Some(c) = live
            .iter()
            .find(|c| (c.flags & CLIENT_MONITOR != 0) != s.monitors.contains(&c.client_ref()))
        {
            return Err(format!("client {} monitor flag and list disagree", c.id));
        }
        if let Some((_, who)) = s
            .clients_timeout_table
            .iter()
            .find(|(_, who)| !is_live(who))
        {
            return Err(format!("timeout table names {who:?}, not a live client"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_run_and_replies_come_back() {
        let mut harness = Harness::new(2).expect("harness");
        let mut s = harness.session().expect("session");
        let sent = s.send(0, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
        assert_eq!(sent, vec![b"+OK\r\n".to_vec(), Vec::new()]);
        let sent = s.send(1, b"GET k\r\n");
        assert_eq!(sent[1], b"$1\r\nv\r\n");
        s.check_tables().expect("tables");
    }

    #[test]
    fn a_blocked_client_is_served_by_another_and_quit_closes() {
        let mut harness = Harness::new(2).expect("harness");
        let mut s = harness.session().expect("session");
        assert_eq!(
            s.send(0, b"BLPOP q 0\r\n"),
            vec![Vec::<u8>::new(), Vec::new()]
        );
        assert_eq!(s.server.blocked_clients, 1);
        let sent = s.send(1, b"RPUSH q x\r\n");
        assert_eq!(sent[0], b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
        assert_eq!(sent[1], b":1\r\n");
        assert_eq!(s.send(1, b"QUIT\r\n")[1], b"+OK\r\n");
        assert_eq!(s.server.num_clients, 1);
        assert_eq!(s.send(1, b"PING\r\n"), vec![Vec::<u8>::new(), Vec::new()]);
        s.check_tables().expect("tables");
    }

    #[test]
    fn debug_is_refused_so_nothing_sleeps() {
        let mut harness = Harness::new(1).expect("harness");
        let mut s = harness.session().expect("session");
        let sent = s.send(0, b"DEBUG SLEEP 100\r\n");
        assert!(
            sent[0].starts_with(b"-ERR DEBUG command not allowed"),
            "{sent:?}"
        );
    }

    #[test]
    fn each_session_starts_empty() {
        let mut harness = Harness::new(1).expect("harness");
        harness.session().expect("session").send(0, b"SET k v\r\n");
        let mut s = harness.session().expect("session");
        assert_eq!(s.send(0, b"DBSIZE\r\n")[0], b":0\r\n");
    }
}

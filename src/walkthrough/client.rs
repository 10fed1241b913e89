//! The built-in client that sends a step's action (the `t` key), so the
//! chapters work without `redis-cli` installed.
//!
//! It is an ordinary Redis client talking TCP to the server, like any other:
//! the loop sees its connection accepted, its requests read, its replies
//! written. Each connection name a chapter uses (`client: NAME`, default
//! `main`) gets its own connection, opened on first use and kept for later
//! steps, so a chapter can show two clients side by side.
//!
//! Nothing here blocks its caller. A paused loop does not answer, which is
//! the very thing chapters want to show, so every connection has a thread
//! that writes the action and then waits for the replies; the caller collects
//! the outcome later with [`ActionClient::try_event`] or
//! [`ActionClient::wait_event`]. Dropping the client shuts every connection
//! down and ends the threads.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::chapter::Action;
use super::reply::{self, Reply};

/// How long a connection attempt may take before it is reported as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What happened to an action sent earlier.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientEvent {
    /// Every reply to the action arrived.
    Replied {
        client: String,
        /// The action as the guide shows it.
        action: String,
        /// The first reply, as `redis-cli` would print it.
        first: String,
        /// How many replies arrived, and how many of them were errors.
        replies: usize,
        errors: usize,
    },
    /// The connection failed or was closed before every reply arrived.
    Failed { client: String, error: String },
    /// A connection opened, from this local address (the server's trace
    /// calls it the client's `addr`): the guide tells its own connections
    /// apart by it (see [`super::own`]).
    Connected { client: String, local: String },
}

/// One action to send on a connection.
struct Job {
    bytes: Vec<u8>,
    expected: usize,
    shown: String,
}

struct Conn {
    name: String,
    jobs: Sender<Job>,
    /// A second handle on the socket, to shut it down from this side.
    socket: TcpStream,
    thread: Option<JoinHandle<()>>,
}

impl Conn {
    fn is_open(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Ends the connection and its thread: no more jobs (so a thread waiting
    /// for one wakes up), and a shut-down socket (so one waiting for replies does).
    fn close(self) {
        self.close_after(None);
    }

    /// Like [`Conn::close`], writing `last` first. Only the reading side is
    /// shut down before the thread ends: a thread waiting for replies wakes
    /// (and `last` is lost, as the server was not answering anyway), an idle
    /// one writes `last`, expects no reply, and ends; closing the socket
    /// then ends the connection after those bytes.
    fn close_after(self, last: Option<Job>) {
        let Conn {
            jobs,
            socket,
            thread,
            ..
        } = self;
        let how = match last.map(|job| jobs.send(job)) {
            Some(Ok(())) => Shutdown::Read,
            _ => Shutdown::Both,
        };
        drop(jobs);
        let _ = socket.shutdown(how);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Named connections to one server, each with a thread sending actions.
pub struct ActionClient {
    addr: SocketAddr,
    conns: Vec<Conn>,
    events_tx: Sender<ClientEvent>,
    events: Receiver<ClientEvent>,
}

impl ActionClient {
    /// A client for the server at `addr`; connections open on first use.
    pub fn new(addr: SocketAddr) -> ActionClient {
        let (events_tx, events) = mpsc::channel();
        ActionClient {
            addr,
            conns: Vec::new(),
            events_tx,
            events,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `action` on its connection (opening it if needed) without
    /// waiting for the replies. Fails only if the server cannot be reached.
    pub fn send(&mut self, action: &Action) -> Result<(), String> {
        let job = Job {
            bytes: action.to_resp(),
            expected: action.expected_replies(),
            shown: action.to_string(),
        };
        if let Some(i) = self.conns.iter().position(|c| c.name == action.client) {
            if self.conns[i].is_open() {
                return match self.conns[i].jobs.send(job) {
                    Ok(()) => Ok(()),
                    Err(mpsc::SendError(job)) => self.reopen(i, job),
                };
            }
            return self.reopen(i, job);
        }
        let conn = self.connect(&action.client)?;
        self.conns.push(conn);
        let last = self.conns.len() - 1;
        self.conns[last]
            .jobs
            .send(job)
            .map_err(|_| "the connection thread ended".to_string())
    }

    /// The server closed the connection (QUIT, an error): open a new one, as
    /// `redis-cli` reconnects before the next command.
    fn reopen(&mut self, i: usize, job: Job) -> Result<(), String> {
        let old = self.conns.remove(i);
        let name = old.name.clone();
        old.close();
        let conn = self.connect(&name)?;
        conn.jobs
            .send(job)
            .map_err(|_| "the connection thread ended".to_string())?;
        self.conns.push(conn);
        Ok(())
    }

    fn connect(&self, name: &str) -> Result<Conn, String> {
        let stream = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)
            .map_err(|e| format!("cannot connect to {}: {e}", self.addr))?;
        // Small requests must leave at once, as with redis-cli.
        let _ = stream.set_nodelay(true);
        let socket = stream
            .try_clone()
            .map_err(|e| format!("cannot use the connection: {e}"))?;
        if let Ok(local) = stream.local_addr() {
            let _ = self.events_tx.send(ClientEvent::Connected {
                client: name.to_string(),
                local: local.to_string(),
            });
        }
        let (jobs, rx) = mpsc::channel();
        let events = self.events_tx.clone();
        let client = name.to_string();
        let thread = thread::Builder::new()
            .name(format!("action client {name}"))
            .spawn(move || serve_jobs(stream, rx, events, client))
            .map_err(|e| format!("cannot start the client thread: {e}"))?;
        Ok(Conn {
            name: name.to_string(),
            jobs,
            socket,
            thread: Some(thread),
        })
    }

    /// The next outcome, if one is ready.
    pub fn try_event(&self) -> Option<ClientEvent> {
        self.events.try_recv().ok()
    }

    /// Waits up to `timeout` for the next outcome.
    pub fn wait_event(&self, timeout: Duration) -> Option<ClientEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Closes every connection.
    pub fn close(&mut self) {
        self.close_with(None);
    }

    /// Closes every connection, writing `last` first on its connection (if
    /// that one is open) without waiting for a reply: a chapter's cleanup.
    pub fn close_with(&mut self, last: Option<&Action>) {
        for c in self.conns.drain(..) {
            let job = last
                .filter(|a| a.client == c.name && c.is_open())
                .map(|a| Job {
                    bytes: a.to_resp(),
                    expected: 0,
                    shown: a.to_string(),
                });
            c.close_after(job);
        }
    }
}

impl Drop for ActionClient {
    fn drop(&mut self) {
        self.close();
    }
}

/// A connection's thread: for each job, write it and read its replies.
fn serve_jobs(
    mut stream: TcpStream,
    jobs: Receiver<Job>,
    events: Sender<ClientEvent>,
    client: String,
) {
    let mut buf: Vec<u8> = Vec::new();
    while let Ok(job) = jobs.recv() {
        let outcome = stream
            .write_all(&job.bytes)
            .map_err(|e| format!("write failed: {e}"))
            .and_then(|()| read_replies(&mut stream, &mut buf, job.expected));
        let event = match outcome {
            Ok((first, errors)) => ClientEvent::Replied {
                client: client.clone(),
                action: job.shown,
                first: first.as_ref().map(reply::render).unwrap_or_default(),
                replies: job.expected,
                errors,
            },
            Err(error) => ClientEvent::Failed {
                client: client.clone(),
                error,
            },
        };
        let failed = matches!(event, ClientEvent::Failed { .. });
        if events.send(event).is_err() || failed {
            return;
        }
    }
}

/// Reads until `expected` replies are complete. Returns the first reply and
/// the number of error replies.
fn read_replies(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    expected: usize,
) -> Result<(Option<Reply>, usize), String> {
    let mut first = None;
    let mut seen = 0;
    let mut errors = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    while seen < expected {
        match reply::parse(buf)? {
            Some((r, used)) => {
                buf.drain(..used);
                seen += 1;
                if matches!(r, Reply::Error(_)) {
                    errors += 1;
                }
                if first.is_none() {
                    first = Some(r);
                }
            }
            None => match stream.read(&mut chunk) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read failed: {e}")),
            },
        }
    }
    Ok((first, errors))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A fake server that answers every complete request with `+PONG` after
    /// it has seen `expect` bytes (enough for the test's requests).
    fn fake_server(expect: usize, answers: usize) -> (SocketAddr, JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let t = thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut got = vec![0u8; expect];
            s.read_exact(&mut got).expect("read");
            s.write_all(&b"+PONG\r\n".repeat(answers)).expect("write");
            got
        });
        (addr, t)
    }

    fn action(lines: &[&str], repeat: u32) -> Action {
        Action {
            client: "main".into(),
            commands: lines
                .iter()
                .map(|l| super::super::argv::split_args(l).expect("split"))
                .collect(),
            repeat,
            line: 1,
        }
    }

    #[test]
    fn sends_pipelined_and_collects_every_reply() {
        let a = action(&["PING", "PING"], 3);
        let bytes = a.to_resp();
        assert_eq!(bytes, b"*1\r\n$4\r\nPING\r\n".repeat(6));
        let (addr, server) = fake_server(bytes.len(), 6);
        let mut client = ActionClient::new(addr);
        client.send(&a).expect("send");
        let ev = client
            .wait_event(Duration::from_secs(10))
            .expect("an outcome");
        assert!(
            matches!(&ev, ClientEvent::Connected { client, local } if client == "main" && local.starts_with("127.0.0.1:")),
            "the connection is announced first: {ev:?}"
        );
        let ev = client
            .wait_event(Duration::from_secs(10))
            .expect("an outcome");
        assert_eq!(
            ev,
            ClientEvent::Replied {
                client: "main".into(),
                action: "PING | PING (×3, in one write)".into(),
                first: "PONG".into(),
                replies: 6,
                errors: 0,
            }
        );
        assert_eq!(server.join().expect("server"), bytes);
    }

    #[test]
    fn a_closed_connection_is_reported() {
        let a = action(&["PING"], 2);
        // The fake server answers once and closes.
        let (addr, server) = fake_server(a.to_resp().len(), 1);
        let mut client = ActionClient::new(addr);
        client.send(&a).expect("send");
        let ev = std::iter::from_fn(|| client.wait_event(Duration::from_secs(10)))
            .find(|ev| !matches!(ev, ClientEvent::Connected { .. }))
            .expect("an outcome");
        assert!(
            matches!(ev, ClientEvent::Failed { ref error, .. } if error.contains("closed")),
            "{ev:?}"
        );
        server.join().expect("server");
    }

    #[test]
    fn no_server_is_an_error_at_once() {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let mut client = ActionClient::new(addr);
        assert!(client.send(&action(&["PING"], 1)).is_err());
    }
}

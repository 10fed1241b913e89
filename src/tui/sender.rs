//! The built-in client's thread: `t` sends a chapter step's action to the
//! server without the UI ever waiting on the network.
//!
//! The walkthrough's [`ActionClient`] already reads replies on a thread per
//! connection, but it opens a connection on the caller's thread. A UI must
//! not stop drawing for a slow connect, so one more small thread owns the
//! client: the runner hands it [`ClientJob`]s through a channel and picks the
//! outcomes up later with [`Sender::try_reply`]. Dropping the [`Sender`]
//! ends the thread, which closes every connection.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender as Tx};
use std::thread;
use std::time::Duration;

use crate::walkthrough::client::{ActionClient, ClientEvent};

use super::guide::ClientJob;

/// How often the thread looks for replies while no job comes.
const POLL: Duration = Duration::from_millis(20);

/// The UI's end of the client thread.
pub struct Sender {
    jobs: Tx<ClientJob>,
    replies: Receiver<ClientEvent>,
}

impl Sender {
    /// Starts the thread.
    pub fn spawn() -> std::io::Result<Sender> {
        let (jobs, rx) = mpsc::channel();
        let (tx, replies) = mpsc::channel();
        thread::Builder::new()
            .name("guide client".into())
            .spawn(move || run(rx, tx))?;
        Ok(Sender { jobs, replies })
    }

    /// Queues a job; never waits.
    pub fn push(&self, job: ClientJob) {
        // The thread only ends when this end is dropped.
        let _ = self.jobs.send(job);
    }

    /// An outcome, if one is ready.
    pub fn try_reply(&self) -> Option<ClientEvent> {
        self.replies.try_recv().ok()
    }
}

fn run(jobs: Receiver<ClientJob>, replies: Tx<ClientEvent>) {
    let mut client: Option<ActionClient> = None;
    loop {
        match jobs.recv_timeout(POLL) {
            Ok(ClientJob::CloseAll { cleanup }) => {
                if let Some(c) = client.as_mut() {
                    c.close_with(cleanup.as_ref());
                }
            }
            Ok(ClientJob::Send { addr, action }) => {
                let sent = resolve(&addr).and_then(|sock| {
                    let c = match client.take() {
                        Some(c) if c.addr() == sock => c,
                        _ => ActionClient::new(sock),
                    };
                    client.insert(c).send(&action)
                });
                if let Err(error) = sent {
                    let failed = ClientEvent::Failed {
                        client: action.client.clone(),
                        error,
                    };
                    if replies.send(failed).is_err() {
                        return;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Some(ev) = client.as_ref().and_then(ActionClient::try_event) {
            if replies.send(ev).is_err() {
                return;
            }
        }
    }
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| format!("cannot find {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot find {addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    fn action(line: &str) -> crate::walkthrough::Action {
        let text = format!("---\ntitle: T\nsummary: S\n---\n## One\naction: {line}\n\nText.\n");
        let chapter = crate::walkthrough::parse::parse_chapter("t.md", &text).expect("parses");
        chapter.steps[0].action.clone().expect("action")
    }

    /// The next outcome of an action (connections opening are not outcomes).
    fn reply(s: &Sender) -> ClientEvent {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match s.try_reply() {
                Some(ClientEvent::Connected { .. }) => continue,
                Some(ev) => return ev,
                None => {}
            }
            assert!(Instant::now() < deadline, "no reply");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn sends_resp_and_reports_the_reply_without_blocking() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = thread::spawn(move || {
            let (mut sock, _) = listener.accept().expect("accept");
            let mut got = vec![0u8; 64];
            let n = sock.read(&mut got).expect("read");
            sock.write_all(b"+PONG\r\n").expect("write");
            got.truncate(n);
            got
        });
        let s = Sender::spawn().expect("spawn");
        s.push(ClientJob::Send {
            addr: addr.to_string(),
            action: action("PING"),
        });
        match reply(&s) {
            ClientEvent::Replied { first, .. } => assert_eq!(first, "PONG"),
            other => panic!("{other:?}"),
        }
        assert_eq!(server.join().expect("server"), b"*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn a_server_that_is_not_there_is_a_failure_not_a_hang() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let s = Sender::spawn().expect("spawn");
        s.push(ClientJob::Send {
            addr: format!("127.0.0.1:{port}"),
            action: action("PING"),
        });
        assert!(matches!(reply(&s), ClientEvent::Failed { .. }));
    }
}

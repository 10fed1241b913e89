//! The guide's own closing connections, told apart from everyone else's.
//!
//! Opening a chapter closes the built-in client's connections of the chapter
//! before (each chapter starts with new clients). The server sees each close
//! as an ordinary end of file: the fd is readable, `read_query_from_client`
//! runs, the read returns nothing, the client is freed. Those are exactly
//! the events the first step of a chapter often waits for ("the client's fd
//! is readable"), and they would complete it before the learner sent
//! anything. So the guide names the connections it is closing (by their
//! address, as the server reports a client's peer), and [`Closing`] marks
//! every event about them as not the learner's, until the server has freed
//! them.
//!
//! Events name a client by fd; the fd of each address comes from
//! `client_connected` events and from snapshots (which list every client).

use std::collections::HashMap;

use crate::trace::model::{Event, Fd, Message, ProbeData};

/// At most this many closing addresses are remembered (the guide has one
/// connection per `client:` name, a handful per chapter).
const MAX_CLOSING: usize = 64;

/// Which fds belong to connections the guide is closing. See the module doc.
#[derive(Debug, Default)]
pub struct Closing {
    /// Each client's peer address, by fd.
    addr_of: HashMap<Fd, String>,
    /// Addresses of the guide's connections it closed, until the server frees them.
    closing: Vec<String>,
}

impl Closing {
    /// The guide is closing its connections from these local addresses.
    pub fn close(&mut self, addrs: impl IntoIterator<Item = String>) {
        for addr in addrs {
            if self.closing.len() == MAX_CLOSING {
                self.closing.remove(0);
            }
            self.closing.push(addr);
        }
    }

    /// Learns the clients of a snapshot (the full list, so it replaces ours).
    pub fn learn(&mut self, msg: &Message) {
        if let Message::Snapshot(s) = msg {
            self.addr_of = s.clients.iter().map(|c| (c.fd, c.addr.clone())).collect();
        }
    }

    /// True if `ev` is about a connection the guide is closing. Keeps the
    /// books: connects are learnt, and a closing client's `client_closed`
    /// (the last event about it, itself ours) ends its closing.
    pub fn is_ours(&mut self, ev: &Event) -> bool {
        match &ev.data {
            ProbeData::ClientConnected { fd, addr, .. } => {
                self.addr_of.insert(*fd, addr.clone());
                false
            }
            ProbeData::ClientClosed { fd, addr, .. } => {
                self.addr_of.remove(fd);
                match self.closing.iter().position(|a| a == addr) {
                    Some(i) => {
                        self.closing.remove(i);
                        true
                    }
                    None => false,
                }
            }
            data => data
                .fd()
                .and_then(|fd| self.addr_of.get(&fd))
                .is_some_and(|addr| self.closing.contains(addr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::trace::model::{ClientInfo, Handler, Mask, Snapshot};
    use crate::walkthrough::testkit::event as ev;

    fn readable(fd: Fd) -> Event {
        ev(ProbeData::FileEvent {
            fd,
            mask: Mask::READABLE,
            handler: Handler::new("read_query_from_client", "readQueryFromClient"),
            refired: false,
        })
    }

    fn closed(fd: Fd, addr: &str) -> Event {
        ev(ProbeData::ClientClosed {
            client: 1,
            fd,
            addr: addr.into(),
            reason: "eof".into(),
        })
    }

    #[test]
    fn a_closing_connections_events_are_ours_until_it_is_freed() {
        let mut c = Closing::default();
        let connected = ev(ProbeData::ClientConnected {
            client: 1,
            fd: 8,
            addr: "127.0.0.1:40000".into(),
        });
        assert!(!c.is_ours(&connected));
        assert!(!c.is_ours(&readable(8)), "not closing yet");
        c.close(["127.0.0.1:40000".to_string()]);
        assert!(c.is_ours(&readable(8)));
        assert!(c.is_ours(&closed(8, "127.0.0.1:40000")));
        // The fd is reused by the learner's next connection.
        let next = ev(ProbeData::ClientConnected {
            client: 2,
            fd: 8,
            addr: "127.0.0.1:40001".into(),
        });
        assert!(!c.is_ours(&next) && !c.is_ours(&readable(8)));
    }

    #[test]
    fn snapshots_say_which_fd_is_which_client() {
        let mut c = Closing::default();
        c.close(["127.0.0.1:40000".to_string()]);
        assert!(!c.is_ours(&readable(9)), "an fd we know nothing of");
        let client = ClientInfo {
            id: 4,
            fd: 9,
            addr: "127.0.0.1:40000".into(),
            name: None,
            db: 0,
            qbuf: 0,
            reply_bytes: 0,
            last_cmd: Cow::Borrowed(""),
            blocked: false,
            ctime_us: 0,
            last_interaction_us: 0,
        };
        c.learn(&Message::Snapshot(Snapshot {
            clients: vec![client],
            ..Snapshot::default()
        }));
        assert!(c.is_ours(&readable(9)));
        assert!(!c.is_ours(&closed(10, "127.0.0.1:50000")), "someone else's");
    }
}

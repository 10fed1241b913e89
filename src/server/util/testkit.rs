//! Test support for the keyspace families: one server and one client from
//! `cmd::test_support`, run the way the networking code runs commands, with
//! reply bytes compared against what redis-server sent for the same input.

use std::net::TcpStream;

use crate::server::Server;
use crate::server::client::Client;
use crate::server::cmd::test_support::{client, run, server, show};
use crate::server::db::{Sds, Value};

/// A server bound to a free loopback port, with 16 empty databases.
pub fn test_server() -> Server {
    server()
}

/// A server and one client, for running commands.
pub struct Harness {
    pub server: Server,
    pub client: Box<Client>,
    /// The other end of the client's socket, kept open for the test.
    _peer: TcpStream,
}

impl Harness {
    pub fn new() -> Self {
        let mut server = server();
        let (client, peer) = client(&mut server);
        Harness {
            server,
            client,
            _peer: peer,
        }
    }

    /// Stores a one-element list under `key` in db 0, as `RPUSH key x` does
    /// (for WRONGTYPE checks before the list commands exist).
    pub fn add_list(&mut self, key: &[u8]) {
        let list = std::iter::once(Sds::new(b"x")).collect();
        self.server.dbs[0].set_key(key, Value::List(Box::new(list)), false);
    }

    /// Runs one command and returns the reply bytes it queued.
    pub fn run(&mut self, args: &[&[u8]]) -> Vec<u8> {
        run(&mut self.server, &mut self.client, args)
    }

    /// Runs a command given as one string split on spaces (for arguments
    /// without spaces) and returns the reply as text.
    pub fn cmd(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        show(&self.run(&args))
    }

    /// Runs each `(command, expected reply)` pair in order and checks the
    /// reply bytes exactly.
    pub fn expect(&mut self, script: &[(&str, &str)]) {
        for (line, want) in script {
            assert_eq!(self.cmd(line), *want, "reply to {line:?}");
        }
    }
}

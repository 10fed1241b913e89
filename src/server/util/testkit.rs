//! Test support: a real [`Server`] and [`Client`] without an event loop, so
//! a command can be run the way the networking code runs it and its reply
//! bytes compared with what redis-server sends.

use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use crate::server::client::Client;
use crate::server::cmd::CommandTable;
use crate::server::db::{Db, Sds, Value};
use crate::server::{CONFIG_DEFAULT_DBNUM, Config, Server, Stats, mstime};

/// A server bound to an ephemeral loopback port, with 16 empty databases.
pub fn test_server() -> Server {
    let std_listener =
        TcpListener::bind("127.0.0.1:0").expect("bind a loopback port for the test server");
    let local_addr = std_listener.local_addr().expect("listener address");
    std_listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    Server {
        config: Config::default(),
        listener: mio::net::TcpListener::from_std(std_listener),
        listener_fd: -1,
        clients: Vec::new(),
        num_clients: 0,
        clients_pending_write: Vec::new(),
        clients_to_close: Vec::new(),
        next_client_id: 1,
        dbs: (0..CONFIG_DEFAULT_DBNUM).map(Db::new).collect(),
        commands: CommandTable::new(),
        stats: Stats::default(),
        expire_cycle: Default::default(),
        start_instant: Instant::now(),
        start_unix_ms: mstime(),
        cronloops: 0,
        cron_id: 0,
        local_addr,
    }
}

/// A client connected to `server`'s listener (the connection is never
/// accepted: commands only need the struct).
pub fn test_client(server: &Server) -> Client {
    let stream = TcpStream::connect(server.local_addr).expect("connect to the test server");
    let addr = stream.local_addr().expect("client address");
    Client::new(
        1,
        -1,
        mio::net::TcpStream::from_std(stream),
        addr,
        server.local_addr,
    )
}

/// A server and one client, for running commands.
pub struct Harness {
    pub server: Server,
    pub client: Client,
}

impl Harness {
    pub fn new() -> Self {
        let server = test_server();
        let client = test_client(&server);
        Harness { server, client }
    }

    /// Stores a one-element list under `key` in db 0, as `RPUSH key x` does
    /// (for WRONGTYPE checks before the list commands exist).
    pub fn add_list(&mut self, key: &[u8]) {
        let list = std::iter::once(Sds::new(b"x")).collect();
        self.server.dbs[0].set_key(key, Value::List(Box::new(list)), false);
    }

    /// Runs one command as the networking code does (table lookup, arity
    /// check, call) and returns the reply bytes it queued.
    pub fn run(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.client.argv = args.iter().map(|a| a.to_vec()).collect();
        match self.server.commands.lookup(&self.client.argv) {
            None => panic!(
                "command {:?} is not in the table",
                String::from_utf8_lossy(args[0])
            ),
            Some(cmd) => {
                let argc = args.len() as i32;
                if (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity {
                    self.client.add_reply_error_arity(cmd.name);
                } else {
                    (cmd.proc_)(&mut self.server, &mut self.client);
                }
            }
        }
        std::mem::take(&mut self.client.reply)
    }

    /// Runs a command given as one string split on spaces (for arguments
    /// without spaces) and returns the reply as text, for readable tests.
    pub fn cmd(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        String::from_utf8_lossy(&self.run(&args)).into_owned()
    }

    /// Runs each `(command, expected reply)` pair in order and checks the
    /// reply bytes exactly.
    pub fn expect(&mut self, script: &[(&str, &str)]) {
        for (line, want) in script {
            assert_eq!(self.cmd(line), *want, "reply to {line:?}");
        }
    }
}

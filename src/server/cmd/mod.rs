//! The command table: every command the server knows, with the metadata Redis
//! keeps for it (arity, flags, key positions, documentation).
//!
//! Redis keeps one `redisCommand` struct per command in a table generated from
//! JSON files (`src/commands/*.json`), looked up by lower-cased name in
//! `lookupCommand`. Here each family of commands (`string.rs`, `keys.rs`, …)
//! exports a `COMMANDS` slice, and [`CommandTable`] indexes them all by name.
//!
//! The metadata is not decoration: `COMMAND INFO` and `COMMAND DOCS` serve it
//! to clients, and `redis-cli` builds its inline hints and tab completion from
//! `COMMAND DOCS` when it starts. So every entry carries what the real server
//! reports for that command.
//!
//! **Containers.** Some commands are only a prefix for subcommands (`CLIENT
//! LIST`, `CONFIG GET`). The container lists them in `subcommands`, each named
//! `"container|sub"`; [`CommandTable::lookup`] resolves `argv[1]` to one, so
//! the arity check and the command statistics see `client|list`, not `client`.

use super::client::Client;
use super::util::c_str_prefix;

/// The Redis version whose behaviour we implement: what `HELLO` and `INFO`
/// report as `version` / `redis_version`, so clients enable the features they
/// would use with that server.
pub const REDIS_VERSION: &str = "7.0.15";

/// The function that runs a command: it reads `c.argv` and queues replies on `c`.
pub type CommandProc = fn(&mut super::call::Call);

/// The kind of one argument, as `COMMAND DOCS` reports it (`type` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    /// Exactly one of the nested arguments.
    OneOf(&'static [Arg]),
    /// All nested arguments, in order.
    Block(&'static [Arg]),
}

impl ArgKind {
    /// The name `COMMAND DOCS` uses for this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            ArgKind::String => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Key => "key",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf(_) => "oneof",
            ArgKind::Block(_) => "block",
        }
    }

    /// The nested arguments of a `oneof` or `block`.
    pub fn nested(&self) -> &'static [Arg] {
        match self {
            ArgKind::OneOf(args) | ArgKind::Block(args) => args,
            _ => &[],
        }
    }
}

/// One argument of a command, for `COMMAND DOCS` (and so for redis-cli's hints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    /// The literal word that introduces the argument (`EX`, `MATCH`, …), if any.
    pub token: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
    /// The Redis version that added this argument, when it came after the command.
    pub since: Option<&'static str>,
}

/// Where a key-finding search starts (the `begin_search` half of a key spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeginSearch {
    /// At a fixed argv index.
    Index(i32),
    /// After a keyword, searched from `startfrom` (negative: from the end).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
}

/// Which arguments are keys once the search has begun (`find_keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys up to `lastkey` (relative to the start; negative counts from the
    /// end), every `keystep` arguments, or a 1/`limit` share of the rest.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` says how many keys follow from `firstkey`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
}

/// How to find one group of keys in a command's arguments, and what the
/// command does to them: the mirror of Redis's `keySpec`, reported by
/// `COMMAND INFO` so cluster clients can route commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// A remark shown with the spec (Redis's `notes`), if any.
    pub notes: Option<&'static str>,
    /// Access flags as Redis reports them, space separated (`"RW access update"`).
    pub flags: &'static str,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

/// One entry of the command table: the mirror of Redis's `struct redisCommand`.
#[derive(Clone, Copy, Debug)]
pub struct RedisCommand {
    /// Lower-case name, as Redis reports it in `COMMAND INFO`.
    pub name: &'static str,
    pub proc_: CommandProc,
    /// Positive: exact argument count including the name; negative: at least -arity.
    pub arity: i32,
    /// Command flags as Redis reports them, space separated (`"write denyoom fast"`).
    pub flags: &'static str,
    /// Legacy key positions (first, last, step) as in `COMMAND INFO`; 0,0,0 for none.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// ACL categories, space separated, with the `@` (`"@write @string @fast"`).
    pub acl_categories: &'static str,
    /// Documentation group (`"string"`, `"generic"`, `"server"`, `"connection"`).
    pub group: &'static str,
    /// First Redis version with the command (`"1.0.0"`).
    pub since: &'static str,
    /// One-line summary, in our own words.
    pub summary: &'static str,
    /// Time complexity, in our own words.
    pub complexity: &'static str,
    pub args: &'static [Arg],
    /// Container commands (`CLIENT`, `CONFIG`, …) list their subcommands here;
    /// a subcommand's `name` is `"container|sub"` as in Redis.
    pub subcommands: &'static [RedisCommand],
    /// Hints for clients and proxies (`COMMAND INFO`'s tips), such as
    /// `"nondeterministic_output"` or `"request_policy:all_shards"`.
    pub tips: &'static [&'static str],
    /// How to find the keys among the arguments (`COMMAND INFO`'s key specs).
    pub key_specs: &'static [KeySpec],
    /// `(version, what changed)` pairs, oldest first (`COMMAND DOCS`'s history).
    pub history: &'static [(&'static str, &'static str)],
    /// Documentation flags, space separated: `"deprecated"`, `"syscmd"` or `""`.
    pub doc_flags: &'static str,
    /// For a deprecated command: since when, and what to use instead.
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
}

impl RedisCommand {
    /// True when `argc` arguments (the name included) suit the arity: exactly
    /// `arity` for a positive arity, at least `-arity` for a negative one
    /// (the check `processCommand` makes before calling the command).
    pub fn accepts_argc(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// True when the command only groups subcommands (`CLIENT`, `CONFIG`).
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// True when the command belongs to ACL category `category` (given
    /// without the `@`, compared case-insensitively).
    pub fn in_acl_category(&self, category: &str) -> bool {
        self.acl_categories.split(' ').any(|c| {
            c.strip_prefix('@')
                .is_some_and(|c| c.eq_ignore_ascii_case(category))
        })
    }
}

pub mod connection;
pub mod hash;
pub mod keys;
pub mod list;
pub mod monitor;
pub mod multi;
pub mod pubsub;
pub mod server;
pub mod set;
pub mod string;

use std::collections::HashMap;

/// No top-level command name is longer than this (Redis's longest is 20).
const MAX_COMMAND_NAME_LEN: usize = 32;

/// Every command, indexed by lower-case name (mirror of `server.commands` and
/// `lookupCommand`).
pub struct CommandTable {
    /// Top-level commands in family order, so that `COMMAND` and `COMMAND
    /// LIST` answer in a stable order (Redis's order is its hash table's).
    commands: Vec<&'static RedisCommand>,
    by_name: HashMap<&'static str, &'static RedisCommand>,
}

/// All command families, in the order `COMMAND` lists them.
pub const FAMILIES: &[&[RedisCommand]] = &[
    connection::COMMANDS,
    keys::COMMANDS,
    server::COMMANDS,
    string::COMMANDS,
    list::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    multi::COMMANDS,
    pubsub::COMMANDS,
    monitor::COMMANDS,
];

impl CommandTable {
    pub fn new() -> Self {
        let mut commands = Vec::new();
        let mut by_name = HashMap::new();
        for family in FAMILIES {
            for cmd in family.iter() {
                commands.push(cmd);
                by_name.insert(cmd.name, cmd);
            }
        }
        CommandTable { commands, by_name }
    }

    /// Finds the command for a request: the container's subcommand when the
    /// command has subcommands and `argv[1]` names one (mirror of `lookupCommand`).
    ///
    /// `None` means "unknown": [`command_lookup_error`] words the error. A
    /// container named alone (`CONFIG`) is returned as itself, so that the
    /// arity check reports it, as Redis does.
    pub fn lookup(&self, argv: &[Vec<u8>]) -> Option<&'static RedisCommand> {
        let cmd = self.top_level(argv.first()?)?;
        match argv.get(1) {
            Some(sub) if cmd.is_container() => find_subcommand(cmd, sub),
            _ => Some(cmd),
        }
    }

    /// Finds a command by its full name, `get` or `client|list`, any case:
    /// what `COMMAND INFO` and `COMMAND DOCS` accept (mirror of
    /// `lookupCommandBySds`). A name with more than one `|`, or a `|` after a
    /// command that has no subcommands, names nothing.
    pub fn lookup_by_fullname(&self, name: &[u8]) -> Option<&'static RedisCommand> {
        let mut parts = name.split(|&b| b == b'|');
        let base = self.top_level(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(base),
            (Some(sub), None) => find_subcommand(base, sub),
            (Some(_), Some(_)) => None,
        }
    }

    /// The top-level command called `name` in any case.
    ///
    /// This runs for every request, so the name is lower-cased in a stack
    /// buffer rather than a new `String`; a name longer than the buffer
    /// cannot be a command.
    fn top_level(&self, name: &[u8]) -> Option<&'static RedisCommand> {
        let mut buf = [0u8; MAX_COMMAND_NAME_LEN];
        let lower = buf.get_mut(..name.len())?;
        for (dst, src) in lower.iter_mut().zip(name) {
            *dst = src.to_ascii_lowercase();
        }
        let name = std::str::from_utf8(lower).ok()?;
        self.by_name.get(name).copied()
    }

    /// Iterates over all top-level commands, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = &'static RedisCommand> + '_ {
        self.commands.iter().copied()
    }

    /// Number of top-level commands (`COMMAND COUNT`).
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The subcommand of `container` whose short name (after the `|`) is `sub`, in any case.
fn find_subcommand(container: &'static RedisCommand, sub: &[u8]) -> Option<&'static RedisCommand> {
    container.subcommands.iter().find(|s| {
        s.name
            .rsplit('|')
            .next()
            .is_some_and(|short| short.as_bytes().eq_ignore_ascii_case(sub))
    })
}

/// How many bytes of the user's input Redis quotes in an error message.
const ERROR_QUOTE_MAX: usize = 128;

/// The error text for a request [`CommandTable::lookup`] could not resolve,
/// without the `-ERR ` prefix (mirror of the unknown-command branch of
/// `processCommand`):
///
/// - `unknown subcommand 'x'. Try CLIENT HELP.` when `argv[0]` is a container;
/// - otherwise `unknown command 'x', with args beginning with: 'a' 'b' `.
///
/// Like Redis, the name and each argument are cut at 128 bytes (and at a NUL
/// byte, as C's `%s` stops there), and arguments are quoted only while the
/// quoted list is shorter than 128 bytes, the last one cut to fit. Redis's
/// message is raw bytes; ours is a `String`, so bytes that are not UTF-8 come
/// out as U+FFFD.
pub fn command_lookup_error(argv: &[Vec<u8>], table: &CommandTable) -> String {
    let name = argv.first().map(Vec::as_slice).unwrap_or_default();
    let mut msg = Vec::new();
    match (table.top_level(name), argv.get(1)) {
        (Some(container), Some(sub)) if container.is_container() => {
            msg.extend_from_slice(b"unknown subcommand '");
            msg.extend_from_slice(c_str_prefix(sub, ERROR_QUOTE_MAX));
            msg.extend_from_slice(b"'. Try ");
            msg.extend_from_slice(container.name.to_ascii_uppercase().as_bytes());
            msg.extend_from_slice(b" HELP.");
        }
        _ => {
            msg.extend_from_slice(b"unknown command '");
            msg.extend_from_slice(c_str_prefix(name, ERROR_QUOTE_MAX));
            msg.extend_from_slice(b"', with args beginning with: ");
            let mut quoted: Vec<u8> = Vec::new();
            for arg in argv.iter().skip(1) {
                // Each argument may use what is left of the 128 bytes.
                let Some(room) = ERROR_QUOTE_MAX.checked_sub(quoted.len()).filter(|&r| r > 0)
                else {
                    break;
                };
                quoted.push(b'\'');
                quoted.extend_from_slice(c_str_prefix(arg, room));
                quoted.extend_from_slice(b"' ");
            }
            msg.extend_from_slice(&quoted);
        }
    }
    String::from_utf8_lossy(&msg).into_owned()
}

/// Replies `-ERR unknown subcommand or wrong number of arguments for 'x'. Try
/// DEBUG HELP.` for a command that parses its own subcommands (mirror of
/// `addReplySubcommandSyntaxError`).
pub fn reply_subcommand_syntax_error(c: &mut Client, command: &RedisCommand) {
    let sub = c
        .argv
        .get(1)
        .map(|s| c_str_prefix(s, ERROR_QUOTE_MAX))
        .unwrap_or_default();
    let msg = format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub),
        command.name.to_ascii_uppercase()
    );
    c.add_reply_error(&msg);
}

/// The proc of a container command such as `CLIENT`. The table resolves a
/// container plus a subcommand name to the subcommand, and a container alone
/// fails the arity check, so this only runs if a caller skips those steps; it
/// then answers what `processCommand` would have answered.
pub fn container_proc(call: &mut super::call::Call) {
    let (server, c) = call.parts();
    if c.argv.len() < 2 {
        let name = c
            .argv
            .first()
            .and_then(|name| server.commands.top_level(name));
        c.add_reply_error_arity(name.map_or("", |cmd| cmd.name));
    } else {
        let msg = command_lookup_error(&c.argv, &server.commands);
        c.add_reply_error(&msg);
    }
}

/// Parses `arg` as an integer the way `getLongLongFromObjectOrReply` does,
/// replying `msg` (or Redis's default text) when it is not one.
pub fn parse_long_long_or_reply(c: &mut Client, arg: &[u8], msg: Option<&str>) -> Option<i64> {
    let value = super::util::string2ll(arg);
    if value.is_none() {
        c.add_reply_error(msg.unwrap_or("value is not an integer or out of range"));
    }
    value
}

/// Parses `arg` as an integer in `min..=max` the way
/// `getRangeLongFromObjectOrReply` does, with its two default errors.
pub fn parse_range_or_reply(
    c: &mut Client,
    arg: &[u8],
    min: i64,
    max: i64,
    msg: Option<&str>,
) -> Option<i64> {
    let value = parse_long_long_or_reply(c, arg, msg)?;
    if value < min || value > max {
        match msg {
            Some(msg) => c.add_reply_error(msg),
            None => c.add_reply_error(&format!(
                "value is out of range, value must between {min} and {max}"
            )),
        }
        return None;
    }
    Some(value)
}

/// Helpers for the command tests: a real [`Server`] on a loopback listener,
/// clients with real sockets, and a miniature `processCommand` that runs one
/// request the way the networking layer does.
#[cfg(test)]
pub(crate) mod test_support {
    use std::net::{SocketAddr, TcpListener, TcpStream};

    use super::super::client::Client;
    use super::super::{Config, Server};
    use super::command_lookup_error;

    /// A server listening on 127.0.0.1 with a free port, no clients yet.
    pub fn server() -> Server {
        let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().expect("valid address"))
            .expect("bind");
        let local_addr = listener.local_addr().expect("local addr");
        let config = Config {
            port: local_addr.port(),
            ..Config::default()
        };
        Server::new(config, listener, 0, local_addr)
    }

    /// An event loop for a command to run in; nothing is registered in it.
    pub fn event_loop() -> crate::ae::EventLoop<Server> {
        crate::ae::EventLoop::create(128).expect("an event loop")
    }

    /// A client connected to a throwaway listener, with the next id and the
    /// fd of its real socket. Keep the returned peer stream alive while the
    /// client is used.
    pub fn client(server: &mut Server) -> (Box<Client>, TcpStream) {
        use std::os::fd::AsRawFd;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let peer = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (stream, addr): (TcpStream, SocketAddr) = listener.accept().expect("accept");
        let laddr = stream.local_addr().expect("laddr");
        let fd = stream.as_raw_fd();
        stream.set_nonblocking(true).expect("nonblocking");
        let id = server.next_client_id;
        server.next_client_id += 1;
        let c = Client::new(id, fd, mio::net::TcpStream::from_std(stream), addr, laddr);
        (Box::new(c), peer)
    }

    /// Puts `c` into the server's client slots, as the accept handler does.
    pub fn attach(server: &mut Server, c: Box<Client>) {
        let fd = usize::try_from(c.fd).expect("fd is not negative");
        if server.clients.len() <= fd {
            server.clients.resize_with(fd + 1, || None);
        }
        server.clients[fd] = Some(c);
        server.num_clients += 1;
    }

    /// Runs one request on `c` like `processCommand` + `call` (lookup, arity,
    /// `last_cmd`, the proc) and returns the reply bytes it queued.
    pub fn run(server: &mut Server, c: &mut Client, argv: &[&[u8]]) -> Vec<u8> {
        c.argv = argv.iter().map(|a| a.to_vec()).collect();
        match server.commands.lookup(&c.argv) {
            None => {
                let msg = command_lookup_error(&c.argv, &server.commands);
                c.add_reply_error(&msg);
            }
            Some(cmd) if !cmd.accepts_argc(c.argv.len()) => c.add_reply_error_arity(cmd.name),
            Some(cmd) => {
                c.last_cmd = cmd.name;
                let mut el = event_loop();
                (cmd.proc_)(&mut crate::server::call::Call {
                    el: &mut el,
                    server,
                    c,
                });
                server.stats.numcommands += 1;
            }
        }
        c.reply.take()
    }

    /// [`run`] for a request written as space-separated words.
    pub fn run_str(server: &mut Server, c: &mut Client, line: &str) -> Vec<u8> {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        run(server, c, &words)
    }

    /// Shows reply bytes readably in assertion failures.
    pub fn show(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{client, run, server, show};
    use super::*;

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn lookup_resolves_subcommands_any_case() {
        let table = CommandTable::new();
        assert_eq!(
            table.lookup(&argv(&["CLIENT", "List"])).map(|c| c.name),
            Some("client|list")
        );
        assert_eq!(
            table.lookup(&argv(&["client"])).map(|c| c.name),
            Some("client")
        );
        assert!(table.lookup(&argv(&["client", "nosuch"])).is_none());
        assert!(table.lookup(&argv(&["client|list"])).is_none());
        assert_eq!(
            table.lookup(&argv(&["Ping", "x"])).map(|c| c.name),
            Some("ping")
        );
        assert!(table.lookup(&[]).is_none());
        assert!(table.lookup(&[vec![0xff, 0xfe]]).is_none());
    }

    #[test]
    fn lookup_by_fullname() {
        let table = CommandTable::new();
        assert_eq!(
            table.lookup_by_fullname(b"CLIENT|LIST").map(|c| c.name),
            Some("client|list")
        );
        assert_eq!(
            table.lookup_by_fullname(b"config").map(|c| c.name),
            Some("config")
        );
        assert!(table.lookup_by_fullname(b"client|").is_none());
        assert!(table.lookup_by_fullname(b"ping|x").is_none());
        assert!(table.lookup_by_fullname(b"client|list|x").is_none());
        assert!(table.lookup_by_fullname(b"").is_none());
    }

    /// Error texts observed from Redis 7.0.15 for the same requests.
    #[test]
    fn unknown_command_errors_match_redis() {
        let table = CommandTable::new();
        let err = |words: &[&str]| command_lookup_error(&argv(words), &table);
        assert_eq!(
            err(&["foo"]),
            "unknown command 'foo', with args beginning with: "
        );
        assert_eq!(
            err(&["foo", "a", "b"]),
            "unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            err(&["foo", ""]),
            "unknown command 'foo', with args beginning with: '' "
        );
        assert_eq!(
            err(&["client|list"]),
            "unknown command 'client|list', with args beginning with: "
        );
        let long = "a".repeat(200);
        assert_eq!(
            err(&["foo", &long, "b"]),
            format!(
                "unknown command 'foo', with args beginning with: '{}' ",
                "a".repeat(128)
            )
        );
        assert_eq!(
            err(&[&"f".repeat(200), "a"]),
            format!(
                "unknown command '{}', with args beginning with: 'a' ",
                "f".repeat(128)
            )
        );
        let x30 = "x".repeat(30);
        let ten: Vec<&str> = std::iter::once("foo")
            .chain(std::iter::repeat_n(x30.as_str(), 10))
            .collect();
        assert_eq!(
            err(&ten),
            format!(
                "unknown command 'foo', with args beginning with: '{x30}' '{x30}' '{x30}' '{}' ",
                "x".repeat(29)
            )
        );
        assert_eq!(
            command_lookup_error(&[b"fo\0o".to_vec(), b"x\0y".to_vec()], &table),
            "unknown command 'fo', with args beginning with: 'x' "
        );
    }

    #[test]
    fn unknown_subcommand_errors_match_redis() {
        let table = CommandTable::new();
        let err = |words: &[&str]| command_lookup_error(&argv(words), &table);
        assert_eq!(
            err(&["client", "foo", "bar"]),
            "unknown subcommand 'foo'. Try CLIENT HELP."
        );
        assert_eq!(
            err(&["Client", "NoSub", "a"]),
            "unknown subcommand 'NoSub'. Try CLIENT HELP."
        );
        assert_eq!(
            err(&["CONFIG", "NOSUB"]),
            "unknown subcommand 'NOSUB'. Try CONFIG HELP."
        );
        assert_eq!(
            err(&["command", "x", "y"]),
            "unknown subcommand 'x'. Try COMMAND HELP."
        );
        assert_eq!(
            err(&["client", &"x".repeat(200)]),
            format!("unknown subcommand '{}'. Try CLIENT HELP.", "x".repeat(128))
        );
    }

    #[test]
    fn arity_errors_use_the_full_name() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let mut check = |words: &[&[u8]], expected: &str| {
            let reply = run(&mut server, &mut c, words);
            assert_eq!(show(&reply), expected, "for {words:?}");
        };
        check(
            &[b"CLIENT", b"SETNAME"],
            "-ERR wrong number of arguments for 'client|setname' command\r\n",
        );
        check(
            &[b"config"],
            "-ERR wrong number of arguments for 'config' command\r\n",
        );
        check(
            &[b"command", b"count", b"x"],
            "-ERR wrong number of arguments for 'command|count' command\r\n",
        );
        check(
            &[b"ping", b"a", b"b"],
            "-ERR wrong number of arguments for 'ping' command\r\n",
        );
    }

    #[test]
    fn container_proc_answers_like_process_command() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let mut el = super::test_support::event_loop();
        for words in [&["client"][..], &["client", "nosuch"]] {
            c.argv = argv(words);
            container_proc(&mut crate::server::call::Call {
                el: &mut el,
                server: &mut server,
                c: &mut c,
            });
        }
        assert_eq!(
            show(&c.reply.pending(0)),
            "-ERR wrong number of arguments for 'client' command\r\n-ERR unknown subcommand 'nosuch'. Try CLIENT HELP.\r\n"
        );
    }

    #[test]
    fn every_entry_is_well_formed() {
        let table = CommandTable::new();
        for cmd in table.iter() {
            check_entry(cmd, None);
        }
        // Two families defining one name would make the index disagree with the list.
        assert_eq!(
            table.by_name.len(),
            table.len(),
            "a command is defined twice"
        );
    }

    fn check_entry(cmd: &RedisCommand, parent: Option<&str>) {
        // Redis documents no complexity for MONITOR alone.
        assert!(
            !cmd.summary.is_empty() && (!cmd.complexity.is_empty() || cmd.name == "monitor"),
            "{} lacks docs",
            cmd.name
        );
        assert_eq!(cmd.name, cmd.name.to_ascii_lowercase());
        match parent {
            Some(parent) => assert!(cmd.name.starts_with(&format!("{parent}|")), "{}", cmd.name),
            None => assert!(!cmd.name.contains('|')),
        }
        assert!(
            cmd.acl_categories.split(' ').all(|c| c.starts_with('@')),
            "{}",
            cmd.name
        );
        assert!(!cmd.since.is_empty(), "{} lacks since", cmd.name);
        if parent.is_none() {
            assert!(
                cmd.name.len() <= MAX_COMMAND_NAME_LEN,
                "{} is too long to look up",
                cmd.name
            );
        }
        for sub in cmd.subcommands {
            assert!(sub.subcommands.is_empty(), "{} nests too deep", sub.name);
            check_entry(sub, Some(cmd.name));
        }
    }
}

/// Commands Redis marks `CMD_PROTECTED` (a flag `COMMAND INFO` does not show):
/// `processCommand` runs them only as `enable-debug-command` allows.
pub fn is_protected(cmd: &RedisCommand) -> bool {
    cmd.name == "debug"
}

/// True for commands that write to the keyspace or may be sent on to
/// replicas: those flagged `write`, and those Redis marks
/// `CMD_MAY_REPLICATE`, a flag `COMMAND INFO` does not show (PUBLISH and
/// SPUBLISH, whose messages replicas relay).
pub fn may_replicate(cmd: &RedisCommand) -> bool {
    matches!(cmd.name, "publish" | "spublish") || cmd.flags.split(' ').any(|f| f == "write")
}

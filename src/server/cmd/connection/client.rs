//! The `CLIENT` container: `CLIENT ID`, `SETNAME`, `GETNAME`, `LIST`, `INFO`,
//! `KILL`, `UNBLOCK` and `HELP` (the part of Redis's `clientCommand` we
//! implement).
//!
//! `CLIENT LIST` is the window into the server's client table: one line per
//! connection with its id, addresses, fd, buffers and last command. On
//! loopscope the values are live readings of the [`Client`] structs the
//! event loop is serving, so the line shows, for instance, the query buffer
//! still holding the `CLIENT LIST` request itself (`qbuf=26`), or `events=rw`
//! while a client waits for its socket to accept more of a large reply.
//!
//! One subtlety comes from how commands run: the calling client is lent to
//! the command outside `server.clients` (its slot is empty during the call),
//! so every listing puts it back in its place, in fd order.

use crate::server::call::Call;
use std::io::Write;

use super::super::{
    Arg, ArgKind, RedisCommand, container_proc, parse_long_long_or_reply, parse_range_or_reply,
    reply_subcommand_syntax_error,
};
use crate::server::client::{
    CLIENT_BLOCKED, CLIENT_CLOSE_AFTER_REPLY, CLIENT_CLOSE_ASAP, CLIENT_MONITOR, CLIENT_MULTI,
    CLIENT_PUBSUB, CLIENT_UNBLOCKED, Client, ClientRef,
};
use crate::server::networking::{self, ClientClass};
use crate::server::util::{arg_is, c_str_prefix};
use crate::server::{Server, blocked};

/// Checks a name for `CLIENT SETNAME` / `HELLO SETNAME`: only the printable
/// ASCII range `!`..`~` is allowed, so that `CLIENT LIST` stays one
/// space-separated line per client (mirror of `validateClientName`).
pub fn validate_client_name(name: &[u8]) -> Result<(), &'static str> {
    if name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err("Client names cannot contain spaces, newlines or special characters.")
    }
}

/// Sets a validated name; the empty name removes it (mirror of `clientSetName`).
pub fn set_client_name(c: &mut Client, name: Vec<u8>) {
    c.name = if name.is_empty() { None } else { Some(name) };
}

/// Every connected client, the caller included, in fd order.
///
/// During a command the caller is outside `server.clients`, so it is put back
/// where its fd places it; a slot holding a client with the caller's id is
/// skipped, so nobody is listed twice whatever the caller's slot holds.
pub fn clients_in_fd_order<'a>(server: &'a Server, current: &'a Client) -> Vec<&'a Client> {
    let mut clients: Vec<&Client> = server
        .clients
        .iter()
        .flatten()
        .map(|c| &**c)
        .filter(|c| c.id != current.id)
        .collect();
    let at = clients.partition_point(|c| c.fd < current.fd);
    clients.insert(at, current);
    clients
}

/// The flags field of a `CLIENT LIST` line: one letter per flag we have,
/// in Redis's order — `O` monitor, `P` subscriber, `x` in MULTI, `b`
/// blocked, `d` a watched key changed, `c` close after reply, `u` just
/// unblocked, `A` close as soon as possible — or `N` for none.
fn client_flags(c: &Client) -> String {
    let letters = [
        (c.flags & CLIENT_MONITOR != 0, 'O'),
        (c.flags & CLIENT_PUBSUB != 0, 'P'),
        (c.flags & CLIENT_MULTI != 0, 'x'),
        (c.flags & CLIENT_BLOCKED != 0, 'b'),
        (c.is_dirty_cas(), 'd'),
        (c.flags & CLIENT_CLOSE_AFTER_REPLY != 0, 'c'),
        (c.flags & CLIENT_UNBLOCKED != 0, 'u'),
        (c.flags & CLIENT_CLOSE_ASAP != 0, 'A'),
    ];
    let flags: String = letters
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, l)| *l)
        .collect();
    if flags.is_empty() {
        "N".to_string()
    } else {
        flags
    }
}

/// The queued commands' footprint, as Redis counts it in `multi-mem`.
fn multi_mem(c: &Client) -> usize {
    c.mstate.iter().map(|q| q.argv_mem).sum()
}

/// Appends one `CLIENT LIST` line for `c`, ending in `\n`, with the fields of
/// Redis 7.0 in their order (mirror of `catClientInfoString`).
///
/// What each buffer field reads (see `reply.rs` for the reply buffers):
/// - `qbuf` / `qbuf-free`: bytes in the query buffer (parsed or not) and its
///   free space, sized as Redis's sds buffer would be;
/// - `argv-mem`: bytes of the current command's arguments;
/// - `rbs`: the fixed reply buffer's size, 16 KiB; `rbp` and `obl`: the
///   bytes in it now (Redis's `rbp` is a peak over the last few seconds, and
///   Redis resizes the buffer by it; we keep neither peak nor resizing);
/// - `oll`: the blocks in the reply list; `omem`: their room plus their list
///   nodes, what the output buffer limits count;
/// - `tot-mem`: the client struct plus everything it has allocated.
///
/// Tracking and ACL users do not exist here, so their fields show their
/// idle values (`redir=-1`, `user=default`).
pub fn cat_client_info(out: &mut Vec<u8>, c: &Client) {
    let argv_mem: usize = c.argv.iter().map(Vec::len).sum();
    let argv_alloc: usize =
        c.argv.capacity() * size_of::<Vec<u8>>() + c.argv.iter().map(Vec::capacity).sum::<usize>();
    let omem = c.output_buffer_memory_usage();
    let tot_mem =
        size_of::<Client>() + c.querybuf.capacity() + c.reply.buf_usable_size() + omem + argv_alloc;
    let events = if c.write_handler_installed { "rw" } else { "r" };
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "id={} addr={} laddr={} fd={} name=",
        c.id, c.addr, c.laddr, c.fd
    );
    out.extend_from_slice(c.name.as_deref().unwrap_or_default());
    let _ = writeln!(
        out,
        " age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} \
         multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events={} cmd={} user=default redir=-1 resp={}",
        c.ctime.elapsed().as_secs(),
        c.last_interaction.elapsed().as_secs(),
        client_flags(c),
        c.db,
        c.pubsub_channels.len(),
        c.pubsub_patterns.len(),
        c.pubsub_shard_channels.len(),
        if c.flags & CLIENT_MULTI != 0 {
            c.mstate.len() as i64
        } else {
            -1
        },
        c.querybuf.len(),
        c.querybuf.capacity() - c.querybuf.len(),
        argv_mem,
        multi_mem(c),
        c.reply.buf_usable_size(),
        c.reply.bufpos(),
        c.reply.bufpos(),
        c.reply.list_len(),
        omem,
        tot_mem,
        events,
        c.last_cmd,
        c.resp,
    );
}

/// `CLIENT ID` (mirror of the `id` branch of `clientCommand`).
fn client_id_command(call: &mut Call) {
    let c = &mut *call.c;
    c.add_reply_long_long(i64::try_from(c.id).unwrap_or(i64::MAX));
}

/// `CLIENT SETNAME name` (mirror of `clientSetNameOrReply`).
fn client_setname_command(call: &mut Call) {
    let c = &mut *call.c;
    let name = c.argv[2].clone();
    match validate_client_name(&name) {
        Ok(()) => {
            set_client_name(c, name);
            c.add_reply_ok();
        }
        Err(err) => c.add_reply_error(err),
    }
}

/// `CLIENT GETNAME`: the name, or a null when there is none.
fn client_getname_command(call: &mut Call) {
    let c = &mut *call.c;
    match c.name.clone() {
        Some(name) => c.add_reply_bulk(&name),
        None => c.add_reply_null(),
    }
}

/// `CLIENT INFO`: the `CLIENT LIST` line of the caller alone.
fn client_info_command(call: &mut Call) {
    let c = &mut *call.c;
    let mut text = Vec::new();
    cat_client_info(&mut text, c);
    c.add_reply_verbatim(&text, "txt");
}

/// A client type named in `CLIENT LIST TYPE` / `CLIENT KILL TYPE`: a class,
/// or `Master` (the replication link to a master, which never exists here).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Class(ClientClass),
    Master,
}

impl ClientType {
    fn matches(self, c: &Client) -> bool {
        self == ClientType::Class(ClientClass::of(c))
    }
}

/// Reads a client type name, or replies Redis's error (mirror of
/// `getClientTypeByName`).
fn parse_client_type(c: &mut Client, idx: usize) -> Option<ClientType> {
    let name = c.argv[idx].to_ascii_lowercase();
    let kind = match name.as_slice() {
        b"normal" => ClientType::Class(ClientClass::Normal),
        b"replica" | b"slave" => ClientType::Class(ClientClass::Replica),
        b"pubsub" => ClientType::Class(ClientClass::PubSub),
        b"master" => ClientType::Master,
        _ => {
            let name = String::from_utf8_lossy(c_str_prefix(&c.argv[idx], usize::MAX));
            c.add_reply_error(&format!("Unknown client type '{name}'"));
            return None;
        }
    };
    Some(kind)
}

/// Which clients `CLIENT LIST` shows.
enum ListFilter {
    All,
    /// `TYPE normal|master|replica|slave|pubsub`.
    Type(ClientType),
    /// `ID id [id ...]`: these clients, in the order given, repeats included.
    Ids(Vec<i64>),
}

/// Reads the arguments after `CLIENT LIST`, replying with Redis's error when
/// they are wrong. Redis accepts exactly one filter: `TYPE t` as the only
/// option, or `ID` followed by ids to the end of the command.
fn parse_list_filter(c: &mut Client) -> Option<ListFilter> {
    let argc = c.argv.len();
    if argc == 2 {
        return Some(ListFilter::All);
    }
    if argc == 4 && c.argv[2].eq_ignore_ascii_case(b"type") {
        return parse_client_type(c, 3).map(ListFilter::Type);
    }
    if argc > 3 && c.argv[2].eq_ignore_ascii_case(b"id") {
        let args: Vec<Vec<u8>> = c.argv[3..].to_vec();
        let mut ids = Vec::with_capacity(args.len());
        for arg in &args {
            ids.push(parse_long_long_or_reply(c, arg, Some("Invalid client ID"))?);
        }
        return Some(ListFilter::Ids(ids));
    }
    c.add_reply_error("syntax error");
    None
}

/// `CLIENT LIST [TYPE type | ID id ...]` (mirror of the `list` branch of
/// `clientCommand` and of `getAllClientsInfoString`).
fn client_list_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(filter) = parse_list_filter(c) else {
        return;
    };
    let mut text = Vec::new();
    {
        let clients = clients_in_fd_order(server, c);
        match filter {
            ListFilter::All => {
                for cl in clients {
                    cat_client_info(&mut text, cl);
                }
            }
            ListFilter::Type(kind) => {
                for cl in clients.into_iter().filter(|cl| kind.matches(cl)) {
                    cat_client_info(&mut text, cl);
                }
            }
            ListFilter::Ids(ids) => {
                for id in ids {
                    if let Some(cl) = clients.iter().find(|cl| i64::try_from(cl.id) == Ok(id)) {
                        cat_client_info(&mut text, cl);
                    }
                }
            }
        }
    }
    c.add_reply_verbatim(&text, "txt");
}

/// The filters of `CLIENT KILL`; a client must match all that are given.
#[derive(Default)]
struct KillFilter {
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    kind: Option<ClientType>,
    id: Option<u64>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, c: &Client, me: u64) -> bool {
        self.addr
            .as_ref()
            .is_none_or(|a| *a == c.addr.to_string().into_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| *a == c.laddr.to_string().into_bytes())
            && self.kind.is_none_or(|k| k.matches(c))
            && self.id.is_none_or(|id| id == c.id)
            && !(self.skipme && c.id == me)
    }
}

/// Reads `CLIENT KILL`'s arguments: the old form (one `ip:port`) or filter
/// pairs, replying Redis's error when they are wrong.
fn parse_kill_filter(c: &mut Client) -> Option<KillFilter> {
    if c.argv.len() == 3 {
        return Some(KillFilter {
            addr: Some(c.argv[2].clone()),
            ..KillFilter::default()
        });
    }
    let mut f = KillFilter {
        skipme: true,
        ..KillFilter::default()
    };
    let mut i = 2;
    while i < c.argv.len() {
        if i + 1 >= c.argv.len() {
            c.add_reply_error("syntax error");
            return None;
        }
        let (opt, value) = (&c.argv[i], c.argv[i + 1].clone());
        if arg_is(opt, "id") {
            let id = parse_range_or_reply(
                c,
                &value,
                1,
                i64::MAX,
                Some("client-id should be greater than 0"),
            )?;
            f.id = u64::try_from(id).ok();
        } else if arg_is(opt, "type") {
            f.kind = Some(parse_client_type(c, i + 1)?);
        } else if arg_is(opt, "addr") {
            f.addr = Some(value);
        } else if arg_is(opt, "laddr") {
            f.laddr = Some(value);
        } else if arg_is(opt, "user") {
            // `default` is the only user there is, and every client is it.
            if !arg_is(&value, "default") {
                let name = String::from_utf8_lossy(c_str_prefix(&value, usize::MAX));
                c.add_reply_error(&format!("No such user '{name}'"));
                return None;
            }
        } else if arg_is(opt, "skipme") {
            if arg_is(&value, "yes") {
                f.skipme = true;
            } else if arg_is(&value, "no") {
                f.skipme = false;
            } else {
                c.add_reply_error("syntax error");
                return None;
            }
        } else {
            c.add_reply_error("syntax error");
            return None;
        }
        i += 2;
    }
    Some(f)
}

/// `CLIENT KILL ip:port` or `CLIENT KILL [ID id] [TYPE type] [ADDR ip:port]
/// [LADDR ip:port] [USER name] [SKIPME yes|no]` (mirror of the `kill`
/// branch of `clientCommand`). Other clients are taken out of the server's
/// tables at once and closed in the next `before_sleep`; the caller, if it
/// matches, is closed once the reply is written. The old form answers `+OK`
/// or `No such client`, the new one how many clients matched.
fn client_kill_command(call: &mut Call) {
    let (server, c) = call.parts();
    let old_form = c.argv.len() == 3;
    let Some(filter) = parse_kill_filter(c) else {
        return;
    };
    let victims: Vec<ClientRef> = clients_in_fd_order(server, c)
        .into_iter()
        .filter(|cl| filter.matches(cl, c.id))
        .map(|cl| cl.client_ref())
        .collect();
    for who in &victims {
        if *who == c.client_ref() {
            c.flags |= CLIENT_CLOSE_AFTER_REPLY;
        } else {
            networking::with_client(server, *who, |server, victim| {
                networking::unlink_client_state(server, victim);
                networking::mark_close_asap(server, victim, "killed by CLIENT KILL");
            });
        }
    }
    match (old_form, victims.len()) {
        (true, 0) => c.add_reply_error("No such client"),
        (true, _) => c.add_reply_ok(),
        (false, n) => c.add_reply_long_long(n as i64),
    }
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: ends another client's blocking
/// command as if it timed out, or with an error; `:1` if that client was
/// blocked (mirror of the `unblock` branch of `clientCommand`).
fn client_unblock_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.argv.len() > 4 {
        return reply_subcommand_syntax_error(c, &CLIENT);
    }
    let with_error = match c.argv.get(3) {
        None => false,
        Some(reason) if arg_is(reason, "timeout") => false,
        Some(reason) if arg_is(reason, "error") => true,
        Some(_) => return c.add_reply_error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    };
    let arg = c.argv[2].clone();
    let Some(id) = parse_long_long_or_reply(c, &arg, None) else {
        return;
    };
    let target = server
        .clients
        .iter()
        .flatten()
        .find(|t| i64::try_from(t.id) == Ok(id) && t.flags & CLIENT_BLOCKED != 0)
        .map(|t| t.client_ref());
    let Some(target) = target else {
        return c.add_reply_long_long(0);
    };
    networking::with_client(server, target, |server, t| {
        let reply_from = t.reply.pending_len();
        if with_error {
            t.add_reply_error("-UNBLOCKED client unblocked via CLIENT UNBLOCK");
        } else {
            t.add_reply_null_array();
        }
        blocked::unblock_client(server, t, "CLIENT UNBLOCK", Some(reply_from));
    });
    c.add_reply_long_long(1);
}

/// `CLIENT HELP`: the subcommands we implement, in our words.
fn client_help_command(call: &mut Call) {
    let c = &mut *call.c;
    c.add_reply_help(
        "client",
        &[
            "GETNAME",
            "    Return the name of this connection, or a null if it has none.",
            "ID",
            "    Return the unique id of this connection.",
            "INFO",
            "    Return the CLIENT LIST line describing this connection.",
            "KILL <ip:port>",
            "    Close the connection with that peer address.",
            "KILL <option> <value> [<option> <value> ...]",
            "    Close every connection matching all the filters: ID <id>, TYPE",
            "    (NORMAL|MASTER|REPLICA|PUBSUB), ADDR <ip:port>, LADDR <ip:port>,",
            "    USER <name>, SKIPME (YES|NO) (default YES: spare this connection).",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] | [ID <id> [<id> ...]]",
            "    Return one line per connection, optionally only of one type or",
            "    only the given ids.",
            "SETNAME <name>",
            "    Name this connection; an empty name removes the name.",
            "UNBLOCK <id> [TIMEOUT|ERROR]",
            "    End the blocking command of connection <id> as if it timed out, or",
            "    with an error.",
        ],
    );
}

/// A subcommand of CLIENT with Redis's flags for the plain ones (`client|id`,
/// `client|setname`, ...): they differ only in name, proc, arity and docs.
const fn plain_sub(
    name: &'static str,
    proc_: crate::server::cmd::CommandProc,
    arity: i32,
    since: &'static str,
    summary: &'static str,
) -> RedisCommand {
    RedisCommand {
        name,
        proc_,
        arity,
        flags: "noscript loading stale",
        first_key: 0,
        last_key: 0,
        key_step: 0,
        acl_categories: "@slow @connection",
        group: "connection",
        since,
        summary,
        complexity: "O(1)",
        args: &[],
        subcommands: &[],
        tips: &[],
        key_specs: &[],
        history: &[],
        doc_flags: "",
        deprecated_since: None,
        replaced_by: None,
    }
}

const fn plain_arg(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: false,
        multiple: false,
        since: None,
    }
}

const fn token_arg(name: &'static str, token: &'static str) -> Arg {
    Arg {
        name,
        kind: ArgKind::PureToken,
        token: Some(token),
        optional: false,
        multiple: false,
        since: None,
    }
}

/// The subcommands, in the order `COMMAND INFO client` lists them.
const CLIENT_SUBCOMMANDS: &[RedisCommand] = &[
    RedisCommand {
        args: &[Arg {
            name: "connection-name",
            kind: ArgKind::String,
            token: None,
            optional: false,
            multiple: false,
            since: None,
        }],
        ..plain_sub(
            "client|setname",
            client_setname_command,
            3,
            "2.6.9",
            "Gives this connection a name, shown by CLIENT LIST",
        )
    },
    plain_sub(
        "client|getname",
        client_getname_command,
        2,
        "2.6.9",
        "Returns the name of this connection",
    ),
    plain_sub(
        "client|id",
        client_id_command,
        2,
        "5.0.0",
        "Returns the unique id of this connection",
    ),
    RedisCommand {
        flags: "admin noscript loading stale",
        acl_categories: "@admin @slow @dangerous @connection",
        complexity: "O(N) where N is the number of connected clients",
        args: &[
            Arg {
                name: "normal_master_replica_pubsub",
                kind: ArgKind::OneOf(&[
                    token_arg("normal", "NORMAL"),
                    token_arg("master", "MASTER"),
                    token_arg("replica", "REPLICA"),
                    token_arg("pubsub", "PUBSUB"),
                ]),
                token: Some("TYPE"),
                optional: true,
                multiple: false,
                since: Some("5.0.0"),
            },
            Arg {
                name: "id",
                kind: ArgKind::Block(&[Arg {
                    name: "client-id",
                    kind: ArgKind::Integer,
                    token: None,
                    optional: false,
                    multiple: true,
                    since: None,
                }]),
                token: Some("ID"),
                optional: true,
                multiple: false,
                since: Some("6.2.0"),
            },
        ],
        tips: &["nondeterministic_output"],
        history: &[
            ("2.8.12", "Each line starts with the client's unique id."),
            ("5.0.0", "The TYPE filter."),
            ("6.0.0", "The user field."),
            (
                "6.2.0",
                "The argv-mem, tot-mem, laddr and redir fields, and the ID filter.",
            ),
            ("7.0.0", "The resp, multi-mem, rbs and rbp fields."),
            ("7.0.3", "The ssub field."),
        ],
        ..plain_sub(
            "client|list",
            client_list_command,
            -2,
            "2.4.0",
            "Describes every connection, one line each",
        )
    },
    RedisCommand {
        tips: &["nondeterministic_output"],
        ..plain_sub(
            "client|info",
            client_info_command,
            2,
            "6.2.0",
            "Describes this connection in a CLIENT LIST line",
        )
    },
    RedisCommand {
        flags: "admin noscript loading stale",
        acl_categories: "@admin @slow @dangerous @connection",
        complexity: "O(log N), N being the number of connections",
        args: &[
            plain_arg("client-id", ArgKind::Integer),
            Arg {
                optional: true,
                ..plain_arg(
                    "timeout_error",
                    ArgKind::OneOf(&[token_arg("timeout", "TIMEOUT"), token_arg("error", "ERROR")]),
                )
            },
        ],
        ..plain_sub(
            "client|unblock",
            client_unblock_command,
            -3,
            "5.0.0",
            "Ends another connection's blocking command",
        )
    },
    RedisCommand {
        flags: "admin noscript loading stale",
        acl_categories: "@admin @slow @dangerous @connection",
        complexity: "O(N), N being the number of connections",
        args: &[plain_arg(
            "filter",
            ArgKind::OneOf(&[
                plain_arg("ip:port", ArgKind::String),
                Arg {
                    multiple: true,
                    ..plain_arg(
                        "new-format",
                        ArgKind::OneOf(&[
                            Arg {
                                token: Some("ID"),
                                optional: true,
                                since: Some("2.8.12"),
                                ..plain_arg("client-id", ArgKind::Integer)
                            },
                            Arg {
                                token: Some("TYPE"),
                                optional: true,
                                since: Some("2.8.12"),
                                ..plain_arg(
                                    "normal_master_slave_pubsub",
                                    ArgKind::OneOf(&[
                                        token_arg("normal", "NORMAL"),
                                        Arg {
                                            since: Some("3.2.0"),
                                            ..token_arg("master", "MASTER")
                                        },
                                        token_arg("slave", "SLAVE"),
                                        Arg {
                                            since: Some("5.0.0"),
                                            ..token_arg("replica", "REPLICA")
                                        },
                                        token_arg("pubsub", "PUBSUB"),
                                    ]),
                                )
                            },
                            Arg {
                                token: Some("USER"),
                                optional: true,
                                ..plain_arg("username", ArgKind::String)
                            },
                            Arg {
                                token: Some("ADDR"),
                                optional: true,
                                ..plain_arg("ip:port", ArgKind::String)
                            },
                            Arg {
                                token: Some("LADDR"),
                                optional: true,
                                since: Some("6.2.0"),
                                ..plain_arg("ip:port", ArgKind::String)
                            },
                            Arg {
                                token: Some("SKIPME"),
                                optional: true,
                                ..plain_arg("yes/no", ArgKind::String)
                            },
                        ]),
                    )
                },
            ]),
        )],
        history: &[
            ("2.8.12", "The filter form."),
            ("2.8.12", "The ID filter."),
            ("3.2.0", "The master type."),
            ("5.0.0", "The replica type, slave staying as its old name."),
            ("6.2.0", "The LADDR filter."),
        ],
        ..plain_sub(
            "client|kill",
            client_kill_command,
            -3,
            "2.4.0",
            "Closes connections chosen by address, id, type or user",
        )
    },
    RedisCommand {
        flags: "loading stale",
        ..plain_sub(
            "client|help",
            client_help_command,
            2,
            "5.0.0",
            "Lists the CLIENT subcommands",
        )
    },
];

/// The `CLIENT` container.
pub const CLIENT: RedisCommand = RedisCommand {
    flags: "",
    acl_categories: "@slow",
    complexity: "Depends on the subcommand",
    subcommands: CLIENT_SUBCOMMANDS,
    ..plain_sub(
        "client",
        container_proc,
        -2,
        "2.4.0",
        "Groups the commands that inspect and configure connections",
    )
};

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{attach, client, run, run_str, server, show};
    use super::*;

    #[test]
    fn name_validation_matches_redis() {
        assert!(validate_client_name(b"~!@#$%^&*()_+{}|:<>?").is_ok());
        assert!(validate_client_name(b"").is_ok());
        for bad in [&b"a b"[..], b"a\nb", b"\x7f", b"\xc3\xa9", b"\0"] {
            assert!(validate_client_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn setname_getname_id() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CLIENT GETNAME")),
            "$-1\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CLIENT SETNAME abc")),
            "+OK\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "client getname")),
            "$3\r\nabc\r\n"
        );
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"CLIENT", b"SETNAME", b"a b"])),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"CLIENT", b"SETNAME", b""])),
            "+OK\r\n"
        );
        run_str(&mut server, &mut c, "HELLO 3");
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CLIENT GETNAME")),
            "_\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CLIENT ID")),
            format!(":{}\r\n", c.id)
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CLIENT ID x")),
            "-ERR wrong number of arguments for 'client|id' command\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CLIENT GETNAME x")),
            "-ERR wrong number of arguments for 'client|getname' command\r\n"
        );
    }

    /// The line Redis 7.0.15 printed for a fresh RESP2 client running
    /// `CLIENT INFO`, with the values that depend on the allocator replaced by
    /// ours: the field names, order and separators are the point.
    #[test]
    fn info_line_has_redis_fields_in_order() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        c.querybuf = b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n".to_vec();
        let reply = show(&run_str(&mut server, &mut c, "CLIENT INFO"));
        let (header, body) = reply.split_once("\r\n").expect("a bulk reply");
        assert_eq!(header, format!("${}", body.len() - 2));
        let fields: Vec<&str> = body.trim_end_matches("\n\r\n").split(' ').collect();
        let names: Vec<&str> = fields
            .iter()
            .map(|f| f.split_once('=').map_or(*f, |(k, _)| k))
            .collect();
        assert_eq!(
            names.join(" "),
            "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem rbs rbp obl \
             oll omem tot-mem events cmd user redir resp"
        );
        let value = |name: &str| {
            fields[names.iter().position(|n| *n == name).expect("field")]
                .split_once('=')
                .expect("=")
                .1
        };
        assert_eq!(value("id"), c.id.to_string());
        assert_eq!(value("addr"), c.addr.to_string());
        assert_eq!(value("laddr"), c.laddr.to_string());
        assert_eq!(value("fd"), c.fd.to_string());
        assert_eq!(value("name"), "");
        assert_eq!(value("flags"), "N");
        assert_eq!(value("qbuf"), "26");
        assert_eq!(value("argv-mem"), "10");
        assert_eq!(value("events"), "r");
        assert_eq!(value("cmd"), "client|info");
        assert_eq!(value("resp"), "2");
        assert!(body.ends_with("user=default redir=-1 resp=2\n\r\n"));
        assert!(body.contains(" sub=0 psub=0 ssub=0 multi=-1 "));
        assert!(body.contains(" multi-mem=0 "));
        assert!(body.contains(" oll=0 omem=0 "));
    }

    #[test]
    fn info_line_reflects_client_state() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        run_str(&mut server, &mut c, "CLIENT SETNAME worker");
        run_str(&mut server, &mut c, "SELECT 3");
        run_str(&mut server, &mut c, "HELLO 3");
        c.write_handler_installed = true;
        c.flags |= CLIENT_CLOSE_AFTER_REPLY;
        let mut line = Vec::new();
        cat_client_info(&mut line, &c);
        let line = show(&line);
        assert!(line.contains(" name=worker age="), "{line}");
        assert!(line.contains(" flags=c db=3 "), "{line}");
        assert!(line.contains(" events=rw cmd=hello "), "{line}");
        assert!(line.ends_with(" resp=3\n"), "{line}");
    }

    #[test]
    fn client_info_is_verbatim_in_resp3() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        run_str(&mut server, &mut c, "HELLO 3");
        let reply = show(&run_str(&mut server, &mut c, "CLIENT INFO"));
        let (header, body) = reply.split_once("\r\n").expect("header");
        assert_eq!(header, format!("={}", body.len() - 2));
        assert!(body.starts_with(&format!("txt:id={} ", c.id)));
        assert!(body.ends_with(" resp=3\n\r\n"));
    }

    #[test]
    fn list_includes_the_caller_in_fd_order() {
        let mut server = server();
        let (a, _pa) = client(&mut server);
        let (mut b, _pb) = client(&mut server);
        let (cc, _pc) = client(&mut server);
        let c_id = cc.id;
        // Other tests open and close sockets at the same time, so fds are not
        // in creation order: the expected order is by fd.
        let mut by_fd = [(a.fd, a.id), (b.fd, b.id), (cc.fd, cc.id)];
        by_fd.sort();
        let expected: Vec<String> = by_fd.iter().map(|(_, id)| id.to_string()).collect();
        attach(&mut server, a);
        attach(&mut server, cc);
        let reply = show(&run_str(&mut server, &mut b, "CLIENT LIST"));
        let ids: Vec<String> = reply
            .lines()
            .filter_map(|l| {
                l.split(' ')
                    .find_map(|f| f.strip_prefix("id="))
                    .map(str::to_string)
            })
            .collect();
        assert_eq!(ids, expected);
        assert!(reply.contains(&format!("id={} ", b.id)));
        let filtered = show(&run(
            &mut server,
            &mut b,
            &[
                b"CLIENT",
                b"LIST",
                b"ID",
                c_id.to_string().as_bytes(),
                b"999",
                c_id.to_string().as_bytes(),
            ],
        ));
        assert_eq!(filtered.matches(&format!("id={c_id} ")).count(), 2);
        assert_eq!(filtered.lines().filter(|l| l.contains("id=")).count(), 2);
        let normal = show(&run_str(&mut server, &mut b, "CLIENT LIST TYPE Normal"));
        assert_eq!(normal.matches("id=").count(), 3);
    }

    #[test]
    fn list_filters_and_errors_match_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let cases: [(&str, &str); 11] = [
            ("CLIENT LIST TYPE master", "$0\r\n\r\n"),
            ("CLIENT LIST TYPE replica", "$0\r\n\r\n"),
            ("CLIENT LIST TYPE slave", "$0\r\n\r\n"),
            ("CLIENT LIST TYPE pubsub", "$0\r\n\r\n"),
            ("CLIENT LIST TYPE foo", "-ERR Unknown client type 'foo'\r\n"),
            ("CLIENT LIST ID", "-ERR syntax error\r\n"),
            ("CLIENT LIST ID 1 2 x", "-ERR Invalid client ID\r\n"),
            ("CLIENT LIST ID 0 -1", "$0\r\n\r\n"),
            ("CLIENT LIST FOO", "-ERR syntax error\r\n"),
            ("CLIENT LIST TYPE normal ID 3", "-ERR syntax error\r\n"),
            ("CLIENT LIST ID 1 TYPE normal", "-ERR Invalid client ID\r\n"),
        ];
        assert_eq!(
            show(&run(
                &mut server,
                &mut c,
                &[b"CLIENT", b"LIST", b"TYPE", b"fo\0o"]
            )),
            "-ERR Unknown client type 'fo'\r\n"
        );
        for (req, expected) in cases {
            assert_eq!(show(&run_str(&mut server, &mut c, req)), expected, "{req}");
        }
    }

    #[test]
    fn help_lists_what_we_implement() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let reply = show(&run_str(&mut server, &mut c, "CLIENT HELP"));
        assert!(reply.starts_with(
            "*23\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
        ));
        for sub in CLIENT_SUBCOMMANDS {
            let short = sub.name.trim_start_matches("client|").to_ascii_uppercase();
            if short != "HELP" {
                assert!(
                    reply.contains(&format!("\r\n+{short}")),
                    "HELP misses {short}"
                );
            }
        }
        assert_eq!(
            show(&run_str(&mut server, &mut c, "CLIENT HELP x")),
            "-ERR wrong number of arguments for 'client|help' command\r\n"
        );
    }
}

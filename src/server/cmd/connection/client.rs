//! The `CLIENT` container: `CLIENT ID`, `SETNAME`, `GETNAME`, `LIST`, `INFO`
//! and `HELP` (the part of Redis's `clientCommand` we implement).
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

use std::io::Write;

use super::super::{Arg, ArgKind, RedisCommand, container_proc, parse_long_long_or_reply};
use crate::server::Server;
use crate::server::client::{CLIENT_CLOSE_AFTER_REPLY, CLIENT_CLOSE_ASAP, Client};
use crate::server::util::c_str_prefix;

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

/// The flags field of a `CLIENT LIST` line: one letter per flag we have
/// (`c` close after reply, `A` close as soon as possible), or `N` for none.
fn client_flags(c: &Client) -> String {
    let mut flags = String::new();
    if c.flags & CLIENT_CLOSE_AFTER_REPLY != 0 {
        flags.push('c');
    }
    if c.flags & CLIENT_CLOSE_ASAP != 0 {
        flags.push('A');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    flags
}

/// Appends one `CLIENT LIST` line for `c`, ending in `\n`, with the fields of
/// Redis 7.0 in their order (mirror of `catClientInfoString`).
///
/// What each buffer field reads on loopscope, which keeps one growable reply
/// buffer where Redis has a fixed 16 KB buffer plus a list of blocks:
/// - `qbuf` / `qbuf-free`: bytes in the query buffer (parsed or not) and its
///   spare capacity;
/// - `argv-mem`: bytes of the current command's arguments;
/// - `rbs`: the reply buffer's capacity; `rbp` and `obl`: the bytes in it now
///   (Redis's `rbp` is a peak over the last few seconds; we keep no peak);
/// - `oll` / `omem`: 0, as there is no list of reply blocks;
/// - `tot-mem`: the client struct plus everything it has allocated.
///
/// Pub/sub, MULTI, tracking and ACL users do not exist here, so their fields
/// show their idle values (`sub=0`, `multi=-1`, `redir=-1`, `user=default`).
pub fn cat_client_info(out: &mut Vec<u8>, c: &Client) {
    let argv_mem: usize = c.argv.iter().map(Vec::len).sum();
    let argv_alloc: usize =
        c.argv.capacity() * size_of::<Vec<u8>>() + c.argv.iter().map(Vec::capacity).sum::<usize>();
    let tot_mem = size_of::<Client>() + c.querybuf.capacity() + c.reply.capacity() + argv_alloc;
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
        " age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem={} \
         multi-mem=0 rbs={} rbp={} obl={} oll=0 omem=0 tot-mem={} events={} cmd={} user=default redir=-1 resp={}",
        c.ctime.elapsed().as_secs(),
        c.last_interaction.elapsed().as_secs(),
        client_flags(c),
        c.db,
        c.querybuf.len(),
        c.querybuf.capacity() - c.querybuf.len(),
        argv_mem,
        c.reply.capacity(),
        c.reply.len(),
        c.reply.len(),
        tot_mem,
        events,
        c.last_cmd,
        c.resp,
    );
}

/// `CLIENT ID` (mirror of the `id` branch of `clientCommand`).
fn client_id_command(_server: &mut Server, c: &mut Client) {
    c.add_reply_long_long(i64::try_from(c.id).unwrap_or(i64::MAX));
}

/// `CLIENT SETNAME name` (mirror of `clientSetNameOrReply`).
fn client_setname_command(_server: &mut Server, c: &mut Client) {
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
fn client_getname_command(_server: &mut Server, c: &mut Client) {
    match c.name.clone() {
        Some(name) => c.add_reply_bulk(&name),
        None => c.add_reply_null(),
    }
}

/// `CLIENT INFO`: the `CLIENT LIST` line of the caller alone.
fn client_info_command(_server: &mut Server, c: &mut Client) {
    let mut text = Vec::new();
    cat_client_info(&mut text, c);
    c.add_reply_verbatim(&text, "txt");
}

/// Which clients `CLIENT LIST` shows.
enum ListFilter {
    All,
    /// `TYPE normal|master|replica|slave|pubsub`: only `normal` matches
    /// anyone here, as there are no replication links and no subscribers.
    Normal(bool),
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
        let name = c.argv[3].to_ascii_lowercase();
        return match name.as_slice() {
            b"normal" => Some(ListFilter::Normal(true)),
            b"master" | b"replica" | b"slave" | b"pubsub" => Some(ListFilter::Normal(false)),
            _ => {
                let name = String::from_utf8_lossy(c_str_prefix(&c.argv[3], usize::MAX));
                let msg = format!("Unknown client type '{name}'");
                c.add_reply_error(&msg);
                None
            }
        };
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
fn client_list_command(server: &mut Server, c: &mut Client) {
    let Some(filter) = parse_list_filter(c) else {
        return;
    };
    let mut text = Vec::new();
    {
        let clients = clients_in_fd_order(server, c);
        match filter {
            ListFilter::All | ListFilter::Normal(true) => {
                for cl in clients {
                    cat_client_info(&mut text, cl);
                }
            }
            ListFilter::Normal(false) => {}
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

/// `CLIENT HELP`: the subcommands we implement, in our words.
fn client_help_command(_server: &mut Server, c: &mut Client) {
    c.add_reply_help(
        "client",
        &[
            "GETNAME",
            "    Return the name of this connection, or a null if it has none.",
            "ID",
            "    Return the unique id of this connection.",
            "INFO",
            "    Return the CLIENT LIST line describing this connection.",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] | [ID <id> [<id> ...]]",
            "    Return one line per connection, optionally only of one type or",
            "    only the given ids.",
            "SETNAME <name>",
            "    Name this connection; an empty name removes the name.",
        ],
    );
}

/// A subcommand of CLIENT with Redis's flags for the plain ones (`client|id`,
/// `client|setname`, ...): they differ only in name, proc, arity and docs.
const fn plain_sub(
    name: &'static str,
    proc_: fn(&mut Server, &mut Client),
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
            "*14\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
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

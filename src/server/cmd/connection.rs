//! The connection family: commands about the connection itself rather than
//! the data — `PING`, `ECHO`, `QUIT`, `SELECT`, `HELLO` and the `CLIENT`
//! container (in [`client`]).
//!
//! None of them touches a key; most only read or change fields of the
//! [`Client`] that sent them: its selected database (`SELECT`), its protocol
//! version (`HELLO 3` switches the replies to RESP3), its name, or its
//! `CLIENT_CLOSE_AFTER_REPLY` flag (`QUIT`, which closes the connection only
//! after the `+OK` has been written). `RESET` puts all of that, and the
//! subscriptions, transaction and MONITOR mode, back as they were at connect.

pub mod client;

use super::{
    Arg, ArgKind, REDIS_VERSION, RedisCommand, parse_long_long_or_reply, parse_range_or_reply,
};
use crate::server::call::Call;
use crate::server::client::{CLIENT_CLOSE_AFTER_REPLY, CLIENT_MONITOR, CLIENT_PUBSUB, Client};
use crate::server::util::c_str_prefix;
use crate::server::{auth, monitor, multi, pubsub};

/// The connection family, in the order `COMMAND` lists it.
pub const COMMANDS: &[RedisCommand] =
    &[PING, ECHO, QUIT, SELECT, AUTH, HELLO, client::CLIENT, RESET];

/// Replies with `c.argv[i]` as a bulk string, without copying the argument.
fn reply_arg_bulk(c: &mut Client, i: usize) {
    let arg = std::mem::take(&mut c.argv[i]);
    c.add_reply_bulk(&arg);
    c.argv[i] = arg;
}

/// `PING [message]`: `+PONG`, or the message back as a bulk string
/// (mirror of `pingCommand`). The arity allows any number of arguments, so
/// the command itself refuses more than one, as Redis does. A RESP2
/// subscriber gets `["pong", message]` instead, an array like its messages.
fn ping_command(call: &mut Call) {
    let c = &mut *call.c;
    if c.argv.len() > 2 {
        return c.add_reply_error_arity("ping");
    }
    if c.flags & CLIENT_PUBSUB != 0 && c.resp == 2 {
        c.add_reply_array_len(2);
        c.add_reply_bulk(b"pong");
        match c.argv.len() {
            2 => reply_arg_bulk(c, 1),
            _ => c.add_reply_bulk(b""),
        }
    } else if c.argv.len() == 2 {
        reply_arg_bulk(c, 1);
    } else {
        c.add_reply_status("PONG");
    }
}

/// `RESET`: back to the state of a fresh connection — no transaction, no
/// watched keys, no subscriptions, not a monitor, database 0, RESP2, no
/// name, and back to needing AUTH if a password is set (mirror of `resetCommand` and `clearClientConnectionState`).
fn reset_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.flags & CLIENT_MONITOR != 0 {
        monitor::remove_monitor(server, c.client_ref());
        c.flags &= !CLIENT_MONITOR;
    }
    c.db = 0;
    c.resp = 2;
    c.authenticated = auth::starts_authenticated(&server.config);
    multi::discard_transaction(server, c);
    pubsub::unsubscribe_all(server, c);
    c.name = None;
    c.flags &= !CLIENT_PUBSUB;
    c.add_reply_status("RESET");
}

/// `ECHO message` (mirror of `echoCommand`).
fn echo_command(call: &mut Call) {
    let c = &mut *call.c;
    reply_arg_bulk(c, 1);
}

/// `QUIT`: `+OK`, then the connection closes once that reply is written
/// (mirror of `quitCommand`). Commands pipelined after it are never run,
/// because the input loop stops at a client marked to close.
fn quit_command(call: &mut Call) {
    let c = &mut *call.c;
    c.add_reply_ok();
    c.flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/// `SELECT index` (mirror of `selectCommand`). The index is first read as a
/// C `int`, with that parse's errors, then checked against the databases.
fn select_command(call: &mut Call) {
    let (server, c) = call.parts();
    let arg = std::mem::take(&mut c.argv[1]);
    let id = parse_range_or_reply(c, &arg, i32::MIN.into(), i32::MAX.into(), None);
    c.argv[1] = arg;
    let Some(id) = id else { return };
    match usize::try_from(id) {
        Ok(id) if id < server.dbs.len() => {
            c.db = id;
            c.add_reply_ok();
        }
        _ => c.add_reply_error("DB index is out of range"),
    }
}

/// `AUTH [username] password` (mirror of `authCommand`). With one argument
/// the user is `default`; without a password configured that form is
/// almost certainly a configuration mistake, so Redis refuses it with an
/// explanation rather than accepting silently. The two-argument form is the
/// ACL style, where the nopass default user accepts any password.
fn auth_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.argv.len() > 3 {
        return c.add_reply_error("syntax error");
    }
    if c.argv.len() == 2 && !auth::password_set(&server.config) {
        return c.add_reply_error(
            "AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        );
    }
    let (user, password) = match c.argv.as_slice() {
        [_, password] => (auth::DEFAULT_USER.to_vec(), password.clone()),
        [_, user, password] => (user.clone(), password.clone()),
        _ => return,
    };
    if auth::authenticate(&server.config, c, &user, &password) {
        c.add_reply_ok();
    } else {
        c.add_reply_error(auth::WRONGPASS_ERROR);
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`: switch
/// the protocol, optionally authenticate and name the connection, and reply
/// with a map describing the server (mirror of `helloCommand`).
///
/// The checks run in Redis's order, which decides the error a bad request
/// gets: the version (`NOPROTO` for anything but 2 or 3), then the options
/// left to right (a bad client name fails at once), then authentication, and
/// only then are the changes made. A client that still has to authenticate
/// and gave no AUTH option is refused with `NOAUTH`, as HELLO itself may
/// run unauthenticated. The reply is already in the new protocol.
fn hello_command(call: &mut Call) {
    let (server, c) = call.parts();
    let mut version = None;
    if let Some(arg) = c.argv.get(1).cloned() {
        let msg = Some("Protocol version is not an integer or out of range");
        let Some(v) = parse_long_long_or_reply(c, &arg, msg) else {
            return;
        };
        if !(2..=3).contains(&v) {
            c.add_reply_error("-NOPROTO unsupported protocol version");
            return;
        }
        version = u8::try_from(v).ok();
    }

    let mut credentials = None;
    let mut new_name = None;
    let mut j = 2;
    while j < c.argv.len() {
        let more_args = c.argv.len() - 1 - j;
        let opt = &c.argv[j];
        if opt.eq_ignore_ascii_case(b"AUTH") && more_args >= 2 {
            credentials = Some((c.argv[j + 1].clone(), c.argv[j + 2].clone()));
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more_args >= 1 {
            let name = c.argv[j + 1].clone();
            if let Err(err) = client::validate_client_name(&name) {
                c.add_reply_error(err);
                return;
            }
            new_name = Some(name);
            j += 2;
        } else {
            let msg = format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(c_str_prefix(opt, usize::MAX))
            );
            c.add_reply_error(&msg);
            return;
        }
    }

    if let Some((user, password)) = credentials
        && !auth::authenticate(&server.config, c, &user, &password)
    {
        return c.add_reply_error(auth::WRONGPASS_ERROR);
    }
    if auth::auth_required(&server.config, c) {
        return c.add_reply_error(
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
             the RESP protocol version at the same time",
        );
    }
    if let Some(name) = new_name {
        client::set_client_name(c, name);
    }
    if let Some(v) = version {
        c.resp = v;
    }

    c.add_reply_map_len(7);
    c.add_reply_bulk(b"server");
    c.add_reply_bulk(b"redis");
    c.add_reply_bulk(b"version");
    c.add_reply_bulk(REDIS_VERSION.as_bytes());
    c.add_reply_bulk(b"proto");
    c.add_reply_long_long(i64::from(c.resp));
    c.add_reply_bulk(b"id");
    c.add_reply_long_long(i64::try_from(c.id).unwrap_or(i64::MAX));
    c.add_reply_bulk(b"mode");
    c.add_reply_bulk(b"standalone");
    c.add_reply_bulk(b"role");
    c.add_reply_bulk(b"master");
    c.add_reply_bulk(b"modules");
    c.add_reply_array_len(0);
}

/// An argument with no token, not optional, not repeated: the common case.
const fn plain(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: false,
        multiple: false,
        since: None,
    }
}

const PING: RedisCommand = RedisCommand {
    name: "ping",
    proc_: ping_command,
    arity: -1,
    flags: "fast",
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl_categories: "@fast @connection",
    group: "connection",
    since: "1.0.0",
    summary: "Checks that the server is alive, optionally echoing a message",
    complexity: "O(1)",
    args: &[Arg {
        optional: true,
        ..plain("message", ArgKind::String)
    }],
    subcommands: &[],
    tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
    key_specs: &[],
    history: &[],
    doc_flags: "",
    deprecated_since: None,
    replaced_by: None,
};

const ECHO: RedisCommand = RedisCommand {
    name: "echo",
    proc_: echo_command,
    arity: 2,
    flags: "loading stale fast",
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl_categories: "@fast @connection",
    group: "connection",
    since: "1.0.0",
    summary: "Sends the message straight back",
    complexity: "O(1)",
    args: &[plain("message", ArgKind::String)],
    subcommands: &[],
    tips: &[],
    key_specs: &[],
    history: &[],
    doc_flags: "",
    deprecated_since: None,
    replaced_by: None,
};

const QUIT: RedisCommand = RedisCommand {
    name: "quit",
    proc_: quit_command,
    arity: -1,
    flags: "noscript loading stale fast no_auth allow_busy",
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl_categories: "@fast @connection",
    group: "connection",
    since: "1.0.0",
    summary: "Closes the connection once the reply has been sent",
    complexity: "O(1)",
    args: &[],
    subcommands: &[],
    tips: &[],
    key_specs: &[],
    history: &[],
    doc_flags: "",
    deprecated_since: None,
    replaced_by: None,
};

const SELECT: RedisCommand = RedisCommand {
    name: "select",
    proc_: select_command,
    arity: 2,
    flags: "loading stale fast",
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl_categories: "@fast @connection",
    group: "connection",
    since: "1.0.0",
    summary: "Switches this connection to another numbered database",
    complexity: "O(1)",
    args: &[plain("index", ArgKind::Integer)],
    subcommands: &[],
    tips: &[],
    key_specs: &[],
    history: &[],
    doc_flags: "",
    deprecated_since: None,
    replaced_by: None,
};

const AUTH: RedisCommand = RedisCommand {
    name: "auth",
    proc_: auth_command,
    arity: -2,
    flags: "noscript loading stale fast no_auth allow_busy",
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl_categories: "@fast @connection",
    group: "connection",
    since: "1.0.0",
    summary: "Proves who the connection is, with a password",
    complexity: "O(N) where N is the number of passwords defined for the user",
    args: &[
        Arg {
            optional: true,
            since: Some("6.0.0"),
            ..plain("username", ArgKind::String)
        },
        plain("password", ArgKind::String),
    ],
    subcommands: &[],
    tips: &[],
    key_specs: &[],
    history: &[(
        "6.0.0",
        "A user name may come before the password (ACL style).",
    )],
    doc_flags: "",
    deprecated_since: None,
    replaced_by: None,
};

const HELLO: RedisCommand = RedisCommand {
    name: "hello",
    proc_: hello_command,
    arity: -1,
    flags: "noscript loading stale fast no_auth allow_busy",
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl_categories: "@fast @connection",
    group: "connection",
    since: "6.0.0",
    summary: "Chooses the protocol version, optionally authenticates and names the connection, and describes the server",
    complexity: "O(1)",
    args: &[Arg {
        optional: true,
        ..plain(
            "arguments",
            ArgKind::Block(&[
                plain("protover", ArgKind::Integer),
                Arg {
                    token: Some("AUTH"),
                    optional: true,
                    ..plain(
                        "username_password",
                        ArgKind::Block(&[
                            plain("username", ArgKind::String),
                            plain("password", ArgKind::String),
                        ]),
                    )
                },
                Arg {
                    token: Some("SETNAME"),
                    optional: true,
                    ..plain("clientname", ArgKind::String)
                },
            ]),
        )
    }],
    subcommands: &[],
    tips: &[],
    key_specs: &[],
    history: &[(
        "6.2.0",
        "The protocol version became optional; without it the reply describes the current connection.",
    )],
    doc_flags: "",
    deprecated_since: None,
    replaced_by: None,
};

const RESET: RedisCommand = RedisCommand {
    name: "reset",
    proc_: reset_command,
    arity: 1,
    flags: "noscript loading stale fast no_auth allow_busy",
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl_categories: "@fast @connection",
    group: "connection",
    since: "6.2.0",
    summary: "Puts the connection back in the state it had when it was opened",
    complexity: "O(1)",
    args: &[],
    subcommands: &[],
    tips: &[],
    key_specs: &[],
    history: &[],
    doc_flags: "",
    deprecated_since: None,
    replaced_by: None,
};

#[cfg(test)]
mod tests {
    use super::super::test_support::{client, run, run_str, server, show};
    use crate::server::client::CLIENT_CLOSE_AFTER_REPLY;

    const HELLO_TAIL: &str =
        "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";

    fn hello_reply(resp: u8, id: u64) -> String {
        let head = if resp == 2 { "*14" } else { "%7" };
        format!(
            "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{resp}\r\n$2\r\nid\r\n:{id}\r\n{HELLO_TAIL}"
        )
    }

    #[test]
    fn ping_and_echo() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        assert_eq!(show(&run_str(&mut server, &mut c, "PING")), "+PONG\r\n");
        assert_eq!(
            show(&run_str(&mut server, &mut c, "PING hi")),
            "$2\r\nhi\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "PING a b")),
            "-ERR wrong number of arguments for 'ping' command\r\n"
        );
        assert_eq!(show(&run_str(&mut server, &mut c, "ECHO x")), "$1\r\nx\r\n");
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"echo", b""])),
            "$0\r\n\r\n"
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "ECHO")),
            "-ERR wrong number of arguments for 'echo' command\r\n"
        );
        // RESP3 changes nothing for PING outside pub/sub.
        run_str(&mut server, &mut c, "HELLO 3");
        assert_eq!(show(&run_str(&mut server, &mut c, "PING")), "+PONG\r\n");
        assert_eq!(
            show(&run_str(&mut server, &mut c, "PING hi")),
            "$2\r\nhi\r\n"
        );
    }

    #[test]
    fn quit_replies_then_marks_the_client() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        assert_eq!(show(&run_str(&mut server, &mut c, "QUIT")), "+OK\r\n");
        assert_ne!(c.flags & CLIENT_CLOSE_AFTER_REPLY, 0);
    }

    #[test]
    fn select_errors_match_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let cases = [
            ("SELECT 1", "+OK\r\n"),
            ("SELECT 16", "-ERR DB index is out of range\r\n"),
            ("SELECT -1", "-ERR DB index is out of range\r\n"),
            ("SELECT 2147483647", "-ERR DB index is out of range\r\n"),
            (
                "SELECT x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "SELECT 00",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "SELECT 99999999999999999999",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "SELECT 2147483648",
                "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
            ),
            (
                "SELECT -2147483649",
                "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run_str(&mut server, &mut c, req)), expected, "{req}");
        }
        assert_eq!(c.db, 1);
    }

    #[test]
    fn hello_switches_protocol_and_describes_the_server() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let id = c.id;
        assert_eq!(
            show(&run_str(&mut server, &mut c, "HELLO")),
            hello_reply(2, id)
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "HELLO 3")),
            hello_reply(3, id)
        );
        assert_eq!(c.resp, 3);
        assert_eq!(
            show(&run_str(&mut server, &mut c, "HELLO")),
            hello_reply(3, id)
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "HELLO 2")),
            hello_reply(2, id)
        );
        assert_eq!(c.resp, 2);
    }

    #[test]
    fn hello_errors_match_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let cases: [(&[&[u8]], &str); 11] = [
            (
                &[b"HELLO", b"4"],
                "-NOPROTO unsupported protocol version\r\n",
            ),
            (
                &[b"HELLO", b"1"],
                "-NOPROTO unsupported protocol version\r\n",
            ),
            (
                &[b"HELLO", b"4", b"FOO"],
                "-NOPROTO unsupported protocol version\r\n",
            ),
            (
                &[b"HELLO", b"x"],
                "-ERR Protocol version is not an integer or out of range\r\n",
            ),
            (
                &[b"HELLO", b"03"],
                "-ERR Protocol version is not an integer or out of range\r\n",
            ),
            (
                &[b"HELLO", b"3", b"foo"],
                "-ERR Syntax error in HELLO option 'foo'\r\n",
            ),
            (
                &[b"HELLO", b"3", b"AUTH", b"a"],
                "-ERR Syntax error in HELLO option 'AUTH'\r\n",
            ),
            (
                &[b"HELLO", b"3", b"SETNAME"],
                "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
            ),
            (
                &[b"HELLO", b"3", b"AUTH", b"a", b"b"],
                "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
            ),
            (
                &[b"HELLO", b"3", b"AUTH", b"DEFAULT", b"x"],
                "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
            ),
            // A bad name is refused while the options are read, before AUTH is tried.
            (
                &[b"HELLO", b"3", b"SETNAME", b"x y", b"AUTH", b"a", b"b"],
                "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run(&mut server, &mut c, req)), expected, "{req:?}");
        }
        // No failed HELLO changed anything.
        assert_eq!(c.resp, 2);
        assert_eq!(c.name, None);
    }

    #[test]
    fn hello_auth_and_setname() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let id = c.id;
        let reply = run(
            &mut server,
            &mut c,
            &[
                b"HELLO",
                b"3",
                b"auth",
                b"default",
                b"anything",
                b"SETNAME",
                b"foo",
            ],
        );
        assert_eq!(show(&reply), hello_reply(3, id));
        assert_eq!(c.name.as_deref(), Some(&b"foo"[..]));
        // The last SETNAME wins; an empty name clears it.
        run(
            &mut server,
            &mut c,
            &[b"HELLO", b"3", b"SETNAME", b"a", b"SETNAME", b"b"],
        );
        assert_eq!(c.name.as_deref(), Some(&b"b"[..]));
        run(&mut server, &mut c, &[b"HELLO", b"2", b"setname", b""]);
        assert_eq!(c.name, None);
    }

    const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

    #[test]
    fn auth_without_a_password_configured() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let cases: [(&[&[u8]], &str); 4] = [
            (
                &[b"AUTH", b"x"],
                "-ERR AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?\r\n",
            ),
            (&[b"AUTH", b"default", b"x"], "+OK\r\n"),
            (&[b"AUTH", b"someone", b"x"], WRONGPASS),
            (&[b"AUTH", b"a", b"b", b"c"], "-ERR syntax error\r\n"),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run(&mut server, &mut c, req)), expected, "{req:?}");
        }
    }

    #[test]
    fn auth_with_a_password() {
        let mut server = server();
        server.config.requirepass = b"secret".to_vec();
        let (mut c, _peer) = client(&mut server);
        c.authenticated = false;
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"AUTH", b"bad"])),
            WRONGPASS
        );
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"AUTH", b"other", b"secret"])),
            WRONGPASS
        );
        assert!(!c.authenticated);
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"AUTH", b"secret"])),
            "+OK\r\n"
        );
        assert!(c.authenticated);
        // A later failure does not undo the success; RESET does.
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"AUTH", b"bad"])),
            WRONGPASS
        );
        assert!(c.authenticated);
        run_str(&mut server, &mut c, "RESET");
        assert!(!c.authenticated);
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"AUTH", b"default", b"secret"])),
            "+OK\r\n"
        );
        assert!(c.authenticated);
    }

    #[test]
    fn hello_needs_authentication_or_the_auth_option() {
        let mut server = server();
        server.config.requirepass = b"secret".to_vec();
        let (mut c, _peer) = client(&mut server);
        c.authenticated = false;
        let id = c.id;
        let noauth = "-NOAUTH HELLO must be called with the client already authenticated, \
                      otherwise the HELLO AUTH <user> <pass> option can be used to authenticate \
                      the client and select the RESP protocol version at the same time\r\n";
        assert_eq!(show(&run_str(&mut server, &mut c, "HELLO 3")), noauth);
        assert_eq!(show(&run_str(&mut server, &mut c, "HELLO")), noauth);
        assert_eq!(
            show(&run_str(&mut server, &mut c, "HELLO 3 AUTH default bad")),
            WRONGPASS
        );
        assert_eq!(c.resp, 2);
        assert_eq!(
            show(&run_str(&mut server, &mut c, "HELLO 3 AUTH default secret")),
            hello_reply(3, id)
        );
        assert!(c.authenticated);
    }
}

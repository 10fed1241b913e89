//! `COMMAND`: the server describing its own command table (the mirror of the
//! `COMMAND` family in Redis's `server.c`).
//!
//! Clients ask the server what it can do instead of hard-coding it:
//! `redis-cli` sends `COMMAND DOCS` when it starts and builds its inline hints
//! and tab completion from the answer, and cluster clients read `COMMAND
//! INFO`'s key specs to know which argument is a key. Everything here is
//! generated from the [`RedisCommand`] entries, so a command added to the
//! table is described correctly without further work.
//!
//! The shapes follow Redis 7.0: a `COMMAND INFO` entry is a 10-element array
//! (name, arity, flags, first key, last key, key step, ACL categories, tips,
//! key specs, subcommands) and a `COMMAND DOCS` entry is a map. Flags and
//! categories are sets, which RESP2 shows as arrays and RESP3 as `~` sets.

use super::super::{Arg, ArgKind, BeginSearch, FindKeys, KeySpec, RedisCommand};
use super::server_command;
use crate::server::call::Call;
use crate::server::client::Client;
use crate::server::util::string_match;

/// Replies with the words of a space-separated list as a set of status
/// strings (`+readonly`, `+@fast`, …).
fn reply_word_set(c: &mut Client, words: &str) {
    c.add_reply_set_len(words.split_whitespace().count());
    for word in words.split_whitespace() {
        c.add_reply_status(word);
    }
}

/// One key spec as a map: notes (if any), flags, begin_search, find_keys
/// (mirror of `addReplyCommandKeySpecs`).
fn reply_key_spec(c: &mut Client, spec: &KeySpec) {
    c.add_reply_map_len(3 + usize::from(spec.notes.is_some()));
    if let Some(notes) = spec.notes {
        c.add_reply_bulk(b"notes");
        c.add_reply_bulk(notes.as_bytes());
    }
    c.add_reply_bulk(b"flags");
    reply_word_set(c, spec.flags);

    c.add_reply_bulk(b"begin_search");
    c.add_reply_map_len(2);
    c.add_reply_bulk(b"type");
    match spec.begin_search {
        BeginSearch::Index(index) => {
            c.add_reply_bulk(b"index");
            c.add_reply_bulk(b"spec");
            c.add_reply_map_len(1);
            c.add_reply_bulk(b"index");
            c.add_reply_long_long(index.into());
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            c.add_reply_bulk(b"keyword");
            c.add_reply_bulk(b"spec");
            c.add_reply_map_len(2);
            c.add_reply_bulk(b"keyword");
            c.add_reply_bulk(keyword.as_bytes());
            c.add_reply_bulk(b"startfrom");
            c.add_reply_long_long(startfrom.into());
        }
    }

    c.add_reply_bulk(b"find_keys");
    c.add_reply_map_len(2);
    c.add_reply_bulk(b"type");
    let (kind, fields) = match spec.find_keys {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => (
            "range",
            [("lastkey", lastkey), ("keystep", keystep), ("limit", limit)],
        ),
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => (
            "keynum",
            [
                ("keynumidx", keynumidx),
                ("firstkey", firstkey),
                ("keystep", keystep),
            ],
        ),
    };
    c.add_reply_bulk(kind.as_bytes());
    c.add_reply_bulk(b"spec");
    c.add_reply_map_len(fields.len());
    for (name, value) in fields {
        c.add_reply_bulk(name.as_bytes());
        c.add_reply_long_long(value.into());
    }
}

/// One `COMMAND INFO` entry, subcommands included (mirror of `addReplyCommandInfo`).
fn reply_command_info(c: &mut Client, cmd: &RedisCommand) {
    c.add_reply_array_len(10);
    c.add_reply_bulk(cmd.name.as_bytes());
    c.add_reply_long_long(cmd.arity.into());
    reply_word_set(c, cmd.flags);
    c.add_reply_long_long(cmd.first_key.into());
    c.add_reply_long_long(cmd.last_key.into());
    c.add_reply_long_long(cmd.key_step.into());
    reply_word_set(c, cmd.acl_categories);
    c.add_reply_set_len(cmd.tips.len());
    for tip in cmd.tips {
        c.add_reply_bulk(tip.as_bytes());
    }
    c.add_reply_set_len(cmd.key_specs.len());
    for spec in cmd.key_specs {
        reply_key_spec(c, spec);
    }
    c.add_reply_set_len(cmd.subcommands.len());
    for sub in cmd.subcommands {
        reply_command_info(c, sub);
    }
}

/// One argument of `COMMAND DOCS` as a map (mirror of `addReplyCommandArgList`'s
/// per-argument part). `next_key_spec` numbers the key arguments in the order
/// they appear, which is how they line up with the command's key specs.
fn reply_arg_docs(c: &mut Client, arg: &Arg, next_key_spec: &mut usize) {
    let is_key = matches!(arg.kind, ArgKind::Key);
    let nested = arg.kind.nested();
    let has_flags = arg.optional || arg.multiple;
    let len = 2
        + usize::from(is_key)
        + usize::from(arg.token.is_some())
        + usize::from(arg.since.is_some())
        + usize::from(has_flags)
        + usize::from(!nested.is_empty());
    c.add_reply_map_len(len);
    c.add_reply_bulk(b"name");
    c.add_reply_bulk(arg.name.as_bytes());
    c.add_reply_bulk(b"type");
    c.add_reply_bulk(arg.kind.type_name().as_bytes());
    if is_key {
        c.add_reply_bulk(b"key_spec_index");
        c.add_reply_long_long(i64::try_from(*next_key_spec).unwrap_or(i64::MAX));
        *next_key_spec += 1;
    }
    if let Some(token) = arg.token {
        c.add_reply_bulk(b"token");
        c.add_reply_bulk(token.as_bytes());
    }
    if let Some(since) = arg.since {
        c.add_reply_bulk(b"since");
        c.add_reply_bulk(since.as_bytes());
    }
    if has_flags {
        c.add_reply_bulk(b"flags");
        let flags = match (arg.optional, arg.multiple) {
            (true, true) => "optional multiple",
            (true, false) => "optional",
            _ => "multiple",
        };
        reply_word_set(c, flags);
    }
    if !nested.is_empty() {
        c.add_reply_bulk(b"arguments");
        reply_args_docs(c, nested, next_key_spec);
    }
}

fn reply_args_docs(c: &mut Client, args: &[Arg], next_key_spec: &mut usize) {
    c.add_reply_array_len(args.len());
    for arg in args {
        reply_arg_docs(c, arg, next_key_spec);
    }
}

/// One `COMMAND DOCS` entry: summary, since, group, complexity (which a few
/// commands, such as MONITOR, leave out), then what the command has of doc
/// flags, deprecation, history, arguments and subcommands (mirror of
/// `addReplyCommandDocs`).
fn reply_command_docs(c: &mut Client, cmd: &RedisCommand) {
    let len = 3
        + usize::from(!cmd.complexity.is_empty())
        + usize::from(!cmd.doc_flags.is_empty())
        + usize::from(cmd.deprecated_since.is_some())
        + usize::from(cmd.replaced_by.is_some())
        + usize::from(!cmd.history.is_empty())
        + usize::from(!cmd.args.is_empty())
        + usize::from(!cmd.subcommands.is_empty());
    c.add_reply_map_len(len);
    for (field, value) in [
        ("summary", cmd.summary),
        ("since", cmd.since),
        ("group", cmd.group),
        ("complexity", cmd.complexity),
    ] {
        if value.is_empty() {
            continue;
        }
        c.add_reply_bulk(field.as_bytes());
        c.add_reply_bulk(value.as_bytes());
    }
    if !cmd.doc_flags.is_empty() {
        c.add_reply_bulk(b"doc_flags");
        reply_word_set(c, cmd.doc_flags);
    }
    for (field, value) in [
        ("deprecated_since", cmd.deprecated_since),
        ("replaced_by", cmd.replaced_by),
    ] {
        if let Some(value) = value {
            c.add_reply_bulk(field.as_bytes());
            c.add_reply_bulk(value.as_bytes());
        }
    }
    if !cmd.history.is_empty() {
        c.add_reply_bulk(b"history");
        c.add_reply_set_len(cmd.history.len());
        for (version, change) in cmd.history {
            c.add_reply_array_len(2);
            c.add_reply_bulk(version.as_bytes());
            c.add_reply_bulk(change.as_bytes());
        }
    }
    if !cmd.args.is_empty() {
        c.add_reply_bulk(b"arguments");
        reply_args_docs(c, cmd.args, &mut 0);
    }
    if !cmd.subcommands.is_empty() {
        c.add_reply_bulk(b"subcommands");
        c.add_reply_map_len(cmd.subcommands.len());
        for sub in cmd.subcommands {
            c.add_reply_bulk(sub.name.as_bytes());
            reply_command_docs(c, sub);
        }
    }
}

/// `COMMAND`: the `COMMAND INFO` entry of every command (mirror of `commandCommand`).
fn command_command(call: &mut Call) {
    let (server, c) = call.parts();
    c.add_reply_array_len(server.commands.len());
    for cmd in server.commands.iter() {
        reply_command_info(c, cmd);
    }
}

/// `COMMAND COUNT`: the number of top-level commands.
fn command_count_command(call: &mut Call) {
    let (server, c) = call.parts();
    c.add_reply_long_long(i64::try_from(server.commands.len()).unwrap_or(i64::MAX));
}

/// `COMMAND INFO [name ...]`: the entries of the named commands (full names
/// such as `client|list` work), a null for each unknown name, or every
/// command when no name is given (mirror of `commandInfoCommand`).
fn command_info_command(call: &mut Call) {
    if call.c.argv.len() == 2 {
        return command_command(call);
    }
    let (server, c) = call.parts();
    let names = c.argv[2..].to_vec();
    c.add_reply_array_len(names.len());
    for name in &names {
        match server.commands.lookup_by_fullname(name) {
            Some(cmd) => reply_command_info(c, cmd),
            None => c.add_reply_null(),
        }
    }
}

/// `COMMAND DOCS [name ...]`: a map from full name to documentation, of the
/// named commands that exist (unknown names are left out) or of every
/// command (mirror of `commandDocsCommand`).
fn command_docs_command(call: &mut Call) {
    let (server, c) = call.parts();
    let found: Vec<&RedisCommand> = if c.argv.len() == 2 {
        server.commands.iter().collect()
    } else {
        c.argv[2..]
            .iter()
            .filter_map(|name| server.commands.lookup_by_fullname(name))
            .collect()
    };
    c.add_reply_map_len(found.len());
    for cmd in found {
        c.add_reply_bulk(cmd.name.as_bytes());
        reply_command_docs(c, cmd);
    }
}

/// Which names `COMMAND LIST` keeps.
enum ListFilter {
    All,
    /// `FILTERBY MODULE`: there are no modules, so nothing.
    Nothing,
    /// `FILTERBY ACLCAT category`.
    AclCategory(String),
    /// `FILTERBY PATTERN glob`, matched case-insensitively against full names.
    Pattern(Vec<u8>),
}

impl ListFilter {
    fn keeps(&self, cmd: &RedisCommand) -> bool {
        match self {
            ListFilter::All => true,
            ListFilter::Nothing => false,
            ListFilter::AclCategory(category) => cmd.in_acl_category(category),
            ListFilter::Pattern(pattern) => string_match(pattern, cmd.name.as_bytes(), true),
        }
    }
}

/// Reads `COMMAND LIST`'s optional filter: nothing, or exactly `FILTERBY
/// <kind> <value>`; anything else is a syntax error, as in Redis.
fn parse_list_filter(argv: &[Vec<u8>]) -> Option<ListFilter> {
    match argv {
        [_, _] => Some(ListFilter::All),
        [_, _, filterby, kind, value] if filterby.eq_ignore_ascii_case(b"filterby") => {
            match kind.to_ascii_lowercase().as_slice() {
                b"module" => Some(ListFilter::Nothing),
                b"aclcat" => Some(ListFilter::AclCategory(
                    String::from_utf8_lossy(value).into_owned(),
                )),
                b"pattern" => Some(ListFilter::Pattern(value.clone())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `COMMAND LIST [FILTERBY MODULE m | ACLCAT cat | PATTERN p]`: every command
/// name, subcommands as `container|sub`, optionally filtered (mirror of
/// `commandListCommand`).
fn command_list_command(call: &mut Call) {
    let (server, c) = call.parts();
    let Some(filter) = parse_list_filter(&c.argv) else {
        return c.add_reply_error("syntax error");
    };
    let names: Vec<&str> = server
        .commands
        .iter()
        .flat_map(|cmd| std::iter::once(cmd).chain(cmd.subcommands))
        .filter(|cmd| filter.keeps(cmd))
        .map(|cmd| cmd.name)
        .collect();
    c.add_reply_array_len(names.len());
    for name in names {
        c.add_reply_bulk(name.as_bytes());
    }
}

/// `COMMAND HELP`.
fn command_help_command(call: &mut Call) {
    let c = &mut *call.c;
    c.add_reply_help(
        "command",
        &[
            "(no subcommand)",
            "    Return the COMMAND INFO entry of every command.",
            "COUNT",
            "    Return how many commands the server has.",
            "DOCS [<command-name> ...]",
            "    Return the documentation of the given commands, or of all of them.",
            "INFO [<command-name> ...]",
            "    Return arity, flags, key positions and subcommands of the given",
            "    commands, or of all of them.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Return the names of all commands, optionally filtered.",
        ],
    );
}

/// The `command|...` entries share flags, categories and group.
const fn command_sub(
    name: &'static str,
    proc_: crate::server::cmd::CommandProc,
    arity: i32,
) -> RedisCommand {
    server_command(name, proc_, arity, "loading stale", "@slow @connection")
}

/// `[command-name ...]`, the argument of COMMAND INFO and COMMAND DOCS.
const COMMAND_NAMES_ARG: &[Arg] = &[Arg {
    name: "command-name",
    kind: ArgKind::String,
    token: None,
    optional: true,
    multiple: true,
    since: None,
}];

const fn filter_arg(name: &'static str, kind: ArgKind, token: &'static str) -> Arg {
    Arg {
        name,
        kind,
        token: Some(token),
        optional: false,
        multiple: false,
        since: None,
    }
}

const COMMAND_SUBCOMMANDS: &[RedisCommand] = &[
    RedisCommand {
        tips: &["nondeterministic_output_order"],
        args: &[Arg {
            name: "filterby",
            kind: ArgKind::OneOf(&[
                filter_arg("module-name", ArgKind::String, "MODULE"),
                filter_arg("category", ArgKind::String, "ACLCAT"),
                filter_arg("pattern", ArgKind::Pattern, "PATTERN"),
            ]),
            token: Some("FILTERBY"),
            optional: true,
            multiple: false,
            since: None,
        }],
        since: "7.0.0",
        summary: "Lists the names of the commands, optionally filtered",
        complexity: "O(N) where N is the number of commands",
        ..command_sub("command|list", command_list_command, -2)
    },
    RedisCommand {
        since: "2.8.13",
        summary: "Counts the commands",
        complexity: "O(1)",
        ..command_sub("command|count", command_count_command, 2)
    },
    RedisCommand {
        tips: &["nondeterministic_output_order"],
        args: COMMAND_NAMES_ARG,
        since: "7.0.0",
        summary: "Documents the given commands, or all of them",
        complexity: "O(N) where N is the number of commands asked about",
        ..command_sub("command|docs", command_docs_command, -2)
    },
    RedisCommand {
        tips: &["nondeterministic_output_order"],
        args: COMMAND_NAMES_ARG,
        history: &[("7.0.0", "Without arguments, describes every command.")],
        since: "2.8.13",
        summary: "Describes arity, flags and keys of the given commands, or of all of them",
        complexity: "O(N) where N is the number of commands asked about",
        ..command_sub("command|info", command_info_command, -2)
    },
    RedisCommand {
        since: "5.0.0",
        summary: "Lists the COMMAND subcommands",
        complexity: "O(1)",
        ..command_sub("command|help", command_help_command, 2)
    },
];

/// The `COMMAND` container. Unlike `CLIENT`, it also runs alone.
pub const COMMAND: RedisCommand = RedisCommand {
    tips: &["nondeterministic_output_order"],
    subcommands: COMMAND_SUBCOMMANDS,
    since: "2.8.13",
    summary: "Describes every command the server knows",
    complexity: "O(N) where N is the number of commands",
    ..command_sub("command", command_command, -1)
};

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{client, run, run_str, server, show};
    use super::*;
    use crate::server::cmd::CommandTable;

    fn info_bytes(resp: u8, name: &str) -> String {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        if resp == 3 {
            run_str(&mut server, &mut c, "HELLO 3");
        }
        show(&run_str(
            &mut server,
            &mut c,
            &format!("COMMAND INFO {name}"),
        ))
    }

    /// Bytes observed from Redis 7.0.15 for `COMMAND INFO ping nosuch`.
    #[test]
    fn info_entry_matches_redis_resp2_and_resp3() {
        let ping2 = "*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n\
                     *2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n";
        assert_eq!(
            info_bytes(2, "ping nosuch"),
            format!("*2\r\n{ping2}$-1\r\n")
        );
        let ping3 = "*10\r\n$4\r\nping\r\n:-1\r\n~1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@fast\r\n+@connection\r\n\
                     ~2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n~0\r\n~0\r\n";
        assert_eq!(info_bytes(3, "ping nosuch"), format!("*2\r\n{ping3}_\r\n"));
    }

    /// Bytes observed from Redis 7.0.15 for `COMMAND INFO CLIENT|LIST`.
    #[test]
    fn info_finds_subcommands_by_full_name() {
        let expected = "*1\r\n*10\r\n$11\r\nclient|list\r\n:-2\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n\
                        :0\r\n:0\r\n:0\r\n*4\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n+@connection\r\n\
                        *1\r\n$23\r\nnondeterministic_output\r\n*0\r\n*0\r\n";
        assert_eq!(info_bytes(2, "CLIENT|LIST"), expected);
        assert_eq!(info_bytes(2, "client|"), "*1\r\n$-1\r\n");
        assert_eq!(info_bytes(2, "ping|x"), "*1\r\n$-1\r\n");
    }

    /// A keyed command shaped like Redis's GET, to check key spec encoding
    /// against the bytes Redis 7.0.15 sends for `COMMAND INFO get`.
    #[test]
    fn key_specs_match_redis() {
        let spec = KeySpec {
            notes: None,
            flags: "RO access",
            begin_search: BeginSearch::Index(1),
            find_keys: FindKeys::Range {
                lastkey: 0,
                keystep: 1,
                limit: 0,
            },
        };
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        reply_key_spec(&mut c, &spec);
        assert_eq!(
            show(&c.reply.take()),
            "*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n\
             $4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
             $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n"
        );
        // SET's spec in RESP3, with notes (Redis 7.0.15 bytes).
        let set_spec = KeySpec {
            notes: Some("RW and ACCESS due to the optional `GET` argument"),
            flags: "RW access update variable_flags",
            ..spec
        };
        c.resp = 3;
        reply_key_spec(&mut c, &set_spec);
        assert_eq!(
            show(&c.reply.take()),
            "%4\r\n$5\r\nnotes\r\n$48\r\nRW and ACCESS due to the optional `GET` argument\r\n$5\r\nflags\r\n~4\r\n+RW\r\n\
             +access\r\n+update\r\n+variable_flags\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n\
             $4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
             $4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n"
        );
        // GEORADIUSBYMEMBER's STORE spec and ZINTER's keynum spec (Redis 7.0.15 bytes).
        let store = KeySpec {
            notes: None,
            flags: "OW update",
            begin_search: BeginSearch::Keyword {
                keyword: "STORE",
                startfrom: 5,
            },
            find_keys: FindKeys::Keynum {
                keynumidx: 0,
                firstkey: 1,
                keystep: 1,
            },
        };
        c.resp = 2;
        reply_key_spec(&mut c, &store);
        assert_eq!(
            show(&c.reply.pending(0)),
            "*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\nkeyword\r\n\
             $4\r\nspec\r\n*4\r\n$7\r\nkeyword\r\n$5\r\nSTORE\r\n$9\r\nstartfrom\r\n:5\r\n$9\r\nfind_keys\r\n*4\r\n\
             $4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n*6\r\n$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n\
             $7\r\nkeystep\r\n:1\r\n"
        );
    }

    /// `COMMAND DOCS` shapes, compared with Redis 7.0.15's replies for the
    /// same commands with the summaries (which we word ourselves) swapped in.
    #[test]
    fn docs_shape_matches_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        run_str(&mut server, &mut c, "HELLO 3");
        let ping = server.commands.lookup_by_fullname(b"ping").expect("ping");
        let reply = show(&run_str(&mut server, &mut c, "COMMAND DOCS ping nosuch"));
        let summary = ping.summary;
        assert_eq!(
            reply,
            format!(
                "%1\r\n$4\r\nping\r\n%5\r\n$7\r\nsummary\r\n${}\r\n{summary}\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n\
                 $5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n\
                 %3\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
                summary.len()
            )
        );
        assert_eq!(
            show(&run_str(&mut server, &mut c, "COMMAND DOCS nosuch")),
            "%0\r\n"
        );
        // FLUSHALL: history as a set of pairs, nested one-of with `since`.
        let flushall = show(&run_str(&mut server, &mut c, "COMMAND DOCS flushall"));
        assert!(
            flushall.contains("$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n4.0.0\r\n"),
            "{flushall}"
        );
        assert!(
            flushall.contains(
                "$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$5\r\noneof\r\n\
                 $5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$5\r\nasync\r\n\
                 $4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nASYNC\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n"
            ),
            "{flushall}"
        );
        // DEBUG: doc flags as a set of statuses.
        let debug = show(&run_str(&mut server, &mut c, "COMMAND DOCS debug"));
        assert!(
            debug.contains("$9\r\ndoc_flags\r\n~1\r\n+syscmd\r\n"),
            "{debug}"
        );
        // A container nests its subcommands' docs in a map keyed by full name.
        let client_docs = show(&run_str(&mut server, &mut c, "COMMAND DOCS client"));
        assert!(
            client_docs.contains("$11\r\nsubcommands\r\n%8\r\n$14\r\nclient|setname\r\n%5\r\n"),
            "{client_docs}"
        );
    }

    /// Redis 7.0.15 orders a deprecated command's docs (GEORADIUS) as
    /// summary, since, group, complexity, doc_flags, deprecated_since,
    /// replaced_by, history, arguments.
    #[test]
    fn deprecated_docs_fields_come_in_redis_order() {
        const OLD: RedisCommand = RedisCommand {
            doc_flags: "deprecated",
            deprecated_since: Some("6.2.0"),
            replaced_by: Some("`NEW`"),
            history: &[("6.0.0", "A change.")],
            args: COMMAND_NAMES_ARG,
            since: "1.0.0",
            summary: "s",
            complexity: "c",
            ..server_command("old", command_count_command, 1, "", "@slow")
        };
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        c.resp = 3;
        reply_command_docs(&mut c, &OLD);
        let reply = show(&c.reply.pending(0));
        let keys = [
            "summary",
            "since",
            "group",
            "complexity",
            "doc_flags",
            "deprecated_since",
            "replaced_by",
            "history",
            "arguments",
        ];
        assert!(reply.starts_with("%9\r\n"), "{reply}");
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| reply.find(&format!("${}\r\n{k}\r\n", k.len())).expect(k))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{reply}");
        assert!(reply.contains(
            "$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n"
        ));
    }

    #[test]
    fn key_arguments_are_numbered_in_order() {
        const ARGS: &[Arg] = &[
            Arg {
                name: "source",
                kind: ArgKind::Key,
                token: None,
                optional: false,
                multiple: false,
                since: None,
            },
            Arg {
                name: "dest",
                kind: ArgKind::Block(&[Arg {
                    name: "destination",
                    kind: ArgKind::Key,
                    token: Some("TO"),
                    optional: false,
                    multiple: false,
                    since: None,
                }]),
                token: None,
                optional: true,
                multiple: false,
                since: None,
            },
        ];
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        reply_args_docs(&mut c, ARGS, &mut 0);
        let reply = show(&c.reply.pending(0));
        assert!(
            reply.contains(
                "$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
            ),
            "{reply}"
        );
        assert!(reply.contains("$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$2\r\nTO\r\n"), "{reply}");
    }

    #[test]
    fn count_list_and_all() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let table = CommandTable::new();
        assert_eq!(
            show(&run_str(&mut server, &mut c, "COMMAND COUNT")),
            format!(":{}\r\n", table.len())
        );
        let all = show(&run_str(&mut server, &mut c, "COMMAND"));
        assert!(all.starts_with(&format!("*{}\r\n*10\r\n", table.len())));
        assert_eq!(all, show(&run_str(&mut server, &mut c, "COMMAND INFO")));

        let list = show(&run_str(&mut server, &mut c, "COMMAND LIST"));
        let subs: usize = table.iter().map(|cmd| cmd.subcommands.len()).sum();
        assert!(list.starts_with(&format!("*{}\r\n", table.len() + subs)));
        assert!(list.contains("$11\r\nclient|list\r\n"));

        let conn = show(&run_str(
            &mut server,
            &mut c,
            "COMMAND LIST FILTERBY ACLCAT connection",
        ));
        assert!(
            conn.contains("$4\r\nping\r\n")
                && conn.contains("$7\r\ncommand\r\n")
                && conn.contains("$9\r\nclient|id\r\n")
        );
        assert!(
            !conn.contains("$6\r\nclient\r\n"),
            "the CLIENT container is only @slow"
        );
        let pattern = show(&run_str(
            &mut server,
            &mut c,
            "COMMAND LIST FILTERBY PATTERN CL*",
        ));
        assert!(
            pattern.contains("$6\r\nclient\r\n") && pattern.contains("$14\r\nclient|getname\r\n")
        );
        assert!(!pattern.contains("ping"));
        let cases = [
            ("COMMAND LIST FILTERBY MODULE x", "*0\r\n"),
            ("COMMAND LIST FILTERBY aclcat nosuch", "*0\r\n"),
            ("COMMAND LIST FILTERBY", "-ERR syntax error\r\n"),
            ("COMMAND LIST FILTERBY foo x", "-ERR syntax error\r\n"),
            ("COMMAND LIST x", "-ERR syntax error\r\n"),
            (
                "COMMAND COUNT x",
                "-ERR wrong number of arguments for 'command|count' command\r\n",
            ),
            (
                "COMMAND FOO",
                "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n",
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(show(&run_str(&mut server, &mut c, req)), expected, "{req}");
        }
        assert_eq!(
            show(&run(&mut server, &mut c, &[b"COMMAND", b"DOCS", b""])),
            "*0\r\n"
        );
    }

    #[test]
    fn help_is_framed_like_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let help = show(&run_str(&mut server, &mut c, "COMMAND HELP"));
        assert!(help.starts_with("*14\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+(no subcommand)\r\n"));
    }
}

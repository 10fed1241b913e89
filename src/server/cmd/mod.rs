//! The command table: every command the server knows, with the metadata Redis
//! keeps for it (arity, flags, key positions, documentation).
//!
//! Redis keeps one `redisCommand` struct per command in a table generated from
//! JSON files (`src/commands/*.json`), looked up by lower-cased name in
//! `lookupCommand`. Here each family of commands (`string.rs`, `keys.rs`, …)
//! exports a `COMMANDS` slice, and [`CommandTable`] indexes them all by name.

/// The function that runs a command: it reads `c.argv` and queues replies on `c`.
pub type CommandProc = fn(&mut super::Server, &mut super::client::Client);

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

/// One argument of a command, for `COMMAND DOCS` (and so for redis-cli's hints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    /// The literal word that introduces the argument (`EX`, `MATCH`, …), if any.
    pub token: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
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
}

pub mod connection;
pub mod keys;
pub mod server;
pub mod string;

use std::collections::HashMap;

/// Every command, indexed by lower-case name (mirror of `server.commands` and
/// `lookupCommand`).
pub struct CommandTable {
    by_name: HashMap<&'static str, &'static RedisCommand>,
}

/// All command families, in the order `COMMAND` lists them.
pub const FAMILIES: &[&[RedisCommand]] = &[
    connection::COMMANDS,
    keys::COMMANDS,
    server::COMMANDS,
    string::COMMANDS,
];

impl CommandTable {
    pub fn new() -> Self {
        let mut by_name = HashMap::new();
        for family in FAMILIES {
            for cmd in family.iter() {
                by_name.insert(cmd.name, cmd);
            }
        }
        CommandTable { by_name }
    }

    /// Finds the command for a request: the container's subcommand when the
    /// command has subcommands and `argv[1]` names one (mirror of `lookupCommand`).
    pub fn lookup(&self, argv: &[Vec<u8>]) -> Option<&'static RedisCommand> {
        let name = std::str::from_utf8(argv.first()?)
            .ok()?
            .to_ascii_lowercase();
        let cmd = *self.by_name.get(name.as_str())?;
        if cmd.subcommands.is_empty() || argv.len() < 2 {
            return Some(cmd);
        }
        let sub = std::str::from_utf8(&argv[1]).ok()?.to_ascii_lowercase();
        cmd.subcommands
            .iter()
            .find(|s| s.name.rsplit('|').next() == Some(sub.as_str()))
    }

    /// Iterates over all top-level commands.
    pub fn iter(&self) -> impl Iterator<Item = &'static RedisCommand> + '_ {
        self.by_name.values().copied()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The error for a request whose command is not in the table (mirror of
/// `commandCheckExistence`).
pub fn command_lookup_error(argv: &[Vec<u8>], table: &CommandTable) -> String {
    let name = String::from_utf8_lossy(argv.first().map_or(&[][..], |a| a.as_slice())).into_owned();
    let is_container = table
        .by_name
        .get(name.to_ascii_lowercase().as_str())
        .is_some_and(|c| !c.subcommands.is_empty());
    if is_container && argv.len() >= 2 {
        let sub = String::from_utf8_lossy(&argv[1]);
        return format!(
            "unknown subcommand '{}'. Try {} HELP.",
            truncate(&sub, 128),
            name.to_ascii_uppercase()
        );
    }
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        args.push_str(&format!(
            "'{}' ",
            truncate(&String::from_utf8_lossy(a), 128)
        ));
    }
    format!(
        "unknown command '{}', with args beginning with: {}",
        truncate(&name, 128),
        args
    )
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

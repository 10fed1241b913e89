//! The pub/sub commands: `SUBSCRIBE`, `UNSUBSCRIBE`, `PSUBSCRIBE`,
//! `PUNSUBSCRIBE`, `PUBLISH`, their shard forms (`SSUBSCRIBE`,
//! `SUNSUBSCRIBE`, `SPUBLISH`) and the `PUBSUB` introspection container
//! (the command half of Redis's `pubsub.c`; the machinery is in
//! [`crate::server::pubsub`]).

use super::keys::{arg, command, key_spec};
use super::{Arg, ArgKind, KeySpec, RedisCommand, container_proc};
use crate::server::Server;
use crate::server::call::Call;
use crate::server::client::{CLIENT_DENY_BLOCKING, CLIENT_MULTI, CLIENT_PUBSUB, Client};
use crate::server::pubsub::{self, PubSubType, Subscribers};
use crate::server::util::string_match;

/// SUBSCRIBE and SSUBSCRIBE: one confirmation per channel (mirror of
/// `subscribeCommand` / `ssubscribeCommand`). Inside EXEC a client may not
/// start receiving messages — except that Redis lets plain SUBSCRIBE
/// through when it was queued by MULTI, for compatibility.
fn subscribe_generic(server: &mut Server, c: &mut Client, t: PubSubType) {
    let refused = match t {
        PubSubType::Global => c.flags & CLIENT_DENY_BLOCKING != 0 && c.flags & CLIENT_MULTI == 0,
        PubSubType::Shard => c.flags & CLIENT_DENY_BLOCKING != 0,
    };
    if refused {
        let name = if t == PubSubType::Global {
            "SUBSCRIBE"
        } else {
            "SSUBSCRIBE"
        };
        return c.add_reply_error(&format!("{name} isn't allowed for a DENY BLOCKING client"));
    }
    for j in 1..c.argv.len() {
        let channel = std::mem::take(&mut c.argv[j]);
        pubsub::subscribe_channel(server, c, &channel, t);
        c.argv[j] = channel;
    }
    c.flags |= CLIENT_PUBSUB;
}

/// Clears the subscriber flag once nothing is left (the tail of the
/// unsubscribe commands).
fn update_pubsub_flag(c: &mut Client) {
    if pubsub::total_subscriptions(c) == 0 {
        c.flags &= !CLIENT_PUBSUB;
    }
}

/// UNSUBSCRIBE and SUNSUBSCRIBE: the given channels, or all of them
/// (mirror of `unsubscribeCommand` / `sunsubscribeCommand`).
fn unsubscribe_generic(server: &mut Server, c: &mut Client, t: PubSubType) {
    if c.argv.len() == 1 {
        pubsub::unsubscribe_all_channels(server, c, true, t);
    } else {
        for j in 1..c.argv.len() {
            let channel = std::mem::take(&mut c.argv[j]);
            pubsub::unsubscribe_channel(server, c, &channel, true, t);
            c.argv[j] = channel;
        }
    }
    update_pubsub_flag(c);
}

fn subscribe_command(call: &mut Call) {
    let (server, c) = call.parts();
    subscribe_generic(server, c, PubSubType::Global);
}

fn ssubscribe_command(call: &mut Call) {
    let (server, c) = call.parts();
    subscribe_generic(server, c, PubSubType::Shard);
}

fn unsubscribe_command(call: &mut Call) {
    let (server, c) = call.parts();
    unsubscribe_generic(server, c, PubSubType::Global);
}

fn sunsubscribe_command(call: &mut Call) {
    let (server, c) = call.parts();
    unsubscribe_generic(server, c, PubSubType::Shard);
}

/// `PSUBSCRIBE pattern [pattern ...]` (mirror of `psubscribeCommand`).
fn psubscribe_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.flags & CLIENT_DENY_BLOCKING != 0 && c.flags & CLIENT_MULTI == 0 {
        return c.add_reply_error("PSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    for j in 1..c.argv.len() {
        let pattern = std::mem::take(&mut c.argv[j]);
        pubsub::subscribe_pattern(server, c, &pattern);
        c.argv[j] = pattern;
    }
    c.flags |= CLIENT_PUBSUB;
}

/// `PUNSUBSCRIBE [pattern ...]` (mirror of `punsubscribeCommand`).
fn punsubscribe_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.argv.len() == 1 {
        pubsub::unsubscribe_all_patterns(server, c, true);
    } else {
        for j in 1..c.argv.len() {
            let pattern = std::mem::take(&mut c.argv[j]);
            pubsub::unsubscribe_pattern(server, c, &pattern, true);
            c.argv[j] = pattern;
        }
    }
    update_pubsub_flag(c);
}

/// PUBLISH and SPUBLISH: deliver, and reply how many deliveries there were
/// (mirror of `publishCommand` / `spublishCommand`).
fn publish_generic(call: &mut Call, t: PubSubType) {
    let Call { el, server, c } = call;
    let (channel, message) = (
        std::mem::take(&mut c.argv[1]),
        std::mem::take(&mut c.argv[2]),
    );
    let receivers =
        pubsub::pubsub_publish_message(&mut el.tracer, server, c, &channel, &message, t);
    c.add_reply_long_long(receivers as i64);
    c.argv[1] = channel;
    c.argv[2] = message;
}

fn publish_command(call: &mut Call) {
    publish_generic(call, PubSubType::Global);
}

fn spublish_command(call: &mut Call) {
    publish_generic(call, PubSubType::Shard);
}

/// PUBSUB CHANNELS and SHARDCHANNELS: the channels with a subscriber,
/// optionally only those matching a pattern (mirror of `channelList`).
fn channel_list(c: &mut Client, map: &Subscribers) {
    let pattern = c.argv.get(2);
    let names: Vec<&[u8]> = map
        .iter()
        .map(|(name, _)| name.as_bytes())
        .filter(|name| pattern.is_none_or(|p| string_match(p, name, false)))
        .collect();
    let names: Vec<Vec<u8>> = names.into_iter().map(<[u8]>::to_vec).collect();
    c.add_reply_array_len(names.len());
    for name in names {
        c.add_reply_bulk(&name);
    }
}

/// PUBSUB NUMSUB and SHARDNUMSUB: channel, count, channel, count, … — an
/// array even in RESP3, as in Redis 7.0.
fn numsub(c: &mut Client, map: &Subscribers) {
    let counts: Vec<usize> = c.argv[2..]
        .iter()
        .map(|ch| map.get(ch).map_or(0, Vec::len))
        .collect();
    c.add_reply_array_len(counts.len() * 2);
    for (j, count) in counts.into_iter().enumerate() {
        let channel = std::mem::take(&mut c.argv[j + 2]);
        c.add_reply_bulk(&channel);
        c.add_reply_long_long(count as i64);
        c.argv[j + 2] = channel;
    }
}

fn pubsub_channels_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.argv.len() > 3 {
        return super::reply_subcommand_syntax_error(c, &PUBSUB);
    }
    channel_list(c, &server.pubsub.channels);
}

fn pubsub_shardchannels_command(call: &mut Call) {
    let (server, c) = call.parts();
    if c.argv.len() > 3 {
        return super::reply_subcommand_syntax_error(c, &PUBSUB);
    }
    channel_list(c, &server.pubsub.shard_channels);
}

fn pubsub_numsub_command(call: &mut Call) {
    let (server, c) = call.parts();
    numsub(c, &server.pubsub.channels);
}

fn pubsub_shardnumsub_command(call: &mut Call) {
    let (server, c) = call.parts();
    numsub(c, &server.pubsub.shard_channels);
}

/// PUBSUB NUMPAT: how many distinct patterns have subscribers.
fn pubsub_numpat_command(call: &mut Call) {
    let (server, c) = call.parts();
    c.add_reply_long_long(server.pubsub.patterns.len() as i64);
}

/// PUBSUB HELP.
fn pubsub_help_command(call: &mut Call) {
    let c = &mut *call.c;
    c.add_reply_help(
        "pubsub",
        &[
            "CHANNELS [<pattern>]",
            "    List the channels that have subscribers, or only those matching <pattern>.",
            "NUMPAT",
            "    Count the distinct patterns that have subscribers.",
            "NUMSUB [<channel> ...]",
            "    For each channel, count its subscribers (pattern subscriptions aside).",
            "SHARDCHANNELS [<pattern>]",
            "    Like CHANNELS, for shard channels.",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Like NUMSUB, for shard channels.",
        ],
    );
}

// ---------------------------------------------------------------------------
// The command table entries
// ---------------------------------------------------------------------------

const PUBSUB_FLAGS: &str = "pubsub noscript loading stale";

/// A keyless pub/sub command.
const fn pubsub_command(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    summary: &'static str,
    complexity: &'static str,
    args: &'static [Arg],
) -> RedisCommand {
    RedisCommand {
        flags: PUBSUB_FLAGS,
        acl_categories: "@pubsub @slow",
        since: "2.0.0",
        summary,
        complexity,
        args,
        ..command(name, proc_, arity, "pubsub")
    }
}

/// A shard command: its channels are keys to cluster clients, flagged
/// `not_key` because they name no data.
const fn sharded(mut cmd: RedisCommand, last: i32, specs: &'static [KeySpec]) -> RedisCommand {
    cmd.since = "7.0.0";
    cmd.first_key = 1;
    cmd.last_key = last;
    cmd.key_step = 1;
    cmd.key_specs = specs;
    cmd
}

const CHANNELS: &[Arg] = &[Arg {
    multiple: true,
    ..arg("channel", ArgKind::String)
}];
const MAYBE_CHANNELS: &[Arg] = &[Arg {
    optional: true,
    multiple: true,
    ..arg("channel", ArgKind::String)
}];
const SHARD_CHANNELS: &[Arg] = &[Arg {
    multiple: true,
    ..arg("shardchannel", ArgKind::String)
}];
const MAYBE_SHARD_CHANNELS: &[Arg] = &[Arg {
    optional: true,
    multiple: true,
    ..arg("shardchannel", ArgKind::String)
}];
const MAYBE_PATTERN: &[Arg] = &[Arg {
    optional: true,
    ..arg("pattern", ArgKind::Pattern)
}];
const SHARD_SPECS_ALL: &[KeySpec] = &[key_spec("not_key", 1, -1, 1)];
const SHARD_SPECS_ONE: &[KeySpec] = &[key_spec("not_key", 1, 0, 1)];

/// A PUBSUB subcommand.
const fn pubsub_sub(
    name: &'static str,
    proc_: super::CommandProc,
    arity: i32,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static [Arg],
) -> RedisCommand {
    RedisCommand {
        flags: "pubsub loading stale",
        acl_categories: "@pubsub @slow",
        since,
        summary,
        complexity,
        args,
        ..command(name, proc_, arity, "pubsub")
    }
}

/// In the order `COMMAND INFO pubsub` lists them.
const PUBSUB_SUBCOMMANDS: &[RedisCommand] = &[
    pubsub_sub(
        "pubsub|shardchannels",
        pubsub_shardchannels_command,
        -2,
        "7.0.0",
        "Lists the shard channels that have subscribers",
        "O(N), N being the number of shard channels with subscribers",
        MAYBE_PATTERN,
    ),
    pubsub_sub(
        "pubsub|channels",
        pubsub_channels_command,
        -2,
        "2.8.0",
        "Lists the channels that have subscribers",
        "O(N), N being the number of channels with subscribers",
        MAYBE_PATTERN,
    ),
    RedisCommand {
        flags: "loading stale",
        acl_categories: "@slow",
        ..pubsub_sub(
            "pubsub|help",
            pubsub_help_command,
            2,
            "6.2.0",
            "Lists the PUBSUB subcommands",
            "O(1)",
            &[],
        )
    },
    pubsub_sub(
        "pubsub|numpat",
        pubsub_numpat_command,
        2,
        "2.8.0",
        "Counts the distinct patterns that have subscribers",
        "O(1)",
        &[],
    ),
    pubsub_sub(
        "pubsub|numsub",
        pubsub_numsub_command,
        -2,
        "2.8.0",
        "Counts the subscribers of channels",
        "O(N), N being the number of channels asked about",
        MAYBE_CHANNELS,
    ),
    pubsub_sub(
        "pubsub|shardnumsub",
        pubsub_shardnumsub_command,
        -2,
        "7.0.0",
        "Counts the subscribers of shard channels",
        "O(N), N being the number of shard channels asked about",
        MAYBE_SHARD_CHANNELS,
    ),
];

/// The `PUBSUB` container.
pub const PUBSUB: RedisCommand = RedisCommand {
    acl_categories: "@slow",
    since: "2.8.0",
    summary: "Groups the commands that describe pub/sub subscriptions",
    complexity: "Depends on the subcommand",
    subcommands: PUBSUB_SUBCOMMANDS,
    ..command("pubsub", container_proc, -2, "pubsub")
};

pub const COMMANDS: &[RedisCommand] = &[
    pubsub_command(
        "subscribe",
        subscribe_command,
        -2,
        "Starts listening to channels",
        "O(N), N being the number of channels",
        CHANNELS,
    ),
    pubsub_command(
        "unsubscribe",
        unsubscribe_command,
        -1,
        "Stops listening to channels, or to all of them",
        "O(N), N being the number of subscribers of the channels left",
        MAYBE_CHANNELS,
    ),
    pubsub_command(
        "psubscribe",
        psubscribe_command,
        -2,
        "Starts listening to every channel matching patterns",
        "O(N), N being the number of patterns this connection listens to",
        &[Arg {
            multiple: true,
            ..arg(
                "pattern",
                ArgKind::Block(&[arg("pattern", ArgKind::Pattern)]),
            )
        }],
    ),
    pubsub_command(
        "punsubscribe",
        punsubscribe_command,
        -1,
        "Stops listening to patterns, or to all of them",
        "O(N+M), N being this connection's patterns and M all the patterns listened to",
        &[Arg {
            optional: true,
            multiple: true,
            ..arg("pattern", ArgKind::Pattern)
        }],
    ),
    RedisCommand {
        flags: "pubsub loading stale fast",
        acl_categories: "@pubsub @fast",
        ..pubsub_command(
            "publish",
            publish_command,
            3,
            "Sends a message to the subscribers of a channel and of matching patterns",
            "O(N+M), N being the channel's subscribers and M all the patterns listened to",
            &[
                arg("channel", ArgKind::String),
                arg("message", ArgKind::String),
            ],
        )
    },
    PUBSUB,
    sharded(
        pubsub_command(
            "ssubscribe",
            ssubscribe_command,
            -2,
            "Starts listening to shard channels",
            "O(N), N being the number of shard channels",
            SHARD_CHANNELS,
        ),
        -1,
        SHARD_SPECS_ALL,
    ),
    sharded(
        pubsub_command(
            "sunsubscribe",
            sunsubscribe_command,
            -1,
            "Stops listening to shard channels, or to all of them",
            "O(N), N being the number of subscribers of the shard channels left",
            MAYBE_SHARD_CHANNELS,
        ),
        -1,
        SHARD_SPECS_ALL,
    ),
    RedisCommand {
        flags: "pubsub loading stale fast",
        acl_categories: "@pubsub @fast",
        ..sharded(
            pubsub_command(
                "spublish",
                spublish_command,
                3,
                "Sends a message to the subscribers of a shard channel",
                "O(N), N being the shard channel's subscribers",
                &[
                    arg("shardchannel", ArgKind::String),
                    arg("message", ArgKind::String),
                ],
            ),
            1,
            SHARD_SPECS_ONE,
        )
    },
];

#[cfg(test)]
mod tests {
    //! Expected replies were captured from redis-server 7.0.15.

    use crate::server::cmd::test_support::{client, run_str, server, show};

    #[test]
    fn introspection() {
        let mut server = server();
        let (mut sub, _p) = client(&mut server);
        run_str(&mut server, &mut sub, "SUBSCRIBE a b");
        run_str(&mut server, &mut sub, "PSUBSCRIBE p* a?");
        run_str(&mut server, &mut sub, "SSUBSCRIBE s");
        crate::server::cmd::test_support::attach(&mut server, sub);
        let (mut c, _peer) = client(&mut server);
        let mut expect = |line: &str, want: &str| {
            assert_eq!(show(&run_str(&mut server, &mut c, line)), want, "{line}");
        };
        expect("PUBSUB CHANNELS", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        expect("PUBSUB CHANNELS b*", "*1\r\n$1\r\nb\r\n");
        expect(
            "PUBSUB NUMSUB a b c",
            "*6\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:1\r\n$1\r\nc\r\n:0\r\n",
        );
        expect("PUBSUB NUMSUB", "*0\r\n");
        expect("PUBSUB NUMPAT", ":2\r\n");
        expect("PUBSUB SHARDCHANNELS", "*1\r\n$1\r\ns\r\n");
        expect(
            "PUBSUB SHARDNUMSUB s a",
            "*4\r\n$1\r\ns\r\n:1\r\n$1\r\na\r\n:0\r\n",
        );
        expect(
            "PUBSUB NUMPAT x",
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
        );
        expect(
            "PUBSUB FOO",
            "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n",
        );
        expect("PUBLISH a hi", ":1\r\n");
        expect("PUBLISH ab hi", ":1\r\n");
        expect("SPUBLISH s hi", ":1\r\n");
        expect("SPUBLISH a hi", ":0\r\n");
    }

    #[test]
    fn confirmations_count_like_redis() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        let mut expect = |line: &str, want: &str| {
            assert_eq!(show(&run_str(&mut server, &mut c, line)), want, "{line}");
        };
        expect(
            "SUBSCRIBE a b a",
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
             *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n",
        );
        expect(
            "UNSUBSCRIBE x",
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:2\r\n",
        );
        expect(
            "SSUBSCRIBE s",
            "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n",
        );
        expect("PUNSUBSCRIBE", "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:2\r\n");
        expect(
            "UNSUBSCRIBE",
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n",
        );
        expect(
            "SUNSUBSCRIBE",
            "*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n",
        );
        assert_eq!(c.flags & super::CLIENT_PUBSUB, 0);
    }
}

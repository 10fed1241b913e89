//! Publish/subscribe: the mirror of Redis's `pubsub.c`.
//!
//! A subscriber tells the server which channels (`SUBSCRIBE news`) or
//! channel patterns (`PSUBSCRIBE news.*`) it wants; `PUBLISH news hello`
//! then appends a message to the reply buffer of every subscriber of `news`
//! and of every matching pattern — within the publisher's command, so the
//! messages leave in the same `before_sleep` as the publisher's reply. Nothing
//! is stored: a subscriber that is not connected misses the message.
//!
//! The server keeps two maps, channel → subscribers and pattern →
//! subscribers, and each client keeps the reverse (its channels and
//! patterns), so that unsubscribing, or closing the connection, is cheap.
//! Redis 7 adds *shard* channels (`SSUBSCRIBE`/`SPUBLISH`), a third map that
//! only matters in a cluster; here they work like plain channels without
//! patterns, in their own namespace.
//!
//! A subscriber's messages are replies it never asked for, and a subscriber
//! that does not read them makes its output buffer grow. That is what the
//! `pubsub` class of `client-output-buffer-limit` is for (see
//! `networking::close_client_on_output_buffer_limit_reached`).
//!
//! In RESP2 a subscribed connection can only (un)subscribe, PING and QUIT,
//! since a reply could not be told apart from a message; RESP3 messages are
//! *push* frames (`>`), so a RESP3 subscriber may run any command.

use super::Server;
use super::client::{
    CLIENT_CLOSE_AFTER_REPLY, CLIENT_CLOSE_ASAP, CLIENT_PUBSUB, Client, ClientRef,
};
use super::db::Sds;
use super::db::dense::DenseMap;
use super::networking;
use super::util::string_match;

/// Channel (or pattern) → subscribers, in the order they subscribed.
pub type Subscribers = DenseMap<Vec<ClientRef>>;

/// The server's subscription maps (`server.pubsub_channels`,
/// `server.pubsub_patterns`, `server.pubsub_shard_channels`).
#[derive(Default)]
pub struct PubSub {
    pub channels: Subscribers,
    pub patterns: Subscribers,
    pub shard_channels: Subscribers,
}

/// Plain or shard channels: which maps and words to use (mirror of
/// Redis's `pubsubtype` structs `pubSubType` and `pubSubShardType`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PubSubType {
    Global,
    Shard,
}

impl PubSubType {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            PubSubType::Global => b"subscribe",
            PubSubType::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            PubSubType::Global => b"unsubscribe",
            PubSubType::Shard => b"sunsubscribe",
        }
    }

    fn message_word(self) -> &'static [u8] {
        match self {
            PubSubType::Global => b"message",
            PubSubType::Shard => b"smessage",
        }
    }

    /// The server's map for this type.
    pub fn server_channels(self, ps: &mut PubSub) -> &mut Subscribers {
        match self {
            PubSubType::Global => &mut ps.channels,
            PubSubType::Shard => &mut ps.shard_channels,
        }
    }

    /// The client's own set for this type.
    pub fn client_channels(self, c: &mut Client) -> &mut DenseMap<()> {
        match self {
            PubSubType::Global => &mut c.pubsub_channels,
            PubSubType::Shard => &mut c.pubsub_shard_channels,
        }
    }

    /// The count a (un)subscribe confirmation reports: channels plus
    /// patterns, or shard channels alone.
    fn subscription_count(self, c: &Client) -> usize {
        match self {
            PubSubType::Global => c.subscriptions_count(),
            PubSubType::Shard => c.pubsub_shard_channels.len(),
        }
    }
}

/// Every subscription a client has (mirror of `clientTotalPubSubSubscriptionCount`).
pub fn total_subscriptions(c: &Client) -> usize {
    c.subscriptions_count() + c.pubsub_shard_channels.len()
}

/// `[kind, name, count]`, as an array in RESP2 and a push in RESP3: the
/// confirmation of one (un)subscription. `name` is null when UNSUBSCRIBE
/// without arguments found nothing to leave (mirror of
/// `addReplyPubsubSubscribed` and friends).
fn reply_subscription(c: &mut Client, kind: &[u8], name: Option<&[u8]>, count: usize) {
    c.add_reply_push_len(3);
    c.add_reply_bulk(kind);
    match name {
        Some(name) => c.add_reply_bulk(name),
        None => c.add_reply_null(),
    }
    c.add_reply_long_long(count as i64);
}

/// Removes `who` from the subscribers of `name`, dropping the entry when
/// nobody is left.
fn remove_subscriber(map: &mut Subscribers, name: &[u8], who: ClientRef) {
    if let Some(clients) = map.get_mut(name) {
        if let Some(at) = clients.iter().position(|&c| c == who) {
            clients.remove(at);
        }
        if clients.is_empty() {
            map.remove(name);
        }
    }
}

/// Subscribes `c` to `channel` (if not already) and confirms (mirror of
/// `pubsubSubscribeChannel`).
// anchor: pubsub.subscribe_channel
pub fn subscribe_channel(server: &mut Server, c: &mut Client, channel: &[u8], t: PubSubType) {
    if t.client_channels(c).insert(channel, ()).is_none() {
        let me = c.client_ref();
        let map = t.server_channels(&mut server.pubsub);
        match map.get_mut(channel) {
            Some(clients) => clients.push(me),
            None => {
                map.insert(channel, vec![me]);
            }
        }
    }
    let count = t.subscription_count(c);
    reply_subscription(c, t.subscribe_word(), Some(channel), count);
}

/// Unsubscribes `c` from `channel`, confirming if `notify` (even when it
/// was not subscribed); true if it was (mirror of `pubsubUnsubscribeChannel`).
pub fn unsubscribe_channel(
    server: &mut Server,
    c: &mut Client,
    channel: &[u8],
    notify: bool,
    t: PubSubType,
) -> bool {
    let was = t.client_channels(c).remove(channel).is_some();
    if was {
        remove_subscriber(
            t.server_channels(&mut server.pubsub),
            channel,
            c.client_ref(),
        );
    }
    if notify {
        let count = t.subscription_count(c);
        reply_subscription(c, t.unsubscribe_word(), Some(channel), count);
    }
    was
}

/// Leaves every channel of type `t`, confirming each if `notify`, or with a
/// null channel when there was none (mirror of `pubsubUnsubscribeAllChannelsInternal`).
pub fn unsubscribe_all_channels(
    server: &mut Server,
    c: &mut Client,
    notify: bool,
    t: PubSubType,
) -> usize {
    let channels: Vec<Sds> = t
        .client_channels(c)
        .iter()
        .map(|(ch, _)| ch.clone())
        .collect();
    for ch in &channels {
        unsubscribe_channel(server, c, ch, notify, t);
    }
    if notify && channels.is_empty() {
        let count = t.subscription_count(c);
        reply_subscription(c, t.unsubscribe_word(), None, count);
    }
    channels.len()
}

/// Subscribes `c` to `pattern` (if not already) and confirms (mirror of
/// `pubsubSubscribePattern`).
pub fn subscribe_pattern(server: &mut Server, c: &mut Client, pattern: &[u8]) {
    if !c.pubsub_patterns.iter().any(|p| **p == *pattern) {
        c.pubsub_patterns.push(Sds::new(pattern));
        let me = c.client_ref();
        match server.pubsub.patterns.get_mut(pattern) {
            Some(clients) => clients.push(me),
            None => {
                server.pubsub.patterns.insert(pattern, vec![me]);
            }
        }
    }
    let count = c.subscriptions_count();
    reply_subscription(c, b"psubscribe", Some(pattern), count);
}

/// Unsubscribes `c` from `pattern`, confirming if `notify`; true if it was
/// subscribed (mirror of `pubsubUnsubscribePattern`).
pub fn unsubscribe_pattern(
    server: &mut Server,
    c: &mut Client,
    pattern: &[u8],
    notify: bool,
) -> bool {
    let at = c.pubsub_patterns.iter().position(|p| **p == *pattern);
    if let Some(at) = at {
        c.pubsub_patterns.remove(at);
        remove_subscriber(&mut server.pubsub.patterns, pattern, c.client_ref());
    }
    if notify {
        let count = c.subscriptions_count();
        reply_subscription(c, b"punsubscribe", Some(pattern), count);
    }
    at.is_some()
}

/// Leaves every pattern, confirming each if `notify`, or with a null
/// pattern when there was none (mirror of `pubsubUnsubscribeAllPatterns`).
pub fn unsubscribe_all_patterns(server: &mut Server, c: &mut Client, notify: bool) -> usize {
    let patterns = c.pubsub_patterns.clone();
    for p in &patterns {
        unsubscribe_pattern(server, c, p, notify);
    }
    if notify && patterns.is_empty() {
        let count = c.subscriptions_count();
        reply_subscription(c, b"punsubscribe", None, count);
    }
    patterns.len()
}

/// Drops every subscription of a client going away, without replies (what
/// `freeClient` and `RESET` do).
pub fn unsubscribe_all(server: &mut Server, c: &mut Client) {
    unsubscribe_all_channels(server, c, false, PubSubType::Global);
    unsubscribe_all_channels(server, c, false, PubSubType::Shard);
    unsubscribe_all_patterns(server, c, false);
    c.flags &= !CLIENT_PUBSUB;
}

/// Delivers `message` on `channel` to its subscribers, then (plain channels
/// only) to the subscribers of every matching pattern, and returns how many
/// deliveries there were (mirror of `pubsubPublishMessage`).
///
/// Each delivery is a reply appended to the subscriber's buffer, which may
/// push it past its output buffer limit; it is then scheduled to close, and
/// later messages to it are dropped (Redis's `prepareClientToWrite` refuses
/// them) but still counted. The publisher itself may be a subscriber (a
/// RESP3 client): it gets its own message before its reply.
// anchor: pubsub.publish_message
pub fn pubsub_publish_message(
    tracer: &mut crate::trace::Tracer,
    server: &mut Server,
    publisher: &mut Client,
    channel: &[u8],
    message: &[u8],
    t: PubSubType,
) -> usize {
    let receivers = deliver_to_subscribers(server, publisher, channel, message, t);
    crate::probe!(tracer, "pubsub_publish_message" => "pubsubPublishMessage", crate::trace::model::ProbeData::Published {
        channel: String::from_utf8_lossy(channel).into_owned(),
        receivers: receivers as u64,
    });
    receivers
}

/// The deliveries of [`pubsub_publish_message`]; returns how many there were.
fn deliver_to_subscribers(
    server: &mut Server,
    publisher: &mut Client,
    channel: &[u8],
    message: &[u8],
    t: PubSubType,
) -> usize {
    let mut receivers = 0;
    let direct = t
        .server_channels(&mut server.pubsub)
        .get(channel)
        .cloned()
        .unwrap_or_default();
    for who in direct {
        deliver(server, publisher, who, |c| {
            c.add_reply_push_len(3);
            c.add_reply_bulk(t.message_word());
            c.add_reply_bulk(channel);
            c.add_reply_bulk(message);
        });
        receivers += 1;
    }
    if t == PubSubType::Shard {
        return receivers;
    }
    let matching: Vec<(Sds, Vec<ClientRef>)> = server
        .pubsub
        .patterns
        .iter()
        .filter(|(pattern, _)| string_match(pattern, channel, false))
        .map(|(pattern, clients)| (pattern.clone(), clients.clone()))
        .collect();
    for (pattern, clients) in matching {
        for who in clients {
            deliver(server, publisher, who, |c| {
                c.add_reply_push_len(4);
                c.add_reply_bulk(b"pmessage");
                c.add_reply_bulk(&pattern);
                c.add_reply_bulk(channel);
                c.add_reply_bulk(message);
            });
            receivers += 1;
        }
    }
    receivers
}

/// Appends a message to subscriber `who` (the publisher included), unless
/// it is about to be closed, then checks its output buffer limit.
fn deliver(
    server: &mut Server,
    publisher: &mut Client,
    who: ClientRef,
    write: impl FnOnce(&mut Client),
) {
    let send = |server: &mut Server, c: &mut Client| {
        if c.flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY) != 0 {
            return;
        }
        write(c);
        networking::close_client_on_output_buffer_limit_reached(server, c);
    };
    if who == publisher.client_ref() {
        send(server, publisher);
    } else {
        networking::with_client(server, who, send);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::cmd::test_support::{attach, client, run_str, server, show};

    #[test]
    fn subscriptions_are_recorded_on_both_sides() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        subscribe_channel(&mut server, &mut c, b"a", PubSubType::Global);
        subscribe_channel(&mut server, &mut c, b"a", PubSubType::Global);
        subscribe_pattern(&mut server, &mut c, b"a*");
        subscribe_channel(&mut server, &mut c, b"s", PubSubType::Shard);
        assert_eq!(
            show(&c.reply.take()),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
             *3\r\n$10\r\npsubscribe\r\n$2\r\na*\r\n:2\r\n*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"
        );
        assert_eq!(server.pubsub.channels.get(b"a").map(Vec::len), Some(1));
        assert_eq!(total_subscriptions(&c), 3);
        unsubscribe_all(&mut server, &mut c);
        assert!(!c.reply.has_pending(), "closing connections get no replies");
        assert_eq!(total_subscriptions(&c), 0);
        assert!(server.pubsub.channels.is_empty());
        assert!(server.pubsub.patterns.is_empty());
        assert!(server.pubsub.shard_channels.is_empty());
    }

    #[test]
    fn unsubscribing_from_nothing_confirms_with_a_null() {
        let mut server = server();
        let (mut c, _peer) = client(&mut server);
        unsubscribe_all_channels(&mut server, &mut c, true, PubSubType::Global);
        unsubscribe_all_patterns(&mut server, &mut c, true);
        c.resp = 3;
        unsubscribe_all_channels(&mut server, &mut c, true, PubSubType::Shard);
        assert_eq!(
            show(&c.reply.pending(0)),
            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n\
             >3\r\n$12\r\nsunsubscribe\r\n_\r\n:0\r\n"
        );
    }

    #[test]
    fn publish_reaches_channel_then_pattern_subscribers_in_order() {
        let mut server = server();
        let mut subscribers = Vec::new();
        for line in ["SUBSCRIBE news", "PSUBSCRIBE n*", "SUBSCRIBE news"] {
            let (mut c, peer) = client(&mut server);
            std::mem::forget(peer);
            run_str(&mut server, &mut c, line);
            c.reply.clear();
            subscribers.push(c.client_ref());
            attach(&mut server, c);
        }
        let (mut publisher, _p) = client(&mut server);
        assert_eq!(
            pubsub_publish_message(
                &mut crate::trace::Tracer::disabled(),
                &mut server,
                &mut publisher,
                b"news",
                b"hi",
                PubSubType::Global
            ),
            3
        );
        let reply = |server: &mut Server, who| {
            show(&server.client_mut(who).expect("connected").reply.pending(0))
        };
        let message = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
        assert_eq!(reply(&mut server, subscribers[0]), message);
        assert_eq!(
            reply(&mut server, subscribers[1]),
            "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        assert_eq!(reply(&mut server, subscribers[2]), message);
        assert_eq!(
            pubsub_publish_message(
                &mut crate::trace::Tracer::disabled(),
                &mut server,
                &mut publisher,
                b"news",
                b"x",
                PubSubType::Shard
            ),
            0,
            "shard channels are another namespace"
        );
        let queued: Vec<_> = server.clients_pending_write.clone();
        assert_eq!(queued.len(), 3, "every receiver is queued for writing");
    }
}

//! The trace model: every message loopscope sends about its event loop, and every
//! control message a viewer sends back. One set of serde types serves all three
//! transports (the in-process channel of the TUI, a JSON-lines file, the attach
//! port), so a viewer cannot tell a live loop from a replayed file.
//!
//! # Shape of a stream
//!
//! ```text
//! hello      static facts: format version, setsize, hz, port, ...
//! snapshot   the whole loop: events[], fired[], time events, clients, keyspace
//! gate       who controls the loop and whether it runs, steps, plays or is paused
//! event ...  one per probe: {seq, iter, t_us, site, kind, ...data}
//! drops      how many events this viewer lost, per kind (only after a loss)
//! snapshot   again now and then, and right after a loss (resynchronisation)
//! ```
//!
//! # Gaps, never lies
//!
//! tokio-console learned that a stream of begin/end pairs turns a dropped message
//! into *wrong* state (a task that never ends). Here every event is a fact that
//! makes sense alone: "fd 8 now has mask rw", "client 3 closed", "serverCron ran
//! and is due again in 100 ms". Applying events to a [`Snapshot`] with
//! [`Snapshot::apply`] rebuilds the loop's state; a viewer that lost events sees a
//! jump in [`Event::seq`], marks its state stale, and the loop sends it a fresh
//! snapshot as soon as the viewer's queue has room again. Snapshots also come
//! periodically, so even state that no event describes (a client's idle time)
//! converges.
//!
//! # Cost
//!
//! The types are built only when someone observes the loop. Even then, static
//! text (a probe's [`Site`], handler names) is a `Cow::Borrowed` pointing at
//! `'static` data: emitting such an event copies pointers, not strings. When a
//! viewer deserializes a message the same fields simply come back `Cow::Owned`.
//!
//! # Versioning
//!
//! [`FORMAT_VERSION`] goes up whenever a field changes meaning or disappears.
//! Adding a field with a default, or a new event kind, does not bump it: readers
//! skip fields they do not know and report kinds they do not know as errors of
//! that line only.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A file descriptor, as in ae: the index into the loop's `events` array.
pub type Fd = i32;

/// Version of this wire format. See the module doc for when it changes.
pub const FORMAT_VERSION: u32 = 1;

/// Arguments and previews are cut to this many bytes (plus a note of the length).
pub const SHORT_LEN: usize = 64;

/// A command's argv is cut to this many arguments in [`ProbeData::Command`].
pub const MAX_ARGS: usize = 16;

// ---------------------------------------------------------------------------
// Messages from loopscope to a viewer
// ---------------------------------------------------------------------------

/// One line of a trace stream, from the loop to a viewer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// First message of every stream: who is speaking.
    Hello(Hello),
    /// The full state of the loop, as of event [`Snapshot::seq`].
    Snapshot(Snapshot),
    /// One probe fired.
    Event(Event),
    /// This viewer lost events because it read too slowly (cumulative counts).
    Drops(Drops),
    /// The stepping gate's full state; sent whenever it changes.
    Gate(GateStatus),
    /// A control message was carried out.
    Ack(Ack),
    /// A control message was refused or could not be parsed; nothing changed.
    Error(ErrorReply),
    /// Where the leading viewer's guide is (see [`GuidePosition`]); sent
    /// whenever it moves, and to every new viewer after the gate.
    Guide(GuidePosition),
}

/// Where a guide is: the chapter and step a class follows.
///
/// The viewer in control of the loop (the teacher's tour, or an attached
/// viewer leading a class) publishes its guide's place with the `guide`
/// control; the loop passes it on to every viewer, and a viewer attached
/// with `--follow` shows the same step. Chapters are named by their `id`,
/// so a viewer whose chapters differ can say so instead of showing another
/// step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuidePosition {
    /// The chapter's `id` (from its front matter).
    pub chapter: String,
    /// The step on screen, 0-based.
    pub step: usize,
    /// The steps of that chapter the leading guide shows done, 0-based, so
    /// a follower ticks the same steps as the screen it follows.
    #[serde(default)]
    pub done: Vec<usize>,
    /// The viewer that published it (the loop fills this in).
    #[serde(default)]
    pub viewer: u64,
}

/// The static facts of a loop, sent first on every stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// [`FORMAT_VERSION`] of the sender.
    pub format: u32,
    /// The loopscope crate version of the sender.
    pub loopscope: Cow<'static, str>,
    /// The loop's `setsize`: the size of `events`, maxclients + 128 as in Redis.
    pub setsize: usize,
    /// serverCron frequency (`hz`).
    pub hz: u32,
    /// The Redis port clients connect to.
    pub port: u16,
    /// Wall-clock time of the trace clock's zero, in µs since the Unix epoch:
    /// every `t_us` in the stream counts from here.
    pub epoch_unix_us: u64,
    /// This viewer's id on an attach connection (0 for a file or the TUI).
    #[serde(default)]
    pub viewer: u64,
    /// This viewer may only watch: the attach port admitted it read-only
    /// (`attach --read-only`, `serve --trace-read-only`, a tour's class).
    #[serde(default)]
    pub read_only: bool,
    /// The sender's anchors: named places in its source, each with the Redis
    /// function it mirrors. A viewer of a replayed file built from another
    /// version of loopscope still knows where each anchor was.
    #[serde(default)]
    pub anchors: Vec<AnchorEntry>,
    /// The optional abilities of the sender, by name ([`FEATURES`]). A
    /// viewer asks only for what is listed; a sender without the field
    /// (loopscope before they existed) has none of them.
    #[serde(default)]
    pub features: Vec<Cow<'static, str>>,
}

/// The abilities this loopscope's tracer adds to format 1, each named once
/// it exists: `watch` (the `watch` control: lossless delivery of the events
/// a viewer's wait-conditions match) and `break_when` (breakpoints written in
/// the wait-condition language, `"on":"when"`), and `guide` (the `guide`
/// control and message: a class follows the leading viewer's chapter).
pub const FEATURES: [&str; 3] = ["watch", "break_when", "guide"];

/// One anchor of the sender's source (see `crate::source`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorEntry {
    pub name: Cow<'static, str>,
    pub file: Cow<'static, str>,
    pub line: u32,
    pub function: Cow<'static, str>,
    pub note: Cow<'static, str>,
    pub redis_function: Cow<'static, str>,
    pub redis_file: Cow<'static, str>,
    pub permalink: String,
}

/// Where a probe is in our source, and which Redis function that code mirrors.
/// Probes refer to a `&'static Site`; see [`site!`](crate::site).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Site {
    /// Path of our source file, relative to the crate root (`src/ae/mod.rs`).
    pub file: Cow<'static, str>,
    pub line: u32,
    /// Our function (`process_events`).
    pub function: Cow<'static, str>,
    /// The Redis function it mirrors (`aeProcessEvents`), empty if none.
    pub mirrors: Cow<'static, str>,
}

/// One probe that fired. The envelope fields come first; `kind` and the
/// kind's own fields are flattened into the same JSON object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the stream: 1, 2, 3, ... with no holes at the sender. A viewer
    /// that sees a jump knows exactly how many events it missed.
    pub seq: u64,
    /// The loop iteration (`process_events` call) the probe fired in.
    pub iter: u64,
    /// Trace clock: µs since [`Hello::epoch_unix_us`].
    pub t_us: u64,
    pub site: Cow<'static, Site>,
    #[serde(flatten)]
    pub data: ProbeData,
}

/// The name of a handler, ours and the Redis function it mirrors
/// (`read_query_from_client` / `readQueryFromClient`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handler {
    pub name: Cow<'static, str>,
    pub mirrors: Cow<'static, str>,
}

impl Handler {
    /// A handler name from static text: no allocation.
    pub const fn new(name: &'static str, mirrors: &'static str) -> Self {
        Handler {
            name: Cow::Borrowed(name),
            mirrors: Cow::Borrowed(mirrors),
        }
    }

    /// True if `name` is our name or the Redis name (breakpoints accept either).
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.mirrors.eq_ignore_ascii_case(name)
    }
}

/// What a probe saw. The variant is the probe's kind (see [`ProbeKind`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeData {
    /// A loop iteration starts (top of `aeProcessEvents`).
    IterationBegin {},
    /// The iteration ended; what it did, counted by the tracer.
    IterationEnd {
        /// Wall-clock time from `iteration_begin` to here, pauses included.
        duration_us: u64,
        file_events: u32,
        commands: u32,
        time_events: u32,
        /// The part of `duration_us` the gate held the loop paused (or
        /// waiting between played iterations); 0 in recordings made before
        /// the field existed.
        #[serde(default)]
        paused_us: u64,
    },
    /// `before_sleep` starts (Redis's `beforeSleep`).
    BeforeSleepBegin {},
    /// `before_sleep` is done: what it did, and the keyspace sizes after it.
    BeforeSleepEnd {
        /// Wall-clock time since `before_sleep_begin`, pauses included.
        duration_us: u64,
        /// The part of `duration_us` the gate held the loop paused.
        #[serde(default)]
        paused_us: u64,
        /// Counted by the tracer from the events between begin and end.
        did: BeforeSleepSummary,
        /// Non-empty databases after this `before_sleep`.
        keyspace: Vec<KeyspaceInfo>,
    },
    /// The loop is about to wait in `poll`, with this timeout and why.
    PollEnter {
        /// `None`: wait until an fd is ready, however long that takes.
        timeout_ms: Option<u64>,
        reason: PollReason,
    },
    /// `poll` returned: the `fired` array of this iteration.
    PollReturn { fired: Vec<Fired>, slept_us: u64 },
    /// `after_sleep` ran (Redis's `afterSleep`).
    AfterSleep {},
    /// A file event handler is about to be called for `fd`.
    FileEvent {
        fd: Fd,
        /// The direction being dispatched: `r` or `w`.
        mask: Mask,
        handler: Handler,
        /// True when the kernel did not report the fd this time: the
        /// level-trigger emulation fires it again because its last read or
        /// write did not reach `WouldBlock`.
        refired: bool,
    },
    /// A read from a client's socket (`readQueryFromClient`).
    Read {
        client: u64,
        fd: Fd,
        /// Bytes read by this call.
        bytes: u64,
        /// Unparsed bytes in the query buffer after the read.
        qbuf: u64,
        outcome: IoOutcome,
    },
    /// The query buffer was parsed and its complete commands run
    /// (`processInputBuffer`).
    InputProcessed {
        client: u64,
        fd: Fd,
        commands: u32,
        /// Bytes left in the query buffer (an incomplete request).
        qbuf: u64,
    },
    /// A command ran (`call`). Its reply waits in the client's buffer until
    /// `before_sleep` writes it.
    Command {
        client: u64,
        client_name: Option<String>,
        fd: Fd,
        db: u32,
        /// The command table's name (`get`, `client|list`); `None` if unknown.
        name: Option<Cow<'static, str>>,
        /// The arguments, each cut to [`SHORT_LEN`] bytes, at most [`MAX_ARGS`].
        argv: Vec<String>,
        /// The real number of arguments.
        argc: u32,
        /// The key arguments, cut like `argv`.
        keys: Vec<String>,
        reply: ReplyInfo,
        duration_us: u64,
    },
    /// Reply bytes written to a client's socket (`writeToClient`).
    Write {
        client: u64,
        fd: Fd,
        bytes: u64,
        /// Reply bytes still waiting after this write.
        pending: u64,
        outcome: IoOutcome,
    },
    /// A due time event's handler is about to be called
    /// (`processTimeEvents`): the loop is in its time-events phase.
    TimeEventStart { id: i64, handler: Handler },
    /// A time event handler ran (`processTimeEvents`).
    TimeEvent {
        id: i64,
        handler: Handler,
        /// When it runs next, on the trace clock; `None` = `AE_NOMORE`, deleted.
        next_us: Option<u64>,
        /// The interval the handler asked for.
        period_ms: Option<u64>,
        duration_us: u64,
    },
    /// The active expire cycle ran.
    ExpireCycle {
        /// Fast cycle (from `before_sleep`) or slow (from `serverCron`).
        fast: bool,
        sampled: u64,
        expired: u64,
        duration_us: u64,
    },
    /// A command looked a key up, found its deadline passed, and deleted it
    /// there and then (`expireIfNeeded`): lazy expiry, the other way keys
    /// go besides the active expire cycle. `client` ran the command.
    LazyExpired {
        client: u64,
        fd: Fd,
        db: u32,
        key: String,
    },
    /// `aeCreateFileEvent`: `mask` was added to `fd`, handled by `handler`.
    FileEventCreated {
        fd: Fd,
        mask: Mask,
        handler: Handler,
        /// The fd's whole mask afterwards.
        now: Mask,
    },
    /// `aeDeleteFileEvent`: `mask` was removed from `fd`.
    FileEventDeleted { fd: Fd, mask: Mask, now: Mask },
    /// `aeCreateTimeEvent`.
    TimeEventCreated {
        id: i64,
        handler: Handler,
        /// Due time on the trace clock.
        when_us: u64,
    },
    /// `aeDeleteTimeEvent` (or a handler returned `AE_NOMORE`).
    TimeEventDeleted { id: i64 },
    /// A client connected (`acceptTcpHandler` → `createClient`).
    ClientConnected { client: u64, fd: Fd, addr: String },
    /// A client was freed (`freeClient`).
    ClientClosed {
        client: u64,
        fd: Fd,
        addr: String,
        reason: String,
    },
    /// A blocking command found no data and parked the client (`blockForKeys`).
    ClientBlocked {
        client: u64,
        fd: Fd,
        /// The keys it waits on, in the order the command named them.
        keys: Vec<String>,
        /// When it gives up, in Unix ms; 0 waits forever.
        deadline_ms: u64,
    },
    /// Inside MULTI, a command was queued instead of run (`queueMultiCommand`).
    CommandQueued { client: u64, fd: Fd, name: String },
    /// A client whose wait ended resumes in `before_sleep`
    /// (`processUnblockedClients`); `reason` says how the wait ended.
    ClientUnblocked {
        client: u64,
        fd: Fd,
        reason: String,
        /// The reply the wait ended with (the served element, or the null of
        /// a timeout), if it was still unsent; absent in older recordings.
        #[serde(default)]
        reply: Option<ReplyInfo>,
    },
    /// A message was published (`pubsubPublishMessage`): `receivers` is how
    /// many subscriptions (channel and pattern) it was delivered to.
    Published { channel: String, receivers: u64 },
    /// A command was appended to the AOF buffer (`feedAppendOnlyFile`):
    /// `bytes` it took, `buffer` bytes waiting in the buffer after it.
    AofAppended {
        command: String,
        bytes: u64,
        buffer: u64,
    },
    /// `before_sleep` (or serverCron, for a retry) wrote the AOF buffer
    /// (`flushAppendOnlyFile`): `bytes` written, or why the write waited.
    AofFlushed {
        bytes: u64,
        /// Set when the write was postponed instead.
        postponed: Option<String>,
        /// The `appendfsync` policy in force.
        fsync: String,
    },
    /// The AOF was fsynced: inline under `always`, or handed to the
    /// background thread under `everysec`.
    AofFsynced { mode: String, background: bool },
    /// A client's writable handler was installed
    /// (`installClientWriteHandler`); `barrier` tells whether AE_BARRIER was
    /// set with it (AOF on with `appendfsync always`), which makes the loop
    /// run this fd's writer before its reader.
    WriteHandlerInstalled { client: u64, fd: Fd, barrier: bool },
    /// This iteration was entered from inside a long operation, not from
    /// the loop's `main` (`processEventsWhileBlocked`): `caller` is the
    /// Redis function that called it (`loadSingleAppendOnlyFile` while the
    /// AOF loads), `round` which of its at most 4 iterations this is.
    /// While loading, `loaded_bytes` of `total_bytes` are loaded.
    EventsWhileBlocked {
        caller: String,
        round: u32,
        loading: bool,
        loaded_bytes: u64,
        total_bytes: u64,
    },
}

/// The kind of a probe: [`ProbeData`] without its data. Breakpoints and drop
/// counters use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    IterationBegin,
    IterationEnd,
    BeforeSleepBegin,
    BeforeSleepEnd,
    PollEnter,
    PollReturn,
    AfterSleep,
    FileEvent,
    Read,
    InputProcessed,
    Command,
    Write,
    TimeEventStart,
    TimeEvent,
    ExpireCycle,
    LazyExpired,
    FileEventCreated,
    FileEventDeleted,
    TimeEventCreated,
    TimeEventDeleted,
    ClientConnected,
    ClientClosed,
    ClientBlocked,
    CommandQueued,
    ClientUnblocked,
    Published,
    AofAppended,
    AofFlushed,
    AofFsynced,
    WriteHandlerInstalled,
    EventsWhileBlocked,
}

impl ProbeKind {
    /// Every kind, in the order of the enum (the index used by drop counters).
    pub const ALL: [ProbeKind; 31] = [
        ProbeKind::IterationBegin,
        ProbeKind::IterationEnd,
        ProbeKind::BeforeSleepBegin,
        ProbeKind::BeforeSleepEnd,
        ProbeKind::PollEnter,
        ProbeKind::PollReturn,
        ProbeKind::AfterSleep,
        ProbeKind::FileEvent,
        ProbeKind::Read,
        ProbeKind::InputProcessed,
        ProbeKind::Command,
        ProbeKind::Write,
        ProbeKind::TimeEventStart,
        ProbeKind::TimeEvent,
        ProbeKind::ExpireCycle,
        ProbeKind::LazyExpired,
        ProbeKind::FileEventCreated,
        ProbeKind::FileEventDeleted,
        ProbeKind::TimeEventCreated,
        ProbeKind::TimeEventDeleted,
        ProbeKind::ClientConnected,
        ProbeKind::ClientClosed,
        ProbeKind::ClientBlocked,
        ProbeKind::CommandQueued,
        ProbeKind::ClientUnblocked,
        ProbeKind::Published,
        ProbeKind::AofAppended,
        ProbeKind::AofFlushed,
        ProbeKind::AofFsynced,
        ProbeKind::WriteHandlerInstalled,
        ProbeKind::EventsWhileBlocked,
    ];

    /// Position in [`ProbeKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl ProbeData {
    pub fn kind(&self) -> ProbeKind {
        match self {
            ProbeData::IterationBegin {} => ProbeKind::IterationBegin,
            ProbeData::IterationEnd { .. } => ProbeKind::IterationEnd,
            ProbeData::BeforeSleepBegin {} => ProbeKind::BeforeSleepBegin,
            ProbeData::BeforeSleepEnd { .. } => ProbeKind::BeforeSleepEnd,
            ProbeData::PollEnter { .. } => ProbeKind::PollEnter,
            ProbeData::PollReturn { .. } => ProbeKind::PollReturn,
            ProbeData::AfterSleep {} => ProbeKind::AfterSleep,
            ProbeData::FileEvent { .. } => ProbeKind::FileEvent,
            ProbeData::Read { .. } => ProbeKind::Read,
            ProbeData::InputProcessed { .. } => ProbeKind::InputProcessed,
            ProbeData::Command { .. } => ProbeKind::Command,
            ProbeData::Write { .. } => ProbeKind::Write,
            ProbeData::TimeEventStart { .. } => ProbeKind::TimeEventStart,
            ProbeData::TimeEvent { .. } => ProbeKind::TimeEvent,
            ProbeData::ExpireCycle { .. } => ProbeKind::ExpireCycle,
            ProbeData::LazyExpired { .. } => ProbeKind::LazyExpired,
            ProbeData::FileEventCreated { .. } => ProbeKind::FileEventCreated,
            ProbeData::FileEventDeleted { .. } => ProbeKind::FileEventDeleted,
            ProbeData::TimeEventCreated { .. } => ProbeKind::TimeEventCreated,
            ProbeData::TimeEventDeleted { .. } => ProbeKind::TimeEventDeleted,
            ProbeData::ClientConnected { .. } => ProbeKind::ClientConnected,
            ProbeData::ClientClosed { .. } => ProbeKind::ClientClosed,
            ProbeData::ClientBlocked { .. } => ProbeKind::ClientBlocked,
            ProbeData::CommandQueued { .. } => ProbeKind::CommandQueued,
            ProbeData::ClientUnblocked { .. } => ProbeKind::ClientUnblocked,
            ProbeData::Published { .. } => ProbeKind::Published,
            ProbeData::AofAppended { .. } => ProbeKind::AofAppended,
            ProbeData::AofFlushed { .. } => ProbeKind::AofFlushed,
            ProbeData::AofFsynced { .. } => ProbeKind::AofFsynced,
            ProbeData::WriteHandlerInstalled { .. } => ProbeKind::WriteHandlerInstalled,
            ProbeData::EventsWhileBlocked { .. } => ProbeKind::EventsWhileBlocked,
        }
    }

    /// The fd this probe is about, if any (breakpoints on fd use it).
    pub fn fd(&self) -> Option<Fd> {
        match self {
            ProbeData::FileEvent { fd, .. }
            | ProbeData::Read { fd, .. }
            | ProbeData::InputProcessed { fd, .. }
            | ProbeData::Command { fd, .. }
            | ProbeData::Write { fd, .. }
            | ProbeData::FileEventCreated { fd, .. }
            | ProbeData::FileEventDeleted { fd, .. }
            | ProbeData::ClientConnected { fd, .. }
            | ProbeData::ClientClosed { fd, .. }
            | ProbeData::ClientBlocked { fd, .. }
            | ProbeData::CommandQueued { fd, .. }
            | ProbeData::ClientUnblocked { fd, .. }
            | ProbeData::LazyExpired { fd, .. } => Some(*fd),
            _ => None,
        }
    }

    /// The client this probe is about, if it names one.
    pub fn client(&self) -> Option<u64> {
        match self {
            ProbeData::Read { client, .. }
            | ProbeData::InputProcessed { client, .. }
            | ProbeData::Command { client, .. }
            | ProbeData::Write { client, .. }
            | ProbeData::ClientConnected { client, .. }
            | ProbeData::ClientClosed { client, .. }
            | ProbeData::ClientBlocked { client, .. }
            | ProbeData::CommandQueued { client, .. }
            | ProbeData::ClientUnblocked { client, .. }
            | ProbeData::LazyExpired { client, .. }
            | ProbeData::WriteHandlerInstalled { client, .. } => Some(*client),
            _ => None,
        }
    }

    /// The handler this probe runs or registers, if any.
    pub fn handler(&self) -> Option<&Handler> {
        match self {
            ProbeData::FileEvent { handler, .. }
            | ProbeData::TimeEventStart { handler, .. }
            | ProbeData::TimeEvent { handler, .. }
            | ProbeData::FileEventCreated { handler, .. }
            | ProbeData::TimeEventCreated { handler, .. } => Some(handler),
            _ => None,
        }
    }
}

/// An ae event mask: readable, writable, barrier (`AE_READABLE`, `AE_WRITABLE`,
/// `AE_BARRIER`). On the wire it is a short string: `""`, `"r"`, `"w"`, `"rw"`,
/// with a trailing `b` when the barrier bit is set (`"rwb"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mask(pub u8);

impl Mask {
    pub const NONE: Mask = Mask(0);
    pub const READABLE: Mask = Mask(1);
    pub const WRITABLE: Mask = Mask(2);
    pub const BARRIER: Mask = Mask(4);

    pub fn contains(self, other: Mask) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Mask) -> Mask {
        Mask(self.0 | other.0)
    }

    pub fn without(self, other: Mask) -> Mask {
        Mask(self.0 & !other.0)
    }
}

impl fmt::Display for Mask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [
            (Mask::READABLE, 'r'),
            (Mask::WRITABLE, 'w'),
            (Mask::BARRIER, 'b'),
        ] {
            if self.contains(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Mask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // At most three letters: format into a stack buffer, no allocation.
        let mut buf = [0u8; 3];
        let mut n = 0;
        for (bit, c) in [
            (Mask::READABLE, b'r'),
            (Mask::WRITABLE, b'w'),
            (Mask::BARRIER, b'b'),
        ] {
            if self.contains(bit) {
                buf[n] = c;
                n += 1;
            }
        }
        s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or(""))
    }
}

impl<'de> Deserialize<'de> for Mask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        let mut mask = Mask::NONE;
        for c in s.chars() {
            let bit = match c {
                'r' => Mask::READABLE,
                'w' => Mask::WRITABLE,
                'b' => Mask::BARRIER,
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "bad mask letter {other:?}"
                    )));
                }
            };
            mask = mask.union(bit);
        }
        Ok(mask)
    }
}

/// One entry of the `fired` array filled by poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fired {
    pub fd: Fd,
    pub mask: Mask,
    /// Put there by the level-trigger emulation, not reported by the kernel.
    pub refired: bool,
}

/// Why `poll` waits as long as it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum PollReason {
    /// The nearest time event decides the timeout (0 if it is already due).
    Timer { id: i64, name: Cow<'static, str> },
    /// No time events: wait for I/O only.
    NoTimers,
    /// Some fds are still ready (their last I/O did not reach `WouldBlock`), so
    /// poll must not wait: the level-trigger emulation fires them again.
    StillReady { fds: Vec<Fd> },
    /// The caller asked not to wait (`AE_DONT_WAIT`).
    DontWait,
}

/// How a read or write call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "io", rename_all = "snake_case")]
pub enum IoOutcome {
    /// Bytes moved and the socket may have more: the fd stays ready, and the
    /// level-trigger emulation fires it again if nobody drains it.
    Ok,
    /// The call proved the socket drained (`WouldBlock`, or fewer bytes than
    /// asked): the fd is not ready again until the kernel says so.
    Drained,
    /// A write the socket took only in part: its send buffer is full, so the
    /// rest waits for the writable handler (a read that gets fewer bytes
    /// than asked is `Drained`).
    Short,
    /// The peer closed the connection.
    Eof,
    Error {
        message: String,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one `before_sleep` did, counted from the events it emitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeforeSleepSummary {
    /// Clients whose replies were written, and the bytes written.
    pub clients_written: u32,
    pub bytes_written: u64,
    /// Writable handlers installed for clients whose socket was full.
    pub write_handlers_installed: u32,
    pub clients_closed: u32,
    pub keys_expired: u64,
    /// AOF bytes written by `flushAppendOnlyFile`, before any reply (left
    /// out of the JSON while the AOF is off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub aof_bytes_written: u64,
    /// The AOF was fsynced (inline or handed to the background thread).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aof_fsynced: bool,
}

impl BeforeSleepSummary {
    /// Counts one event that happened inside `before_sleep`. The tracer
    /// builds the summary of `before_sleep_end` with it, and a viewer builds
    /// the summary of a `before_sleep` still running the same way, so the
    /// two always agree.
    pub fn count(&mut self, data: &ProbeData) {
        match data {
            ProbeData::Write { bytes, .. } => {
                self.clients_written += 1;
                self.bytes_written = self.bytes_written.saturating_add(*bytes);
            }
            ProbeData::FileEventCreated { mask, .. } if mask.contains(Mask::WRITABLE) => {
                self.write_handlers_installed += 1;
            }
            ProbeData::ClientClosed { .. } => self.clients_closed += 1,
            ProbeData::ExpireCycle { expired, .. } => {
                self.keys_expired = self.keys_expired.saturating_add(*expired)
            }
            ProbeData::AofFlushed { bytes, .. } => {
                self.aof_bytes_written = self.aof_bytes_written.saturating_add(*bytes)
            }
            ProbeData::AofFsynced { .. } => self.aof_fsynced = true,
            _ => {}
        }
    }
}

/// The type of a reply and the beginning of it, readable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyInfo {
    pub kind: ReplyKind,
    /// The first bytes of the encoded reply, escaped, cut to [`SHORT_LEN`].
    pub preview: String,
    /// Encoded size of the reply.
    pub bytes: u64,
}

/// RESP2/RESP3 reply types, named after their first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// `+OK`
    Status,
    /// `-ERR ...`
    Error,
    /// `:1`
    Integer,
    /// `$3 foo`
    Bulk,
    /// `$-1`, `*-1` or RESP3 `_`
    Null,
    /// `*2 ...`
    Array,
    /// RESP3 `%`
    Map,
    /// RESP3 `~`
    Set,
    /// RESP3 `,`
    Double,
    /// RESP3 `#`
    Boolean,
    /// RESP3 `=`
    Verbatim,
    /// RESP3 `(`
    BigNumber,
    /// RESP3 `>`
    Push,
    /// RESP3 `|`
    Attribute,
    /// The command queued no reply at all.
    None,
    /// A first byte that is no RESP type (should not happen).
    Unknown,
}

impl ReplyKind {
    /// The type in a word, as people say it: `bulk`, `array`.
    pub fn word(self) -> &'static str {
        match self {
            ReplyKind::Status => "status",
            ReplyKind::Error => "error",
            ReplyKind::Integer => "integer",
            ReplyKind::Bulk => "bulk",
            ReplyKind::Null => "null",
            ReplyKind::Array => "array",
            ReplyKind::Map => "map",
            ReplyKind::Set => "set",
            ReplyKind::Double => "double",
            ReplyKind::Boolean => "boolean",
            ReplyKind::Verbatim => "verbatim",
            ReplyKind::BigNumber => "big number",
            ReplyKind::Push => "push",
            ReplyKind::Attribute => "attribute",
            ReplyKind::None => "no reply",
            ReplyKind::Unknown => "unknown",
        }
    }

    /// The type of the encoded reply `resp`, from its first bytes.
    pub fn of(resp: &[u8]) -> ReplyKind {
        match resp {
            [] => ReplyKind::None,
            [b'$', b'-', ..] | [b'*', b'-', ..] | [b'_', ..] => ReplyKind::Null,
            [first, ..] => match first {
                b'+' => ReplyKind::Status,
                b'-' => ReplyKind::Error,
                b':' => ReplyKind::Integer,
                b'$' => ReplyKind::Bulk,
                b'*' => ReplyKind::Array,
                b'%' => ReplyKind::Map,
                b'~' => ReplyKind::Set,
                b',' => ReplyKind::Double,
                b'#' => ReplyKind::Boolean,
                b'=' => ReplyKind::Verbatim,
                b'(' => ReplyKind::BigNumber,
                b'>' => ReplyKind::Push,
                b'|' => ReplyKind::Attribute,
                _ => ReplyKind::Unknown,
            },
        }
    }
}

impl ReplyInfo {
    /// Describes the encoded reply bytes `resp` (what one command appended).
    pub fn from_resp(resp: &[u8]) -> ReplyInfo {
        ReplyInfo {
            kind: ReplyKind::of(resp),
            preview: short_bytes(resp),
            bytes: resp.len() as u64,
        }
    }

    /// The reply as the UI shows it: the escaped preview while it is short,
    /// and for a large one its RESP header, type and size
    /// (`$33554432 bulk (32 MiB)`), which say more than a screen of `\x00`.
    pub fn shown(&self) -> String {
        if self.bytes <= SHORT_LEN as u64 {
            return self.preview.clone();
        }
        let header = self.preview.split("\\r\\n").next().unwrap_or_default();
        let declared = header.get(1..).and_then(|n| n.parse::<u64>().ok());
        match (self.kind, declared) {
            (ReplyKind::Bulk | ReplyKind::Verbatim, Some(len)) => {
                format!("{header} {} ({})", self.kind.word(), size_text(len))
            }
            _ => format!(
                "{header} {} ({} in all)",
                self.kind.word(),
                size_text(self.bytes)
            ),
        }
    }

    /// Like [`ReplyInfo::from_resp`] without the preview (which costs an
    /// allocation): for events nobody will read.
    pub fn summary(resp: &[u8]) -> ReplyInfo {
        ReplyInfo {
            kind: ReplyKind::of(resp),
            preview: String::new(),
            bytes: resp.len() as u64,
        }
    }
}

/// `bytes` as readable text for a trace: printable ASCII as is, `\r`, `\n`,
/// `\t`, `\\` and `\"` escaped, other bytes as `\xNN`, cut after [`SHORT_LEN`]
/// bytes with a note of the full length: `aaaa…(+936 bytes)`.
/// A size for people, in binary units: `800 bytes`, `16 KiB`, `1.5 MiB`,
/// `32 MiB` (one decimal below ten, where it matters).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} byte{}", if bytes == 1 { "" } else { "s" });
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 && value.fract() >= 0.05 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{} {}", value.round(), UNITS[unit])
    }
}

pub fn short_bytes(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHORT_LEN)];
    // Most arguments (keys, small values) are plain text that needs no
    // escaping: copy them in one go.
    let plain = shown
        .iter()
        .all(|&b| matches!(b, 0x20..=0x7e) && b != b'\\' && b != b'"');
    if plain
        && shown.len() == bytes.len()
        && let Ok(text) = std::str::from_utf8(shown)
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(shown.len() + 16);
    for &b in shown {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > shown.len() {
        let _ = write!(out, "…(+{} bytes)", bytes.len() - shown.len());
    }
    out
}

/// Cumulative count of events one viewer lost, per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drops {
    pub total: u64,
    pub by_kind: BTreeMap<ProbeKind, u64>,
    /// Of `total`, events a `watch` asked for that were lost all the same,
    /// because the viewer let even the watched allowance fill up. Zero for a
    /// viewer that reads its stream at all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub watched: u64,
}

// ---------------------------------------------------------------------------
// The loop's state
// ---------------------------------------------------------------------------

/// The whole state of the loop at one point of the stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last event reflected in this state: events with a larger `seq` apply on top.
    pub seq: u64,
    pub iter: u64,
    pub t_us: u64,
    pub setsize: usize,
    /// Highest fd with a registered event, -1 if none (ae's `maxfd`).
    pub maxfd: Fd,
    /// Registered file events (ae's `events` array without its empty slots), by fd.
    pub file_events: Vec<FileEventInfo>,
    /// The `fired` array of the current iteration.
    pub fired: Vec<Fired>,
    /// Time events, by id.
    pub time_events: Vec<TimeEventInfo>,
    /// Listening sockets.
    pub listeners: Vec<ListenerInfo>,
    /// Connected clients, by id.
    pub clients: Vec<ClientInfo>,
    /// Non-empty databases.
    pub keyspace: Vec<KeyspaceInfo>,
}

/// One used slot of the `events` array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileEventInfo {
    pub fd: Fd,
    pub mask: Mask,
    /// `rfileProc`
    pub read: Option<Handler>,
    /// `wfileProc`
    pub write: Option<Handler>,
    /// What the fd is.
    pub what: FdRole,
}

/// What an fd is, so a viewer can label the `events` array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum FdRole {
    Listener {
        addr: String,
    },
    Client {
        client: u64,
        addr: String,
        name: Option<String>,
    },
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeEventInfo {
    pub id: i64,
    pub handler: Handler,
    /// Due time on the trace clock.
    pub when_us: u64,
    /// The interval the handler returned last time it ran.
    pub period_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerInfo {
    pub fd: Fd,
    pub addr: String,
}

/// One client, with the fields `CLIENT LIST` would show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub id: u64,
    pub fd: Fd,
    pub addr: String,
    pub name: Option<String>,
    pub db: u32,
    /// Unparsed bytes in the query buffer.
    pub qbuf: u64,
    /// Reply bytes not yet written.
    pub reply_bytes: u64,
    pub last_cmd: Cow<'static, str>,
    /// Waiting in a blocking command (BLPOP and friends), from its
    /// `client_blocked` to its `client_unblocked` (Redis's `b` flag, which
    /// stays until the client resumes in beforeSleep).
    #[serde(default)]
    pub blocked: bool,
    /// Connection and last-command times on the trace clock (age and idle
    /// are "now" minus these).
    pub ctime_us: u64,
    pub last_interaction_us: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyspaceInfo {
    pub db: u32,
    pub keys: u64,
    pub expires: u64,
}

impl Snapshot {
    /// Applies one event on top of this state: the reducer a viewer uses to
    /// follow the loop between snapshots. Events describe resulting facts, so
    /// applying one twice, or after a gap, never invents state; a gap only
    /// leaves some facts older than they could be until the next snapshot.
    pub fn apply(&mut self, ev: &Event) {
        self.seq = ev.seq;
        self.iter = ev.iter;
        self.t_us = ev.t_us;
        match &ev.data {
            ProbeData::PollReturn { fired, .. } => self.fired.clone_from(fired),
            ProbeData::IterationBegin {} => self.fired.clear(),
            ProbeData::BeforeSleepEnd { keyspace, .. } => self.keyspace.clone_from(keyspace),
            ProbeData::FileEventCreated {
                fd,
                mask,
                handler,
                now,
            } => {
                let what = self.fd_role(*fd);
                let entry = match self.file_events.binary_search_by_key(fd, |f| f.fd) {
                    Ok(i) => &mut self.file_events[i],
                    Err(i) => {
                        let fresh = FileEventInfo {
                            fd: *fd,
                            mask: Mask::NONE,
                            read: None,
                            write: None,
                            what,
                        };
                        self.file_events.insert(i, fresh);
                        &mut self.file_events[i]
                    }
                };
                entry.mask = *now;
                if mask.contains(Mask::READABLE) {
                    entry.read = Some(handler.clone());
                }
                if mask.contains(Mask::WRITABLE) {
                    entry.write = Some(handler.clone());
                }
                self.maxfd = self.maxfd.max(*fd);
            }
            ProbeData::FileEventDeleted { fd, now, .. } => {
                if let Ok(i) = self.file_events.binary_search_by_key(fd, |f| f.fd) {
                    let entry = &mut self.file_events[i];
                    entry.mask = *now;
                    if !now.contains(Mask::READABLE) {
                        entry.read = None;
                    }
                    if !now.contains(Mask::WRITABLE) {
                        entry.write = None;
                    }
                    if now.without(Mask::BARRIER).is_empty() {
                        self.file_events.remove(i);
                    }
                }
                // As in ae: when the top fd empties, maxfd falls to the next used fd.
                self.maxfd = self.file_events.last().map_or(-1, |f| f.fd);
            }
            ProbeData::TimeEventCreated {
                id,
                handler,
                when_us,
            } => {
                let info = TimeEventInfo {
                    id: *id,
                    handler: handler.clone(),
                    when_us: *when_us,
                    period_ms: None,
                };
                match self.time_events.binary_search_by_key(id, |t| t.id) {
                    Ok(i) => self.time_events[i] = info,
                    Err(i) => self.time_events.insert(i, info),
                }
            }
            ProbeData::TimeEventDeleted { id } => self.time_events.retain(|t| t.id != *id),
            ProbeData::TimeEvent {
                id,
                next_us,
                period_ms,
                ..
            } => match next_us {
                Some(next) => {
                    if let Some(t) = self.time_events.iter_mut().find(|t| t.id == *id) {
                        t.when_us = *next;
                        t.period_ms = *period_ms;
                    }
                }
                None => self.time_events.retain(|t| t.id != *id),
            },
            ProbeData::ClientConnected { client, fd, addr } => {
                let info = ClientInfo {
                    id: *client,
                    fd: *fd,
                    addr: addr.clone(),
                    name: None,
                    db: 0,
                    qbuf: 0,
                    reply_bytes: 0,
                    last_cmd: Cow::Borrowed("NULL"),
                    blocked: false,
                    ctime_us: ev.t_us,
                    last_interaction_us: ev.t_us,
                };
                match self.clients.binary_search_by_key(client, |c| c.id) {
                    Ok(i) => self.clients[i] = info,
                    Err(i) => self.clients.insert(i, info),
                }
                self.relabel(*fd);
            }
            ProbeData::ClientBlocked { client, .. } | ProbeData::ClientUnblocked { client, .. } => {
                let blocked = matches!(ev.data, ProbeData::ClientBlocked { .. });
                if let Some(c) = self.client_mut(*client) {
                    c.blocked = blocked;
                }
            }
            ProbeData::ClientClosed { client, fd, .. } => {
                self.clients.retain(|c| c.id != *client);
                self.relabel(*fd);
            }
            ProbeData::Read { client, qbuf, .. }
            | ProbeData::InputProcessed { client, qbuf, .. } => {
                if let Some(c) = self.client_mut(*client) {
                    c.qbuf = *qbuf;
                }
            }
            ProbeData::Command {
                client,
                client_name,
                db,
                name,
                reply,
                ..
            } => {
                let t = ev.t_us;
                if let Some(c) = self.client_mut(*client) {
                    c.name.clone_from(client_name);
                    c.db = *db;
                    c.last_cmd = name.clone().unwrap_or(Cow::Borrowed("NULL"));
                    c.last_interaction_us = t;
                    c.reply_bytes = c.reply_bytes.saturating_add(reply.bytes);
                }
            }
            ProbeData::Write {
                client, pending, ..
            } => {
                if let Some(c) = self.client_mut(*client) {
                    c.reply_bytes = *pending;
                }
            }
            ProbeData::IterationEnd { .. }
            | ProbeData::BeforeSleepBegin {}
            | ProbeData::PollEnter { .. }
            | ProbeData::AfterSleep {}
            | ProbeData::FileEvent { .. }
            | ProbeData::TimeEventStart { .. }
            | ProbeData::ExpireCycle { .. }
            | ProbeData::LazyExpired { .. }
            // The client table keeps no MULTI flag: queueing shows in the
            // event stream, not in the snapshot.
            | ProbeData::CommandQueued { .. }
            | ProbeData::Published { .. }
            | ProbeData::AofAppended { .. }
            | ProbeData::AofFlushed { .. }
            | ProbeData::AofFsynced { .. }
            | ProbeData::WriteHandlerInstalled { .. }
            | ProbeData::EventsWhileBlocked { .. } => {}
        }
    }

    /// What `fd` is, from the listeners and clients this state knows.
    pub fn fd_role(&self, fd: Fd) -> FdRole {
        if let Some(l) = self.listeners.iter().find(|l| l.fd == fd) {
            return FdRole::Listener {
                addr: l.addr.clone(),
            };
        }
        match self.clients.iter().find(|c| c.fd == fd) {
            Some(c) => FdRole::Client {
                client: c.id,
                addr: c.addr.clone(),
                name: c.name.clone(),
            },
            None => FdRole::Other,
        }
    }

    /// Sets every file event's [`FileEventInfo::what`] from the listeners and
    /// clients (a snapshot builder calls this after filling all three).
    pub fn relabel_all(&mut self) {
        for i in 0..self.file_events.len() {
            self.file_events[i].what = self.fd_role(self.file_events[i].fd);
        }
    }

    fn relabel(&mut self, fd: Fd) {
        let what = self.fd_role(fd);
        if let Some(f) = self.file_events.iter_mut().find(|f| f.fd == fd) {
            f.what = what;
        }
    }

    fn client_mut(&mut self, id: u64) -> Option<&mut ClientInfo> {
        self.clients
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .map(|i| &mut self.clients[i])
    }
}

// ---------------------------------------------------------------------------
// The stepping gate, as viewers see it
// ---------------------------------------------------------------------------

/// What a step runs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepUnit {
    /// The very next probe.
    #[default]
    Probe,
    /// The next file event dispatched.
    FileEvent,
    /// The start of the next iteration.
    Iteration,
}

/// What the loop is doing with respect to the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GateState {
    /// Runs freely; only breakpoints stop it.
    Running,
    /// Blocked at a probe, waiting for a control message.
    Paused,
    /// Runs until the next probe of the given unit (or a breakpoint).
    Stepping { unit: StepUnit },
    /// Runs one iteration, waits `interval_ms`, runs the next...
    Playing { interval_ms: u64 },
}

/// Why the loop stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "because", rename_all = "snake_case")]
pub enum StopReason {
    /// `--start-paused`: before the first iteration.
    StartPaused,
    /// A viewer asked to pause.
    Pause,
    /// A step finished.
    Step,
    /// A breakpoint matched.
    Breakpoint { id: u32 },
}

/// Where the paused loop is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopPoint {
    /// The event it is paused at (already sent: the loop stops after emitting it).
    pub seq: u64,
    pub kind: ProbeKind,
    pub reason: StopReason,
}

/// The gate's full state; each change sends a new one, so it is never stale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateStatus {
    #[serde(flatten)]
    pub state: GateState,
    /// Set while paused.
    pub at: Option<StopPoint>,
    pub breakpoints: Vec<Breakpoint>,
    /// The viewer in control, if any.
    pub controller: Option<u64>,
}

/// What a breakpoint matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum BreakOn {
    /// Any probe of this kind.
    Kind { kind: ProbeKind },
    /// Any probe about this fd (file events, reads, writes, commands, ...).
    Fd { fd: Fd },
    /// A file or time event run or registered with this handler (our name or
    /// the Redis name, any case).
    Handler { name: String },
    /// A command with this name (any case, `client|list` for subcommands).
    Command { name: String },
    /// A command with a key matching this glob (Redis `KEYS` syntax).
    Key { pattern: String },
    /// An event that meets a wait-condition of the guide's language
    /// (`read bytes>=16384`, `command name=set key=foo`; see
    /// [`crate::walkthrough::condition`]). The gate parses it when the
    /// breakpoint is added and refuses text that does not parse.
    When { when: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakpoint {
    pub id: u32,
    pub enabled: bool,
    #[serde(flatten)]
    pub on: BreakOn,
}

// ---------------------------------------------------------------------------
// Messages from a viewer to loopscope
// ---------------------------------------------------------------------------

/// One control line from a viewer. `id` is optional and echoed in the
/// [`Ack`] or [`ErrorReply`], so a viewer can match answers to requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(flatten)]
    pub control: Control,
}

/// What a viewer can ask. Anything but [`Control::Snapshot`] needs control of
/// the loop; the first viewer to ask gets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Control {
    TakeControl,
    ReleaseControl,
    /// Stop at the next probe.
    Pause,
    /// Run to the next probe of `unit` (default: the next probe).
    Step {
        #[serde(default)]
        unit: StepUnit,
    },
    /// Run freely until a breakpoint.
    Continue,
    /// Run one iteration every `interval_ms`; sending it again changes the speed.
    Play {
        interval_ms: u64,
    },
    BreakAdd {
        #[serde(flatten)]
        on: BreakOn,
    },
    /// `bp` is the breakpoint's id (`id` is the request's own, see [`ControlRequest`]).
    BreakRemove {
        bp: u32,
    },
    BreakEnable {
        bp: u32,
    },
    BreakDisable {
        bp: u32,
    },
    /// Send me a fresh snapshot (allowed without control).
    Snapshot,
    /// Deliver me every event that meets one of these wait-conditions (the
    /// guide's language) even when my queue is full, so a guide never misses
    /// the event its step waits for. Replaces the previous list; an empty list
    /// ends it. Allowed without control: it changes only this viewer's stream.
    Watch {
        conditions: Vec<String>,
    },
    /// Tell every viewer where my guide is (needs control: the viewer that
    /// moves the loop leads the class). `viewer` is ignored on the way in.
    Guide(GuidePosition),
}

impl Control {
    /// The `cmd` name, for acks and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Control::TakeControl => "take_control",
            Control::ReleaseControl => "release_control",
            Control::Pause => "pause",
            Control::Step { .. } => "step",
            Control::Continue => "continue",
            Control::Play { .. } => "play",
            Control::BreakAdd { .. } => "break_add",
            Control::BreakRemove { .. } => "break_remove",
            Control::BreakEnable { .. } => "break_enable",
            Control::BreakDisable { .. } => "break_disable",
            Control::Snapshot => "snapshot",
            Control::Watch { .. } => "watch",
            Control::Guide(_) => "guide",
        }
    }
}

/// A control message was carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub cmd: Cow<'static, str>,
    /// The new breakpoint's id, for `break_add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakpoint: Option<u32>,
}

/// A control message was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    static SITE: Site = Site {
        file: Cow::Borrowed("src/ae/mod.rs"),
        line: 10,
        function: Cow::Borrowed("process_events"),
        mirrors: Cow::Borrowed("aeProcessEvents"),
    };

    fn ev(seq: u64, data: ProbeData) -> Event {
        Event {
            seq,
            iter: 1,
            t_us: seq * 10,
            site: Cow::Borrowed(&SITE),
            data,
        }
    }

    fn roundtrip(m: &Message) -> Message {
        let line = serde_json::to_string(m).expect("serialize");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn event_is_flat_json_and_roundtrips() {
        let m = Message::Event(ev(
            7,
            ProbeData::FileEvent {
                fd: 8,
                mask: Mask::READABLE,
                handler: Handler::new("h", "rH"),
                refired: true,
            },
        ));
        let v: serde_json::Value = serde_json::to_value(&m).expect("value");
        assert_eq!(v["type"], "event");
        assert_eq!(v["kind"], "file_event");
        assert_eq!(v["mask"], "r");
        assert_eq!(v["site"]["mirrors"], "aeProcessEvents");
        assert_eq!(roundtrip(&m), m);
    }

    #[test]
    fn end_events_recorded_before_paused_us_read_as_never_paused() {
        let old = r#"{"type":"event","seq":9,"iter":2,"t_us":90,"site":{"file":"f","line":1,"function":"g","mirrors":""},"kind":"iteration_end","duration_us":700,"file_events":1,"commands":0,"time_events":0}"#;
        let Ok(Message::Event(ev)) = serde_json::from_str::<Message>(old) else {
            panic!("an old iteration_end still reads");
        };
        assert!(matches!(
            ev.data,
            ProbeData::IterationEnd {
                duration_us: 700,
                paused_us: 0,
                ..
            }
        ));
        let old = r#"{"type":"event","seq":3,"iter":1,"t_us":9,"site":{"file":"f","line":1,"function":"g","mirrors":""},"kind":"before_sleep_end","duration_us":4,"did":{"clients_written":0,"bytes_written":0,"write_handlers_installed":0,"clients_closed":0,"keys_expired":0},"keyspace":[]}"#;
        assert!(matches!(
            serde_json::from_str::<Message>(old),
            Ok(Message::Event(Event {
                data: ProbeData::BeforeSleepEnd { paused_us: 0, .. },
                ..
            }))
        ));
    }

    #[test]
    fn every_kind_index_matches_all() {
        for (i, k) in ProbeKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }

    #[test]
    fn mask_wire_form() {
        let m = Mask::READABLE.union(Mask::WRITABLE).union(Mask::BARRIER);
        assert_eq!(serde_json::to_string(&m).expect("ser"), "\"rwb\"");
        assert_eq!(
            serde_json::from_str::<Mask>("\"w\"").expect("de"),
            Mask::WRITABLE
        );
        assert!(serde_json::from_str::<Mask>("\"x\"").is_err());
    }

    #[test]
    fn control_lines_parse() {
        let r: ControlRequest =
            serde_json::from_str(r#"{"cmd":"step","unit":"file_event","id":3}"#).expect("step");
        assert_eq!(
            r,
            ControlRequest {
                id: Some(3),
                control: Control::Step {
                    unit: StepUnit::FileEvent
                }
            }
        );
        let r: ControlRequest = serde_json::from_str(r#"{"cmd":"step"}"#).expect("step default");
        assert_eq!(
            r.control,
            Control::Step {
                unit: StepUnit::Probe
            }
        );
        let r: ControlRequest =
            serde_json::from_str(r#"{"cmd":"break_add","on":"key","pattern":"user:*"}"#)
                .expect("bp");
        assert_eq!(
            r.control,
            Control::BreakAdd {
                on: BreakOn::Key {
                    pattern: "user:*".into()
                }
            }
        );
        assert!(serde_json::from_str::<ControlRequest>(r#"{"cmd":"play"}"#).is_err());
        assert!(serde_json::from_str::<ControlRequest>(r#"{"cmd":"dance"}"#).is_err());
    }

    #[test]
    fn short_bytes_escapes_and_cuts() {
        assert_eq!(short_bytes(b"+OK\r\n"), "+OK\\r\\n");
        assert_eq!(short_bytes(&[0xff, b'"']), "\\xff\\\"");
        let long = vec![b'a'; SHORT_LEN + 10];
        assert_eq!(
            short_bytes(&long),
            format!("{}…(+10 bytes)", "a".repeat(SHORT_LEN))
        );
    }

    #[test]
    fn large_replies_are_summarised_short_ones_shown() {
        assert_eq!(size_text(1), "1 byte");
        assert_eq!(size_text(800), "800 bytes");
        assert_eq!(size_text(16 * 1024), "16 KiB");
        assert_eq!(size_text(1536 * 1024), "1.5 MiB");
        assert_eq!(size_text(33_554_432), "32 MiB");
        assert_eq!(ReplyInfo::from_resp(b"+OK\r\n").shown(), "+OK\\r\\n");
        let mut big = b"$33554432\r\n".to_vec();
        big.resize(big.len() + 33_554_432, 0);
        big.extend_from_slice(b"\r\n");
        assert_eq!(
            ReplyInfo::from_resp(&big).shown(),
            "$33554432 bulk (32 MiB)"
        );
        let mut many = b"*1000\r\n".to_vec();
        for _ in 0..1000 {
            many.extend_from_slice(b":1\r\n");
        }
        assert_eq!(
            ReplyInfo::from_resp(&many).shown(),
            "*1000 array (3.9 KiB in all)"
        );
    }

    #[test]
    fn reply_kinds() {
        assert_eq!(ReplyInfo::from_resp(b"$-1\r\n").kind, ReplyKind::Null);
        assert_eq!(ReplyInfo::from_resp(b"$3\r\nbar\r\n").kind, ReplyKind::Bulk);
        assert_eq!(ReplyInfo::from_resp(b"").kind, ReplyKind::None);
        assert_eq!(ReplyInfo::from_resp(b"-ERR x\r\n").kind, ReplyKind::Error);
    }

    #[test]
    fn reducer_follows_file_events_and_clients() {
        let mut s = Snapshot {
            maxfd: -1,
            ..Snapshot::default()
        };
        let h = Handler::new("read_query_from_client", "readQueryFromClient");
        s.apply(&ev(
            1,
            ProbeData::ClientConnected {
                client: 4,
                fd: 9,
                addr: "127.0.0.1:5000".into(),
            },
        ));
        s.apply(&ev(
            2,
            ProbeData::FileEventCreated {
                fd: 9,
                mask: Mask::READABLE,
                handler: h.clone(),
                now: Mask::READABLE,
            },
        ));
        assert_eq!(s.maxfd, 9);
        assert_eq!(s.file_events[0].read, Some(h));
        assert!(matches!(
            s.file_events[0].what,
            FdRole::Client { client: 4, .. }
        ));
        // Applying the same fact twice changes nothing.
        let before = s.clone();
        s.apply(&ev(
            2,
            ProbeData::FileEventCreated {
                fd: 9,
                mask: Mask::READABLE,
                handler: Handler::new("read_query_from_client", "readQueryFromClient"),
                now: Mask::READABLE,
            },
        ));
        assert_eq!(s, before);
        s.apply(&ev(
            3,
            ProbeData::FileEventDeleted {
                fd: 9,
                mask: Mask::READABLE,
                now: Mask::NONE,
            },
        ));
        s.apply(&ev(
            4,
            ProbeData::ClientClosed {
                client: 4,
                fd: 9,
                addr: "127.0.0.1:5000".into(),
                reason: "eof".into(),
            },
        ));
        assert!(s.file_events.is_empty());
        assert!(s.clients.is_empty());
        assert_eq!(s.maxfd, -1);
        assert_eq!(s.seq, 4);
    }

    #[test]
    fn reducer_follows_time_events() {
        let mut s = Snapshot::default();
        let h = Handler::new("server_cron", "serverCron");
        s.apply(&ev(
            1,
            ProbeData::TimeEventCreated {
                id: 0,
                handler: h.clone(),
                when_us: 100,
            },
        ));
        s.apply(&ev(
            2,
            ProbeData::TimeEvent {
                id: 0,
                handler: h.clone(),
                next_us: Some(200),
                period_ms: Some(100),
                duration_us: 3,
            },
        ));
        assert_eq!(s.time_events[0].when_us, 200);
        assert_eq!(s.time_events[0].period_ms, Some(100));
        s.apply(&ev(
            3,
            ProbeData::TimeEvent {
                id: 0,
                handler: h,
                next_us: None,
                period_ms: None,
                duration_us: 3,
            },
        ));
        assert!(s.time_events.is_empty());
    }
}

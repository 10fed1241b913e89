//! Wait-conditions: a small language for "the step is done when the loop does X".
//!
//! A condition names a kind of trace event and, optionally, filters on its
//! fields:
//!
//! ```text
//! file_event handler=read_query_from_client
//! command name=SET key=greet*
//! poll_enter why=still_ready
//! read bytes>=16384
//! ```
//!
//! The event names are the probe kinds of the trace ([`ProbeKind`], written in
//! `snake_case`), plus a few shorthands for things chapters often wait for:
//!
//! | shorthand | means |
//! |---|---|
//! | `write_handler installed` | `file_event_created handler=send_reply_to_client` |
//! | `write_handler removed` | `file_event_deleted mask=w now=r` |
//! | `key_expired` | `expire_cycle expired>=1` |
//! | `refired` | `file_event refired=yes` |
//!
//! A filter is `field`, an operator and a value, without spaces around the
//! operator (quote the value if it has spaces: `client_name="my app"`).
//! Operators: `=` and `!=` for every field; `>`, `>=`, `<`, `<=` for numbers.
//! Text is compared without regard to case; a command `name` matches the
//! command table's name (`set`, `config|set`), and a container's name alone
//! (`config`) matches all its subcommands; a handler matches our name or the
//! Redis name (`read_query_from_client` or `readQueryFromClient`); `key` is a
//! Redis `KEYS`-style pattern that must match one of the command's keys; a
//! mask is written with the letters `r`, `w`, `b` and means "has these flags",
//! the way Redis tests a mask (`mask & AE_WRITABLE`): `mask=w` holds for `w`,
//! `rw` and `wb` alike, `mask!=w` for a mask without `w`, and `mask=none` only
//! for the empty mask (see [`mask_holds`]); yes/no fields take `yes`, `no`,
//! `true` or `false`.
//!
//! Every field a kind has is listed by [`fields_of`]; a condition naming an
//! unknown event, an unknown field or a value of the wrong type is refused when
//! the chapter is loaded, with a message that lists what would be accepted.

use std::fmt;

use crate::trace::breakpoint::glob_match;
use crate::trace::model::{
    BreakOn, Event, Handler, IoOutcome, Mask, PollReason, ProbeData, ProbeKind,
};

/// One parsed condition: an event kind and filters that must all hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub kind: ProbeKind,
    pub filters: Vec<Filter>,
    /// The condition as the chapter wrote it, for display.
    pub text: String,
}

/// `field op value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub field: Field,
    pub op: Op,
    pub value: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A filter's expected value, already checked against the field's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(i128),
    /// For optional numbers (`timeout_ms`): the value is absent.
    Nothing,
    Text(String),
    Bool(bool),
    Mask(Mask),
}

/// The type of a field, which decides the operators and values it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Num,
    /// A number that may be absent; the value `none` matches absence.
    OptNum,
    Text,
    /// One of a fixed set of words.
    Word(&'static [&'static str]),
    Handler,
    /// A `KEYS` pattern against every key of a command.
    Keys,
    Bool,
    Mask,
}

/// A field of some event kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Iter,
    Fd,
    Mask,
    Now,
    Handler,
    Refired,
    Client,
    ClientName,
    Addr,
    Reason,
    Bytes,
    Qbuf,
    Pending,
    Outcome,
    Commands,
    Name,
    Argc,
    Key,
    Db,
    Reply,
    ReplyBytes,
    DurationUs,
    Id,
    PeriodMs,
    Fast,
    Sampled,
    Expired,
    TimeoutMs,
    Why,
    Timer,
    FiredCount,
    RefiredCount,
    SleptUs,
    FileEvents,
    TimeEvents,
    ClientsWritten,
    BytesWritten,
    WriteHandlersInstalled,
    ClientsClosed,
    KeysExpired,
    Receivers,
}

const OUTCOMES: &[&str] = &["ok", "drained", "short", "eof", "error"];
const WHYS: &[&str] = &["timer", "no_timers", "still_ready", "dont_wait"];
const REPLY_KINDS: &[&str] = &[
    "status",
    "error",
    "integer",
    "bulk",
    "null",
    "array",
    "map",
    "set",
    "double",
    "boolean",
    "verbatim",
    "big_number",
    "push",
    "attribute",
    "none",
    "unknown",
];

impl Field {
    fn ty(self) -> Type {
        use Field::*;
        match self {
            Mask | Now => Type::Mask,
            Handler | Timer => Type::Handler,
            Refired | Fast => Type::Bool,
            ClientName | Addr | Reason | Name => Type::Text,
            Outcome => Type::Word(OUTCOMES),
            Why => Type::Word(WHYS),
            Reply => Type::Word(REPLY_KINDS),
            Key => Type::Keys,
            TimeoutMs | PeriodMs => Type::OptNum,
            _ => Type::Num,
        }
    }
}

/// Every event name a condition may start with, with its fields. `iter` (the
/// loop iteration) is accepted for every kind.
pub fn fields_of(kind: ProbeKind) -> &'static [(&'static str, Field)] {
    use Field::*;
    match kind {
        ProbeKind::IterationBegin | ProbeKind::BeforeSleepBegin | ProbeKind::AfterSleep => &[],
        ProbeKind::IterationEnd => &[
            ("duration_us", DurationUs),
            ("file_events", FileEvents),
            ("commands", Commands),
            ("time_events", TimeEvents),
        ],
        ProbeKind::BeforeSleepEnd => &[
            ("duration_us", DurationUs),
            ("clients_written", ClientsWritten),
            ("bytes_written", BytesWritten),
            ("write_handlers_installed", WriteHandlersInstalled),
            ("clients_closed", ClientsClosed),
            ("keys_expired", KeysExpired),
        ],
        ProbeKind::PollEnter => &[("timeout_ms", TimeoutMs), ("why", Why), ("timer", Timer)],
        ProbeKind::PollReturn => &[
            ("fired", FiredCount),
            ("refired", RefiredCount),
            ("slept_us", SleptUs),
        ],
        ProbeKind::FileEvent => &[
            ("fd", Fd),
            ("mask", Mask),
            ("handler", Handler),
            ("refired", Refired),
        ],
        ProbeKind::Read => &[
            ("client", Client),
            ("fd", Fd),
            ("bytes", Bytes),
            ("qbuf", Qbuf),
            ("outcome", Outcome),
        ],
        ProbeKind::InputProcessed => &[
            ("client", Client),
            ("fd", Fd),
            ("commands", Commands),
            ("qbuf", Qbuf),
        ],
        ProbeKind::Command => &[
            ("name", Name),
            ("key", Key),
            ("argc", Argc),
            ("client", Client),
            ("client_name", ClientName),
            ("fd", Fd),
            ("db", Db),
            ("reply", Reply),
            ("reply_bytes", ReplyBytes),
            ("duration_us", DurationUs),
        ],
        ProbeKind::Write => &[
            ("client", Client),
            ("fd", Fd),
            ("bytes", Bytes),
            ("pending", Pending),
            ("outcome", Outcome),
        ],
        ProbeKind::TimeEventStart => &[("name", Handler), ("handler", Handler), ("id", Id)],
        ProbeKind::TimeEvent => &[
            ("name", Handler),
            ("handler", Handler),
            ("id", Id),
            ("period_ms", PeriodMs),
            ("duration_us", DurationUs),
        ],
        ProbeKind::ExpireCycle => &[
            ("fast", Fast),
            ("sampled", Sampled),
            ("expired", Expired),
            ("duration_us", DurationUs),
        ],
        ProbeKind::LazyExpired => &[("key", Key), ("db", Db), ("client", Client), ("fd", Fd)],
        ProbeKind::FileEventCreated => &[
            ("fd", Fd),
            ("mask", Mask),
            ("handler", Handler),
            ("now", Now),
        ],
        ProbeKind::FileEventDeleted => &[("fd", Fd), ("mask", Mask), ("now", Now)],
        ProbeKind::TimeEventCreated => &[("name", Handler), ("handler", Handler), ("id", Id)],
        ProbeKind::TimeEventDeleted => &[("id", Id)],
        ProbeKind::ClientConnected => &[("client", Client), ("fd", Fd), ("addr", Addr)],
        ProbeKind::ClientClosed => &[
            ("client", Client),
            ("fd", Fd),
            ("addr", Addr),
            ("reason", Reason),
        ],
        ProbeKind::ClientBlocked => &[("client", Client), ("fd", Fd), ("key", Key)],
        ProbeKind::CommandQueued => &[("client", Client), ("fd", Fd), ("name", Name)],
        ProbeKind::ClientUnblocked => &[("client", Client), ("fd", Fd), ("reason", Reason)],
        ProbeKind::Published => &[("channel", Name), ("receivers", Receivers)],
        ProbeKind::AofAppended => &[("name", Name), ("bytes", Bytes)],
        ProbeKind::AofFlushed => &[("bytes", Bytes)],
        ProbeKind::AofFsynced => &[],
        ProbeKind::WriteHandlerInstalled => &[("client", Client), ("fd", Fd)],
        ProbeKind::EventsWhileBlocked => &[],
    }
}

/// The `snake_case` name of a kind, as conditions and the wire format write it.
pub fn kind_name(kind: ProbeKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn kind_by_name(name: &str) -> Option<ProbeKind> {
    ProbeKind::ALL
        .iter()
        .copied()
        .find(|k| kind_name(*k) == name)
}

/// Shorthands: what the chapter writes (one or two words), the kind and the
/// filters it stands for.
const SHORTHANDS: &[(&[&str], &str)] = &[
    (
        &["write_handler", "installed"],
        "file_event_created handler=send_reply_to_client",
    ),
    // The reader stays: a client being freed loses both directions at once,
    // which is not the handler removing itself. Under `appendfsync always`
    // the removed mask is `wb` (deleting WRITABLE clears BARRIER too).
    (
        &["write_handler", "removed"],
        "file_event_deleted mask=w now=r",
    ),
    (&["key_expired"], "expire_cycle expired>=1"),
    (&["refired"], "file_event refired=yes"),
];

/// Why a condition was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionError(pub String);

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Condition {
    /// Parses one condition (see the module doc for the language).
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let words = super::argv::split_args(text)
            .map_err(|e| ConditionError(format!("cannot split the condition: {e}")))?;
        let words: Vec<String> = words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect();
        let Some(first) = words.first() else {
            return Err(ConditionError(
                "empty condition: name an event, e.g. `command name=SET`".into(),
            ));
        };
        let (kind, mut filters, rest) = match shorthand(&words) {
            Some((expansion, used)) => {
                let base = Condition::parse(expansion)?;
                (base.kind, base.filters, &words[used..])
            }
            None => {
                let kind = kind_by_name(first).ok_or_else(|| unknown_event(first))?;
                (kind, Vec::new(), &words[1..])
            }
        };
        for word in rest {
            filters.push(parse_filter(kind, word)?);
        }
        Ok(Condition {
            kind,
            filters,
            text: text.trim().to_string(),
        })
    }

    /// True if `ev` is this condition's kind and passes every filter.
    pub fn matches(&self, ev: &Event) -> bool {
        ev.data.kind() == self.kind && self.filters.iter().all(|f| f.holds(ev))
    }

    /// A gate breakpoint that stops the loop at every event this condition
    /// matches (and maybe at a few more): the command name or key when the
    /// condition names one, else the event kind. A viewer that wants to pause
    /// exactly where the condition is met installs it, and lets the loop go on
    /// when the loop stops at an event that does not complete the step.
    pub fn breakpoint(&self) -> BreakOn {
        let wanted = |field: Field| {
            self.filters
                .iter()
                .find(|f| f.field == field && f.op == Op::Eq)
                .and_then(|f| match &f.value {
                    Value::Text(t) => Some(t.clone()),
                    _ => None,
                })
        };
        if self.kind == ProbeKind::Command {
            if let Some(name) = wanted(Field::Name) {
                return BreakOn::Command { name };
            }
            if let Some(pattern) = wanted(Field::Key) {
                return BreakOn::Key { pattern };
            }
        }
        BreakOn::Kind { kind: self.kind }
    }
}

fn shorthand(words: &[String]) -> Option<(&'static str, usize)> {
    SHORTHANDS.iter().find_map(|(phrase, expansion)| {
        let n = phrase.len();
        let same = words.len() >= n && words[..n].iter().zip(phrase.iter()).all(|(w, p)| w == p);
        same.then_some((*expansion, n))
    })
}

fn unknown_event(name: &str) -> ConditionError {
    let mut known: Vec<String> = ProbeKind::ALL.iter().map(|k| kind_name(*k)).collect();
    known.extend(SHORTHANDS.iter().map(|(p, _)| p.join(" ")));
    ConditionError(format!(
        "unknown event `{name}`; events are: {}",
        known.join(", ")
    ))
}

/// Splits `field<op>value` at its operator.
fn split_op(word: &str) -> Option<(&str, Op, &str)> {
    let at = word.find(['=', '!', '<', '>'])?;
    let (field, rest) = word.split_at(at);
    let ops = [
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    ops.iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|value| (field, *op, value)))
}

fn parse_filter(kind: ProbeKind, word: &str) -> Result<Filter, ConditionError> {
    let Some((name, op, raw)) = split_op(word) else {
        return Err(ConditionError(format!(
            "`{word}` is not a filter: write field=value (no spaces around the operator)"
        )));
    };
    let field = if name == "iter" {
        Field::Iter
    } else {
        fields_of(kind)
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let mut names: Vec<&str> = fields_of(kind).iter().map(|(n, _)| *n).collect();
                names.push("iter");
                ConditionError(format!(
                    "`{}` events have no field `{name}`; fields: {}",
                    kind_name(kind),
                    names.join(", ")
                ))
            })?
    };
    let ty = field.ty();
    let ordered = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
    if ordered && !matches!(ty, Type::Num | Type::OptNum) {
        return Err(ConditionError(format!(
            "`{name}` is not a number: use = or != with it"
        )));
    }
    if raw.is_empty() {
        return Err(ConditionError(format!("`{word}` has no value")));
    }
    let value = match ty {
        Type::Num | Type::OptNum => match raw.parse::<i128>() {
            Ok(n) => Value::Num(n),
            Err(_) if ty == Type::OptNum && raw == "none" && !ordered => Value::Nothing,
            Err(_) => {
                let also = if ty == Type::OptNum {
                    " (or `none`)"
                } else {
                    ""
                };
                return Err(ConditionError(format!(
                    "`{name}` takes a whole number{also}, not `{raw}`"
                )));
            }
        },
        Type::Bool => match raw.to_ascii_lowercase().as_str() {
            "yes" | "true" => Value::Bool(true),
            "no" | "false" => Value::Bool(false),
            _ => {
                return Err(ConditionError(format!(
                    "`{name}` takes yes or no, not `{raw}`"
                )));
            }
        },
        Type::Mask => Value::Mask(parse_mask(raw).ok_or_else(|| {
            ConditionError(format!(
                "`{name}` takes a mask made of the letters r, w and b (or `none`), not `{raw}`"
            ))
        })?),
        Type::Word(allowed) => {
            let lower = raw.to_ascii_lowercase();
            if !allowed.contains(&lower.as_str()) {
                return Err(ConditionError(format!(
                    "`{name}` is one of {}, not `{raw}`",
                    allowed.join(", ")
                )));
            }
            Value::Text(lower)
        }
        Type::Text | Type::Handler | Type::Keys => Value::Text(raw.to_string()),
    };
    Ok(Filter { field, op, value })
}

fn parse_mask(raw: &str) -> Option<Mask> {
    if raw.eq_ignore_ascii_case("none") {
        return Some(Mask::NONE);
    }
    raw.chars().try_fold(Mask::NONE, |m, c| {
        let bit = match c {
            'r' | 'R' => Mask::READABLE,
            'w' | 'W' => Mask::WRITABLE,
            'b' | 'B' => Mask::BARRIER,
            _ => return None,
        };
        Some(m.union(bit))
    })
}

/// Whether an event's mask `got` matches the mask a condition wrote: it has
/// every flag written (`w` matches `w`, `rw`, `wb`, `rwb`), as Redis tests a
/// mask flag by flag; the empty mask (`none`) matches only the empty mask.
fn mask_holds(got: Mask, wanted: Mask) -> bool {
    match wanted.is_empty() {
        true => got.is_empty(),
        false => got.contains(wanted),
    }
}

/// A field's value in one event.
enum Got<'a> {
    Num(i128),
    Nothing,
    Text(&'a str),
    Bool(bool),
    Mask(Mask),
    Handler(&'a Handler),
    Keys(&'a [String]),
}

fn outcome_word(o: &IoOutcome) -> &'static str {
    match o {
        IoOutcome::Ok => "ok",
        IoOutcome::Drained => "drained",
        IoOutcome::Short => "short",
        IoOutcome::Eof => "eof",
        IoOutcome::Error { .. } => "error",
    }
}

fn reply_word(kind: crate::trace::model::ReplyKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Reads `field` out of `ev`; `None` when this event has no such field.
fn get(field: Field, ev: &Event) -> Option<Got<'_>> {
    use ProbeData as D;
    let num = |n: u64| Some(Got::Num(n.into()));
    let int = |n: i64| Some(Got::Num(n.into()));
    let opt = |n: Option<u64>| Some(n.map_or(Got::Nothing, |n| Got::Num(n.into())));
    if field == Field::Iter {
        return num(ev.iter);
    }
    if field == Field::Fd {
        return ev.data.fd().and_then(|fd| int(fd.into()));
    }
    if field == Field::Handler {
        return ev.data.handler().map(Got::Handler);
    }
    match (&ev.data, field) {
        (D::FileEvent { mask, .. }, Field::Mask)
        | (D::FileEventCreated { mask, .. }, Field::Mask)
        | (D::FileEventDeleted { mask, .. }, Field::Mask)
        | (D::FileEventCreated { now: mask, .. }, Field::Now)
        | (D::FileEventDeleted { now: mask, .. }, Field::Now) => Some(Got::Mask(*mask)),
        (D::FileEvent { refired, .. }, Field::Refired) => Some(Got::Bool(*refired)),
        (D::Read { client, .. }, Field::Client)
        | (D::InputProcessed { client, .. }, Field::Client)
        | (D::Command { client, .. }, Field::Client)
        | (D::Write { client, .. }, Field::Client)
        | (D::ClientConnected { client, .. }, Field::Client)
        | (D::ClientClosed { client, .. }, Field::Client)
        | (D::ClientBlocked { client, .. }, Field::Client)
        | (D::CommandQueued { client, .. }, Field::Client)
        | (D::ClientUnblocked { client, .. }, Field::Client)
        | (D::LazyExpired { client, .. }, Field::Client)
        | (D::WriteHandlerInstalled { client, .. }, Field::Client) => num(*client),
        (D::AofAppended { command, .. }, Field::Name) => Some(Got::Text(command)),
        (D::AofAppended { bytes, .. }, Field::Bytes)
        | (D::AofFlushed { bytes, .. }, Field::Bytes) => num(*bytes),
        (D::ClientBlocked { keys, .. }, Field::Key) => Some(Got::Keys(keys)),
        (D::LazyExpired { key, .. }, Field::Key) => Some(Got::Keys(std::slice::from_ref(key))),
        (D::LazyExpired { db, .. }, Field::Db) => num((*db).into()),
        (D::CommandQueued { name, .. }, Field::Name) => Some(Got::Text(name)),
        (D::Command { client_name, .. }, Field::ClientName) => {
            Some(client_name.as_deref().map_or(Got::Nothing, Got::Text))
        }
        (D::ClientConnected { addr, .. }, Field::Addr)
        | (D::ClientClosed { addr, .. }, Field::Addr) => Some(Got::Text(addr)),
        (D::ClientClosed { reason, .. }, Field::Reason)
        | (D::ClientUnblocked { reason, .. }, Field::Reason) => Some(Got::Text(reason)),
        (D::Read { bytes, .. }, Field::Bytes) | (D::Write { bytes, .. }, Field::Bytes) => {
            num(*bytes)
        }
        (D::Read { qbuf, .. }, Field::Qbuf) | (D::InputProcessed { qbuf, .. }, Field::Qbuf) => {
            num(*qbuf)
        }
        (D::Write { pending, .. }, Field::Pending) => num(*pending),
        (D::Read { outcome, .. }, Field::Outcome) | (D::Write { outcome, .. }, Field::Outcome) => {
            Some(Got::Text(outcome_word(outcome)))
        }
        (D::InputProcessed { commands, .. }, Field::Commands)
        | (D::IterationEnd { commands, .. }, Field::Commands) => num((*commands).into()),
        (D::Command { name, argv, .. }, Field::Name) => {
            let ran = name.as_deref().or(argv.first().map(String::as_str));
            Some(ran.map_or(Got::Nothing, Got::Text))
        }
        (D::Command { argc, .. }, Field::Argc) => num((*argc).into()),
        (D::Command { keys, .. }, Field::Key) => Some(Got::Keys(keys)),
        (D::Command { db, .. }, Field::Db) => num((*db).into()),
        (D::Command { reply, .. }, Field::ReplyBytes) => num(reply.bytes),
        (D::IterationEnd { duration_us, .. }, Field::DurationUs)
        | (D::BeforeSleepEnd { duration_us, .. }, Field::DurationUs)
        | (D::Command { duration_us, .. }, Field::DurationUs)
        | (D::TimeEvent { duration_us, .. }, Field::DurationUs)
        | (D::ExpireCycle { duration_us, .. }, Field::DurationUs) => num(*duration_us),
        (D::TimeEvent { id, .. }, Field::Id)
        | (D::TimeEventStart { id, .. }, Field::Id)
        | (D::TimeEventCreated { id, .. }, Field::Id)
        | (D::TimeEventDeleted { id }, Field::Id) => int(*id),
        (D::TimeEvent { period_ms, .. }, Field::PeriodMs) => opt(*period_ms),
        (D::ExpireCycle { fast, .. }, Field::Fast) => Some(Got::Bool(*fast)),
        (D::ExpireCycle { sampled, .. }, Field::Sampled) => num(*sampled),
        (D::ExpireCycle { expired, .. }, Field::Expired) => num(*expired),
        (D::Published { channel, .. }, Field::Name) => Some(Got::Text(channel)),
        (D::Published { receivers, .. }, Field::Receivers) => num(*receivers),
        (D::PollEnter { timeout_ms, .. }, Field::TimeoutMs) => opt(*timeout_ms),
        (D::PollEnter { reason, .. }, Field::Why) => Some(Got::Text(match reason {
            PollReason::Timer { .. } => "timer",
            PollReason::NoTimers => "no_timers",
            PollReason::StillReady { .. } => "still_ready",
            PollReason::DontWait => "dont_wait",
        })),
        (D::PollEnter { reason, .. }, Field::Timer) => match reason {
            PollReason::Timer { name, .. } => Some(Got::Text(name)),
            _ => Some(Got::Nothing),
        },
        (D::PollReturn { fired, .. }, Field::FiredCount) => num(fired.len() as u64),
        (D::PollReturn { fired, .. }, Field::RefiredCount) => {
            num(fired.iter().filter(|f| f.refired).count() as u64)
        }
        (D::PollReturn { slept_us, .. }, Field::SleptUs) => num(*slept_us),
        (D::IterationEnd { file_events, .. }, Field::FileEvents) => num((*file_events).into()),
        (D::IterationEnd { time_events, .. }, Field::TimeEvents) => num((*time_events).into()),
        (D::BeforeSleepEnd { did, .. }, f) => match f {
            Field::ClientsWritten => num(did.clients_written.into()),
            Field::BytesWritten => num(did.bytes_written),
            Field::WriteHandlersInstalled => num(did.write_handlers_installed.into()),
            Field::ClientsClosed => num(did.clients_closed.into()),
            Field::KeysExpired => num(did.keys_expired),
            _ => None,
        },
        _ => None,
    }
}

impl Filter {
    /// True if the event's field stands in the relation `op` to the value.
    fn holds(&self, ev: &Event) -> bool {
        // The reply kind is computed, not borrowed, so it is compared here.
        if let (Field::Reply, ProbeData::Command { reply, .. }) = (self.field, &ev.data) {
            let Value::Text(want) = &self.value else {
                return false;
            };
            return (reply_word(reply.kind) == *want) == (self.op == Op::Eq);
        }
        let Some(got) = get(self.field, ev) else {
            return false;
        };
        // A container's name (`config`) also matches its subcommands (`config|set`).
        if let (Field::Name, Got::Text(full), Value::Text(want)) = (self.field, &got, &self.value) {
            let container = full.split('|').next().unwrap_or_default();
            let equal = full.eq_ignore_ascii_case(want) || container.eq_ignore_ascii_case(want);
            return equal == (self.op == Op::Eq);
        }
        let equal = match (&got, &self.value) {
            (Got::Num(a), Value::Num(b)) => {
                return match self.op {
                    Op::Eq => a == b,
                    Op::Ne => a != b,
                    Op::Gt => a > b,
                    Op::Ge => a >= b,
                    Op::Lt => a < b,
                    Op::Le => a <= b,
                };
            }
            (Got::Nothing, Value::Nothing) => true,
            (Got::Nothing, _) | (_, Value::Nothing) => false,
            (Got::Text(a), Value::Text(b)) => a.eq_ignore_ascii_case(b),
            (Got::Handler(h), Value::Text(b)) => h.is_named(b),
            (Got::Keys(keys), Value::Text(pattern)) => keys
                .iter()
                .any(|k| glob_match(pattern.as_bytes(), k.as_bytes())),
            (Got::Bool(a), Value::Bool(b)) => a == b,
            (Got::Mask(a), Value::Mask(b)) => mask_holds(*a, *b),
            _ => return false,
        };
        match self.op {
            Op::Eq => equal,
            Op::Ne => !equal,
            // Ordered operators only reach here with a missing number.
            _ => false,
        }
    }
}

/// Conditions that must be met one after the other: a step's `wait:` lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sequence {
    pub conditions: Vec<Condition>,
}

impl Sequence {
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }
}

/// How far a [`Sequence`] has got: the number of its conditions met so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub met: usize,
}

impl Progress {
    /// Feeds one event; returns true if this event completed the sequence.
    pub fn advance(&mut self, seq: &Sequence, ev: &Event) -> bool {
        match seq.conditions.get(self.met) {
            Some(c) if c.matches(ev) => {
                self.met += 1;
                self.met == seq.conditions.len()
            }
            _ => false,
        }
    }

    pub fn is_complete(&self, seq: &Sequence) -> bool {
        self.met >= seq.conditions.len()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::trace::model::{Fired, ReplyInfo, Site};

    static SITE: Site = Site {
        file: Cow::Borrowed("src/server/networking.rs"),
        line: 1,
        function: Cow::Borrowed("f"),
        mirrors: Cow::Borrowed("f"),
    };

    fn ev(data: ProbeData) -> Event {
        Event {
            seq: 1,
            iter: 7,
            t_us: 0,
            site: Cow::Borrowed(&SITE),
            data,
        }
    }

    fn read_event(refired: bool) -> Event {
        ev(ProbeData::FileEvent {
            fd: 9,
            mask: Mask::READABLE,
            handler: Handler::new("read_query_from_client", "readQueryFromClient"),
            refired,
        })
    }

    fn command(name: &str, keys: &[&str]) -> Event {
        ev(ProbeData::Command {
            client: 3,
            client_name: None,
            fd: 9,
            db: 0,
            name: Some(name.to_string().into()),
            argv: vec![name.to_uppercase()],
            argc: 1 + keys.len() as u32,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            reply: ReplyInfo::from_resp(b"+OK\r\n"),
            duration_us: 5,
        })
    }

    fn cond(text: &str) -> Condition {
        Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn handler_by_either_name() {
        assert!(cond("file_event handler=read_query_from_client").matches(&read_event(false)));
        assert!(cond("file_event handler=readQueryFromClient").matches(&read_event(false)));
        assert!(!cond("file_event handler=accept_tcp_handler").matches(&read_event(false)));
        assert!(!cond("read").matches(&read_event(false)));
    }

    #[test]
    fn commands_by_name_and_key() {
        let set = command("set", &["greeting"]);
        assert!(cond("command name=SET").matches(&set));
        assert!(cond("command name=set key=greet*").matches(&set));
        assert!(!cond("command name=get").matches(&set));
        assert!(!cond("command key=other").matches(&set));
        assert!(cond("command key!=other").matches(&set));
        assert!(cond("command argc=2 reply=status").matches(&set));
        assert!(!cond("command reply=error").matches(&set));
        assert!(cond("command reply!=error iter>=7 iter<8").matches(&set));
        let config_set = command("config|set", &[]);
        assert!(cond("command name=config").matches(&config_set));
        assert!(cond("command name=CONFIG|SET").matches(&config_set));
        assert!(!cond("command name=config|get").matches(&config_set));
        assert!(!cond("command name=conf").matches(&config_set));
        assert!(cond("command name!=set").matches(&config_set));
    }

    #[test]
    fn shorthands_expand() {
        assert!(cond("refired").matches(&read_event(true)));
        assert!(!cond("refired").matches(&read_event(false)));
        assert!(cond("refired fd=9").matches(&read_event(true)));
        let installed = ev(ProbeData::FileEventCreated {
            fd: 9,
            mask: Mask::WRITABLE,
            handler: Handler::new("send_reply_to_client", "sendReplyToClient"),
            now: Mask(3),
        });
        assert!(cond("write_handler installed").matches(&installed));
        assert!(cond("write_handler installed now=rw").matches(&installed));
        let removed = |mask, now| ev(ProbeData::FileEventDeleted { fd: 9, mask, now });
        assert!(cond("write_handler removed").matches(&removed(Mask::WRITABLE, Mask::READABLE)));
        // Under `appendfsync always` the barrier goes with the writer.
        let wb = Mask::WRITABLE.union(Mask::BARRIER);
        assert!(cond("write_handler removed").matches(&removed(wb, Mask::READABLE)));
        // Closing a client removes both directions: not "the handler removed itself".
        assert!(!cond("write_handler removed").matches(&removed(Mask(3), Mask::NONE)));
        assert!(!cond("write_handler removed").matches(&removed(Mask::READABLE, Mask::NONE)));
        let expired = |n| {
            ev(ProbeData::ExpireCycle {
                fast: false,
                sampled: 20,
                expired: n,
                duration_us: 9,
            })
        };
        assert!(cond("key_expired").matches(&expired(1)));
        assert!(!cond("key_expired").matches(&expired(0)));
        assert!(cond("key_expired fast=no").matches(&expired(2)));
    }

    #[test]
    fn a_mask_matches_when_it_has_the_flags_written() {
        let created = |mask: u8, now: u8| {
            ev(ProbeData::FileEventCreated {
                fd: 9,
                mask: Mask(mask),
                handler: Handler::new("send_reply_to_client", "sendReplyToClient"),
                now: Mask(now),
            })
        };
        // rwb: readable, writable and the barrier of `appendfsync always`.
        let barrier = created(2 | 4, 1 | 2 | 4);
        for holds in [
            "mask=w", "mask=wb", "mask=bw", "now=rwb", "now=rw", "now=r", "now=b",
        ] {
            assert!(
                cond(&format!("file_event_created {holds}")).matches(&barrier),
                "{holds}"
            );
        }
        for fails in [
            "mask=r",
            "mask=rw",
            "mask=none",
            "now=none",
            "mask!=w",
            "now!=rw",
        ] {
            assert!(
                !cond(&format!("file_event_created {fails}")).matches(&barrier),
                "{fails}"
            );
        }
        let plain = created(2, 1 | 2);
        assert!(cond("file_event_created now=rw mask!=b now!=b").matches(&plain));
        assert!(!cond("file_event_created now=rwb").matches(&plain));
        let deleted = ev(ProbeData::FileEventDeleted {
            fd: 9,
            mask: Mask(3),
            now: Mask::NONE,
        });
        assert!(cond("file_event_deleted now=none mask=rw").matches(&deleted));
        assert!(cond("file_event_deleted now!=r").matches(&deleted));
        assert!(!cond("file_event_deleted mask=none").matches(&deleted));
    }

    #[test]
    fn poll_reasons_and_optional_numbers() {
        let enter = |timeout_ms, reason| ev(ProbeData::PollEnter { timeout_ms, reason });
        let timer = PollReason::Timer {
            id: 0,
            name: Cow::Borrowed("server_cron"),
        };
        assert!(cond("poll_enter why=timer timer=server_cron").matches(&enter(Some(99), timer)));
        assert!(cond("poll_enter timeout_ms=none").matches(&enter(None, PollReason::NoTimers)));
        assert!(!cond("poll_enter timeout_ms<=100").matches(&enter(None, PollReason::NoTimers)));
        assert!(
            cond("poll_enter why=still_ready timeout_ms=0")
                .matches(&enter(Some(0), PollReason::StillReady { fds: vec![9] }))
        );
        let ret = ev(ProbeData::PollReturn {
            fired: vec![
                Fired {
                    fd: 9,
                    mask: Mask::READABLE,
                    refired: true,
                },
                Fired {
                    fd: 10,
                    mask: Mask::READABLE,
                    refired: false,
                },
            ],
            slept_us: 0,
        });
        assert!(cond("poll_return fired=2 refired>=1").matches(&ret));
    }

    #[test]
    fn errors_say_what_is_accepted() {
        let err = |t: &str| Condition::parse(t).expect_err(t).0;
        assert!(err("comand name=set").contains("unknown event `comand`"));
        assert!(err("command nme=set").contains("fields: name, key"));
        assert!(err("command name>set").contains("not a number"));
        assert!(err("read bytes=lots").contains("whole number"));
        assert!(err("file_event refired=maybe").contains("yes or no"));
        assert!(err("file_event mask=x").contains("letters r, w and b"));
        assert!(err("read outcome=sleepy").contains("ok, drained"));
        assert!(err("command name").contains("not a filter"));
        assert!(err("command name=").contains("no value"));
        assert!(err("").contains("empty condition"));
        assert!(err("command name=\"open").contains("cannot split"));
    }

    /// Random conditions built from pieces of the language: parsing never
    /// panics, and whatever parses can be matched against any event.
    #[test]
    fn random_conditions_never_panic() {
        let mut rng = crate::walkthrough::testkit::Rng::new(7);
        let words = [
            "command",
            "file_event",
            "read",
            "poll_enter",
            "write_handler",
            "installed",
            "removed",
            "key_expired",
            "refired",
            "time_event",
            "name",
            "key",
            "fd",
            "mask",
            "why",
            "timeout_ms",
            "bytes",
            "handler",
            "iter",
            "=",
            "!=",
            ">=",
            "<",
            ">",
            "<=",
            "set",
            "r",
            "w",
            "rwb",
            "none",
            "yes",
            "-1",
            "99999999999999999999999999999999999999999",
            "\"",
            "'",
            " ",
            "*",
            "é",
            "\\x41",
        ];
        let events = [
            read_event(true),
            command("config|set", &["k"]),
            ev(ProbeData::PollEnter {
                timeout_ms: None,
                reason: PollReason::NoTimers,
            }),
        ];
        let mut parsed = 0;
        for _ in 0..5000 {
            let mut text = String::new();
            for _ in 0..1 + rng.below(6) {
                text.push_str(rng.pick(&words));
                if rng.below(3) == 0 {
                    text.push(' ');
                }
            }
            if let Ok(c) = Condition::parse(&text) {
                parsed += 1;
                for e in &events {
                    c.matches(e);
                }
                c.breakpoint();
            }
        }
        assert!(parsed > 50, "{parsed}");
    }

    #[test]
    fn sequence_in_order() {
        let seq = Sequence {
            conditions: vec![cond("command name=set"), cond("refired")],
        };
        let mut p = Progress::default();
        assert!(!p.advance(&seq, &read_event(true)), "out of order");
        assert!(!p.advance(&seq, &command("set", &["k"])));
        assert_eq!(p.met, 1);
        assert!(p.advance(&seq, &read_event(true)));
        assert!(p.is_complete(&seq));
    }

    #[test]
    fn breakpoints_cover_the_condition() {
        assert_eq!(
            cond("command name=set").breakpoint(),
            BreakOn::Command { name: "set".into() }
        );
        assert_eq!(
            cond("command key=a*").breakpoint(),
            BreakOn::Key {
                pattern: "a*".into()
            }
        );
        assert_eq!(
            cond("write_handler installed").breakpoint(),
            BreakOn::Kind {
                kind: ProbeKind::FileEventCreated
            }
        );
    }
}

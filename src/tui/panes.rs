//! The panes: what each one lists, its columns and what they mean, and the
//! details of one row.
//!
//! This is the content of the panes, not their drawing: every function here
//! turns the [`App`] state into rows of text cells, and `view` lays them out.
//! Keeping the column list (with its explanation) next to the code that fills
//! the columns is what lets the `?` help explain every column without drifting
//! from what is on screen.

use super::frame::{Frame, Phase};
use super::logs::CommandEntry;
use super::probelog::ProbeEntry;
use super::state::{App, probe_kind_name};
use super::theme::Theme;
use crate::trace::model::{ClientInfo, Fd, FdRole, FileEventInfo, Fired, Handler, Mask, ProbeKind};

/// The panes, in focus order (Tab).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Events,
    Fired,
    Timers,
    BeforeSleep,
    Flow,
    Clients,
    Activity,
    Source,
    Guide,
    /// The probe log (`L`), in the source pane's place while it is open.
    Log,
}

/// One column of a pane's table.
pub struct Column {
    pub name: &'static str,
    /// Width in cells; 0 takes what is left (only the last column).
    pub width: usize,
    /// How much the column matters when the pane is too narrow for all of
    /// them: 0 is never dropped, and the highest number goes first.
    pub drop_rank: u8,
    pub help: &'static str,
}

const fn col(name: &'static str, width: usize, drop_rank: u8, help: &'static str) -> Column {
    Column {
        name,
        width,
        drop_rank,
        help,
    }
}

/// How a row is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Plain,
    /// Shape, not data (empty slots of the events array).
    Dim,
    /// Happening now (the fired entry being dispatched, its fd, the current command).
    Current,
    /// Already handled this iteration.
    Done,
    /// The time event that bounds the poll timeout.
    Bounds,
}

/// One row: its cells, in column order, and how to draw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaneRow {
    pub cells: Vec<String>,
    pub mark: Mark,
}

impl Pane {
    pub const ALL: [Pane; 10] = [
        Pane::Events,
        Pane::Fired,
        Pane::Timers,
        Pane::BeforeSleep,
        Pane::Flow,
        Pane::Clients,
        Pane::Activity,
        Pane::Source,
        Pane::Guide,
        Pane::Log,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::ALL.len()]
    }

    pub fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Events => "events",
            Pane::Fired => "fired",
            Pane::Timers => "time events",
            Pane::BeforeSleep => "beforeSleep",
            Pane::Flow => "command flow",
            Pane::Clients => "clients",
            Pane::Activity => "activity",
            Pane::Source => "source",
            Pane::Guide => "guide",
            Pane::Log => "probe log",
        }
    }

    /// What the pane shows, for the help overlay.
    pub fn about(self) -> &'static str {
        match self {
            Pane::Events => {
                "ae's `events` array (aeFileEvent events[setsize]), indexed by fd: one slot per \
                 possible fd, most of them empty. Runs of empty slots are folded into one dim row. \
                 setsize is the array's size (maxclients + 128); maxfd is the highest used slot, and \
                 poll only looks at fds up to it."
            }
            Pane::Fired => {
                "ae's `fired` array: the (fd, mask) pairs poll returned this iteration, dispatched \
                 in order after afterSleep. The entry being dispatched is highlighted; entries marked \
                 refired were not reported by the kernel: the level-trigger emulation put them back \
                 because their last read or write did not reach WouldBlock. Until this                  iteration's poll returns, the array still holds the last iteration's entries                  (ae never clears it; poll overwrites it): they are shown dim, marked last iter."
            }
            Pane::Timers => {
                "Time events (aeTimeEvent list): serverCron and friends. Poll's timeout is the time \
                 until the nearest one; that one is marked."
            }
            Pane::BeforeSleep => {
                "What beforeSleep did before the loop went to sleep in poll: replies to the commands \
                 read in the previous iteration are written here, not when the command ran. While a \
                 beforeSleep runs, the pane counts what it did so far (marked in progress); after it, \
                 what the finished one did."
            }
            Pane::Flow => {
                "Every command the loop ran, oldest first: iteration, client, the arguments, and the \
                 reply it queued (written to the socket by the next beforeSleep)."
            }
            Pane::Clients => "Connected clients, with the fields CLIENT LIST shows.",
            Pane::Activity => {
                "Loop activity over recent iterations, newest on the right: fired entries per \
                 iteration, commands per iteration, busy time (the iteration without its wait in \
                 poll and without the time it stood paused at your step), and busy%: busy time's \
                 share of the iteration. The number after each name is the highest bar shown. Below: \
                 the busiest recent iterations, with numbers; select one and press Enter to travel \
                 to its start in history."
            }
            Pane::Source => {
                "Our code, at the line of the probe the loop is at (highlighted; lines outside the \
                 enclosing function are dim), from the sources built into loopscope. Under it: the \
                 nearest anchor in that function, its note, and the Redis function it mirrors with a \
                 permalink at a pinned Redis commit; where the function has no anchor, the Redis \
                 function the probe mirrors. Focused, up/down/PgUp/PgDn scroll it (until the loop \
                 moves on) and left/right scroll sideways; Enter lists it all; s shows it full screen. \
                 With --redis-src DIR (a Redis checkout), Redis's own function is read from there: \
                 beside ours on a wide pane, or instead of ours with r. On a short terminal, the \
                 clients and activity panes take this pane's place while they have the focus (Tab)."
            }
            Pane::Guide => {
                "The guide (g): chapters that explain Redis's event loop one step at a time. A step \
                 says what to look at (those panes are marked \"look\"), what to do (t sends the \
                 command for you, or type it in redis-cli), and what the loop will do; it is ticked \
                 off when the loop really does it, and some steps stop the loop right there so you \
                 can look. Its places in the code show in the source pane (a: the next one). \
                 Focused, up/down scroll it. On a narrow terminal the guide takes the left of the \
                 screen and the panes the step names (and the focused one) the right. Progress is \
                 saved; o lists the chapters."
            }
            Pane::Log => {
                "Every probe the loop fired, oldest first, up to the moment on screen (the probe the \
                 loop is at is highlighted): its iteration, kind, fd and client, the handler or \
                 command, and what it did. L opens it in the source pane's place (z: full screen). \
                 / filters it: a probe kind (command), fd=N, client=N, or text found in the names \
                 (handlers, commands and their arguments, addresses, reasons); the title says the \
                 filter and how many probes match, and Esc clears it. Select a probe and press Enter \
                 to travel to it in history. The log keeps the last 10000 probes; the title says \
                 when older ones are gone."
            }
        }
    }

    /// The pane's columns, in order, each with its explanation.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Pane::Events => EVENTS_COLUMNS,
            Pane::Fired => FIRED_COLUMNS,
            Pane::Timers => TIMERS_COLUMNS,
            Pane::BeforeSleep => BEFORE_SLEEP_COLUMNS,
            Pane::Flow => FLOW_COLUMNS,
            Pane::Clients => CLIENTS_COLUMNS,
            Pane::Log => LOG_COLUMNS,
            Pane::Activity | Pane::Source | Pane::Guide => &[],
        }
    }
}

const EVENTS_COLUMNS: &[Column] = &[
    col(
        "fd",
        5,
        0,
        "the slot index, a file descriptor; 0-5 is a run of empty slots, 9+ the unused slots above maxfd",
    ),
    col(
        "mask",
        4,
        0,
        "registered events: r = AE_READABLE, w = AE_WRITABLE, b = AE_BARRIER (write before read); - = AE_NONE, an empty slot",
    ),
    col(
        "what",
        9,
        0,
        "what the fd is: the listening socket, or client N (see the clients pane)",
    ),
    col(
        "read handler",
        22,
        1,
        "rfileProc: our function called when the fd is readable",
    ),
    col(
        "write handler",
        20,
        1,
        "wfileProc: our function called when the fd is writable",
    ),
    col(
        "Redis",
        36,
        3,
        "the Redis functions our handlers mirror (read / write)",
    ),
    col(
        "peer",
        0,
        2,
        "the listener's address, or the client's address and name",
    ),
];

const FIRED_COLUMNS: &[Column] = &[
    col(
        "",
        2,
        0,
        "marks: the entry being dispatched, done entries, and refired entries",
    ),
    col("fd", 4, 0, "the fd poll reported ready"),
    col("mask", 4, 0, "what it is ready for: r readable, w writable"),
    col(
        "by",
        7,
        3,
        "kernel: poll reported it; refired: the level-trigger emulation put it back",
    ),
    col(
        "state",
        11,
        1,
        "waiting, dispatching (its handler runs now) or done",
    ),
    col("handler", 0, 2, "the handler that runs for it"),
];

const TIMERS_COLUMNS: &[Column] = &[
    col(
        "",
        2,
        0,
        "marked: the nearest timer, which bounds how long poll may sleep",
    ),
    col(
        "id",
        4,
        1,
        "the time event id (aeCreateTimeEvent's return value)",
    ),
    col(
        "handler",
        13,
        0,
        "our handler (the Redis name is in the last column)",
    ),
    col(
        "when",
        10,
        0,
        "time until it is due, from the frame on screen",
    ),
    col(
        "period",
        8,
        2,
        "the interval its handler returned last time (none until it ran)",
    ),
    col("Redis", 0, 3, "the Redis function the handler mirrors"),
];

const BEFORE_SLEEP_COLUMNS: &[Column] = &[
    col("what", 11, 0, "one thing beforeSleep did"),
    col(
        "count",
        0,
        0,
        "how much of it, in the iteration named on the first row",
    ),
];

const FLOW_COLUMNS: &[Column] = &[
    col("iter", 7, 1, "the iteration the command ran in"),
    col("cli", 4, 0, "the client id"),
    col(
        "command -> reply",
        0,
        0,
        "the arguments (long ones cut), then the reply queued for the client",
    ),
];

const CLIENTS_COLUMNS: &[Column] = &[
    col("id", 4, 0, "client id (CLIENT ID)"),
    col("fd", 4, 0, "its socket's fd: its slot in the events array"),
    col("addr", 16, 2, "the peer's address"),
    col("name", 10, 4, "CLIENT SETNAME, if any"),
    col("db", 3, 4, "the selected database"),
    col(
        "qbuf",
        8,
        0,
        "bytes read but not yet parsed (an incomplete command)",
    ),
    col("obuf", 8, 0, "reply bytes queued but not yet written"),
    col("cmd", 10, 1, "the last command"),
    col("age", 6, 3, "seconds since it connected"),
    col("idle", 0, 3, "seconds since its last command"),
];

const LOG_COLUMNS: &[Column] = &[
    col("iter", 6, 3, "the iteration the probe fired in"),
    col(
        "kind",
        18,
        0,
        "the probe (the kinds a breakpoint or the filter takes)",
    ),
    col("fd", 3, 1, "the fd it is about, if any"),
    col("cli", 3, 2, "the client it is about, if any"),
    col(
        "what",
        0,
        0,
        "what it does: the handler it runs, the command and its reply, the bytes it moved (as the header's line says it)",
    ),
];

/// The number of rows of `pane` in the frame on screen.
pub fn len(pane: Pane, app: &App) -> usize {
    let Some(f) = app.frame() else {
        return 0;
    };
    match pane {
        Pane::Events => event_slots(f).len(),
        Pane::Fired => f.fired_shown().0.len(),
        Pane::Timers => f.snap.time_events.len(),
        Pane::BeforeSleep => before_sleep_lines(f, &app.theme).len(),
        Pane::Flow => app.commands.count_upto(app.visible_seq()),
        Pane::Clients => f.snap.clients.len(),
        Pane::Activity => app.slowest_iterations().len(),
        Pane::Log => app.probes.shown_upto(app.visible_seq()),
        Pane::Source | Pane::Guide => 0,
    }
}

/// Rows `start .. start + count` of `pane`.
pub fn rows(pane: Pane, app: &App, start: usize, count: usize) -> Vec<PaneRow> {
    let Some(f) = app.frame() else {
        return Vec::new();
    };
    let end = start.saturating_add(count);
    let take = |v: Vec<PaneRow>| v.into_iter().skip(start).take(count).collect();
    match pane {
        Pane::Events => take(event_slots(f).iter().map(|s| event_row(f, s)).collect()),
        Pane::Fired => take(
            f.fired_shown()
                .0
                .iter()
                .enumerate()
                .map(|(i, e)| fired_row(app, f, i, e))
                .collect(),
        ),
        Pane::Timers => take(timer_rows(app, f)),
        Pane::BeforeSleep => take(
            before_sleep_lines(f, &app.theme)
                .into_iter()
                .map(|(what, count, _)| PaneRow {
                    cells: vec![what.into(), count],
                    mark: Mark::Plain,
                })
                .collect(),
        ),
        Pane::Flow => {
            let visible = app.commands.count_upto(app.visible_seq());
            let current = f.at.as_ref().map(|e| e.seq);
            app.commands
                .range(start, end.min(visible))
                .map(|c| flow_row(app, c, current))
                .collect()
        }
        Pane::Clients => take(f.snap.clients.iter().map(|c| client_row(f, c)).collect()),
        Pane::Log => {
            let visible = app.probes.shown_upto(app.visible_seq());
            let current = f.at.as_ref().map(|e| e.seq);
            (start..end.min(visible))
                .filter_map(|i| app.probes.shown(i))
                .map(|e| probe_row(app, e, current))
                .collect()
        }
        Pane::Activity | Pane::Source | Pane::Guide => Vec::new(),
    }
}

/// The rows of `pane` that must stay in view when it has more rows than room,
/// most important first: what the probe on screen is about, what is being
/// dispatched, the client that ran the last command, write handlers (the
/// events array) and the listener. A guide step is always about one of these.
pub fn pinned(pane: Pane, app: &App) -> Vec<usize> {
    let Some(f) = app.frame() else {
        return Vec::new();
    };
    let probe_fd = f.at.as_ref().and_then(|e| e.data.fd());
    let last_command_fd = app
        .commands
        .count_upto(app.visible_seq())
        .checked_sub(1)
        .and_then(|i| app.commands.get(i))
        .map(|c| c.fd);
    let fds: Vec<Fd> = [probe_fd, f.dispatching(), last_command_fd]
        .into_iter()
        .flatten()
        .collect();
    let mut out: Vec<usize> = Vec::new();
    let mut pin = |i: usize| {
        if !out.contains(&i) {
            out.push(i);
        }
    };
    match pane {
        Pane::Events => {
            let slots = event_slots(f);
            let used = |want: &dyn Fn(&FileEventInfo) -> bool| {
                slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| matches!(s, Slot::Used(fe) if want(fe)))
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            };
            for fd in &fds {
                used(&|fe| fe.fd == *fd).into_iter().for_each(&mut pin);
            }
            used(&|fe| fe.mask.contains(Mask::WRITABLE))
                .into_iter()
                .for_each(&mut pin);
            used(&|fe| matches!(fe.what, FdRole::Listener { .. }))
                .into_iter()
                .for_each(&mut pin);
        }
        Pane::Fired => f.fired_reached().into_iter().for_each(pin),
        Pane::Timers => f
            .bounding_timer()
            .and_then(|id| f.snap.time_events.iter().position(|t| t.id == id))
            .into_iter()
            .for_each(pin),
        Pane::Clients => {
            for fd in &fds {
                if let Some(i) = f.snap.clients.iter().position(|c| c.fd == *fd) {
                    pin(i);
                }
            }
        }
        Pane::Flow => {
            let current =
                f.at.as_ref()
                    .filter(|e| e.data.kind() == ProbeKind::Command);
            if let Some(e) = current {
                app.commands
                    .count_upto(e.seq)
                    .checked_sub(1)
                    .into_iter()
                    .for_each(pin);
            }
        }
        // Its iteration, and whatever it did (a count that is not zero).
        Pane::BeforeSleep => before_sleep_lines(f, &app.theme)
            .iter()
            .enumerate()
            .filter(|(i, (what, count, _))| {
                *i == 0 || (*what != "took" && !count.starts_with("0 "))
            })
            .for_each(|(i, _)| pin(i)),
        Pane::Log => {
            f.at.as_ref()
                .and_then(|e| app.probes.row_of(e.seq))
                .into_iter()
                .for_each(pin);
        }
        Pane::Activity | Pane::Source | Pane::Guide => {}
    }
    out
}

/// The order in which the rows that are not [`pinned`] get the room left,
/// best first: the newest (highest fds, latest commands and clients) for the
/// lists that grow at the end, the first ones for the others; in the events
/// array, runs of empty slots come last.
pub fn fill_order(pane: Pane, app: &App) -> Vec<usize> {
    let n = len(pane, app);
    match pane {
        Pane::Events => {
            let Some(f) = app.frame() else {
                return Vec::new();
            };
            let slots = event_slots(f);
            let (used, empty): (Vec<usize>, Vec<usize>) = (0..n)
                .rev()
                .partition(|&i| matches!(slots[i], Slot::Used(_)));
            used.into_iter().chain(empty).collect()
        }
        Pane::Flow | Pane::Clients | Pane::Log => (0..n).rev().collect(),
        _ => (0..n).collect(),
    }
}

/// Everything about one row, as (label, value) lines for the details popup.
pub fn details(pane: Pane, app: &App, row: usize) -> Vec<(String, String)> {
    let Some(f) = app.frame() else {
        return Vec::new();
    };
    let kv = |k: &str, v: String| (k.to_string(), v);
    match pane {
        Pane::Events => match event_slots(f).get(row) {
            Some(Slot::Used(fe)) => {
                let mut out = vec![
                    kv("fd", fe.fd.to_string()),
                    kv("mask", format!("{} ({})", mask_text(fe.mask), mask_words(fe.mask))),
                    kv("read handler", handler_both(fe.read.as_ref())),
                    kv("write handler", handler_both(fe.write.as_ref())),
                    kv("what", role_text(fe)),
                ];
                if let FdRole::Client { client, .. } = fe.what
                    && let Some(c) = f.snap.clients.iter().find(|c| c.id == client)
                {
                    out.extend(client_details(f, c));
                }
                out
            }
            Some(Slot::Empty(a, b)) => vec![
                kv("fds", format!("{a}..={b}")),
                kv(
                    "state",
                    "empty slots (AE_NONE): no handler registered; poll ignores them".into(),
                ),
            ],
            Some(Slot::Beyond(a, b)) => vec![
                kv("fds", format!("{a}..={b}")),
                kv(
                    "state",
                    "above maxfd: unused slots the array keeps so any fd below setsize has a place"
                        .into(),
                ),
            ],
            None => Vec::new(),
        },
        Pane::Fired => f.fired_shown().0.get(row).map_or_else(Vec::new, |e| {
            let cells = fired_row(app, f, row, e).cells;
            vec![
                kv("index", format!("fired[{row}]")),
                kv("fd", e.fd.to_string()),
                kv("mask", format!("{} ({})", mask_text(e.mask), mask_words(e.mask))),
                kv(
                    "reported by",
                    if e.refired {
                        "the level-trigger emulation: the fd's last read or write did not reach WouldBlock, so it may still have data, and it is fired again without asking the kernel".into()
                    } else {
                        "the kernel (poll)".into()
                    },
                ),
                kv("state", cells.get(4).cloned().unwrap_or_default()),
                kv("handler", cells.get(5).cloned().unwrap_or_default()),
            ]
        }),
        Pane::Timers => f.snap.time_events.get(row).map_or_else(Vec::new, |t| {
            vec![
                kv("id", t.id.to_string()),
                kv("handler", handler_both(Some(&t.handler))),
                kv("due at", format!("{} {} on the trace clock", t.when_us, app.theme.glyphs.micros)),
                kv("due in", when_text(t.when_us, f.snap.t_us)),
                kv(
                    "period",
                    t.period_ms
                        .map_or("not run yet".into(), |p| format!("{p} ms")),
                ),
                kv(
                    "bounds poll",
                    if f.bounding_timer() == Some(t.id) {
                        "yes: it is the nearest timer, so poll sleeps at most until it is due"
                            .into()
                    } else {
                        "no".into()
                    },
                ),
            ]
        }),
        Pane::BeforeSleep => before_sleep_lines(f, &app.theme)
            .into_iter()
            .nth(row)
            .map_or_else(Vec::new, |(what, count, why)| {
                vec![kv(what, count), kv("meaning", why.into())]
            }),
        Pane::Flow => {
            if row >= app.commands.count_upto(app.visible_seq()) {
                return Vec::new();
            }
            app.commands
                .get(row)
                .map_or_else(Vec::new, |c| command_details(c, app))
        }
        Pane::Clients => f
            .snap
            .clients
            .get(row)
            .map_or_else(Vec::new, |c| client_details(f, c)),
        Pane::Activity | Pane::Guide | Pane::Log => Vec::new(),
        Pane::Source => super::code::details(app),
    }
}

// ---------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------

/// One row of the events array: a used slot, a run of empty slots, or the
/// unused tail above maxfd.
enum Slot<'a> {
    Used(&'a FileEventInfo),
    Empty(i64, i64),
    Beyond(i64, i64),
}

fn event_slots(f: &Frame) -> Vec<Slot<'_>> {
    let mut out = Vec::with_capacity(f.snap.file_events.len() * 2 + 2);
    let mut next: i64 = 0;
    for fe in &f.snap.file_events {
        let fd = i64::from(fe.fd);
        if fd > next {
            out.push(Slot::Empty(next, fd - 1));
        }
        out.push(Slot::Used(fe));
        next = fd + 1;
    }
    let setsize = i64::try_from(f.snap.setsize).unwrap_or(i64::MAX);
    if next < setsize {
        out.push(Slot::Beyond(next, setsize - 1));
    }
    out
}

fn event_row(f: &Frame, slot: &Slot<'_>) -> PaneRow {
    let dim = |fd: String, what: &str| PaneRow {
        cells: vec![fd, "-".into(), what.into()],
        mark: Mark::Dim,
    };
    match slot {
        Slot::Used(fe) => {
            let redis: Vec<String> = [fe.read.as_ref(), fe.write.as_ref()]
                .into_iter()
                .flatten()
                .map(|h| h.mirrors.to_string())
                .collect();
            PaneRow {
                cells: vec![
                    fe.fd.to_string(),
                    mask_text(fe.mask),
                    role_short(fe),
                    handler_ours(fe.read.as_ref()),
                    handler_ours(fe.write.as_ref()),
                    redis.join(" / "),
                    role_peer(fe),
                ],
                mark: if f.dispatching() == Some(fe.fd) {
                    Mark::Current
                } else {
                    Mark::Plain
                },
            }
        }
        Slot::Empty(a, b) if a == b => dim(a.to_string(), "(empty)"),
        Slot::Empty(a, b) => dim(format!("{a}-{b}"), "(empty)"),
        Slot::Beyond(a, _) => dim(format!("{a}+"), "(unused)"),
    }
}

/// `rwb` letters, or `-` for AE_NONE.
pub fn mask_text(m: Mask) -> String {
    if m.is_empty() {
        "-".into()
    } else {
        m.to_string()
    }
}

fn mask_words(m: Mask) -> String {
    let mut w = Vec::new();
    for (bit, name) in [
        (Mask::READABLE, "AE_READABLE"),
        (Mask::WRITABLE, "AE_WRITABLE"),
        (Mask::BARRIER, "AE_BARRIER"),
    ] {
        if m.contains(bit) {
            w.push(name);
        }
    }
    if w.is_empty() {
        "AE_NONE".into()
    } else {
        w.join(" | ")
    }
}

fn handler_ours(h: Option<&Handler>) -> String {
    h.map_or_else(String::new, |h| h.name.to_string())
}

fn handler_both(h: Option<&Handler>) -> String {
    match h {
        None => "none".into(),
        Some(h) if h.mirrors.is_empty() => h.name.to_string(),
        Some(h) => format!("{} (mirrors Redis's {})", h.name, h.mirrors),
    }
}

fn role_text(fe: &FileEventInfo) -> String {
    format!("{} {}", role_short(fe), role_peer(fe))
        .trim_end()
        .to_string()
}

/// An fd that already reads queries but is not a client yet: createClient
/// registers the read handler first and links the client just after, so a
/// probe between the two sees this.
fn is_client_being_created(fe: &FileEventInfo) -> bool {
    fe.what == FdRole::Other
        && fe
            .read
            .as_ref()
            .is_some_and(|h| h.is_named("read_query_from_client"))
}

/// The kind of fd in a word or two: `listener`, `client 3`.
fn role_short(fe: &FileEventInfo) -> String {
    match &fe.what {
        FdRole::Listener { .. } => "listener".into(),
        FdRole::Client { client, .. } => format!("client {client}"),
        FdRole::Other if is_client_being_created(fe) => "new client".into(),
        FdRole::Other => "other".into(),
    }
}

/// The address (and client name) behind an fd.
fn role_peer(fe: &FileEventInfo) -> String {
    match &fe.what {
        FdRole::Listener { addr } => addr.clone(),
        FdRole::Client { addr, name, .. } => match name {
            Some(n) => format!("{addr} {n}"),
            None => addr.clone(),
        },
        FdRole::Other if is_client_being_created(fe) => "(createClient links it next)".into(),
        FdRole::Other => "(not a listener or a client this viewer knows)".into(),
    }
}

// ---------------------------------------------------------------------------
// fired
// ---------------------------------------------------------------------------

fn fired_row(app: &App, f: &Frame, i: usize, e: &Fired) -> PaneRow {
    let g = &app.theme.glyphs;
    let past_dispatch = matches!(f.phase, Phase::TimeEvents | Phase::End);
    let (state, mark, glyph) = match f.fired_reached() {
        // The last iteration's entries, still in the array until poll runs.
        _ if f.fired_shown().1.is_some() => ("last iter", Mark::Dim, " "),
        Some(cur) if i < cur || (i == cur && f.phase != Phase::FileEvents) => {
            ("done", Mark::Done, g.done)
        }
        Some(cur) if i == cur => ("dispatching", Mark::Current, g.current),
        // Its fd lost its handler before its turn (the client was closed).
        _ if past_dispatch => ("skipped", Mark::Dim, " "),
        _ => ("waiting", Mark::Plain, " "),
    };
    let handler = f
        .snap
        .file_events
        .iter()
        .find(|fe| fe.fd == e.fd)
        .map(|fe| {
            let mut hs = Vec::new();
            if e.mask.contains(Mask::READABLE)
                && let Some(h) = &fe.read
            {
                hs.push(h.name.to_string());
            }
            if e.mask.contains(Mask::WRITABLE)
                && let Some(h) = &fe.write
            {
                hs.push(h.name.to_string());
            }
            hs.join(", ")
        })
        .unwrap_or_default();
    PaneRow {
        cells: vec![
            format!("{glyph}{}", if e.refired { g.refired } else { "" }),
            e.fd.to_string(),
            mask_text(e.mask),
            if e.refired { "refired" } else { "kernel" }.into(),
            state.into(),
            handler,
        ],
        mark,
    }
}

// ---------------------------------------------------------------------------
// time events
// ---------------------------------------------------------------------------

fn when_text(when_us: u64, now_us: u64) -> String {
    if when_us <= now_us {
        "due".into()
    } else {
        format!("in {} ms", (when_us - now_us) / 1000)
    }
}

fn timer_rows(app: &App, f: &Frame) -> Vec<PaneRow> {
    let bounding = f.bounding_timer();
    f.snap
        .time_events
        .iter()
        .map(|t| {
            let bounds = bounding == Some(t.id);
            PaneRow {
                cells: vec![
                    if bounds { app.theme.glyphs.bounds } else { "" }.into(),
                    t.id.to_string(),
                    t.handler.name.to_string(),
                    when_text(t.when_us, f.snap.t_us),
                    t.period_ms.map_or("-".into(), |p| format!("{p} ms")),
                    t.handler.mirrors.to_string(),
                ],
                mark: if bounds { Mark::Bounds } else { Mark::Plain },
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// beforeSleep
// ---------------------------------------------------------------------------

/// The lines of the beforeSleep pane: (what, how much, what it means).
fn before_sleep_lines(f: &Frame, t: &Theme) -> Vec<(&'static str, String, &'static str)> {
    let Some(b) = &f.before_sleep else {
        return vec![(
            "beforeSleep",
            "not seen yet".into(),
            "beforeSleep runs at the top of every iteration, before poll",
        )];
    };
    let d = &b.did;
    let mut lines = vec![if b.running() {
        (
            "iteration",
            format!("{} (in progress: so far)", b.iter),
            "this iteration's beforeSleep is running: the numbers below grow as it works",
        )
    } else {
        (
            "iteration",
            format!("{} (done)", b.iter),
            "the iteration whose finished beforeSleep these numbers describe",
        )
    }];
    if d.aof_bytes_written > 0 || d.aof_fsynced {
        lines.push((
            "AOF first",
            format!(
                "{}{}",
                plural(d.aof_bytes_written, "byte"),
                if d.aof_fsynced { ", fsynced" } else { "" }
            ),
            "flushAppendOnlyFile: the AOF buffer went to the file (and to disk under appendfsync always) before any reply below",
        ));
    }
    lines.extend([
        (
            "written",
            format!(
                "{}, {}",
                plural(u64::from(d.clients_written), "client"),
                plural(d.bytes_written, "byte")
            ),
            "handleClientsWithPendingWrites: replies queued by commands were written straight to the sockets, without waiting for a writable event",
        ),
        (
            "installed",
            plural(u64::from(d.write_handlers_installed), "write handler"),
            "clients whose socket could not take the whole reply got a writable handler (sendReplyToClient) to finish later",
        ),
        (
            "closed",
            plural(u64::from(d.clients_closed), "client"),
            "clients marked to close asynchronously (freeClientAsync) were freed here",
        ),
        (
            "expired",
            plural(d.keys_expired, "key"),
            "the fast active-expire cycle removed keys whose time to live had passed",
        ),
        match b.took_us {
            Some(us) => ("took", t.duration(us), "time spent in beforeSleep, pauses left out"),
            None => (
                "took",
                "still running".into(),
                "the time appears when beforeSleep ends",
            ),
        },
    ]);
    lines
}

/// `1 client`, `2 clients`.
pub(crate) fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

// ---------------------------------------------------------------------------
// command flow
// ---------------------------------------------------------------------------

/// An argument as typed at redis-cli: quoted if it is empty or has spaces.
/// One the trace cut ([`short_bytes`](crate::trace::model::short_bytes):
/// its first bytes, then `…(+N bytes)`) is summarised by its size, with its
/// start only if that is plain text: a 32 MiB value of zero bytes shows as
/// `(32 MiB)`, not as a row of `\x00`.
fn arg_text(a: &str) -> String {
    use crate::trace::model::{SHORT_LEN, size_text};
    if let Some((start, rest)) = a.rsplit_once("…(+")
        && start.len() >= SHORT_LEN
        && let Some(more) = rest
            .strip_suffix(" bytes)")
            .and_then(|n| n.parse::<u64>().ok())
    {
        let size = size_text(SHORT_LEN as u64 + more);
        return if start.contains('\\') {
            format!("({size})")
        } else {
            let head: String = start.chars().take(16).collect();
            format!("\"{head}…\" ({size})")
        };
    }
    if a.is_empty() || a.contains(' ') {
        format!("\"{a}\"")
    } else {
        a.to_string()
    }
}

fn flow_row(app: &App, c: &CommandEntry, current: Option<u64>) -> PaneRow {
    let argv: Vec<String> = c.argv.iter().map(|a| arg_text(a)).collect();
    let more = (c.argc as usize)
        .checked_sub(c.argv.len())
        .filter(|&n| n > 0)
        .map_or_else(String::new, |n| format!(" (+{n} args)"));
    let reply = match c.wait_as_of(app.visible_seq()) {
        None => c.reply.shown(),
        Some(None) => format!("(blocked, waiting on {})", c.wait_keys()),
        Some(Some(end)) => format!(
            "{} ({}, after {})",
            end.reply
                .as_ref()
                .map_or_else(|| "(reply already sent)".to_string(), |r| r.shown()),
            end.reason,
            app.theme.duration(end.t_us.saturating_sub(c.t_us))
        ),
    };
    PaneRow {
        cells: vec![
            c.iter.to_string(),
            c.client.to_string(),
            format!(
                "{}{more} {} {reply}",
                argv.join(" "),
                app.theme.glyphs.arrow,
            ),
        ],
        mark: if current == Some(c.seq) {
            Mark::Current
        } else {
            Mark::Plain
        },
    }
}

fn command_details(c: &CommandEntry, app: &App) -> Vec<(String, String)> {
    let t = &app.theme;
    let mut out = vec![
        ("iteration".to_string(), c.iter.to_string()),
        ("event seq".into(), c.seq.to_string()),
        (
            "client".into(),
            match &c.client_name {
                Some(n) => format!("{} ({n}), fd {}", c.client, c.fd),
                None => format!("{}, fd {}", c.client, c.fd),
            },
        ),
        ("db".into(), c.db.to_string()),
        (
            "command".into(),
            c.name.as_deref().unwrap_or("(unknown command)").to_string(),
        ),
        ("argc".into(), c.argc.to_string()),
    ];
    for (i, a) in c.argv.iter().enumerate() {
        out.push((format!("argv[{i}]"), a.clone()));
    }
    if !c.keys.is_empty() {
        out.push(("keys".into(), c.keys.join(" ")));
    }
    out.push((
        "reply".into(),
        format!(
            "{}, {}: {}",
            c.reply.kind.word(),
            crate::trace::model::size_text(c.reply.bytes),
            c.reply.shown()
        ),
    ));
    out.push(("took".into(), t.duration(c.duration_us)));
    let wait = match c.wait_as_of(app.visible_seq()) {
        None => None,
        Some(None) => Some(format!(
            "blocked on {}: no reply yet, the client waits (blockForKeys) while the loop serves others",
            c.wait_keys()
        )),
        Some(Some(end)) => Some(format!(
            "blocked on {} for {}; {}; it resumed in beforeSleep (processUnblockedClients) with {}",
            c.wait_keys(),
            t.duration(end.t_us.saturating_sub(c.t_us)),
            end.reason,
            end.reply.as_ref().map_or_else(
                || "its reply already sent".to_string(),
                |r| format!("the reply {}", r.shown())
            )
        )),
    };
    if let Some(wait) = wait {
        out.push(("wait".into(), wait));
    }
    out.push((
        "written".into(),
        "the reply waits in the client's buffer; the next beforeSleep writes it".into(),
    ));
    out
}

// ---------------------------------------------------------------------------
// clients
// ---------------------------------------------------------------------------

fn secs(now_us: u64, then_us: u64) -> String {
    (now_us.saturating_sub(then_us) / 1_000_000).to_string()
}

/// A buffer's size in its column: the exact count while it fits, then in
/// KiB or MiB (a 32 MiB reply would not).
fn buffer_text(bytes: u64) -> String {
    if bytes < 100_000 {
        bytes.to_string()
    } else {
        crate::trace::model::size_text(bytes)
    }
}

fn client_row(f: &Frame, c: &ClientInfo) -> PaneRow {
    let now = f.snap.t_us;
    PaneRow {
        cells: vec![
            c.id.to_string(),
            c.fd.to_string(),
            c.addr.clone(),
            c.name.clone().unwrap_or_default(),
            c.db.to_string(),
            buffer_text(c.qbuf),
            buffer_text(c.reply_bytes),
            if c.blocked {
                format!("{} (blocked)", c.last_cmd)
            } else {
                c.last_cmd.to_string()
            },
            secs(now, c.ctime_us),
            secs(now, c.last_interaction_us),
        ],
        mark: if f.dispatching() == Some(c.fd) {
            Mark::Current
        } else {
            Mark::Plain
        },
    }
}

fn client_details(f: &Frame, c: &ClientInfo) -> Vec<(String, String)> {
    let cells = client_row(f, c).cells;
    Pane::Clients
        .columns()
        .iter()
        .zip(cells)
        .map(|(col, v)| (format!("client {}", col.name), v))
        .collect()
}

// ---------------------------------------------------------------------------
// probe log
// ---------------------------------------------------------------------------

/// One probe's row: the columns say what it is about, the last one says
/// what it does in the very sentence the header's "at" line uses for it.
fn probe_row(app: &App, e: &ProbeEntry, current: Option<u64>) -> PaneRow {
    let dash = || "-".to_string();
    PaneRow {
        cells: vec![
            e.iter.to_string(),
            probe_kind_name(e.data.kind()),
            e.data.fd().map_or_else(dash, |fd| fd.to_string()),
            e.data.client().map_or_else(dash, |c| c.to_string()),
            super::view::probe::describe(&e.data, &app.theme),
        ],
        mark: if current == Some(e.seq) {
            Mark::Current
        } else {
            Mark::Plain
        },
    }
}

#[cfg(test)]
mod tests {
    use super::arg_text;
    use crate::trace::model::short_bytes;

    #[test]
    fn a_cut_argument_shows_its_size_not_its_escapes() {
        assert_eq!(arg_text(&short_bytes(&vec![0u8; 32 << 20])), "(32 MiB)");
        assert_eq!(
            arg_text(&short_bytes(&vec![b'a'; 1000])),
            "\"aaaaaaaaaaaaaaaa…\" (1000 bytes)"
        );
        assert_eq!(arg_text(&short_bytes(b"hello world")), "\"hello world\"");
        // Typed by someone, not cut by the trace: shown as it is.
        assert_eq!(arg_text("x…(+5 bytes)"), "\"x…(+5 bytes)\"");
    }
}

//! The probe log: the last probes the loop fired, one entry each, with a
//! filter, readable as of any point of the stream.
//!
//! Every trace event becomes one [`ProbeEntry`] as it arrives. Pushing is
//! cheap on purpose (the UI applies hundreds of events per batch): the entry
//! keeps the event's data as it came, and nothing is formatted until a row
//! is drawn. The filter is kept as the list of entries it matches, extended
//! one test per pushed event, so drawing never scans the whole log.
//!
//! Like the other logs (see [`super::logs`]), entries are ordered by `seq`:
//! the view of the past shows the entries up to the frame on screen, the
//! live view all of them.

use std::collections::VecDeque;

use super::logs::{Log, Seq};
use super::state::probe_kind_name;
use crate::trace::model::{Event, Fd, ProbeData, ProbeKind};

/// How many probes the log keeps; older ones are let go, and the pane says so.
pub const PROBE_LOG_CAP: usize = 10_000;

/// One probe, as the loop fired it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeEntry {
    pub seq: u64,
    pub iter: u64,
    pub t_us: u64,
    pub data: ProbeData,
}

impl Seq for ProbeEntry {
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// Which probes the log shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeFilter {
    /// One kind of probe (`command`, `poll_return`).
    Kind(ProbeKind),
    /// The probes about one fd.
    Fd(Fd),
    /// The probes about one client.
    Client(u64),
    /// Probes whose names contain this text, ignoring case: handlers,
    /// command names and arguments, addresses, reasons, channels.
    Text(String),
}

/// What the filter prompt takes, for its hint and the help.
pub const FILTER_FORMS: &str =
    "a probe kind (command, read, poll_return ...), fd=N, client=N, or text to find in the names";

impl ProbeFilter {
    /// Parses what was typed in the filter prompt; empty text means no filter.
    pub fn parse(text: &str) -> Result<Option<ProbeFilter>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let number = |what: &str, n: &str| {
            n.trim()
                .parse::<u64>()
                .map_err(|_| format!("{what}= takes a number, not `{}`", n.trim()))
        };
        let lower = text.to_ascii_lowercase();
        if let Some(n) = lower.strip_prefix("fd=") {
            let fd = number("fd", n)?;
            return Fd::try_from(fd)
                .map(|fd| Some(ProbeFilter::Fd(fd)))
                .map_err(|_| format!("no fd is that large: {fd}"));
        }
        if let Some(n) = lower.strip_prefix("client=") {
            return number("client", n).map(|c| Some(ProbeFilter::Client(c)));
        }
        let kind = ProbeKind::ALL
            .iter()
            .find(|k| probe_kind_name(**k) == lower.replace('-', "_"));
        Ok(Some(match kind {
            Some(&kind) => ProbeFilter::Kind(kind),
            None => ProbeFilter::Text(text.to_string()),
        }))
    }

    pub fn matches(&self, e: &ProbeEntry) -> bool {
        match self {
            ProbeFilter::Kind(kind) => e.data.kind() == *kind,
            ProbeFilter::Fd(fd) => e.data.fd() == Some(*fd),
            ProbeFilter::Client(id) => e.data.client() == Some(*id),
            ProbeFilter::Text(text) => any_name(&e.data, |name| contains_ignoring_case(name, text)),
        }
    }

    /// The filter as the pane's title writes it.
    pub fn describe(&self) -> String {
        match self {
            ProbeFilter::Kind(kind) => probe_kind_name(*kind),
            ProbeFilter::Fd(fd) => format!("fd={fd}"),
            ProbeFilter::Client(id) => format!("client={id}"),
            ProbeFilter::Text(text) => format!("\"{text}\""),
        }
    }
}

/// True if some name the probe carries satisfies `test` (it stops at the
/// first that does). These are the words a text filter looks in.
fn any_name(data: &ProbeData, mut test: impl FnMut(&str) -> bool) -> bool {
    if let Some(h) = data.handler() {
        return test(&h.name) || test(&h.mirrors);
    }
    match data {
        ProbeData::Command {
            name,
            argv,
            client_name,
            ..
        } => {
            name.as_deref().is_some_and(&mut test)
                || client_name.as_deref().is_some_and(&mut test)
                || argv.iter().any(|a| test(a))
        }
        ProbeData::ClientConnected { addr, .. } => test(addr),
        ProbeData::ClientClosed { addr, reason, .. } => test(addr) || test(reason),
        ProbeData::ClientBlocked { keys, .. } => keys.iter().any(|k| test(k)),
        ProbeData::LazyExpired { key, .. } => test(key),
        ProbeData::CommandQueued { name, .. } => test(name),
        ProbeData::ClientUnblocked { reason, .. } => test(reason),
        ProbeData::Published { channel, .. } => test(channel),
        ProbeData::AofAppended { command, .. } => test(command),
        ProbeData::AofFlushed {
            postponed, fsync, ..
        } => postponed.as_deref().is_some_and(&mut test) || test(fsync),
        ProbeData::AofFsynced { mode, .. } => test(mode),
        ProbeData::EventsWhileBlocked { caller, .. } => test(caller),
        _ => false,
    }
}

/// `needle` in `hay`, ASCII case ignored, without allocating.
fn contains_ignoring_case(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The log and its filter. See the module doc.
#[derive(Debug)]
pub struct ProbeLog {
    entries: Log<ProbeEntry>,
    filter: Option<ProbeFilter>,
    /// With a filter: the entries it matches, each by its number among all
    /// entries ever pushed (so that letting old entries go moves nothing).
    matching: VecDeque<u64>,
}

impl ProbeLog {
    pub fn new(cap: usize) -> ProbeLog {
        ProbeLog {
            entries: Log::new(cap),
            filter: None,
            matching: VecDeque::new(),
        }
    }

    pub fn push(&mut self, ev: &Event) {
        let entry = ProbeEntry {
            seq: ev.seq,
            iter: ev.iter,
            t_us: ev.t_us,
            data: ev.data.clone(),
        };
        let number = self.entries.forgotten() + self.entries.count_upto(u64::MAX) as u64;
        if self.filter.as_ref().is_some_and(|f| f.matches(&entry)) {
            self.matching.push_back(number);
        }
        self.entries.push(entry);
        let first_kept = self.entries.forgotten();
        while self.matching.front().is_some_and(|&n| n < first_kept) {
            self.matching.pop_front();
        }
    }

    pub fn filter(&self) -> Option<&ProbeFilter> {
        self.filter.as_ref()
    }

    /// Sets (or, with `None`, clears) the filter, and finds what it matches.
    pub fn set_filter(&mut self, filter: Option<ProbeFilter>) {
        let first_kept = self.entries.forgotten();
        self.matching = match &filter {
            None => VecDeque::new(),
            Some(f) => self
                .entries
                .range(0, usize::MAX)
                .enumerate()
                .filter(|(_, e)| f.matches(e))
                .map(|(i, _)| first_kept + i as u64)
                .collect(),
        };
        self.filter = filter;
    }

    /// How many older probes were let go to stay within the cap.
    pub fn forgotten(&self) -> u64 {
        self.entries.forgotten()
    }

    /// How many entries the log holds up to event `seq`, filter or not.
    pub fn held_upto(&self, seq: u64) -> usize {
        self.entries.count_upto(seq)
    }

    /// How many entries pass the filter up to event `seq`: the pane's rows.
    pub fn shown_upto(&self, seq: u64) -> usize {
        if self.filter.is_none() {
            return self.entries.count_upto(seq);
        }
        self.matching
            .partition_point(|&n| self.by_number(n).is_some_and(|e| e.seq <= seq))
    }

    /// The `i`th entry that passes the filter, oldest first.
    pub fn shown(&self, i: usize) -> Option<&ProbeEntry> {
        if self.filter.is_none() {
            return self.entries.get(i);
        }
        self.matching.get(i).and_then(|&n| self.by_number(n))
    }

    /// The row of the entry produced by event `seq`, if it passes the filter.
    pub fn row_of(&self, seq: u64) -> Option<usize> {
        let row = self.shown_upto(seq).checked_sub(1)?;
        self.shown(row).filter(|e| e.seq == seq).map(|_| row)
    }

    fn by_number(&self, n: u64) -> Option<&ProbeEntry> {
        let i = n.checked_sub(self.entries.forgotten())?;
        self.entries.get(usize::try_from(i).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{Handler, IoOutcome, Mask, ReplyInfo, Site};
    use std::borrow::Cow;

    fn event(seq: u64, data: ProbeData) -> Event {
        Event {
            seq,
            iter: seq / 10,
            t_us: seq * 100,
            site: Cow::Owned(Site {
                file: "src/ae/mod.rs".into(),
                line: 1,
                function: "process_events".into(),
                mirrors: "aeProcessEvents".into(),
            }),
            data,
        }
    }

    fn command(seq: u64, client: u64, fd: Fd, argv: &[&str]) -> Event {
        event(
            seq,
            ProbeData::Command {
                client,
                client_name: None,
                fd,
                db: 0,
                name: Some(argv[0].to_ascii_lowercase().into()),
                argv: argv.iter().map(|a| a.to_string()).collect(),
                argc: argv.len() as u32,
                keys: Vec::new(),
                reply: ReplyInfo::from_resp(b"+OK\r\n"),
                duration_us: 3,
            },
        )
    }

    fn read(seq: u64, client: u64, fd: Fd) -> Event {
        event(
            seq,
            ProbeData::Read {
                client,
                fd,
                bytes: 27,
                qbuf: 0,
                outcome: IoOutcome::Drained,
            },
        )
    }

    fn file_event(seq: u64, fd: Fd) -> Event {
        event(
            seq,
            ProbeData::FileEvent {
                fd,
                mask: Mask::READABLE,
                handler: Handler::new("read_query_from_client", "readQueryFromClient"),
                refired: false,
            },
        )
    }

    fn seqs(log: &ProbeLog, upto: u64) -> Vec<u64> {
        (0..log.shown_upto(upto))
            .filter_map(|i| log.shown(i).map(|e| e.seq))
            .collect()
    }

    fn sample() -> ProbeLog {
        let mut log = ProbeLog::new(100);
        for ev in [
            event(1, ProbeData::IterationBegin {}),
            file_event(2, 8),
            read(3, 1, 8),
            command(4, 1, 8, &["SET", "foo", "bar"]),
            file_event(5, 9),
            read(6, 2, 9),
            command(7, 2, 9, &["GET", "Foo"]),
        ] {
            log.push(&ev);
        }
        log
    }

    #[test]
    fn filters_by_kind_fd_client_and_text() {
        let mut log = sample();
        assert_eq!(seqs(&log, u64::MAX), [1, 2, 3, 4, 5, 6, 7]);
        let mut only = |text: &str| {
            log.set_filter(ProbeFilter::parse(text).unwrap());
            seqs(&log, u64::MAX)
        };
        assert_eq!(only("command"), [4, 7]);
        assert_eq!(only("fd=8"), [2, 3, 4]);
        assert_eq!(only("client=2"), [6, 7]);
        // Text looks in names and arguments, ignoring case.
        assert_eq!(only("foo"), [4, 7]);
        assert_eq!(only("READQUERY"), [2, 5]);
        assert_eq!(only("nothing like it"), Vec::<u64>::new());
        assert_eq!(only("  "), [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn a_filter_follows_new_probes() {
        let mut log = sample();
        log.set_filter(ProbeFilter::parse("Command").unwrap());
        log.push(&read(8, 1, 8));
        log.push(&command(9, 1, 8, &["DEL", "foo"]));
        assert_eq!(seqs(&log, u64::MAX), [4, 7, 9]);
        assert_eq!(
            log.filter().map(ProbeFilter::describe),
            Some("command".into())
        );
    }

    #[test]
    fn the_prompt_says_what_it_cannot_take() {
        assert!(ProbeFilter::parse("fd=x").unwrap_err().contains("number"));
        assert!(ProbeFilter::parse("client=").is_err());
        assert_eq!(
            ProbeFilter::parse("poll-return").unwrap(),
            Some(ProbeFilter::Kind(ProbeKind::PollReturn))
        );
        assert_eq!(
            ProbeFilter::parse("fd=12").unwrap().map(|f| f.describe()),
            Some("fd=12".into())
        );
    }

    #[test]
    fn as_of_a_seq_the_log_ends_at_it_and_marks_it() {
        let mut log = sample();
        assert_eq!(seqs(&log, 5), [1, 2, 3, 4, 5]);
        assert_eq!(log.row_of(5), Some(4));
        log.set_filter(ProbeFilter::parse("command").unwrap());
        assert_eq!(seqs(&log, 5), [4]);
        assert_eq!(log.held_upto(5), 5);
        // The probe at seq 5 does not pass the filter: no row is it.
        assert_eq!(log.row_of(5), None);
        assert_eq!(log.row_of(7), Some(1));
    }

    #[test]
    fn bounded_and_the_filter_lets_go_of_what_the_log_let_go() {
        let mut log = ProbeLog::new(4);
        log.set_filter(ProbeFilter::parse("fd=8").unwrap());
        for seq in 1..=10 {
            let fd = if seq % 2 == 0 { 8 } else { 9 };
            log.push(&file_event(seq, fd));
        }
        assert_eq!(log.forgotten(), 6);
        assert_eq!(log.held_upto(u64::MAX), 4);
        assert_eq!(seqs(&log, u64::MAX), [8, 10]);
        log.set_filter(None);
        assert_eq!(seqs(&log, u64::MAX), [7, 8, 9, 10]);
    }
}

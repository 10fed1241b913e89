//! A synthetic trace stream for tests: the messages a real loop sends when a
//! client connects and runs `SET foo bar`, built by hand with the model types
//! so the UI can be tested without a server.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::{Mutex, OnceLock};

use crate::trace::model::*;

use super::state::App;
use super::theme::Theme;

/// The Redis function each kind of probe mirrors in the real loop.
fn mirrors(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::PollReturn => "aeApiPoll",
        ProbeKind::BeforeSleepBegin | ProbeKind::BeforeSleepEnd => "beforeSleep",
        ProbeKind::Read => "readQueryFromClient",
        ProbeKind::InputProcessed => "processInputBuffer",
        ProbeKind::Command => "call",
        ProbeKind::Write => "writeToClient",
        ProbeKind::TimeEventStart | ProbeKind::TimeEvent => "processTimeEvents",
        ProbeKind::ClientConnected => "createClient",
        ProbeKind::ClientClosed => "freeClient",
        ProbeKind::FileEventCreated => "aeCreateFileEvent",
        ProbeKind::FileEventDeleted => "aeDeleteFileEvent",
        ProbeKind::TimeEventCreated => "aeCreateTimeEvent",
        ProbeKind::TimeEventDeleted => "aeDeleteTimeEvent",
        ProbeKind::ExpireCycle => "activeExpireCycle",
        _ => "aeProcessEvents",
    }
}

/// The site of the line of this file that calls [`Script::ev`]. Like a
/// probe's, it is a real line of the embedded sources, so the source pane
/// shows the code that made the event; and since it is test code, the
/// screens the tests review do not change when the loop's code does.
#[track_caller]
fn caller_site(kind: ProbeKind) -> &'static Site {
    type Sites = Mutex<HashMap<(u32, ProbeKind), &'static Site>>;
    static SITES: OnceLock<Sites> = OnceLock::new();
    let at = Location::caller();
    let mut sites = SITES
        .get_or_init(Sites::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    sites.entry((at.line(), kind)).or_insert_with(|| {
        let function = crate::source::file(at.file())
            .and_then(|text| crate::source::enclosing_function(text, at.line()))
            .map_or_else(|| "?".to_string(), |f| f.name);
        // One leak per calling line and kind: a handful for the whole run.
        Box::leak(Box::new(Site {
            file: Cow::Borrowed(at.file()),
            line: at.line(),
            function: Cow::Owned(function),
            mirrors: Cow::Borrowed(mirrors(kind)),
        }))
    })
}

pub const LISTENER: Fd = 6;
pub const CLIENT_FD: Fd = 8;
pub const CRON_MS: u64 = 100;

pub fn accept() -> Handler {
    Handler::new("accept_tcp_handler", "acceptTcpHandler")
}
pub fn read_query() -> Handler {
    Handler::new("read_query_from_client", "readQueryFromClient")
}
pub fn cron() -> Handler {
    Handler::new("server_cron", "serverCron")
}

/// Builds a stream event by event, keeping `seq`, `iter` and the clock right.
pub struct Script {
    pub seq: u64,
    pub iter: u64,
    pub t_us: u64,
    pub out: Vec<Message>,
}

impl Script {
    /// Hello, the initial snapshot (a listener and serverCron), and a gate
    /// paused before the first iteration.
    pub fn start() -> Script {
        let mut s = Script {
            seq: 0,
            iter: 0,
            t_us: 1_000,
            out: Vec::new(),
        };
        s.out.push(Message::Hello(Hello {
            format: FORMAT_VERSION,
            loopscope: Cow::Borrowed("0.1.0"),
            setsize: 10_128,
            hz: 10,
            port: 6380,
            epoch_unix_us: 1_800_000_000_000_000,
            viewer: 0,
            read_only: false,
            anchors: Vec::new(),
            features: Vec::new(),
        }));
        s.out.push(Message::Snapshot(Snapshot {
            seq: 0,
            iter: 0,
            t_us: 1_000,
            setsize: 10_128,
            maxfd: LISTENER,
            file_events: vec![FileEventInfo {
                fd: LISTENER,
                mask: Mask::READABLE,
                read: Some(accept()),
                write: None,
                what: FdRole::Listener {
                    addr: "127.0.0.1:6380".into(),
                },
            }],
            fired: Vec::new(),
            time_events: vec![TimeEventInfo {
                id: 0,
                handler: cron(),
                when_us: 1_000 + CRON_MS * 1000,
                period_ms: None,
            }],
            listeners: vec![ListenerInfo {
                fd: LISTENER,
                addr: "127.0.0.1:6380".into(),
            }],
            clients: Vec::new(),
            keyspace: Vec::new(),
        }));
        s.out.push(Message::Gate(GateStatus {
            state: GateState::Paused,
            at: None,
            breakpoints: Vec::new(),
            controller: None,
        }));
        s
    }

    /// Adds an event whose site is the line that calls this.
    #[track_caller]
    pub fn ev(&mut self, data: ProbeData) {
        self.seq += 1;
        self.t_us += 10;
        let site = caller_site(data.kind());
        self.out.push(Message::Event(Event {
            seq: self.seq,
            iter: self.iter,
            t_us: self.t_us,
            site: Cow::Borrowed(site),
            data,
        }));
    }

    /// An iteration's top to poll's return with `fired`; `wrote`: beforeSleep's (clients, bytes).
    pub fn begin(&mut self, fired: Vec<Fired>, wrote: (u32, u64), slept_us: u64) {
        self.iter += 1;
        self.ev(ProbeData::IterationBegin {});
        self.ev(ProbeData::BeforeSleepBegin {});
        if wrote.0 > 0 {
            self.ev(ProbeData::Write {
                client: 1,
                fd: CLIENT_FD,
                bytes: wrote.1,
                pending: 0,
                outcome: IoOutcome::Ok,
            });
        }
        self.ev(ProbeData::BeforeSleepEnd {
            duration_us: 12,
            paused_us: 0,
            did: BeforeSleepSummary {
                clients_written: wrote.0,
                bytes_written: wrote.1,
                ..BeforeSleepSummary::default()
            },
            keyspace: Vec::new(),
        });
        self.ev(ProbeData::PollEnter {
            timeout_ms: Some(CRON_MS),
            reason: PollReason::Timer {
                id: 0,
                name: Cow::Borrowed("server_cron"),
            },
        });
        self.t_us += slept_us;
        self.ev(ProbeData::PollReturn { fired, slept_us });
        self.ev(ProbeData::AfterSleep {});
    }

    /// The end of an iteration: serverCron if due, then iteration end.
    pub fn end(&mut self, file_events: u32, commands: u32, cron_runs: bool) {
        if cron_runs {
            self.ev(ProbeData::TimeEventStart {
                id: 0,
                handler: cron(),
            });
            self.ev(ProbeData::TimeEvent {
                id: 0,
                handler: cron(),
                next_us: Some(self.t_us + CRON_MS * 1000),
                period_ms: Some(CRON_MS),
                duration_us: 30,
            });
        }
        self.ev(ProbeData::IterationEnd {
            duration_us: 500,
            file_events,
            commands,
            time_events: u32::from(cron_runs),
            paused_us: 0,
        });
    }

    /// An iteration where only serverCron runs.
    pub fn idle(&mut self) {
        self.begin(Vec::new(), (0, 0), CRON_MS * 1000);
        self.end(0, 0, true);
    }

    /// An iteration that accepts client 1 on fd 8.
    pub fn connect(&mut self) {
        let fired = vec![Fired {
            fd: LISTENER,
            mask: Mask::READABLE,
            refired: false,
        }];
        self.begin(fired, (0, 0), 2_000);
        self.ev(ProbeData::FileEvent {
            fd: LISTENER,
            mask: Mask::READABLE,
            handler: accept(),
            refired: false,
        });
        self.ev(ProbeData::ClientConnected {
            client: 1,
            fd: CLIENT_FD,
            addr: "127.0.0.1:50000".into(),
        });
        self.ev(ProbeData::FileEventCreated {
            fd: CLIENT_FD,
            mask: Mask::READABLE,
            handler: read_query(),
            now: Mask::READABLE,
        });
        self.end(1, 0, false);
    }

    /// An iteration where client 1 sends `SET foo bar`, up to the command.
    pub fn set_foo_bar(&mut self) {
        let fired = vec![Fired {
            fd: CLIENT_FD,
            mask: Mask::READABLE,
            refired: false,
        }];
        self.begin(fired, (0, 0), 3_000);
        self.ev(ProbeData::FileEvent {
            fd: CLIENT_FD,
            mask: Mask::READABLE,
            handler: read_query(),
            refired: false,
        });
        self.ev(ProbeData::Read {
            client: 1,
            fd: CLIENT_FD,
            bytes: 31,
            qbuf: 31,
            outcome: IoOutcome::Ok,
        });
        self.ev(ProbeData::Command {
            client: 1,
            client_name: None,
            fd: CLIENT_FD,
            db: 0,
            name: Some("set".into()),
            argv: vec!["SET".into(), "foo".into(), "bar".into()],
            argc: 3,
            keys: vec!["foo".into()],
            reply: ReplyInfo::from_resp(b"+OK\r\n"),
            duration_us: 3,
        });
        self.ev(ProbeData::InputProcessed {
            client: 1,
            fd: CLIENT_FD,
            commands: 1,
            qbuf: 0,
        });
        self.end(1, 1, false);
    }

    /// The whole story: idle, connect, SET, and the iteration that writes +OK.
    pub fn story() -> Script {
        let mut s = Script::start();
        s.idle();
        s.connect();
        s.set_foo_bar();
        s.begin(Vec::new(), (1, 5), CRON_MS * 1000);
        s.end(0, 0, true);
        s
    }
}

/// The fd of the client of [`Script::crowd`] that asks for the big value.
pub const BIG_FD: Fd = 12;

impl Script {
    /// A crowded loop: fifteen clients on fds 8 to 22; the one on fd 12
    /// (client 5) runs `GET big`, and the next beforeSleep writes 4 MiB of
    /// its 32 MiB reply and installs a write handler for the rest (chapter
    /// 7's moment), where the story stops. More rows than any events pane
    /// at 80x24 or 100x30 has room for, with the interesting ones inside.
    pub fn crowd() -> Script {
        let mut s = Script::start();
        s.idle();
        let listener = Fired {
            fd: LISTENER,
            mask: Mask::READABLE,
            refired: false,
        };
        s.begin(vec![listener], (0, 0), 2_000);
        s.ev(ProbeData::FileEvent {
            fd: LISTENER,
            mask: Mask::READABLE,
            handler: accept(),
            refired: false,
        });
        for client in 1..=15u64 {
            let fd = CLIENT_FD + Fd::try_from(client).unwrap_or(0) - 1;
            s.ev(ProbeData::ClientConnected {
                client,
                fd,
                addr: format!("127.0.0.1:{}", 50_000 + client),
            });
            s.ev(ProbeData::FileEventCreated {
                fd,
                mask: Mask::READABLE,
                handler: read_query(),
                now: Mask::READABLE,
            });
        }
        s.end(1, 0, false);
        let readable = Fired {
            fd: BIG_FD,
            mask: Mask::READABLE,
            refired: false,
        };
        s.begin(vec![readable], (0, 0), 1_000);
        s.ev(ProbeData::FileEvent {
            fd: BIG_FD,
            mask: Mask::READABLE,
            handler: read_query(),
            refired: false,
        });
        let mut reply = b"$33554432\r\n".to_vec();
        reply.resize(reply.len() + 33_554_432, 0);
        reply.extend_from_slice(b"\r\n");
        s.ev(ProbeData::Command {
            client: 5,
            client_name: None,
            fd: BIG_FD,
            db: 0,
            name: Some("get".into()),
            argv: vec!["GET".into(), "big".into()],
            argc: 2,
            keys: vec!["big".into()],
            reply: ReplyInfo::from_resp(&reply),
            duration_us: 4,
        });
        s.end(1, 1, false);
        s.iter += 1;
        s.ev(ProbeData::IterationBegin {});
        s.ev(ProbeData::BeforeSleepBegin {});
        let written = 4 << 20;
        s.ev(ProbeData::Write {
            client: 5,
            fd: BIG_FD,
            bytes: written,
            pending: reply.len() as u64 - written,
            outcome: IoOutcome::Drained,
        });
        s.ev(ProbeData::FileEventCreated {
            fd: BIG_FD,
            mask: Mask::WRITABLE,
            handler: Handler::new("send_reply_to_client", "sendReplyToClient"),
            now: Mask::READABLE.union(Mask::WRITABLE),
        });
        s
    }
}

/// An app (colour off, ASCII glyphs unless `unicode`) fed with `msgs`.
pub fn app_with(msgs: &[Message], unicode: bool) -> App {
    let mut app = App::new(
        Theme::new(false, !unicode),
        "live",
        "connect: redis-cli -p 6380",
    );
    for m in msgs {
        app.on_message(m.clone());
    }
    app
}

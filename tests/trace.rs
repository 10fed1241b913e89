//! The trace stream and the gate, end to end: a real `loopscope serve` with
//! `--trace-port` (and `--trace FILE`), real client sockets, and viewers that
//! speak the JSON-lines protocol of docs/trace-format.md.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::TestServer;
use loopscope::trace::model::{
    BreakOn, GateState, Message, ProbeData, ProbeKind, Snapshot, StopReason, short_bytes,
};
use loopscope::trace::reader;

/// A server with an attach port and extra flags.
fn server(extra: &[&str]) -> (TestServer, u16) {
    TestServer::start_with_trace_port(extra)
}

/// A viewer on the attach port, following the stream like a TUI would.
struct Viewer {
    lines: BufReader<TcpStream>,
    out: TcpStream,
    /// Snapshot + every event seen so far (the reducer of the model).
    state: Snapshot,
    last_gate: Option<loopscope::trace::model::GateStatus>,
}

impl Viewer {
    fn attach(port: u16) -> Viewer {
        let stream = common::connect_attach_port(port, Duration::from_secs(10));
        let out = stream.try_clone().unwrap();
        let mut v = Viewer {
            lines: BufReader::new(stream),
            out,
            state: Snapshot::default(),
            last_gate: None,
        };
        assert!(matches!(v.next(), Message::Hello(h) if h.format == 1));
        assert!(matches!(v.next(), Message::Snapshot(_)), "snapshot second");
        assert!(matches!(v.next(), Message::Gate(_)), "gate third");
        v
    }

    fn send(&mut self, line: &str) {
        self.out.write_all(line.as_bytes()).unwrap();
        self.out.write_all(b"\n").unwrap();
    }

    /// The next message, applied to `state`.
    fn next(&mut self) -> Message {
        let mut line = String::new();
        let n = self.lines.read_line(&mut line).expect("a trace line");
        assert!(n > 0, "trace stream ended");
        let msg: Message =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line}: {e}"));
        match &msg {
            Message::Snapshot(s) => self.state = s.clone(),
            Message::Event(e) => {
                assert_eq!(e.seq, self.state.seq + 1, "no gaps in a test this small");
                self.state.apply(e);
            }
            Message::Gate(g) => self.last_gate = Some(g.clone()),
            _ => {}
        }
        msg
    }

    /// Reads until `pred` matches; returns everything read, the match last.
    fn until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Vec<Message> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let m = self.next();
            let done = pred(&m);
            seen.push(m);
            if done {
                return seen;
            }
        }
    }

    fn until_paused(&mut self) -> loopscope::trace::model::StopPoint {
        self.until(
            "the gate to pause",
            |m| matches!(m, Message::Gate(g) if g.state == GateState::Paused),
        );
        self.last_gate
            .as_ref()
            .and_then(|g| g.at.clone())
            .expect("paused somewhere")
    }
}

fn events(msgs: &[Message]) -> Vec<&ProbeData> {
    msgs.iter()
        .filter_map(|m| match m {
            Message::Event(e) => Some(&e.data),
            _ => None,
        })
        .collect()
}

fn client(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn request(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// Reads one single-line RESP reply (status, error, integer, null) or a bulk.
fn reply(conn: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut byte = [0u8];
    while !got.ends_with(b"\r\n") {
        conn.read_exact(&mut byte).expect("reply byte");
        got.push(byte[0]);
    }
    if got[0] == b'$' && got != b"$-1\r\n" {
        let len: usize = std::str::from_utf8(&got[1..got.len() - 2])
            .unwrap()
            .parse()
            .unwrap();
        let mut body = vec![0; len + 2];
        conn.read_exact(&mut body).unwrap();
        got.extend_from_slice(&body);
    }
    got
}

fn fd_of_client(msgs: &[Message], addr: &str) -> i32 {
    events(msgs)
        .into_iter()
        .find_map(|d| match d {
            ProbeData::ClientConnected { fd, addr: a, .. } if a == addr => Some(*fd),
            _ => None,
        })
        .expect("client_connected for our socket")
}

/// Connect, SET, GET, disconnect: the stream shows each step in order, with
/// the right fds, handler names and argv, and replies match what the client got.
#[test]
fn scripted_session_yields_the_expected_probe_sequence() {
    let (srv, tport) = server(&[]);
    let mut v = Viewer::attach(tport);
    let mut c = client(srv.port);
    let addr = c.local_addr().unwrap().to_string();
    c.write_all(&request(&["SET", "foo", "bar"])).unwrap();
    let set_reply = reply(&mut c);
    c.write_all(&request(&["GET", "foo"])).unwrap();
    let get_reply = reply(&mut c);
    drop(c);
    let msgs = v.until("client_closed", |m| {
        matches!(m, Message::Event(e) if matches!(&e.data, ProbeData::ClientClosed { addr: a, .. } if *a == addr))
    });
    let fd = fd_of_client(&msgs, &addr);
    let listener = v.state.listeners[0].fd;

    // Each expectation must be met after the previous one, in this order.
    type Check = Box<dyn Fn(&ProbeData) -> bool>;
    let argv_is = |want: &'static [&'static str]| -> Check {
        Box::new(
            move |d| matches!(d, ProbeData::Command { argv, .. } if argv.iter().map(String::as_str).eq(want.iter().copied())),
        )
    };
    let expected: Vec<(&str, Check)> = vec![
        (
            "accept on the listener",
            Box::new(
                move |d| matches!(d, ProbeData::FileEvent { fd: f, handler, .. } if *f == listener && handler.name == "accept_tcp_handler" && handler.mirrors == "acceptTcpHandler"),
            ),
        ),
        (
            "read handler registered",
            Box::new(
                move |d| matches!(d, ProbeData::FileEventCreated { fd: f, handler, .. } if *f == fd && handler.name == "read_query_from_client"),
            ),
        ),
        (
            "client connected",
            Box::new(move |d| matches!(d, ProbeData::ClientConnected { fd: f, .. } if *f == fd)),
        ),
        (
            "readable fired",
            Box::new(
                move |d| matches!(d, ProbeData::FileEvent { fd: f, handler, .. } if *f == fd && handler.mirrors == "readQueryFromClient"),
            ),
        ),
        (
            "query read",
            Box::new(
                move |d| matches!(d, ProbeData::Read { fd: f, bytes, .. } if *f == fd && *bytes == 31),
            ),
        ),
        ("SET ran", argv_is(&["SET", "foo", "bar"])),
        (
            "input processed",
            Box::new(
                move |d| matches!(d, ProbeData::InputProcessed { fd: f, commands: 1, .. } if *f == fd),
            ),
        ),
        (
            "before_sleep",
            Box::new(|d| matches!(d, ProbeData::BeforeSleepBegin {})),
        ),
        (
            "SET reply written",
            Box::new(move |d| matches!(d, ProbeData::Write { fd: f, .. } if *f == fd)),
        ),
        (
            "before_sleep done",
            Box::new(
                |d| matches!(d, ProbeData::BeforeSleepEnd { did, .. } if did.clients_written >= 1),
            ),
        ),
        ("GET ran", argv_is(&["GET", "foo"])),
        (
            "GET reply written",
            Box::new(move |d| matches!(d, ProbeData::Write { fd: f, .. } if *f == fd)),
        ),
        (
            "EOF read",
            Box::new(move |d| matches!(d, ProbeData::Read { fd: f, bytes: 0, .. } if *f == fd)),
        ),
        (
            "fd unregistered",
            Box::new(move |d| matches!(d, ProbeData::FileEventDeleted { fd: f, .. } if *f == fd)),
        ),
        (
            "client closed",
            Box::new(move |d| matches!(d, ProbeData::ClientClosed { fd: f, .. } if *f == fd)),
        ),
    ];
    let evs = events(&msgs);
    let mut pos = 0;
    for (what, check) in &expected {
        match evs[pos..].iter().position(|d| check(d)) {
            Some(i) => pos += i + 1,
            None => panic!("no '{what}' after event #{pos}: {:#?}", &evs[pos..]),
        }
    }

    // The trace's reply previews are the bytes the client received.
    let previews: Vec<&str> = evs
        .iter()
        .filter_map(|d| match d {
            ProbeData::Command { fd: f, reply, .. } if *f == fd => Some(reply.preview.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(previews, [short_bytes(&set_reply), short_bytes(&get_reply)]);
    assert!(
        v.state.clients.iter().all(|c| c.addr != addr),
        "reduced state forgot the client"
    );
}

/// Paused, the loop really stops: a GET gets no reply until the viewer steps.
#[test]
fn a_paused_loop_answers_only_after_steps() {
    let (srv, tport) = server(&[]);
    let mut v = Viewer::attach(tport);
    let mut c = client(srv.port);
    c.write_all(&request(&["PING"])).unwrap();
    reply(&mut c);

    v.send(r#"{"cmd":"pause"}"#);
    v.until_paused();
    c.write_all(&request(&["GET", "foo"])).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8];
    assert!(
        c.read(&mut byte).is_err(),
        "no reply while the loop is paused"
    );

    // Step iteration by iteration; the reply is written in the before_sleep
    // of the iteration after the one that read the command.
    c.set_nonblocking(true).unwrap();
    let mut steps = 0;
    let got_reply = loop {
        steps += 1;
        assert!(steps <= 20, "no reply after 20 iteration steps");
        v.send(r#"{"cmd":"step","unit":"iteration"}"#);
        let at = v.until_paused();
        assert_eq!(at.kind, ProbeKind::IterationBegin);
        assert_eq!(at.reason, StopReason::Step);
        std::thread::sleep(Duration::from_millis(50));
        if c.read(&mut byte).is_ok() {
            break true;
        }
    };
    assert!(got_reply && steps >= 2, "took {steps} steps");
    v.send(r#"{"cmd":"continue"}"#);
}

/// A breakpoint on a command name stops at that command; one on an fd stops
/// at the first probe about that fd, and at nothing else.
#[test]
fn breakpoints_on_command_and_fd_stop_exactly_there() {
    let (srv, tport) = server(&[]);
    let mut v = Viewer::attach(tport);
    v.send(r#"{"cmd":"break_add","on":"command","name":"get","id":1}"#);
    let acks = v.until("ack", |m| matches!(m, Message::Ack(_)));
    let bp = match acks.last() {
        Some(Message::Ack(a)) => a.breakpoint.expect("breakpoint id"),
        _ => unreachable!(),
    };
    let mut c1 = client(srv.port);
    c1.write_all(&request(&["SET", "k", "v"])).unwrap();
    reply(&mut c1);
    c1.write_all(&request(&["GET", "k"])).unwrap();
    let before = v.until(
        "paused",
        |m| matches!(m, Message::Gate(g) if g.state == GateState::Paused),
    );
    let at = v.last_gate.as_ref().and_then(|g| g.at.clone()).expect("at");
    assert_eq!(at.reason, StopReason::Breakpoint { id: bp });
    let stopped_at = before
        .iter()
        .find_map(|m| match m {
            Message::Event(e) if e.seq == at.seq => Some(e.data.clone()),
            _ => None,
        })
        .expect("the event it stopped at was sent first");
    assert!(matches!(stopped_at, ProbeData::Command { argv, .. } if argv[0] == "GET"));
    let c1_fd = fd_of_client(&before, &c1.local_addr().unwrap().to_string());

    // Replace it with an fd breakpoint on a second client.
    v.send(&format!(r#"{{"cmd":"break_remove","bp":{bp}}}"#));
    v.send(r#"{"cmd":"continue"}"#);
    reply(&mut c1);
    let mut c2 = client(srv.port);
    let c2_addr = c2.local_addr().unwrap().to_string();
    let msgs = v.until("c2 connected", |m| {
        matches!(m, Message::Event(e) if matches!(&e.data, ProbeData::ClientConnected { addr, .. } if *addr == c2_addr))
    });
    let c2_fd = fd_of_client(&msgs, &c2_addr);
    assert_ne!(c1_fd, c2_fd);
    v.send(&format!(r#"{{"cmd":"break_add","on":"fd","fd":{c2_fd}}}"#));
    v.until("ack", |m| matches!(m, Message::Ack(_)));
    // Traffic on the other client does not stop the loop.
    c1.write_all(&request(&["GET", "k"])).unwrap();
    reply(&mut c1);
    c2.write_all(&request(&["GET", "k"])).unwrap();
    let msgs = v.until(
        "paused on fd",
        |m| matches!(m, Message::Gate(g) if g.state == GateState::Paused),
    );
    let at = v.last_gate.as_ref().and_then(|g| g.at.clone()).expect("at");
    let first_about_c2 = msgs
        .iter()
        .find_map(|m| match m {
            Message::Event(e) if e.data.fd() == Some(c2_fd) => Some(e.seq),
            _ => None,
        })
        .expect("an event about c2");
    assert_eq!(
        at.seq, first_about_c2,
        "stopped at the first probe on the fd"
    );
    assert_eq!(at.kind, ProbeKind::FileEvent);
    // Still enabled, it stops again at the next probe about the fd (the read).
    v.send(r#"{"cmd":"continue"}"#);
    let again = v.until_paused();
    assert_eq!(again.kind, ProbeKind::Read);
    let fd_bp = match &again.reason {
        StopReason::Breakpoint { id } => *id,
        other => panic!("stopped because {other:?}"),
    };
    v.send(&format!(r#"{{"cmd":"break_disable","bp":{fd_bp}}}"#));
    v.send(r#"{"cmd":"continue"}"#);
    reply(&mut c2);
}

/// A viewer attaching while the loop is paused mid-run gets a snapshot equal
/// to the state another viewer rebuilt from the whole stream, and it matches
/// the real clients.
#[test]
fn a_mid_run_attacher_gets_the_live_state() {
    let (srv, tport) = server(&[]);
    let mut first = Viewer::attach(tport);
    let mut a = client(srv.port);
    let b = client(srv.port);
    a.write_all(&request(&["SET", "x", "1"])).unwrap();
    reply(&mut a);
    let b_addr = b.local_addr().unwrap().to_string();
    first.until("b connected", |m| {
        matches!(m, Message::Event(e) if matches!(&e.data, ProbeData::ClientConnected { addr, .. } if *addr == b_addr))
    });
    first.send(r#"{"cmd":"pause"}"#);
    first.until_paused();

    let late = TcpStream::connect(("127.0.0.1", tport)).unwrap();
    late.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut lines = BufReader::new(late).lines();
    let hello: Message = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert!(matches!(hello, Message::Hello(_)));
    let snap = match serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() {
        Message::Snapshot(s) => s,
        other => panic!("expected a snapshot, got {other:?}"),
    };
    assert_eq!(
        snap, first.state,
        "late snapshot == state rebuilt from the stream"
    );
    let mut addrs: Vec<&str> = snap.clients.iter().map(|c| c.addr.as_str()).collect();
    addrs.sort();
    let mut want = vec![a.local_addr().unwrap().to_string(), b_addr.clone()];
    want.sort();
    assert_eq!(addrs, want);
    for c in &snap.clients {
        let fe = snap
            .file_events
            .iter()
            .find(|f| f.fd == c.fd)
            .expect("a registered fd per client");
        assert_eq!(
            fe.read.as_ref().map(|h| h.name.as_ref()),
            Some("read_query_from_client")
        );
    }
    assert!(
        snap.time_events
            .iter()
            .any(|t| t.handler.name == "server_cron")
    );
    first.send(r#"{"cmd":"continue"}"#);
}

/// `--trace FILE` records a stream that replays to the same final state a
/// live viewer followed, and that, cut short, replays up to the cut.
#[test]
fn a_recorded_file_replays_to_the_same_final_state() {
    let dir = std::env::temp_dir().join(format!("loopscope-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("session.jsonl");
    let (srv, tport) = server(&["--trace", file.to_str().unwrap()]);
    let mut v = Viewer::attach(tport);
    let mut a = client(srv.port);
    a.write_all(&request(&["SET", "k", "v"])).unwrap();
    reply(&mut a);
    let gone = client(srv.port);
    drop(gone);
    let mut b = client(srv.port);
    b.write_all(&request(&["PING"])).unwrap();
    reply(&mut b);
    std::thread::sleep(Duration::from_millis(200));
    assert!(srv.terminate().success());
    // The viewer follows the stream to its end (or as far as it got).
    let mut viewer_last_seq = 0;
    loop {
        let mut line = String::new();
        match v.lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if let Ok(Message::Event(e)) = serde_json::from_str::<Message>(&line) {
                    viewer_last_seq = e.seq;
                    v.state.apply(&e);
                } else if let Ok(Message::Snapshot(s)) = serde_json::from_str::<Message>(&line) {
                    v.state = s;
                }
            }
        }
    }
    let bytes = std::fs::read(&file).unwrap();
    let replay = reader::replay(&bytes[..]).expect("the file replays");
    assert_eq!(replay.missed, 0);
    assert!(!replay.stale);
    // The file, replayed up to the last event the viewer saw, rebuilds the
    // very state the viewer had then. (Where the two streams end depends on
    // how fast each writer drains at shutdown, not on what they contain.)
    let text = String::from_utf8(bytes.clone()).unwrap();
    let mut prefix = String::new();
    for line in text.lines() {
        prefix.push_str(line);
        prefix.push('\n');
        if matches!(serde_json::from_str::<Message>(line), Ok(Message::Event(e)) if e.seq == viewer_last_seq)
        {
            break;
        }
    }
    let replay_at_viewer = reader::replay(prefix.as_bytes()).expect("the prefix replays");
    assert_eq!(replay_at_viewer.state, v.state);
    assert!(
        viewer_last_seq + 20 >= replay.state.seq,
        "the viewer fell far behind the file"
    );
    assert_eq!(
        replay.state.clients.len(),
        2,
        "a and b were still connected"
    );

    // Cuts inside later lines (the hello, with its anchor table, is long).
    let body = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let rest = bytes.len() - body;
    for cut in [body + rest / 3, body + rest / 2, bytes.len() - 7] {
        let mut truncated = bytes[..cut].to_vec();
        if truncated.last() == Some(&b'\n') {
            truncated.pop();
            truncated.pop();
        }
        // As a crash leaves it: everything before the cut line replays, and
        // the cut line is named.
        let complete = truncated.iter().filter(|&&b| b == b'\n').count() as u64;
        match reader::replay(&truncated[..]) {
            Ok(r) => assert_eq!(r.cut_short, Some(complete + 1), "cut at {cut}"),
            Err(e) => panic!("a recording cut short replays up to the cut: {e}"),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Garbage on the attach port gets error lines; the gate and the server are
/// untouched.
#[test]
fn garbage_on_the_attach_port_gets_errors_and_changes_nothing() {
    let (srv, tport) = server(&[]);
    let mut v = Viewer::attach(tport);
    let mut junk: Vec<u8> = b"hello\n{\"cmd\":\"dance\",\"id\":9}\n\xff\xfe\x00\n[]\n".to_vec();
    junk.extend(std::iter::repeat_n(b'x', 70 * 1024));
    junk.extend_from_slice(b"\n{\"cmd\":\"play\"}\n");
    v.out.write_all(&junk).unwrap();
    let msgs = v.until("five errors", {
        let count = std::cell::Cell::new(0);
        move |m| {
            if matches!(m, Message::Error(_)) {
                count.set(count.get() + 1);
            }
            count.get() == 6
        }
    });
    let errors: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m {
            Message::Error(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    assert!(errors[0].error.starts_with("line 1: not JSON"));
    assert_eq!(errors[1].id, Some(9));
    assert!(errors[4].error.contains("longer than"));
    assert!(
        msgs.iter()
            .all(|m| !matches!(m, Message::Gate(_) | Message::Ack(_)))
    );
    // Still running, nobody in control, clients served.
    let mut c = client(srv.port);
    c.write_all(&request(&["PING"])).unwrap();
    reply(&mut c);
    v.send(r#"{"cmd":"snapshot","id":3}"#);
    v.until("ack", |m| matches!(m, Message::Ack(a) if a.id == Some(3)));
    let gate = v.last_gate.clone().expect("gate");
    assert_eq!((gate.state, gate.controller), (GateState::Running, None));
}

/// A viewer that never reads cannot slow the server down: a pipelined burst
/// is fully answered while the viewer's queue overflows.
#[test]
fn a_viewer_that_never_reads_does_not_stall_the_loop() {
    let (srv, tport) = server(&[]);
    let _silent = TcpStream::connect(("127.0.0.1", tport)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut c = client(srv.port);
    let n = 20_000;
    let one = request(&["PING"]);
    let burst: Vec<u8> = one.iter().copied().cycle().take(one.len() * n).collect();
    let writer = {
        let mut c = c.try_clone().unwrap();
        std::thread::spawn(move || c.write_all(&burst))
    };
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let started = Instant::now();
    while got < n {
        let k = c.read(&mut buf).expect("replies keep coming");
        got += buf[..k].iter().filter(|&&b| b == b'\n').count();
    }
    writer.join().unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    // And a new viewer still gets a consistent start.
    let mut late = Viewer::attach(tport);
    late.until("an event", |m| matches!(m, Message::Event(_)));
}

/// `BreakOn` round-trips as documented (keeps the test binary honest about the
/// documented JSON shape of breakpoints).
#[test]
fn breakpoint_json_shape_is_the_documented_one() {
    let on: BreakOn = serde_json::from_str(r#"{"on":"key","pattern":"user:*"}"#).unwrap();
    assert_eq!(
        on,
        BreakOn::Key {
            pattern: "user:*".into()
        }
    );
}

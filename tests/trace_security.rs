//! The attach port as something exposed to a classroom: a token when it
//! leaves loopback, read-only viewers, and viewers that misbehave (never
//! read, flood garbage, flood controls) without the server noticing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, free_port};
use loopscope::trace::model::{GateState, Message};
use loopscope::tui::{AttachTarget, TraceSource};

/// A server with an attach port and extra flags.
fn server(extra: &[&str]) -> (TestServer, u16) {
    TestServer::start_with_trace_port(extra)
}

/// A raw connection to the attach port.
struct Peer {
    lines: BufReader<TcpStream>,
    out: TcpStream,
}

impl Peer {
    fn connect(port: u16) -> Peer {
        let stream = common::connect_attach_port(port, Duration::from_secs(20));
        Peer {
            out: stream.try_clone().unwrap(),
            lines: BufReader::new(stream),
        }
    }

    fn send(&mut self, line: &str) {
        self.try_send(line).unwrap();
    }

    /// Sends a line to a server that may already have answered and closed
    /// (a refused viewer): the write may then fail, the answer is still there
    /// to read.
    fn try_send(&mut self, line: &str) -> std::io::Result<()> {
        self.out.write_all(format!("{line}\n").as_bytes())
    }

    /// The next message, or `None` once the server closed the connection.
    fn next(&mut self) -> Option<Message> {
        let mut line = String::new();
        match self.lines.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))),
        }
    }

    /// Reads until `pred` matches (panics if the stream ends first).
    fn until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Message {
        loop {
            match self.next() {
                Some(m) if pred(&m) => return m,
                Some(_) => {}
                None => panic!("the stream ended before {what}"),
            }
        }
    }

    /// Every message until the server closes the connection.
    fn rest(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.next()).collect()
    }

    fn greeted(&mut self) {
        assert!(
            matches!(self.next(), Some(Message::Hello(_))),
            "hello first"
        );
        assert!(
            matches!(self.next(), Some(Message::Snapshot(_))),
            "then a snapshot"
        );
        assert!(
            matches!(self.next(), Some(Message::Gate(_))),
            "then the gate"
        );
    }
}

fn error_text(m: &Message) -> Option<&str> {
    match m {
        Message::Error(e) => Some(&e.error),
        _ => None,
    }
}

fn ping(port: u16) {
    let mut c = common::RespConn::connect(&format!("127.0.0.1:{port}"));
    assert_eq!(c.call(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn a_trace_port_off_loopback_without_a_token_refuses_to_start() {
    let out = Command::new(env!("CARGO_BIN_EXE_loopscope"))
        .args(["serve", "--port", &free_port().to_string()])
        .args(["--trace-port", &free_port().to_string()])
        .args(["--trace-bind", "0.0.0.0"])
        .stdin(Stdio::null())
        .output()
        .expect("run loopscope");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("loopscope: --trace-bind 0.0.0.0 is not a loopback address")
            && last.contains("--trace-token"),
        "{stderr}"
    );
}

#[test]
fn without_the_right_token_a_viewer_sees_nothing_but_why() {
    let (srv, tport) = server(&["--trace-token", "s3cret"]);
    // A wrong token, and a control line instead of the handshake: one
    // error line each, and the connection ends. No hello, no state.
    for (first, why) in [
        (r#"{"cmd":"attach","token":"s3creT"}"#, "wrong trace token"),
        (r#"{"cmd":"pause"}"#, "this trace port needs a token"),
    ] {
        let mut p = Peer::connect(tport);
        p.send(first);
        let all = p.rest();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            error_text(&all[0]).is_some_and(|e| e.starts_with(why)),
            "{all:?}"
        );
    }
    let mut p = Peer::connect(tport);
    p.send(r#"{"cmd":"attach","token":"s3cret"}"#);
    p.greeted();
    // The UI's attach says the same, before any terminal is touched.
    let mut target = AttachTarget::new(format!("127.0.0.1:{tport}"));
    target.handshake.token = Some("nope".into());
    let e = TraceSource::Attach(target.clone())
        .open()
        .err()
        .expect("refused");
    assert!(e.contains("wrong trace token"), "{e}");
    target.handshake.token = Some("s3cret".into());
    assert!(TraceSource::Attach(target).open().is_ok());
    ping(srv.port);
}

#[test]
fn a_server_that_admits_only_watchers_says_so_in_the_hello() {
    let (_srv, tport) = server(&["--trace-read-only"]);
    let mut watcher = Peer::connect(tport);
    assert!(
        matches!(watcher.next(), Some(Message::Hello(h)) if h.read_only),
        "the hello says the viewer may only watch"
    );
}

#[test]
fn read_only_viewers_cannot_move_the_loop() {
    let (srv, tport) = server(&[]);
    let mut watcher = Peer::connect(tport);
    watcher.send(r#"{"cmd":"attach","read_only":true}"#);
    watcher.greeted();
    for (id, cmd) in [(1, "pause"), (2, "take_control"), (3, "step")] {
        watcher.send(&format!(r#"{{"cmd":"{cmd}","id":{id}}}"#));
        let m = watcher.until("the refusal", |m| matches!(m, Message::Error(_)));
        let Message::Error(e) = m else { unreachable!() };
        assert_eq!(e.id, Some(id));
        assert!(e.error.contains("read-only viewer"), "{}", e.error);
    }
    watcher.send(r#"{"cmd":"snapshot","id":4}"#);
    watcher.until(
        "the snapshot ack",
        |m| matches!(m, Message::Ack(a) if a.id == Some(4)),
    );
    ping(srv.port);
    // Another viewer, not read-only, still may.
    let mut teacher = Peer::connect(tport);
    assert!(matches!(teacher.next(), Some(Message::Hello(h)) if !h.read_only));
    teacher.next();
    teacher.next();
    teacher.send(r#"{"cmd":"pause","id":5}"#);
    teacher.until(
        "the pause ack",
        |m| matches!(m, Message::Ack(a) if a.id == Some(5)),
    );
    teacher.send(r#"{"cmd":"continue","id":6}"#);
    teacher.until(
        "running again",
        |m| matches!(m, Message::Gate(g) if g.state == GateState::Running),
    );

    // With --trace-read-only, nobody may.
    let (_srv, tport) = server(&["--trace-read-only"]);
    let mut p = Peer::connect(tport);
    p.greeted();
    p.send(r#"{"cmd":"pause","id":7}"#);
    let m = p.until("the refusal", |m| matches!(m, Message::Error(_)));
    assert!(error_text(&m).is_some_and(|e| e.contains("--trace-read-only")));
}

#[test]
fn a_viewer_that_never_reads_cannot_stall_the_server() {
    let (srv, tport) = server(&[]);
    // Two viewers that never read a byte, one of them with a tiny window.
    let _silent = Peer::connect(tport);
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{tport}").parse().unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut client = srv.client();
    let n = 20_000;
    for i in 0..n {
        let () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut client)
            .expect("SET answered");
    }
    let size: i64 = redis::cmd("DBSIZE").query(&mut client).unwrap();
    assert_eq!(size, n);
    let last: i64 = redis::cmd("GET")
        .arg(format!("k{}", n - 1))
        .query(&mut client)
        .unwrap();
    assert_eq!(last, n - 1);
}

/// Reads `peer` until the server drops it; returns the reason it gave.
fn dropped_with_reason(peer: &mut Peer) -> String {
    let rest = peer.rest();
    rest.iter()
        .rev()
        .find_map(error_text)
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no reason given; got {} messages", rest.len()))
}

/// Sends `bytes` from another thread (the server stops reading, then
/// closes: write errors are expected and ignored).
fn flood(peer: &Peer, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    let mut out = peer.out.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = out.write_all(&bytes);
    })
}

#[test]
fn a_viewer_flooding_garbage_is_dropped_while_the_server_keeps_serving() {
    let (srv, tport) = server(&[]);
    let mut bystander = Peer::connect(tport);
    bystander.greeted();
    let mut noisy = Peer::connect(tport);
    noisy.greeted();
    // 4 MB of lines that are not control messages, and a line that never ends.
    let mut garbage = b"{\"cmd\":\"dance\"}\nnot json at all\n".repeat(128 * 1024);
    garbage.extend(std::iter::repeat_n(b'x', 1 << 20));
    let writer = flood(&noisy, garbage);
    let why = dropped_with_reason(&mut noisy);
    assert!(
        why.starts_with("disconnected: 32 lines that were not control messages"),
        "{why}"
    );
    let _ = writer.join();
    ping(srv.port);
    bystander.send(r#"{"cmd":"snapshot","id":1}"#);
    bystander.until(
        "the ack",
        |m| matches!(m, Message::Ack(a) if a.id == Some(1)),
    );
}

#[test]
fn a_viewer_flooding_controls_is_dropped_while_the_server_keeps_serving() {
    let (srv, tport) = server(&[]);
    let mut noisy = Peer::connect(tport);
    noisy.greeted();
    let controls = b"{\"cmd\":\"release_control\"}\n".repeat(200_000);
    let writer = flood(&noisy, controls);
    let why = dropped_with_reason(&mut noisy);
    assert!(why.starts_with("disconnected: more than"), "{why}");
    let _ = writer.join();
    ping(srv.port);
    // The port still serves new viewers.
    Peer::connect(tport).greeted();
}

#[test]
fn a_crowd_of_idle_connections_is_capped() {
    let (srv, tport) = server(&["--trace-token", "t"]);
    let max = loopscope::trace::attach::MAX_VIEWERS;
    // Connections that never send the handshake each hold a place.
    let mut crowd: Vec<Peer> = (0..max).map(|_| Peer::connect(tport)).collect();
    // Their places are taken once the server has accepted them all; poll.
    let deadline = Instant::now() + Duration::from_secs(10);
    let refusal = loop {
        let mut extra = Peer::connect(tport);
        let _ = extra.try_send(r#"{"cmd":"attach","token":"t"}"#);
        let first = extra.next();
        match first.as_ref().and_then(error_text) {
            Some(e) if e.starts_with("too many viewers") => break e.to_string(),
            _ => assert!(Instant::now() < deadline, "never capped: {first:?}"),
        }
    };
    assert!(refusal.contains(&max.to_string()), "{refusal}");
    // One leaves: a place is free again.
    let _ = crowd.pop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut p = Peer::connect(tport);
        let _ = p.try_send(r#"{"cmd":"attach","token":"t"}"#);
        if matches!(p.next(), Some(Message::Hello(_))) {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never given back");
        std::thread::sleep(Duration::from_millis(50));
    }
    ping(srv.port);
}

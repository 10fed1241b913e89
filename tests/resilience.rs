//! The UI's sources when things go wrong: a recording that is corrupt or cut
//! short is refused before the terminal is touched, naming the line; an
//! attach port that goes away is reconnected to, and says so meanwhile.

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use loopscope::trace::model::Message;
use loopscope::tui::source::Feed;
use loopscope::tui::{AttachTarget, TraceSource};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A real trace: a server with `--trace FILE`, one command, SIGTERM.
fn recorded_trace(name: &str) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!(
        "loopscope-resilience-{}-{name}.jsonl",
        std::process::id()
    ));
    let server = TestServer::start_with(&["--trace", &path.to_string_lossy()]);
    common::roundtrip(&mut server.raw(), b"SET k v\r\n", b"+OK\r\n");
    assert!(server.terminate().success());
    let bytes = std::fs::read(&path).expect("trace");
    let _ = std::fs::remove_file(&path);
    bytes
}

/// Runs `loopscope replay` on `bytes` with no terminal; returns the exit
/// status's success, stdout and stderr.
fn replay(name: &str, bytes: &[u8]) -> (bool, String, String) {
    let path = std::env::temp_dir().join(format!(
        "loopscope-resilience-{}-{name}-bad.jsonl",
        std::process::id()
    ));
    std::fs::write(&path, bytes).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_loopscope"))
        .arg("replay")
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run loopscope replay");
    let _ = std::fs::remove_file(&path);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_corrupt_recording_is_refused_naming_the_line() {
    let good = recorded_trace("good");
    let lines: Vec<&[u8]> = good.split_inclusive(|&b| b == b'\n').collect();
    assert!(lines.len() > 5, "a trace of a few lines at least");
    // Half a message followed by more lines is damage, not a crash's cut
    // (a recording cut short replays: see tests/trace.rs).
    let n = lines.len();
    // A line in the middle replaced by garbage, and by bytes that are not UTF-8.
    let with_line = |at: usize, junk: &[u8]| -> Vec<u8> {
        let mut v = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            v.extend_from_slice(if i == at { junk } else { l });
        }
        v
    };
    let cases: [(&str, Vec<u8>, String); 4] = [
        (
            "truncated",
            with_line(
                n - 2,
                &[&lines[n - 2][..lines[n - 2].len() / 2], b"\n"].concat(),
            ),
            format!("line {}: truncated", n - 1),
        ),
        (
            "garbage",
            with_line(3, b"{\"type\":\"event\",\"seq\":}\n"),
            "line 4: not JSON".into(),
        ),
        (
            "binary",
            with_line(2, b"\xff\xfe\x00\n"),
            "line 3: not UTF-8".into(),
        ),
        (
            "headless",
            lines[1..].concat(),
            "line 1: not a loopscope trace".into(),
        ),
    ];
    for (name, bytes, expected) in cases {
        let (ok, stdout, stderr) = replay(name, &bytes);
        assert!(!ok, "{name}: replay should fail");
        assert!(
            stdout.is_empty(),
            "{name}: the terminal was touched: {stdout:?}"
        );
        let line = stderr.lines().last().unwrap_or_default();
        assert!(
            line.starts_with("loopscope: cannot replay") && line.contains(&expected),
            "{name}: {stderr}"
        );
    }
}

/// Reads from `feed` until `pred` holds for a message or for the feed's
/// link state; returns the messages read.
fn until(
    feed: &mut dyn Feed,
    what: &str,
    pred: impl Fn(&[Message], Option<&str>) -> bool,
) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut all = Vec::new();
    loop {
        let mut batch = Vec::new();
        feed.wait(Duration::from_millis(20), &mut batch)
            .expect("an attach feed never ends: it reconnects");
        all.extend(batch);
        if pred(&all, feed.link().as_deref()) {
            return all;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
    }
}

fn hello(all: &[Message]) -> bool {
    all.iter().any(|m| matches!(m, Message::Hello(_)))
}

#[test]
fn attach_reconnects_after_the_server_goes_away() {
    let tport = free_port();
    let port = tport.to_string();
    let server = TestServer::start_with(&["--trace-port", &port]);
    let mut feed = TraceSource::Attach(AttachTarget::new(format!("127.0.0.1:{tport}")))
        .open()
        .expect("attach");
    until(feed.as_mut(), "hello", |all, _| hello(all));
    assert_eq!(feed.link(), None);
    drop(server);
    until(feed.as_mut(), "the link to say so", |_, link| {
        link.is_some_and(|l| l.starts_with("disconnected"))
    });
    assert!(feed.send(loopscope::trace::model::Control::Pause).is_err());
    // A new server on the same trace port: a fresh hello and snapshot.
    let _again = TestServer::start_with(&["--trace-port", &port]);
    until(feed.as_mut(), "a new hello and snapshot", |all, link| {
        hello(all) && all.iter().any(|m| matches!(m, Message::Snapshot(_))) && link.is_none()
    });
}

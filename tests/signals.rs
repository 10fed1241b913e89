//! Signals: SIGTERM and SIGINT stop the server cleanly (its clients see the
//! connection end, the trace file ends with whole lines, the exit status is
//! success), also while the loop is paused at the gate; SIGPIPE never kills
//! it, whatever a client does to its socket.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{TestServer, read_to_close, roundtrip};
use loopscope::trace::model::Message;
use loopscope::trace::reader::TraceReader;

fn trace_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "loopscope-signals-{}-{name}.jsonl",
        std::process::id()
    ))
}

/// Every line of the trace parses, the file ends with a newline, and the
/// last message is returned.
fn last_message(path: &std::path::Path) -> Message {
    let bytes = std::fs::read(path).expect("trace file");
    assert!(bytes.ends_with(b"\n"), "the trace ends mid-line");
    let mut last = None;
    for item in TraceReader::new(bytes.as_slice()) {
        last = Some(item.unwrap_or_else(|e| panic!("bad trace line: {e}")));
    }
    last.expect("an empty trace")
}

/// A server with a trace file, a client connected to it, `signal`: the
/// client's connection ends, the exit status is success, the file is whole.
fn stops_cleanly_on(signal: i32, name: &str, extra: &[&str]) {
    let path = trace_path(name);
    let path_arg = path.to_string_lossy().into_owned();
    let mut args = vec!["--trace", path_arg.as_str()];
    args.extend_from_slice(extra);
    let server = TestServer::start_with(&args);
    let mut c = server.raw();
    if extra.is_empty() {
        roundtrip(&mut c, b"SET k v\r\n", b"+OK\r\n");
    }
    let status = server.stop_with(signal);
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(read_to_close(&mut c), b"", "the client's connection ends");
    let last = last_message(&path);
    assert!(
        matches!(
            last,
            Message::Event(_) | Message::Snapshot(_) | Message::Gate(_)
        ),
        "last line: {last:?}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn sigterm_stops_cleanly_and_the_trace_file_is_whole() {
    stops_cleanly_on(libc::SIGTERM, "term", &[]);
}

#[test]
fn sigint_stops_cleanly_and_the_trace_file_is_whole() {
    stops_cleanly_on(libc::SIGINT, "int", &[]);
}

/// A loop paused at the gate runs no serverCron, yet must still stop.
#[test]
fn sigterm_stops_a_loop_paused_at_the_gate() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
        .to_string();
    stops_cleanly_on(
        libc::SIGTERM,
        "paused",
        &["--trace-port", &port, "--start-paused"],
    );
}

/// Clients that close while their replies are being written make the
/// server's writes fail with EPIPE or a reset; the server shrugs.
#[test]
fn clients_that_vanish_mid_reply_never_kill_the_server() {
    let server = TestServer::start();
    let mut c = server.raw();
    let value = vec![b'v'; 256 * 1024];
    let mut set = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", value.len()).into_bytes();
    set.extend_from_slice(&value);
    set.extend_from_slice(b"\r\n");
    roundtrip(&mut c, &set, b"+OK\r\n");
    for _ in 0..20 {
        let mut rude = server.raw();
        let burst = b"GET big\r\n".repeat(64);
        let _ = rude.write_all(&burst);
        // Close with unread data: the kernel answers the server's next
        // write with a reset, and the one after with EPIPE.
        let _ = socket2::SockRef::from(&rude).set_linger(Some(Duration::ZERO));
        drop(rude);
    }
    roundtrip(&mut c, b"PING\r\n", b"+PONG\r\n");
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, 0) }, 0);
}

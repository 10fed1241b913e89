//! The probes of the client states issue 7 added: a client parked by a
//! blocking command, and a command queued inside MULTI, seen in the trace
//! stream of a server running in this process, exactly as a viewer sees it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use loopscope::server::{self, Config};
use loopscope::trace::Subscription;
use loopscope::trace::model::{Event, Message, ProbeData};

/// A server on a free loopback port, its loop on its own thread, and a
/// viewer subscribed to its trace.
fn start_server() -> (SocketAddr, Subscription) {
    start_server_with(Config::default())
}

/// [`start_server`] with `config` (its port is replaced by a free one).
fn start_server_with(config: Config) -> (SocketAddr, Subscription) {
    let config = Config { port: 0, ..config };
    let (mut el, mut srv) = server::init_server(config).expect("the server starts");
    let handle = server::probes::install_tracer(&mut el, &srv, false);
    let sub = handle.subscribe(1 << 16);
    let addr = srv.local_addr;
    std::thread::spawn(move || el.main(&mut srv));
    (addr, sub)
}

/// Sends `request` and reads until `expected` has arrived.
fn roundtrip(conn: &mut TcpStream, request: &[u8], expected: &[u8]) {
    conn.write_all(request).unwrap();
    let mut got = vec![0; expected.len()];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "the reply to {}",
        String::from_utf8_lossy(request)
    );
}

/// The first probe `want` accepts, within five seconds.
fn wait_for(sub: &Subscription, want: impl Fn(&ProbeData) -> bool) -> ProbeData {
    wait_for_event(sub, want).data
}

/// The first event whose probe `want` accepts, within five seconds.
fn wait_for_event(sub: &Subscription, want: impl Fn(&ProbeData) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if let Ok(msg) = sub.recv_timeout(Some(left))
            && let Message::Event(ev) = &*msg
            && want(&ev.data)
        {
            return ev.clone();
        }
    }
    panic!("the probe never came");
}

/// Asserts that `ev` names `function` in `file`, and that the line it
/// names is inside that function's body in the embedded source (the line
/// the source pane shows).
fn assert_site(ev: &Event, file: &str, function: &str) {
    assert_eq!(
        (ev.site.file.as_ref(), ev.site.function.as_ref()),
        (file, function),
        "{:?}",
        ev.data
    );
    let text = std::fs::read_to_string(file).expect("the source file");
    let lines: Vec<&str> = text.lines().collect();
    let at = ev.site.line as usize - 1;
    let opening = lines[..=at]
        .iter()
        .rev()
        .find(|line| {
            line.starts_with("pub fn ")
                || line.starts_with("fn ")
                || line.starts_with("    pub fn ")
                || line.starts_with("    fn ")
        })
        .expect("a function above the line");
    assert!(
        opening.contains(&format!("fn {function}(")),
        "line {} of {file} is in `{opening}`, not in {function}",
        ev.site.line
    );
}

#[test]
fn a_blocking_pop_with_no_data_emits_client_blocked() {
    let (addr, sub) = start_server();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"*4\r\n$5\r\nBLPOP\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n0\r\n")
        .unwrap();
    let ProbeData::ClientBlocked {
        keys, deadline_ms, ..
    } = wait_for(&sub, |d| matches!(d, ProbeData::ClientBlocked { .. }))
    else {
        unreachable!()
    };
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(deadline_ms, 0);
}

#[test]
fn a_command_inside_multi_emits_command_queued() {
    let (addr, sub) = start_server();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    roundtrip(&mut conn, b"*1\r\n$5\r\nMULTI\r\n", b"+OK\r\n");
    roundtrip(
        &mut conn,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
        b"+QUEUED\r\n",
    );
    let queued = wait_for(&sub, |d| matches!(d, ProbeData::CommandQueued { .. }));
    assert!(
        matches!(&queued, ProbeData::CommandQueued { name, .. } if name == "set"),
        "{queued:?}"
    );
}

#[test]
fn a_served_and_a_timed_out_wait_emit_client_unblocked() {
    let (addr, sub) = start_server();
    let mut waiter = TcpStream::connect(addr).unwrap();
    waiter
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    waiter
        .write_all(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        .unwrap();
    wait_for(&sub, |d| matches!(d, ProbeData::ClientBlocked { .. }));
    let mut pusher = TcpStream::connect(addr).unwrap();
    pusher
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    roundtrip(
        &mut pusher,
        b"*3\r\n$5\r\nLPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n",
        b":1\r\n",
    );
    // It carries the reply that ended the wait, still unsent then.
    let element = b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n";
    let served = wait_for(&sub, |d| matches!(d, ProbeData::ClientUnblocked { .. }));
    assert!(
        matches!(&served, ProbeData::ClientUnblocked { reason, reply: Some(r), .. }
            if reason.starts_with("served") && r.bytes == element.len() as u64),
        "{served:?}"
    );
    let mut reply = vec![0; element.len()];
    waiter.read_exact(&mut reply).unwrap();

    roundtrip(
        &mut waiter,
        b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$4\r\n0.05\r\n",
        b"*-1\r\n",
    );
    let timed_out = wait_for(&sub, |d| matches!(d, ProbeData::ClientUnblocked { .. }));
    assert!(
        matches!(&timed_out, ProbeData::ClientUnblocked { reason, reply: Some(r), .. }
            if reason == "timed out" && r.bytes == b"*-1\r\n".len() as u64),
        "{timed_out:?}"
    );
}

#[test]
fn publish_emits_how_many_received_it() {
    let (addr, sub) = start_server();
    let mut subscriber = TcpStream::connect(addr).unwrap();
    subscriber
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    roundtrip(
        &mut subscriber,
        b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n",
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    let mut publisher = TcpStream::connect(addr).unwrap();
    publisher
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    roundtrip(
        &mut publisher,
        b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
        b":1\r\n",
    );
    let published = wait_for(&sub, |d| matches!(d, ProbeData::Published { .. }));
    assert_eq!(
        published,
        ProbeData::Published {
            channel: "news".to_string(),
            receivers: 1
        }
    );
}

/// Probes about work done inside a command fire where that work happens:
/// the source pane shows `pubsub_publish_message`, `feed_append_only_file`
/// and `expire_if_needed`, not the networking code that ran the command.
#[test]
fn probes_inside_commands_name_the_line_that_did_the_work() {
    let dir = std::env::temp_dir().join(format!("loopscope-sites-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (addr, sub) = start_server_with(Config {
        dir: dir.clone(),
        ..Config::default()
    });
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    roundtrip(
        &mut conn,
        b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
        b":0\r\n",
    );
    let published = wait_for_event(&sub, |d| matches!(d, ProbeData::Published { .. }));
    assert_site(&published, "src/server/pubsub.rs", "pubsub_publish_message");

    roundtrip(
        &mut conn,
        b"*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n",
        b"+OK\r\n",
    );
    roundtrip(
        &mut conn,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
        b"+OK\r\n",
    );
    let appended = wait_for_event(
        &sub,
        |d| matches!(d, ProbeData::AofAppended { command, .. } if command == "set"),
    );
    assert_site(&appended, "src/server/aof/mod.rs", "feed_append_only_file");

    roundtrip(
        &mut conn,
        b"*3\r\n$5\r\nDEBUG\r\n$17\r\nSET-ACTIVE-EXPIRE\r\n$1\r\n0\r\n",
        b"+OK\r\n",
    );
    roundtrip(
        &mut conn,
        b"*5\r\n$3\r\nSET\r\n$4\r\ngone\r\n$1\r\nv\r\n$2\r\nPX\r\n$1\r\n1\r\n",
        b"+OK\r\n",
    );
    std::thread::sleep(Duration::from_millis(10));
    roundtrip(&mut conn, b"*2\r\n$3\r\nGET\r\n$4\r\ngone\r\n", b"$-1\r\n");
    let lazy = wait_for_event(&sub, |d| matches!(d, ProbeData::LazyExpired { .. }));
    assert_site(&lazy, "src/server/db.rs", "expire_pos_if_needed");
    std::fs::remove_dir_all(&dir).ok();
}

//! Pub/sub against a real `loopscope serve`: delivery to many subscribers
//! in publishing order, RESP3 push messages, MONITOR seen from a second
//! connection, and the output buffer limit that disconnects a subscriber
//! that never reads while the server goes on answering everyone else.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{RespConn, TestServer};

fn conn(server: &TestServer) -> RespConn {
    RespConn::connect(&server.addr())
}

fn message(channel: &str, payload: &str) -> Vec<u8> {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
    .into_bytes()
}

#[test]
fn many_subscribers_get_every_message_in_order() {
    let server = TestServer::start();
    let mut subscribers: Vec<RespConn> = (0..20).map(|_| conn(&server)).collect();
    for s in &mut subscribers {
        assert_eq!(
            s.call(&[b"SUBSCRIBE", b"news"]),
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
        );
    }
    let mut publisher = conn(&server);
    for i in 0..100 {
        let payload = format!("m{i}");
        assert_eq!(
            publisher.call(&[b"PUBLISH", b"news", payload.as_bytes()]),
            b":20\r\n"
        );
    }
    for s in &mut subscribers {
        for i in 0..100 {
            assert_eq!(s.reply(), message("news", &format!("m{i}")));
        }
    }
    assert_eq!(
        publisher.call(&[b"PUBSUB", b"NUMSUB", b"news"]),
        b"*2\r\n$4\r\nnews\r\n:20\r\n"
    );
}

#[test]
fn patterns_and_channels_in_resp3_are_pushes() {
    let server = TestServer::start();
    let mut s = conn(&server);
    s.call(&[b"HELLO", b"3"]);
    assert_eq!(
        s.call(&[b"SUBSCRIBE", b"a.1"]),
        b">3\r\n$9\r\nsubscribe\r\n$3\r\na.1\r\n:1\r\n"
    );
    assert_eq!(
        s.call(&[b"PSUBSCRIBE", b"a.*"]),
        b">3\r\n$10\r\npsubscribe\r\n$3\r\na.*\r\n:2\r\n"
    );
    // A RESP3 subscriber may still run ordinary commands.
    assert_eq!(s.call(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    let mut p = conn(&server);
    assert_eq!(p.call(&[b"PUBLISH", b"a.1", b"hi"]), b":2\r\n");
    assert_eq!(
        s.reply(),
        b">3\r\n$7\r\nmessage\r\n$3\r\na.1\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        s.reply(),
        b">4\r\n$8\r\npmessage\r\n$3\r\na.*\r\n$3\r\na.1\r\n$2\r\nhi\r\n"
    );
}

#[test]
fn the_redis_crate_subscriber_receives() {
    let server = TestServer::start();
    let mut sub_con = server.client();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.subscribe("jobs").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut publisher = server.client();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("jobs")
        .arg("hello")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 1);
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "jobs");
    assert_eq!(msg.get_payload::<String>().unwrap(), "hello");
}

#[test]
fn monitor_shows_other_clients_commands() {
    let server = TestServer::start();
    let mut monitor = conn(&server);
    assert_eq!(monitor.call(&[b"MONITOR"]), b"+OK\r\n");
    let mut c = conn(&server);
    let mut addr = String::from_utf8(c.call(&[b"CLIENT", b"INFO"])).unwrap();
    addr = addr
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_string();
    c.call(&[b"SET", b"k", b"a \"b\"\n"]);
    c.call(&[b"SELECT", b"3"]);
    c.call(&[b"NOSUCH"]);
    c.call(&[b"MULTI"]);
    c.call(&[b"INCR", b"n"]);
    c.call(&[b"EXEC"]);
    // CLIENT INFO is shown (only `admin` commands such as CLIENT LIST are
    // not), with the arguments as the client sent them; the unknown
    // command never ran, so it is not.
    let expected = [
        format!("[0 {addr}] \"CLIENT\" \"INFO\""),
        format!("[0 {addr}] \"SET\" \"k\" \"a \\\"b\\\"\\n\""),
        format!("[3 {addr}] \"SELECT\" \"3\""),
        format!("[3 {addr}] \"MULTI\""),
        format!("[3 {addr}] \"INCR\" \"n\""),
        format!("[3 {addr}] \"EXEC\""),
    ];
    for want in expected {
        let line = String::from_utf8(monitor.reply()).unwrap();
        let (time, rest) = line.split_once(' ').unwrap();
        let (secs, micros) = time.trim_start_matches('+').split_once('.').unwrap();
        assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{line}");
        assert_eq!(rest, format!("{want}\r\n"));
    }
    for refused in [&[&b"GET"[..], b"k"][..], &[b"PUBLISH", b"c", b"m"]] {
        assert_eq!(
            monitor.call(refused),
            b"-ERR Replica can't interact with the keyspace\r\n"
        );
    }
    let list = String::from_utf8(c.call(&[b"CLIENT", b"LIST"])).unwrap();
    assert!(list.contains(" flags=O "), "{list}");
}

/// Reads what is available within `wait`, returning how many bytes came and
/// whether the server closed the connection.
fn drain(s: &mut TcpStream, wait: Duration) -> (usize, bool) {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut total = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (total, true),
            Ok(n) => total += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (total, false);
            }
            Err(_) => return (total, true),
        }
    }
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_at_the_limit() {
    let server = TestServer::start();
    let mut admin = conn(&server);
    assert_eq!(
        admin.call(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"pubsub 1mb 256kb 60"
        ]),
        b"+OK\r\n"
    );
    let mut slow = TcpStream::connect(server.addr()).unwrap();
    slow.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nfeed\r\n")
        .unwrap();
    let mut confirm = [0u8; 32];
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    slow.read_exact(&mut confirm[..30]).unwrap();
    let payload = vec![b'x'; 64 * 1024];
    let mut publisher = conn(&server);
    let mut delivered = 0;
    // 1 MB of pending output is ~16 messages beyond what the socket buffers
    // hold; 400 messages (25 MB) is far more than enough.
    for _ in 0..400 {
        let reply = publisher.call(&[b"PUBLISH", b"feed", &payload]);
        if reply == b":0\r\n" {
            break;
        }
        assert_eq!(reply, b":1\r\n");
        delivered += 1;
        // The server keeps answering everyone else.
        assert_eq!(admin.call(&[b"PING"]), b"+PONG\r\n");
    }
    assert!(delivered < 400, "the subscriber was never disconnected");
    let (_, closed) = drain(&mut slow, Duration::from_secs(5));
    assert!(closed, "the slow subscriber's connection is still open");
    let stats = String::from_utf8(admin.call(&[b"INFO", b"stats"])).unwrap();
    assert!(
        stats.contains("client_output_buffer_limit_disconnections:1\r\n"),
        "{stats}"
    );
    assert!(stats.contains("pubsub_channels:0\r\n"), "{stats}");
    assert_eq!(
        admin.call(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]),
        b"$0\r\n\r\n"
    );
}

#[test]
fn the_soft_limit_disconnects_after_its_grace_time_even_without_new_messages() {
    let server = TestServer::start();
    let mut admin = conn(&server);
    admin.call(&[
        b"CONFIG",
        b"SET",
        b"client-output-buffer-limit",
        b"pubsub 0 64kb 1",
    ]);
    let mut slow = TcpStream::connect(server.addr()).unwrap();
    slow.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nfeed\r\n")
        .unwrap();
    let mut confirm = [0u8; 30];
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    slow.read_exact(&mut confirm).unwrap();
    // Fill the socket buffers and then some, so output stays pending.
    let payload = vec![b'y'; 256 * 1024];
    let mut publisher = conn(&server);
    let start = Instant::now();
    for _ in 0..40 {
        if publisher.call(&[b"PUBLISH", b"feed", &payload]) == b":0\r\n" {
            break;
        }
    }
    // The cron closes it once it has stayed over 64 KB for more than a
    // second. Reading would shrink its output, so watch from outside.
    let deadline = Instant::now() + Duration::from_secs(6);
    while admin.call(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]) != b"$0\r\n\r\n" {
        assert!(
            Instant::now() < deadline,
            "still connected after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "closed before the grace time"
    );
    let (_, closed) = drain(&mut slow, Duration::from_secs(5));
    assert!(closed);
}

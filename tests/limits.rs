//! Every limit Redis enforces on clients, enforced here the same way, and
//! checked side by side with a real redis-server when one is installed:
//! `maxclients`, `proto-max-bulk-len`, the multibulk count, the
//! `client-query-buffer-limit`, the `client-output-buffer-limit` classes
//! (hard and soft) and the idle `timeout`.
//!
//! Each scenario is a function of a server address that returns what a
//! client observed (bytes, or whether the connection was closed). It runs
//! against loopscope and against redis-server, and the two observations
//! must be equal, as well as equal to what the test expects. Limits are
//! made small with CONFIG SET so the tests stay quick; waits are bounded
//! polls, never timing assertions.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{RealRedis, RespConn, TestServer, read_to_close};

/// Runs `scenario` on a fresh loopscope, and on a fresh redis-server if one
/// is installed; checks both saw the same, and returns it.
fn both<T: PartialEq + std::fmt::Debug>(scenario: impl Fn(&str) -> T) -> T {
    let ours = {
        let server = TestServer::start();
        scenario(&server.addr())
    };
    if let Some(redis) = RealRedis::start() {
        let theirs = scenario(&redis.addr());
        assert_eq!(
            ours, theirs,
            "loopscope (left) and redis-server (right) differ"
        );
    }
    ours
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn config_set(addr: &str, name: &str, value: &str) {
    let mut admin = RespConn::connect(addr);
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()]),
        b"+OK\r\n",
        "CONFIG SET {name} {value}"
    );
}

/// Whether the peer has closed `s`: reads (and throws away) whatever is
/// still in flight until the close, or until `wait` passes with the
/// connection still open. A reset counts as closed.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(200))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
}

/// Everything the peer sent until it closed `s` (a reset also ends it), or
/// `None` if it was still open after the read timeout.
fn until_closed(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            Err(_) => return Some(got),
        }
    }
}

fn ping(addr: &str) -> Vec<u8> {
    RespConn::connect(addr).call(&[b"PING"])
}

#[test]
fn maxclients_refuses_the_next_client_with_redis_error() {
    let seen = both(|addr| {
        let mut admin = RespConn::connect(addr);
        admin.call(&[b"CONFIG", b"SET", b"maxclients", b"3"]);
        let mut a = RespConn::connect(addr);
        let mut b = RespConn::connect(addr);
        assert_eq!(a.call(&[b"PING"]), b"+PONG\r\n");
        let mut refused = connect(addr);
        let refusal = read_to_close(&mut refused);
        // The three admitted clients are untouched.
        let others = [
            admin.call(&[b"PING"]),
            a.call(&[b"PING"]),
            b.call(&[b"PING"]),
        ];
        (String::from_utf8_lossy(&refusal).into_owned(), others)
    });
    assert_eq!(seen.0, "-ERR max number of clients reached\r\n");
    assert!(seen.1.iter().all(|r| r == b"+PONG\r\n"));
}

#[test]
fn a_bulk_longer_than_proto_max_bulk_len_is_a_protocol_error() {
    let seen = both(|addr| {
        config_set(addr, "proto-max-bulk-len", "1mb");
        let mut over = connect(addr);
        over.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n")
            .unwrap();
        let refused = read_to_close(&mut over);
        // Exactly at the limit is fine.
        let mut at = RespConn::connect(addr);
        let value = vec![b'v'; 1 << 20];
        let stored = at.call(&[b"SET", b"k", &value]);
        let strlen = at.call(&[b"STRLEN", b"k"]);
        (
            String::from_utf8_lossy(&refused).into_owned(),
            stored,
            strlen,
        )
    });
    assert_eq!(seen.0, "-ERR Protocol error: invalid bulk length\r\n");
    assert_eq!(seen.1, b"+OK\r\n");
    assert_eq!(seen.2, b":1048576\r\n");
}

#[test]
fn a_multibulk_count_above_int_max_is_a_protocol_error() {
    let seen = both(|addr| {
        let mut over = connect(addr);
        over.write_all(b"*2147483648\r\n").unwrap();
        let refused = read_to_close(&mut over);
        // INT_MAX itself is accepted: the parser goes on to the arguments,
        // as the next error shows.
        let mut at = connect(addr);
        at.write_all(b"*2147483647\r\nx\r\n").unwrap();
        let next = read_to_close(&mut at);
        [refused, next].map(|b| String::from_utf8_lossy(&b).into_owned())
    });
    assert_eq!(
        seen,
        [
            "-ERR Protocol error: invalid multibulk length\r\n",
            "-ERR Protocol error: expected '$', got 'x'\r\n",
        ]
    );
}

#[test]
fn a_query_buffer_over_the_limit_closes_only_that_client() {
    let seen = both(|addr| {
        config_set(addr, "client-query-buffer-limit", "1mb");
        let mut bystander = RespConn::connect(addr);
        assert_eq!(bystander.call(&[b"PING"]), b"+PONG\r\n");
        let mut greedy = connect(addr);
        // A 3 MB argument, of which 1.5 MB arrive: the query buffer passes
        // 1 MB before the command is complete.
        let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n".to_vec();
        req.resize(req.len() + 1_500_000, b'a');
        let _ = greedy.write_all(&req); // the server may close mid-write
        (
            until_closed(&mut greedy),
            bystander.call(&[b"PING"]),
            ping(addr),
        )
    });
    assert_eq!(seen.0, Some(Vec::new()), "closed without a reply");
    assert_eq!(
        (seen.1, seen.2),
        (b"+PONG\r\n".to_vec(), b"+PONG\r\n".to_vec())
    );
}

/// A subscriber that never reads, and a publisher sending 64 KiB messages
/// until PUBLISH says nobody received one (`:0`): the subscriber was
/// dropped, the publisher never noticed anything but that.
fn publish_until_nobody_listens(addr: &str, limit: &str, pause: Duration) -> (bool, Vec<u8>) {
    config_set(addr, "client-output-buffer-limit", limit);
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    // A tiny receive window, so the replies pile up in the server quickly.
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    let mut sub: TcpStream = sock.into();
    sub.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n")
        .unwrap();
    let mut publisher = RespConn::connect(addr);
    // Wait until the subscription is in place.
    while publisher.call(&[b"PUBSUB", b"NUMSUB", b"c"]) != b"*2\r\n$1\r\nc\r\n:1\r\n" {
        std::thread::sleep(Duration::from_millis(10));
    }
    let message = vec![b'm'; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(30);
    let dropped = loop {
        match publisher.call(&[b"PUBLISH", b"c", &message]).as_slice() {
            b":0\r\n" => break true,
            b":1\r\n" if Instant::now() < deadline => std::thread::sleep(pause),
            _ => break false,
        }
    };
    let closed = closed_within(&mut sub, Duration::from_secs(10));
    (dropped && closed, publisher.call(&[b"PING"]))
}

#[test]
fn a_subscriber_that_never_reads_hits_the_pubsub_hard_limit() {
    let seen = both(|addr| publish_until_nobody_listens(addr, "pubsub 256kb 0 0", Duration::ZERO));
    assert_eq!(seen, (true, b"+PONG\r\n".to_vec()));
}

#[test]
fn a_subscriber_over_the_soft_limit_for_too_long_is_dropped() {
    // No hard limit: only staying over 128 KiB for more than a second drops it.
    let seen = both(|addr| {
        publish_until_nobody_listens(addr, "pubsub 0 128kb 1", Duration::from_millis(50))
    });
    assert_eq!(seen, (true, b"+PONG\r\n".to_vec()));
}

#[test]
fn a_normal_client_that_never_reads_hits_the_normal_hard_limit() {
    let seen = both(|addr| {
        config_set(addr, "client-output-buffer-limit", "normal 1mb 0 0");
        let mut admin = RespConn::connect(addr);
        let value = vec![b'v'; 64 * 1024];
        admin.call(&[b"SET", b"big", &value]);
        let mut deaf = connect(addr);
        let get = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
        let burst: Vec<u8> = get.iter().copied().cycle().take(get.len() * 2000).collect();
        let _ = deaf.write_all(&burst);
        (
            closed_within(&mut deaf, Duration::from_secs(20)),
            admin.call(&[b"PING"]),
        )
    });
    assert_eq!(seen, (true, b"+PONG\r\n".to_vec()));
}

/// The idle `timeout`: an idle client is closed without a word; a blocked
/// client and a subscriber are idle by design and stay (tests/clients.rs
/// checks the same on loopscope alone, with its timing).
#[test]
fn the_idle_timeout_closes_idle_clients_silently_and_spares_waiting_ones() {
    let seen = both(|addr| {
        config_set(addr, "timeout", "1");
        let mut idle = connect(addr);
        let mut blocked = RespConn::connect(addr);
        blocked.send(&[b"BLPOP", b"list", b"0"]);
        let mut sub = RespConn::connect(addr);
        sub.call(&[b"SUBSCRIBE", b"c"]);
        let got = until_closed(&mut idle);
        // Well past the timeout for the others too.
        std::thread::sleep(Duration::from_millis(2500));
        let mut admin = RespConn::connect(addr);
        admin.call(&[b"RPUSH", b"list", b"v"]);
        admin.call(&[b"PUBLISH", b"c", b"m"]);
        (got, blocked.reply(), sub.reply())
    });
    assert_eq!(seen.0, Some(Vec::new()), "closed without a word");
    assert_eq!(seen.1, b"*2\r\n$4\r\nlist\r\n$1\r\nv\r\n");
    assert_eq!(seen.2, b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
}

/// `connected_clients` from INFO, as seen by a fresh connection (counted).
fn connected_clients(addr: &str) -> Vec<u8> {
    let info = RespConn::connect(addr).call(&[b"INFO", b"clients"]);
    let text = String::from_utf8_lossy(&info);
    text.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .unwrap_or_default()
        .as_bytes()
        .to_vec()
}

/// Not a limit, but where limits meet the end of a connection: a client that
/// sends half a command and hangs up is freed, its bytes and the hang-up
/// arriving together or not.
#[test]
fn clients_that_hang_up_mid_command_are_freed() {
    let seen = both(|addr| {
        for _ in 0..50 {
            let mut c = connect(addr);
            let _ = c.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while connected_clients(addr) != b"1" && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        connected_clients(addr)
    });
    assert_eq!(seen, b"1");
}

//! Client management against a real `loopscope serve`: CLIENT KILL in its
//! forms, CLIENT LIST flags and types, and the idle `timeout`, which spares
//! blocked clients and subscribers.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{RespConn, TestServer};

fn conn(server: &TestServer) -> RespConn {
    RespConn::connect(&server.addr())
}

/// The `field=` value of the first line of a CLIENT LIST/INFO reply.
fn field(reply: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(reply);
    text.split([' ', '\n'])
        .find_map(|f| f.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_string()
}

/// True once the server has closed `s` (reads EOF within `wait`).
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn kill_by_id_addr_and_type() {
    let server = TestServer::start();
    let mut admin = conn(&server);
    let mut victim = TcpStream::connect(server.addr()).unwrap();
    let mut probe = conn(&server);
    // The victim has not sent anything: find it as the client that is not
    // `admin` or `probe`.
    let admin_id = field(&admin.call(&[b"CLIENT", b"INFO"]), "id");
    let probe_id = field(&probe.call(&[b"CLIENT", b"INFO"]), "id");
    let list = probe.call(&[b"CLIENT", b"LIST"]);
    let text = String::from_utf8_lossy(&list).into_owned();
    let victim_line = text
        .lines()
        .find(|l| {
            !l.contains(&format!("id={admin_id} "))
                && !l.contains(&format!("id={probe_id} "))
                && l.contains("id=")
        })
        .expect("the victim's line")
        .to_string();
    let victim_addr = field(victim_line.as_bytes(), "addr");
    assert_eq!(
        admin.call(&[b"CLIENT", b"KILL", victim_addr.as_bytes()]),
        b"+OK\r\n"
    );
    assert!(closed_within(&mut victim, Duration::from_secs(5)));
    assert_eq!(
        admin.call(&[b"CLIENT", b"KILL", victim_addr.as_bytes()]),
        b"-ERR No such client\r\n"
    );

    assert_eq!(
        admin.call(&[b"CLIENT", b"KILL", b"ID", probe_id.as_bytes()]),
        b":1\r\n"
    );
    let mut sub = conn(&server);
    sub.call(&[b"SUBSCRIBE", b"c"]);
    assert_eq!(
        admin.call(&[b"CLIENT", b"KILL", b"TYPE", b"pubsub"]),
        b":1\r\n"
    );
    assert_eq!(
        admin.call(&[b"PUBSUB", b"NUMSUB", b"c"]),
        b"*2\r\n$1\r\nc\r\n:0\r\n"
    );
    // SKIPME no: the caller gets its reply, then is closed.
    assert_eq!(
        admin.call(&[
            b"CLIENT",
            b"KILL",
            b"ID",
            admin_id.as_bytes(),
            b"SKIPME",
            b"no"
        ]),
        b":1\r\n"
    );
    let mut fresh = conn(&server);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = fresh.call(&[b"CLIENT", b"LIST"]);
        if String::from_utf8_lossy(&all).matches("id=").count() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "killed clients linger: {}",
            String::from_utf8_lossy(&all)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn list_shows_each_state_and_filters_by_type() {
    let server = TestServer::start();
    let mut admin = conn(&server);
    let mut blocked = conn(&server);
    blocked.send(&[b"BLPOP", b"k", b"0"]);
    let mut sub = conn(&server);
    sub.call(&[b"PSUBSCRIBE", b"a*", b"b*"]);
    sub.reply();
    let mut multi = conn(&server);
    multi.call(&[b"MULTI"]);
    multi.call(&[b"SET", b"k", b"v"]);
    let mut monitor = conn(&server);
    monitor.call(&[b"MONITOR"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let list = loop {
        let list = String::from_utf8(admin.call(&[b"CLIENT", b"LIST"])).unwrap();
        if list.contains("flags=b ") || Instant::now() > deadline {
            break list;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    for expected in [
        "flags=b ",
        "flags=P db=0 sub=0 psub=2 ssub=0 multi=-1 ",
        "flags=x db=0 sub=0 psub=0 ssub=0 multi=1 ",
        "flags=O ",
    ] {
        assert!(list.contains(expected), "no `{expected}` in {list}");
    }
    let pubsub = String::from_utf8(admin.call(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"])).unwrap();
    assert_eq!(pubsub.matches("id=").count(), 1, "{pubsub}");
    let normal = String::from_utf8(admin.call(&[b"CLIENT", b"LIST", b"TYPE", b"normal"])).unwrap();
    assert_eq!(normal.matches("id=").count(), 4, "{normal}");
    assert!(
        admin
            .call(&[b"CLIENT", b"LIST", b"TYPE", b"replica"])
            .starts_with(b"$0")
    );
}

#[test]
fn idle_clients_are_closed_but_blocked_and_subscribed_ones_are_not() {
    let server = TestServer::start();
    let mut admin = conn(&server);
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"timeout", b"1"]),
        b"+OK\r\n"
    );
    let mut idle = TcpStream::connect(server.addr()).unwrap();
    let mut blocked = conn(&server);
    blocked.send(&[b"BLPOP", b"k", b"0"]);
    let mut sub = conn(&server);
    sub.call(&[b"SUBSCRIBE", b"c"]);
    // The admin connection keeps talking, so it is never idle; the blocked
    // client and the subscriber are idle by design and stay.
    let start = Instant::now();
    while !closed_within(&mut idle, Duration::from_millis(100)) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the idle client stayed"
        );
        assert_eq!(admin.call(&[b"PING"]), b"+PONG\r\n");
    }
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "closed before the timeout"
    );
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(admin.call(&[b"PING"]), b"+PONG\r\n");
    }
    assert_eq!(admin.call(&[b"RPUSH", b"k", b"v"]), b":1\r\n");
    assert_eq!(blocked.reply(), b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(admin.call(&[b"PUBLISH", b"c", b"m"]), b":1\r\n");
    assert_eq!(
        sub.reply(),
        b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
    );
}

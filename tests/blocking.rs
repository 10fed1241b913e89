//! Blocked clients against a real `loopscope serve`, over raw sockets:
//! first come first served, woken by a push from another connection before
//! the pusher's next command, timed out (fractional timeouts included),
//! unblocked by CLIENT UNBLOCK, and forgotten when they disconnect.

mod common;

use std::time::{Duration, Instant};

use common::{RespConn, TestServer};

fn conn(server: &TestServer) -> RespConn {
    RespConn::connect(&server.addr())
}

/// The value of `field` in the reply to `INFO section`.
fn info_field(c: &mut RespConn, section: &[u8], field: &str) -> String {
    let reply = String::from_utf8(c.call(&[b"INFO", section])).unwrap();
    reply
        .split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {reply}"))
        .to_string()
}

/// Waits (up to 5 s) until INFO reports `n` blocked clients, so that a push
/// comes after the blocking commands were processed.
fn wait_blocked(c: &mut RespConn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(c, b"clients", "blocked_clients") != n.to_string() {
        assert!(Instant::now() < deadline, "never saw {n} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn waiters_are_served_in_the_order_they_blocked() {
    let server = TestServer::start();
    let mut control = conn(&server);
    let mut waiters: Vec<RespConn> = (0..5).map(|_| conn(&server)).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        w.send(&[b"BLPOP", b"k", b"0"]);
        wait_blocked(&mut control, i + 1);
    }
    assert_eq!(control.call(&[b"RPUSH", b"k", b"a", b"b", b"c"]), b":3\r\n");
    for (w, value) in waiters.iter_mut().zip(["a", "b", "c"]) {
        assert_eq!(
            w.reply(),
            format!("*2\r\n$1\r\nk\r\n$1\r\n{value}\r\n").as_bytes()
        );
    }
    assert_eq!(info_field(&mut control, b"clients", "blocked_clients"), "2");
    assert_eq!(control.call(&[b"EXISTS", b"k"]), b":0\r\n");
    assert_eq!(control.call(&[b"RPUSH", b"k", b"d", b"e"]), b":2\r\n");
    assert_eq!(waiters[3].reply(), b"*2\r\n$1\r\nk\r\n$1\r\nd\r\n");
    assert_eq!(waiters[4].reply(), b"*2\r\n$1\r\nk\r\n$1\r\ne\r\n");
}

#[test]
fn a_push_serves_the_waiter_before_the_pushers_next_command() {
    // Redis serves blocked clients right after the command that made the key
    // ready, so a pipelined LPOP from the pusher finds the list empty.
    let server = TestServer::start();
    let mut pusher = conn(&server);
    let mut waiter = conn(&server);
    waiter.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut pusher, 1);
    pusher.send(&[b"LPUSH", b"k", b"x"]);
    pusher.send(&[b"LPOP", b"k"]);
    assert_eq!(pusher.reply(), b":1\r\n");
    assert_eq!(pusher.reply(), b"$-1\r\n");
    assert_eq!(waiter.reply(), b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n");
}

#[test]
fn pipelined_commands_wait_for_the_blocked_one() {
    let server = TestServer::start();
    let mut pusher = conn(&server);
    let mut waiter = conn(&server);
    waiter.send(&[b"BLPOP", b"k", b"0"]);
    waiter.send(&[b"SET", b"after", b"1"]);
    waiter.send(&[b"GET", b"after"]);
    wait_blocked(&mut pusher, 1);
    assert_eq!(
        pusher.call(&[b"EXISTS", b"after"]),
        b":0\r\n",
        "SET ran while blocked"
    );
    pusher.call(&[b"RPUSH", b"k", b"v"]);
    assert_eq!(waiter.reply(), b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(waiter.reply(), b"+OK\r\n");
    assert_eq!(waiter.reply(), b"$1\r\n1\r\n");
}

#[test]
fn timeouts_fire_on_time_including_fractions() {
    let server = TestServer::start();
    let mut c = conn(&server);
    for (timeout, ms) in [("0.05", 50), ("0.3", 300), ("1", 1000)] {
        let start = Instant::now();
        assert_eq!(c.call(&[b"BLPOP", b"none", timeout.as_bytes()]), b"*-1\r\n");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(ms), "{timeout}: {waited:?}");
        // beforeSleep checks deadlines each iteration, and the cron wakes the
        // loop 10 times a second, so the answer is never much later.
        assert!(
            waited < Duration::from_millis(ms + 500),
            "{timeout}: {waited:?}"
        );
    }
    let start = Instant::now();
    assert_eq!(
        c.call(&[b"BLMOVE", b"none", b"d", b"LEFT", b"LEFT", b"0.1"]),
        b"*-1\r\n"
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    c.call(&[b"HELLO", b"3"]);
    assert_eq!(c.call(&[b"BRPOPLPUSH", b"none", b"d", b"0.01"]), b"_\r\n");
    assert_eq!(
        info_field(&mut c, b"clients", "clients_in_timeout_table"),
        "0"
    );
}

#[test]
fn timeout_zero_waits_until_unblocked() {
    let server = TestServer::start();
    let mut control = conn(&server);
    let mut waiter = conn(&server);
    let id = String::from_utf8(waiter.call(&[b"CLIENT", b"ID"])).unwrap();
    let id = id.trim_start_matches(':').trim_end().to_string();
    waiter.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut control, 1);
    std::thread::sleep(Duration::from_millis(300));
    let list =
        String::from_utf8(control.call(&[b"CLIENT", b"LIST", b"ID", id.as_bytes()])).unwrap();
    assert!(list.contains(" flags=b "), "{list}");
    assert_eq!(
        info_field(&mut control, b"clients", "clients_in_timeout_table"),
        "0"
    );
    assert_eq!(
        control.call(&[b"CLIENT", b"UNBLOCK", id.as_bytes()]),
        b":1\r\n"
    );
    assert_eq!(waiter.reply(), b"*-1\r\n");
    waiter.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(&mut control, 1);
    assert_eq!(
        control.call(&[b"CLIENT", b"UNBLOCK", id.as_bytes(), b"ERROR"]),
        b":1\r\n"
    );
    assert_eq!(
        waiter.reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(
        control.call(&[b"CLIENT", b"UNBLOCK", id.as_bytes()]),
        b":0\r\n"
    );
}

#[test]
fn a_waiter_that_disconnects_is_forgotten() {
    let server = TestServer::start();
    let mut control = conn(&server);
    {
        let mut gone = conn(&server);
        gone.send(&[b"BLPOP", b"k", b"5"]);
        wait_blocked(&mut control, 1);
    }
    wait_blocked(&mut control, 0);
    assert_eq!(
        info_field(&mut control, b"clients", "clients_in_timeout_table"),
        "0"
    );
    assert_eq!(control.call(&[b"RPUSH", b"k", b"v"]), b":1\r\n");
    assert_eq!(
        control.call(&[b"LLEN", b"k"]),
        b":1\r\n",
        "nobody took the element"
    );
}

#[test]
fn blmove_waiters_chain_through_the_destination() {
    let server = TestServer::start();
    let mut control = conn(&server);
    let mut mover = conn(&server);
    let mut popper = conn(&server);
    mover.send(&[b"BLMOVE", b"src", b"dst", b"RIGHT", b"LEFT", b"0"]);
    wait_blocked(&mut control, 1);
    popper.send(&[b"BRPOP", b"dst", b"0"]);
    wait_blocked(&mut control, 2);
    control.call(&[b"RPUSH", b"src", b"a", b"b"]);
    assert_eq!(mover.reply(), b"$1\r\nb\r\n");
    assert_eq!(popper.reply(), b"*2\r\n$3\r\ndst\r\n$1\r\nb\r\n");
    assert_eq!(
        control.call(&[b"LRANGE", b"src", b"0", b"-1"]),
        b"*1\r\n$1\r\na\r\n"
    );
    assert_eq!(control.call(&[b"EXISTS", b"dst"]), b":0\r\n");
}

#[test]
fn the_redis_crate_blpop_round_trip() {
    let server = TestServer::start();
    let mut waiter = server.client();
    let addr = server.url();
    let pusher = std::thread::spawn(move || {
        let mut con = redis::Client::open(addr).unwrap().get_connection().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let n: i64 = redis::cmd("LPUSH")
            .arg("jobs")
            .arg("j1")
            .query(&mut con)
            .unwrap();
        n
    });
    let got: (String, String) = redis::cmd("BLPOP")
        .arg("jobs")
        .arg(5)
        .query(&mut waiter)
        .unwrap();
    assert_eq!(got, ("jobs".to_string(), "j1".to_string()));
    assert_eq!(pusher.join().unwrap(), 1);
}

//! MULTI/EXEC and WATCH against a real `loopscope serve`: atomic
//! transactions through the `redis` crate, and optimistic locking under a
//! real race between threads.

mod common;

use std::time::Duration;

use common::{RespConn, TestServer};

#[test]
fn a_pipeline_in_a_transaction_is_atomic() {
    let server = TestServer::start();
    let mut con = server.client();
    let (n, list): (i64, Vec<String>) = redis::pipe()
        .atomic()
        .cmd("INCRBY")
        .arg("n")
        .arg(5)
        .cmd("RPUSH")
        .arg("l")
        .arg("a")
        .ignore()
        .cmd("LRANGE")
        .arg("l")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert_eq!((n, list), (5, vec!["a".to_string()]));
}

/// Increments `counter` `times` times with WATCH/MULTI/EXEC, retrying when
/// another client got in between; returns how many retries it needed.
fn cas_increments(url: String, times: usize) -> usize {
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let mut retries = 0;
    for _ in 0..times {
        // Bounded: with two writers a round rarely fails more than a few times.
        for attempt in 0.. {
            assert!(attempt < 10_000, "no progress");
            redis::cmd("WATCH").arg("counter").exec(&mut con).unwrap();
            let current: i64 = redis::cmd("GET")
                .arg("counter")
                .query::<Option<i64>>(&mut con)
                .unwrap()
                .unwrap_or(0);
            let done: Option<(String,)> = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg("counter")
                .arg(current + 1)
                .query(&mut con)
                .unwrap();
            if done.is_some() {
                break;
            }
            retries += 1;
        }
    }
    retries
}

#[test]
fn watch_makes_racing_increments_exact() {
    let server = TestServer::start();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let url = server.url();
            std::thread::spawn(move || cas_increments(url, 300))
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut con = server.client();
    let n: i64 = redis::cmd("GET").arg("counter").query(&mut con).unwrap();
    assert_eq!(n, 900, "a lost update got through");
}

#[test]
fn watch_fails_on_expiry_and_flush_but_not_on_untouched_keys() {
    let server = TestServer::start();
    let mut a = RespConn::connect(&server.addr());
    let mut b = RespConn::connect(&server.addr());
    let try_exec = |c: &mut RespConn| {
        c.call(&[b"MULTI"]);
        c.call(&[b"PING"]);
        c.call(&[b"EXEC"])
    };
    b.call(&[b"SET", b"e", b"v", b"PX", b"100"]);
    a.call(&[b"WATCH", b"e"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(try_exec(&mut a), b"*-1\r\n", "the watched key expired");
    b.call(&[b"SET", b"f", b"v"]);
    a.call(&[b"WATCH", b"f", b"missing"]);
    b.call(&[b"FLUSHALL"]);
    assert_eq!(
        try_exec(&mut a),
        b"*-1\r\n",
        "FLUSHALL removed a watched key"
    );
    a.call(&[b"WATCH", b"missing"]);
    b.call(&[b"FLUSHALL"]);
    b.call(&[b"SET", b"other", b"v"]);
    assert_eq!(try_exec(&mut a), b"*1\r\n+PONG\r\n");
    a.call(&[b"WATCH", b"x"]);
    let info = String::from_utf8(b.call(&[b"CLIENT", b"LIST"])).unwrap();
    assert!(info.contains(" flags=N "), "{info}");
    b.call(&[b"SET", b"x", b"1"]);
    let info = String::from_utf8(b.call(&[b"CLIENT", b"LIST"])).unwrap();
    assert!(info.contains(" flags=d "), "the dirty flag shows: {info}");
    a.call(&[b"MULTI"]);
    let info = String::from_utf8(b.call(&[b"CLIENT", b"LIST"])).unwrap();
    assert!(
        info.contains(" flags=xd ") && info.contains(" multi=0 "),
        "{info}"
    );
    assert_eq!(a.call(&[b"EXEC"]), b"*-1\r\n");
}

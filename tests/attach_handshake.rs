//! `loopscope attach` to something that is not a trace port fails before
//! the UI starts, and says what answered instead.
//!
//! Each case runs the real binary in a tmux session (the UI needs a
//! terminal, and would take it if the attach went through) against a real
//! peer on a random loopback port: our own `serve` (its Redis port), Debian's
//! `redis-server` where it is installed, a listener that accepts and says
//! nothing, and one that answers garbage. The pane shows the error and the
//! exit status; the UI's header never appears.
//!
//! Where tmux is missing, the tests say so loudly and skip (and fail under
//! `CI=true`).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::tmux::{self, Session};
use common::{RealRedis, TestServer};

/// Runs `loopscope attach ADDR` and returns the screen once it has exited.
/// The session is wide, so the one-line error is not wrapped.
fn attach_screen(tag: &str, addr: &str) -> String {
    let cmd = tmux::ui_command(tag, &format!("attach {addr}"));
    let s = Session::start_sized(tag, &cmd, 300, 10);
    let screen = s.wait_for("loopscope to exit", |sc| sc.contains("LOOPSCOPE-EXITED"));
    assert!(screen.contains("LOOPSCOPE-EXITED-1"), "{screen}");
    assert!(
        !screen.contains("iter"),
        "the UI started before the attach was checked:\n{screen}"
    );
    screen
}

/// A listener that answers its first connection with `greeting` (nothing,
/// if empty) and holds it open until the viewer hangs up, at most 10 s.
fn stranger(greeting: &'static [u8]) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = l.accept() else {
            return;
        };
        let _ = conn.write_all(greeting);
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let mut sink = [0u8; 256];
        while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    });
    addr
}

#[test]
fn attaching_to_our_redis_port_says_it_is_a_redis_server() {
    if !tmux::available("attaching_to_our_redis_port_says_it_is_a_redis_server") {
        return;
    }
    let server = TestServer::start();
    let screen = attach_screen("hs-ours", &server.addr());
    assert!(
        screen.contains(&format!(
            "{} answered, but it is not a loopscope trace port (it looks like a Redis server",
            server.addr()
        )),
        "{screen}"
    );
    assert!(screen.contains("serve --trace-port"), "{screen}");
}

#[test]
fn attaching_to_a_real_redis_server_says_it_is_one() {
    if !tmux::available("attaching_to_a_real_redis_server_says_it_is_one") {
        return;
    }
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let screen = attach_screen("hs-redis", &redis.addr());
    assert!(screen.contains("it looks like a Redis server"), "{screen}");
}

#[test]
fn attaching_to_a_silent_peer_gives_up_and_says_so() {
    if !tmux::available("attaching_to_a_silent_peer_gives_up_and_says_so") {
        return;
    }
    let addr = stranger(b"");
    let screen = attach_screen("hs-silent", &addr);
    assert!(
        screen.contains("said nothing") && screen.contains("not a loopscope trace port"),
        "{screen}"
    );
}

#[test]
fn attaching_to_a_peer_that_answers_garbage_shows_what_it_said() {
    if !tmux::available("attaching_to_a_peer_that_answers_garbage_shows_what_it_said") {
        return;
    }
    let addr = stranger(b"220 mail.example ESMTP\r\n");
    let screen = attach_screen("hs-garbage", &addr);
    assert!(
        screen.contains(
            "answered \"220 mail.example ESMTP\\r\", which is not a loopscope trace stream"
        ),
        "{screen}"
    );
}

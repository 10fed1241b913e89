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

use std::io::{ErrorKind, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// A listener on a random loopback port that answers every connection with
/// `greeting` (nothing, if empty) and holds it open until dropped (at most
/// 30 s). Every connection, not only the first: on a shared machine a
/// stray client may reach a port that was someone else's a moment ago.
struct Stranger {
    addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stranger {
    fn start(greeting: &'static [u8]) -> Stranger {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let addr = l.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                match l.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.write_all(greeting);
                        held.push(conn);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(_) => return,
                }
            }
        });
        Stranger {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Stranger {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
    let silent = Stranger::start(b"");
    let screen = attach_screen("hs-silent", &silent.addr);
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
    let garbage = Stranger::start(b"220 mail.example ESMTP\r\n");
    let screen = attach_screen("hs-garbage", &garbage.addr);
    assert!(
        screen.contains(
            "answered \"220 mail.example ESMTP\\r\", which is not a loopscope trace stream"
        ),
        "{screen}"
    );
}

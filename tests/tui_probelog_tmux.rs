//! End to end: the probe log pane of the real `loopscope` binary in a real
//! terminal (tmux), fed by a real client.
//!
//! The tour starts paused; a raw TCP client sends `SET foo bar`; the test
//! opens the log (`L`) full screen (`z`), steps the loop an iteration at a time until the log
//! lists the `command` probe of that SET, filters the log to `command` probes
//! (`/`), and travels to the SET in history (up, Enter): the screen then
//! shows the past, at that probe.
//!
//! Where tmux is missing the test says so loudly and skips (and fails under
//! `CI=true`).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::free_port;
use common::tmux::{self, Session};

/// The log's row for the SET: its kind, then the sentence that says it ran.
fn set_row(screen: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains("command") && l.contains("runs SET foo bar"))
}

#[test]
fn the_probe_log_lists_filters_and_travels_to_a_set() {
    if !tmux::available("the_probe_log_lists_filters_and_travels_to_a_set") {
        return;
    }
    let port = free_port();
    let cmd = tmux::ui_command(&format!("probelog-{port}"), &format!("--port {port}"));
    let s = Session::start("probelog", &cmd);
    s.wait_for("the tour to start paused", |sc| sc.contains("PAUSED"));
    s.wait_for("the guide", |sc| sc.contains("1. The loop's two jobs"));
    s.keys("g");
    s.keys("L");
    s.wait_for("the probe log in the source pane's place", |sc| {
        sc.contains("# probe log") && !sc.contains("+ source")
    });
    // Full screen, so that each probe's sentence fits on its row.
    s.keys("z");
    s.wait_for("the probe log full screen", |sc| {
        sc.contains("# probe log") && !sc.contains("+ events")
    });

    let mut client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    client
        .write_all(b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n")
        .expect("send SET");

    // One iteration at a time: one accepts the client, the next reads and
    // runs its SET, and the log, live, ends with the newest probes.
    let mut seen = false;
    for _ in 0..10 {
        s.keys("i");
        let deadline = Instant::now() + Duration::from_millis(400);
        while Instant::now() < deadline && !seen {
            seen = set_row(&s.capture());
            std::thread::sleep(Duration::from_millis(30));
        }
        if seen {
            break;
        }
    }
    assert!(seen, "no command probe for the SET:\n{}", s.capture());

    s.keys("/");
    s.wait_for("the filter prompt", |sc| sc.contains("show: _"));
    s.keys("command");
    s.wait_for("the prompt to accept the kind", |sc| {
        sc.contains("shows command")
    });
    s.keys("Enter");
    let filtered = s.wait_for("the filtered title", |sc| {
        sc.contains("probe log command 1 of ") && sc.contains(" match")
    });
    assert!(set_row(&filtered), "{filtered}");
    assert!(!filtered.contains("iteration_begin"), "{filtered}");

    s.keys("Up");
    s.keys("Enter");
    let past = s.wait_for("the past, at the SET", |sc| {
        sc.contains("VIEWING THE PAST") && sc.contains("(command) in history")
    });
    assert!(set_row(&past), "{past}");
    s.keys("q");
    drop(client);
}

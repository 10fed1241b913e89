//! Where the UI reads and writes files: `--redis-src` given as a Redis
//! checkout or as its `src/` folder (and refused, plainly, when it is
//! neither), and one log per instance in the state folder, its path in the
//! `?` help.
//!
//! The log test runs two tours in tmux; where tmux is missing it says so
//! loudly and skips (and fails under `CI=true`).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::free_port;
use common::tmux::{self, Session};

fn loopscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loopscope"))
        .args(args)
        .output()
        .expect("run loopscope")
}

/// A stand-in checkout: our own few lines, in Redis's layout, with the
/// function the `ae.poll` anchor mirrors.
fn fake_checkout(root: &Path) {
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("src/ae.c"), "/* stand-in */\n").expect("write");
    std::fs::write(
        root.join("src/ae_epoll.c"),
        "/* stand-in */\nstatic int aeApiPoll(aeEventLoop *loop, struct timeval *tvp) {\n    return stand_in_marker;\n}\n",
    )
    .expect("write");
}

#[test]
fn redis_src_may_be_the_checkout_or_its_src_folder() {
    let root = std::env::temp_dir().join(format!("loopscope-redis-src-{}", std::process::id()));
    fake_checkout(&root);
    for given in [root.clone(), root.join("src")] {
        let out = loopscope(&["source", "ae.poll", "--redis-src", given.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("stand_in_marker"), "{given:?}: {stdout}");
        assert!(!stdout.contains("src/src/"), "{stdout}");
    }
    std::fs::remove_dir_all(&root).expect("clean up");
}

#[test]
fn redis_src_that_is_not_a_checkout_is_refused_before_anything_starts() {
    let empty = std::env::temp_dir().join(format!("loopscope-not-redis-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("mkdir");
    let port = free_port().to_string();
    for args in [
        vec!["source", "ae.poll", "--redis-src"],
        vec!["--port", &port, "--redis-src"],
    ] {
        let mut args = args.clone();
        args.push(empty.to_str().unwrap());
        let out = loopscope(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("not a Redis checkout: it has no src/ae.c"),
            "{stderr}"
        );
    }
    let out = loopscope(&["source", "ae.poll", "--redis-src", "/no/such/folder"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such folder"));
    std::fs::remove_dir_all(&empty).expect("clean up");
}

#[test]
fn each_tour_logs_to_its_own_file_in_the_state_folder() {
    if !tmux::available("each_tour_logs_to_its_own_file_in_the_state_folder") {
        return;
    }
    let state = tmux::state_home("logs");
    let ports = [free_port(), free_port()];
    let sessions: Vec<Session> = ports
        .iter()
        .map(|port| {
            let cmd = tmux::ui_command_in(&state, &format!("--port {port}"));
            Session::start(&format!("logs-{port}"), &cmd)
        })
        .collect();
    for (s, port) in sessions.iter().zip(ports) {
        s.wait_for("the tour", |sc| {
            sc.contains(&format!("redis-cli -p {port}"))
        });
        let log = state.join("loopscope").join(format!("tour-{port}.log"));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            text.contains(&format!("listening on 127.0.0.1:{port}")),
            "{log:?}: {text}"
        );
        // The status line may cut the path off; the help shows it whole.
        s.keys("?");
        s.wait_for("the log's path in the help", |sc| {
            sc.contains(&format!("log file {}", log.display()))
        });
        s.keys("q");
        s.keys("q");
        s.wait_for("loopscope to exit", |sc| sc.contains("LOOPSCOPE-EXITED-0"));
    }
}

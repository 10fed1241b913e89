//! The UI never outlives its terminal, and always ends when asked to.
//!
//! Each of the three UIs (the tour, `attach` to a real `serve --trace-port`,
//! `replay` of a real recording) runs in a tmux session. Closing the session
//! hangs its terminal up, as closing a terminal window does: the process
//! must be gone within a few seconds, and the tour's port free again.
//! SIGTERM and SIGINT end each of them with status 0 and the terminal
//! restored. Without a terminal at all, loopscope says it needs one and
//! points at `loopscope serve`.
//!
//! Where tmux is missing, the tmux tests say so loudly and skip (and fail
//! under `CI=true`).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tmux::{self, Session};
use common::{RespConn, TestServer, free_port};

/// How long a process may take to go once its terminal is gone: it should
/// take well under a second; this is only a generous bound.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// One UI to try, with what it needs running.
enum Ui {
    /// The tour, on its own port.
    Tour { port: u16 },
    /// Attached to a server's trace port.
    Attach {
        _server: TestServer,
        trace_port: u16,
    },
    /// A recording of a real server's loop.
    Replay { file: PathBuf },
}

impl Ui {
    fn tour() -> Ui {
        Ui::Tour { port: free_port() }
    }

    fn attach() -> Ui {
        let (server, trace_port) = TestServer::start_with_trace_port(&[]);
        Ui::Attach {
            _server: server,
            trace_port,
        }
    }

    /// Records a server that answered a PING, then stopped.
    fn replay(tag: &str) -> Ui {
        let file = std::env::temp_dir().join(format!(
            "loopscope-lifetime-{tag}-{}.jsonl",
            std::process::id()
        ));
        let server = TestServer::start_with(&["--trace", file.to_str().expect("a UTF-8 path")]);
        let mut conn = RespConn::connect(&server.addr());
        assert_eq!(conn.call(&[b"PING"]), b"+PONG\r\n");
        assert!(server.terminate().success());
        Ui::Replay { file }
    }

    fn args(&self) -> String {
        match self {
            Ui::Tour { port } => format!("--port {port}"),
            Ui::Attach { trace_port, .. } => format!("attach 127.0.0.1:{trace_port}"),
            Ui::Replay { file } => format!("replay {}", file.display()),
        }
    }

    /// Starts the UI in a session; returns it and the UI's pid once it draws.
    fn start(&self, tag: &str) -> (Session, i32) {
        let s = Session::start(tag, &tmux::ui_command(tag, &self.args()));
        s.wait_for("the UI", |sc| sc.contains("iter"));
        let pid = s.child_of_pane();
        (s, pid)
    }

    /// The tour's port is free again (the others have none of their own).
    /// Within [`GONE_WITHIN`]: once the main thread has exited, the kernel
    /// may still be ending the process's other threads, and the listening
    /// socket closes with the last of them.
    fn assert_port_free(&self) {
        if let Ui::Tour { port } = self {
            let deadline = Instant::now() + GONE_WITHIN;
            while TcpListener::bind(("127.0.0.1", *port)).is_err() {
                assert!(Instant::now() < deadline, "port {port} is still taken");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        if let Ui::Replay { file } = self {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Closes the UI's terminal and checks that the process goes.
fn closing_the_terminal_ends(ui: Ui, tag: &str) {
    let (session, pid) = ui.start(tag);
    drop(session); // tmux kill-session: the terminal hangs up
    assert!(
        tmux::wait_exited(pid, GONE_WITHIN),
        "loopscope (pid {pid}) outlived its terminal"
    );
    ui.assert_port_free();
}

/// Sends `signal` to the UI once `prepare` has set the scene, and checks
/// that it quits cleanly.
fn signal_ends(ui: Ui, tag: &str, signal: i32, prepare: impl Fn(&Session)) {
    let (s, pid) = ui.start(tag);
    prepare(&s);
    // SAFETY: kill(2) on the loopscope process this test started.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let screen = s.wait_for("loopscope to exit", |sc| sc.contains("LOOPSCOPE-EXITED"));
    assert!(screen.contains("LOOPSCOPE-EXITED-0"), "{screen}");
    assert!(
        !screen.contains("+ events"),
        "the UI was left on screen:\n{screen}"
    );
    assert!(tmux::wait_exited(pid, GONE_WITHIN));
    ui.assert_port_free();
}

#[test]
fn closing_the_terminal_ends_the_tour_and_frees_its_port() {
    if tmux::available("closing_the_terminal_ends_the_tour_and_frees_its_port") {
        closing_the_terminal_ends(Ui::tour(), "close-tour");
    }
}

#[test]
fn closing_the_terminal_ends_an_attached_viewer() {
    if tmux::available("closing_the_terminal_ends_an_attached_viewer") {
        closing_the_terminal_ends(Ui::attach(), "close-attach");
    }
}

#[test]
fn closing_the_terminal_ends_a_replay() {
    if tmux::available("closing_the_terminal_ends_a_replay") {
        closing_the_terminal_ends(Ui::replay("close"), "close-replay");
    }
}

#[test]
fn sigterm_quits_the_tour_and_restores_the_terminal() {
    if tmux::available("sigterm_quits_the_tour_and_restores_the_terminal") {
        signal_ends(Ui::tour(), "term-tour", libc::SIGTERM, |_| {});
    }
}

#[test]
fn sigint_quits_the_tour_while_its_loop_runs() {
    if tmux::available("sigint_quits_the_tour_while_its_loop_runs") {
        signal_ends(Ui::tour(), "int-tour", libc::SIGINT, |s| {
            s.keys("g"); // the guide away, then let the loop run
            s.keys("c");
            s.wait_for("the loop running", |sc| sc.contains("running"));
        });
    }
}

#[test]
fn sigterm_quits_an_attached_viewer() {
    if tmux::available("sigterm_quits_an_attached_viewer") {
        signal_ends(Ui::attach(), "term-attach", libc::SIGTERM, |_| {});
    }
}

#[test]
fn sigterm_quits_a_replay() {
    if tmux::available("sigterm_quits_a_replay") {
        signal_ends(Ui::replay("term"), "term-replay", libc::SIGTERM, |_| {});
    }
}

/// Without a terminal, each UI (given a real port or recording, which are
/// checked first) says it needs one, suggests `serve`, and leaves the
/// terminal alone; the tour does not even start its server.
#[test]
fn without_a_terminal_loopscope_says_it_needs_one() {
    for ui in [Ui::tour(), Ui::attach(), Ui::replay("no-terminal")] {
        let args = ui.args();
        let out = Command::new(env!("CARGO_BIN_EXE_loopscope"))
            .args(args.split(' '))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("run loopscope");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args}: {stderr}");
        assert!(stderr.contains("needs a terminal"), "{args}: {stderr}");
        assert!(stderr.contains("loopscope serve"), "{args}: {stderr}");
        assert!(out.stdout.is_empty(), "{args}: wrote to stdout");
        ui.assert_port_free();
    }
}

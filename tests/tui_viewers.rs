//! Viewers sharing one loop through `serve --trace-port`, each in its own
//! terminal: the header says who controls the loop, the footer shows only
//! the keys that work for this viewer, `T` takes control, hands it back or
//! waits for it, and a viewer that joins a paused loop sees where it is
//! paused.
//!
//! Real binaries in tmux against a real server on random loopback ports;
//! where tmux is missing the test says so loudly and skips (and fails under
//! `CI=true`).

mod common;

use common::TestServer;
use common::tmux::{self, Session};

/// The footer: the screen's last line.
fn footer(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default()
}

/// The header: the screen's first line.
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

fn attach(tag: &str, trace_port: u16, extra: &str) -> Session {
    let args = format!("attach 127.0.0.1:{trace_port} {extra}");
    Session::start(tag, &tmux::ui_command(tag, &args))
}

#[test]
fn two_viewers_see_who_controls_the_loop_and_hand_control_over() {
    if !tmux::available("two_viewers_see_who_controls_the_loop_and_hand_control_over") {
        return;
    }
    let (_server, trace_port) = TestServer::start_with_trace_port(&["--start-paused"]);

    // The first viewer: nobody controls the loop yet, a step takes control.
    let a = attach("viewer-a", trace_port, "");
    let sc = a.wait_for("nobody in control", |sc| {
        header(sc).contains("free: T takes control")
    });
    assert!(
        footer(&sc).contains("n step") && footer(&sc).contains("c cont"),
        "{sc}"
    );
    a.keys("n");
    a.wait_for("the step taken, and control", |sc| {
        header(sc).contains("you control") && header(sc).contains("PAUSED (step)")
    });

    // The second viewer joins the paused loop: it sees where the loop is
    // paused, that another viewer controls it, and no keys that would move it.
    let b = attach("viewer-b", trace_port, "");
    let sc = b.wait_for("another viewer in control", |sc| {
        header(sc).contains("viewing: another controls")
    });
    assert!(
        sc.contains("paused at probe") && sc.contains("reached before you attached"),
        "{sc}"
    );
    assert!(!sc.contains("at a snapshot"), "{sc}");
    for moving in ["n step", "c cont", "P play", "f file"] {
        assert!(!footer(&sc).contains(moving), "{moving} offered:\n{sc}");
    }
    assert!(footer(&sc).contains("T control"), "{sc}");
    b.keys("c");
    b.wait_for("the refusal explained", |sc| {
        sc.contains("another viewer controls the loop: T asks for control")
    });
    assert!(header(&a.capture()).contains("PAUSED (step)"));

    // B waits for control; A hands it back; B takes it at once.
    b.keys("T");
    b.wait_for("waiting", |sc| header(sc).contains("waiting for control"));
    a.keys("T");
    a.wait_for("A viewing", |sc| {
        header(sc).contains("viewing: another controls")
    });
    let sc = b.wait_for("B in control", |sc| header(sc).contains("you control"));
    assert!(footer(&sc).contains("c cont"), "{sc}");
    b.keys("c");
    a.wait_for("the loop running, for A too", |sc| {
        header(sc).contains("running")
    });
}

#[test]
fn a_read_only_viewer_is_told_so_and_offered_no_controls() {
    if !tmux::available("a_read_only_viewer_is_told_so_and_offered_no_controls") {
        return;
    }
    let (_server, trace_port) = TestServer::start_with_trace_port(&["--start-paused"]);
    let c = attach("viewer-ro", trace_port, "--read-only");
    let sc = c.wait_for("read-only, at the loop's pause", |sc| {
        header(sc).contains("viewing read-only") && sc.contains("paused at probe iteration_begin")
    });
    for moving in ["n step", "c cont", "T control"] {
        assert!(!footer(&sc).contains(moving), "{moving} offered:\n{sc}");
    }
    c.keys("n");
    c.wait_for("the refusal explained", |sc| {
        sc.contains("this viewer attached read-only: it can only watch")
    });
}

#[test]
fn a_viewer_of_a_read_only_server_learns_it_from_the_refusal() {
    if !tmux::available("a_viewer_of_a_read_only_server_learns_it_from_the_refusal") {
        return;
    }
    let (_server, trace_port) = TestServer::start_with_trace_port(&["--trace-read-only"]);
    let v = attach("viewer-ro-server", trace_port, "");
    v.wait_for("the stream", |sc| header(sc).contains("iter"));
    v.keys("p");
    let sc = v.wait_for("read-only, learnt", |sc| {
        header(sc).contains("viewing read-only")
    });
    assert!(!footer(&sc).contains("c cont"), "{sc}");
}

//! End to end: the projector preset of the real `loopscope` binary in a
//! real terminal (tmux).
//!
//! The tour starts with `--projector`: the header says so, and beside the
//! guide there is only the pane its first step names (the events array).
//! With the guide put away (`g`), the events pane and the source pane have
//! the screen. `V` brings back the usual layout, every loop pane in its
//! place, and `V` again the preset.
//!
//! Where tmux is missing the test says so loudly and skips (and fails under
//! `CI=true`).

mod common;

use common::free_port;
use common::tmux::{self, Session};

/// Whether the screen has a box titled `title`, focused or not (in ASCII the
/// focused box has `#` corners, the others `+`).
fn has_box(screen: &str, title: &str) -> bool {
    screen.contains(&format!("+ {title}")) || screen.contains(&format!("# {title}"))
}

/// The preset's sign in the header.
const SIGN: &str = "projector (V)";

#[test]
fn the_projector_preset_starts_with_the_flag_and_v_toggles_it() {
    if !tmux::available("the_projector_preset_starts_with_the_flag_and_v_toggles_it") {
        return;
    }
    let port = free_port();
    let cmd = tmux::ui_command(
        &format!("projector-{port}"),
        &format!("--port {port} --projector"),
    );
    let s = Session::start("projector", &cmd);
    let guided = s.wait_for("the guide, in the preset", |sc| {
        sc.contains("PAUSED") && sc.contains("1. The loop's two jobs") && sc.contains(SIGN)
    });
    // The first step names the events array: it is beside the guide, alone.
    assert!(has_box(&guided, "events"), "{guided}");
    for other in ["fired", "time events", "source"] {
        assert!(!has_box(&guided, other), "{other}:\n{guided}");
    }

    s.keys("g");
    let projected = s.wait_for("the events and source panes", |sc| {
        has_box(sc, "events") && has_box(sc, "source") && !sc.contains("1. The loop's two jobs")
    });
    assert!(projected.contains(SIGN), "{projected}");
    assert!(!has_box(&projected, "fired"), "{projected}");

    s.keys("V");
    let usual = s.wait_for("the usual layout", |sc| {
        has_box(sc, "fired") && has_box(sc, "time events")
    });
    assert!(!usual.contains(SIGN), "{usual}");
    assert!(has_box(&usual, "beforeSleep"), "{usual}");

    s.keys("V");
    s.wait_for("the preset again", |sc| {
        sc.contains(SIGN) && has_box(sc, "source") && !has_box(sc, "fired")
    });
    s.keys("q");
    s.wait_for("loopscope to quit", |sc| sc.contains("LOOPSCOPE-EXITED-0"));
}

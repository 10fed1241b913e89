//! A class following its teacher: the teacher's tour serves an attach port
//! (`--trace-port`), a student attaches with `--follow`, and the student's
//! guide shows the teacher's chapter, step, ticks and pauses, until the
//! student goes their own way (`F`).
//!
//! Real binaries in tmux on random loopback ports; where tmux is missing the
//! test says so loudly and skips (and fails under `CI=true`).

mod common;

use common::free_port;
use common::tmux::{self, Session};

/// The header: the screen's first line.
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

/// The guide pane's title line, if on screen.
fn guide_title(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.contains(" guide "))
        .unwrap_or_default()
}

/// The guide's `steps` line (one mark per step), if on screen.
fn steps_line(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.contains("steps "))
        .unwrap_or_default()
}

#[test]
fn a_student_follows_the_teachers_chapter_step_ticks_and_pause_then_goes_their_own_way() {
    let name =
        "a_student_follows_the_teachers_chapter_step_ticks_and_pause_then_goes_their_own_way";
    if !tmux::available(name) {
        return;
    }
    let (port, class) = (free_port(), free_port());
    let teacher = Session::start(
        "teacher",
        &tmux::ui_command(
            &format!("teacher-{port}"),
            &format!("--port {port} --trace-port {class}"),
        ),
    );
    let follow = format!("class: loopscope attach 127.0.0.1:{class} --follow");
    teacher.wait_for("the tour, telling how a class follows it", |sc| {
        header(sc).contains("PAUSED (start)") && sc.contains(&follow)
    });

    let student = Session::start(
        "student",
        &tmux::ui_command(
            &format!("student-{class}"),
            &format!("attach 127.0.0.1:{class} --follow"),
        ),
    );
    student.wait_for("the student on the teacher's first step", |sc| {
        guide_title(sc).contains("following chapter 1/16") && header(sc).contains("| following |")
    });

    // The teacher opens chapter 6: the student's guide goes there too.
    teacher.keys("o");
    teacher.wait_for("the chapter list", |sc| {
        sc.contains("6. The life of a command")
    });
    for _ in 0..5 {
        teacher.keys("j");
    }
    teacher.keys("Enter");
    teacher.wait_for("chapter 6 open", |sc| {
        guide_title(sc).contains("chapter 6/16")
    });
    student.wait_for("the student on chapter 6", |sc| {
        guide_title(sc).contains("following chapter 6/16")
    });

    // The teacher sends the step's command and lets the loop run: the guide
    // pauses the loop at the step's moment, and the student's screen ticks
    // the step and names the pause as the teacher's guide's.
    teacher.keys("t");
    teacher.keys("c");
    teacher.wait_for("the teacher's step done", |sc| {
        steps_line(sc).contains("+-----") && header(sc).contains("by the guide: chapter 6, step 1")
    });
    student.wait_for("the student's tick and the named pause", |sc| {
        steps_line(sc).contains("+-----") && header(sc).contains("by the leader's guide: chapter 6")
    });

    // The student goes their own way: their guide is theirs again, and stays
    // put when the teacher moves on.
    student.keys("F");
    // (A read-only student's own guide cannot pause the loop, and the
    // status line says so.)
    student.wait_for("the student on their own", |sc| {
        guide_title(sc).contains("chapter 6/16")
            && !guide_title(sc).contains("following")
            && !header(sc).contains("following")
    });
    teacher.keys(".");
    teacher.wait_for("the teacher on step 2", |sc| {
        guide_title(sc).contains("step 2/6")
    });
    // The teacher's move reaches a follower within a frame; give it a few
    // and check the student did not follow.
    std::thread::sleep(std::time::Duration::from_millis(600));
    let sc = student.capture();
    assert!(
        guide_title(&sc).contains("chapter 6/16") && guide_title(&sc).contains("step 1/6"),
        "{sc}"
    );
    // And back with the class.
    student.keys("F");
    student.wait_for("the student back with the class", |sc| {
        guide_title(sc).contains("following chapter 6/16") && guide_title(sc).contains("step 2/6")
    });
}

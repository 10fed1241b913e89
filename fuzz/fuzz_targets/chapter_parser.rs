//! The chapter-file parser (`walkthrough::parse`) on arbitrary bytes.
//!
//! Beyond "no panic": a file that is refused gets at least one diagnostic,
//! each naming a line of the file (or 0, the whole file); a chapter that
//! parses also goes through `chapters --check` (known anchors aside), its actions are encoded and
//! written back as `redis-cli` lines that split into the same arguments, and
//! its wait-conditions are matched against a recorded session.
//!
//! Seed it with the real chapters: `cargo fuzz run chapter_parser
//! fuzz/corpus/chapter_parser walkthrough/`.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use loopscope::source::anchor_info;
use loopscope::walkthrough::argv::split_args;
use loopscope::walkthrough::check::check;
use loopscope::walkthrough::condition::Progress;
use loopscope::walkthrough::parse::parse_chapter_bytes;

fuzz_target!(|data: &[u8]| {
    let lines = 1 + data.iter().filter(|&&b| b == b'\n').count();
    let chapter = match parse_chapter_bytes("fuzz.md", data) {
        Ok(chapter) => chapter,
        Err(diags) => {
            assert!(!diags.is_empty(), "refused without a reason");
            for d in &diags {
                assert!(d.line <= lines, "diagnostic past the end: {d}");
                assert!(!d.message.is_empty());
            }
            return;
        }
    };
    // Finding a known anchor scans every embedded source file, which would
    // make each run take milliseconds; an unknown one is a table lookup.
    let mut checked = chapter.clone();
    for step in &mut checked.steps {
        step.anchors.retain(|a| anchor_info(&a.name).is_none());
    }
    for d in check(std::slice::from_ref(&checked)) {
        assert!(d.line <= lines, "check diagnostic past the end: {d}");
    }
    for step in &chapter.steps {
        if let Some(action) = &step.action {
            let _ = action.to_string();
            assert_eq!(
                action.expected_replies(),
                action.commands.len() * action.repeat as usize
            );
            // One write of the action, unless the repeat makes it huge.
            if action.repeat <= 16 {
                let _ = action.to_resp();
            }
            for (line, argv) in action.lines().iter().zip(&action.commands) {
                let again = split_args(line).expect("a displayed line splits");
                assert_eq!(
                    &again, argv,
                    "redis-cli line {line:?} changes the arguments"
                );
            }
        }
        let mut progress = Progress::default();
        for ev in common::events() {
            progress.advance(&step.wait, ev);
        }
        for condition in &step.wait.conditions {
            let _ = condition.breakpoint();
        }
    }
});

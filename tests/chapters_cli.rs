//! `loopscope chapters`: the list with progress, `--show`, `--check` on the
//! built-in chapters and on a folder of broken ones, and `--reset-progress`.
//! Each run gets its own `XDG_STATE_HOME`, so no test touches real progress.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loopscope-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn chapters(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loopscope"))
        .arg("chapters")
        .args(args)
        .env("XDG_STATE_HOME", state)
        .output()
        .expect("run loopscope chapters")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_built_in_chapters_check_clean() {
    let state = scratch("check");
    let out = chapters(&state, &["--check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("chapters, all fine"));
}

#[test]
fn broken_chapter_files_are_reported_by_file_and_line() {
    let state = scratch("broken-state");
    let dir = scratch("broken");
    fs::write(
        dir.join("01-ok.md"),
        "---\ntitle: Fine\nsummary: s\n---\n## Step\nanchor: ae.poll\naction: GET k\nwait: command name=get\n",
    )
    .expect("write");
    fs::write(
        dir.join("02-bad.md"),
        "---\ntitle: Bad\nsummary: s\n---\n## Step\nwait: comand name=get\nanchor: ae.nowhere\n",
    )
    .expect("write");
    fs::write(
        dir.join("03-arity.md"),
        "---\ntitle: Arity\nsummary: s\n---\n## Step\naction: GET\n",
    )
    .expect("write");
    fs::write(dir.join("04-binary.md"), b"---\ntitle: \xff\xfe\n").expect("write");
    let out = chapters(
        &state,
        &[
            "--check",
            "--walkthrough",
            dir.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let file = |name: &str| dir.join(name).display().to_string();
    for expected in [
        format!("{}:6: `wait:` unknown event `comand`", file("02-bad.md")),
        format!(
            "{}:6: `action:` `GET`: wrong number of arguments for 'get'",
            file("03-arity.md")
        ),
        format!("{}:2: this line is not UTF-8 text", file("04-binary.md")),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    assert!(!err.contains("01-ok.md"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn list_show_and_reset() {
    let state = scratch("list");
    let out = chapters(&state, &[]);
    assert!(out.status.success());
    let list = text(&out.stdout);
    assert!(list.contains("  1  The loop's two jobs"), "{list}");
    assert!(list.contains("0/5"), "{list}");
    assert!(
        list.contains(&state.display().to_string()),
        "names where progress is kept"
    );

    let out = chapters(&state, &["--show", "6"]);
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("Chapter 6: The life of a command\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  do:     SET greeting hello   (t sends it)\n"),
        "{shown}"
    );

    let out = chapters(&state, &["--show", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("there is no chapter 0"));

    // Saved progress shows in the list, and --reset-progress forgets it.
    let saved = state.join("loopscope").join("progress.json");
    fs::create_dir_all(saved.parent().expect("parent")).expect("dir");
    fs::write(&saved, r#"{"version":1,"chapters":{"two-jobs":[1,2,3]}}"#).expect("write");
    let list = text(&chapters(&state, &[]).stdout);
    assert!(list.contains("3/5"), "{list}");
    let out = chapters(&state, &["--reset-progress"]);
    assert!(out.status.success());
    assert!(!saved.exists());
    assert!(text(&out.stdout).contains("0/5"));

    // A corrupt progress file is a warning, not a failure.
    fs::create_dir_all(saved.parent().expect("parent")).expect("dir");
    fs::write(&saved, "garbage").expect("write");
    let out = chapters(&state, &[]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("cannot read saved progress"));
}

//! A real terminal for the UI tests: a detached tmux session, its screen read
//! with `capture-pane`, keys sent with `send-keys`, closed with
//! `kill-session` (only ever its own session, never the tmux server).

use std::process::Command;
use std::time::{Duration, Instant};

/// True if tmux is installed. Where it is not, a test says so loudly and
/// skips (see [`super::tool`]), except under `CI=true`, where a missing
/// tmux is a failure. `test` names the test in the note.
pub fn available(test: &str) -> bool {
    let found = super::tool("tmux").is_some();
    if !found {
        eprintln!("*** SKIPPED {test} ***");
    }
    found
}

/// A detached tmux session running one command; killed when dropped.
pub struct Session {
    pub name: String,
}

impl Session {
    /// Starts `cmd` in a 100x30 terminal. `tag` makes the session's name
    /// unique among the tests of this process.
    pub fn start(tag: &str, cmd: &str) -> Session {
        Session::start_sized(tag, cmd, 100, 30)
    }

    /// Starts `cmd` in a `width`x`height` terminal.
    pub fn start_sized(tag: &str, cmd: &str, width: u16, height: u16) -> Session {
        let name = format!("loopscope-test-{tag}-{}", std::process::id());
        let (w, h) = (width.to_string(), height.to_string());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", &w, "-y", &h, cmd])
            .status()
            .expect("run tmux")
            .success();
        assert!(ok, "tmux new-session failed");
        Session { name }
    }

    pub fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, keys])
            .status()
            .expect("tmux send-keys")
            .success();
        assert!(ok, "tmux send-keys {keys}");
    }

    /// Waits until the screen satisfies `pred`; panics with the screen if not.
    ///
    /// tmux may show a frame half drawn (its top new, its bottom old), so a
    /// match counts once a second capture a moment later still matches, and
    /// that later, finished screen is returned for the caller's checks.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if pred(&self.capture()) {
                std::thread::sleep(Duration::from_millis(80));
                let settled = self.capture();
                if pred(&settled) {
                    return settled;
                }
            }
            let screen = self.capture();
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pid of the process the shell in the session's pane started
    /// (the command's first program).
    pub fn child_of_pane(&self) -> i32 {
        let out = Command::new("tmux")
            .args(["list-panes", "-t", &self.name, "-F", "#{pane_pid}"])
            .output()
            .expect("tmux list-panes");
        let shell: i32 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pane pid");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("the shell's children");
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a program, started by the shell")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// True once `pid` has exited (a zombie nobody reaped has exited too).
pub fn exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

/// Waits up to `limit` for `pid` to exit; true if it did.
pub fn wait_exited(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if exited(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    exited(pid)
}

/// A fresh state folder (`XDG_STATE_HOME`) for the UI of a test, named
/// after `tag`, so nothing lands in the real home.
pub fn state_home(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loopscope-tmux-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// A shell command for a session: `loopscope ARGS` (ARGS start with the
/// subcommand, if any), drawn in ASCII, with `state` as its state folder.
/// When loopscope ends, the pane prints `LOOPSCOPE-EXITED-<status>` and
/// stays open a while, so a test can read how it ended.
pub fn ui_command_in(state: &std::path::Path, args: &str) -> String {
    format!(
        "XDG_STATE_HOME={} {} {args} --ascii; echo LOOPSCOPE-EXITED-$?; sleep 30",
        state.display(),
        env!("CARGO_BIN_EXE_loopscope"),
    )
}

/// [`ui_command_in`] a fresh state folder named after `tag`, with the log
/// in it too.
pub fn ui_command(tag: &str, args: &str) -> String {
    let state = state_home(tag);
    let log = state.join("loopscope.log");
    ui_command_in(&state, &format!("{args} --log {}", log.display()))
}

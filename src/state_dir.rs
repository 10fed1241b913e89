//! Where loopscope keeps what it writes for itself between runs: the
//! platform's place for application state. `$XDG_STATE_HOME/loopscope`, or
//! `~/.local/state/loopscope` when `XDG_STATE_HOME` is unset or not an
//! absolute path (on macOS, `~/Library/Application Support/loopscope`).
//! The learner's progress and each instance's log live there.

use std::path::PathBuf;

/// The folder, if the environment names a home (it may not exist yet).
pub fn state_dir() -> Option<PathBuf> {
    let state_home = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = match state_home {
        Some(dir) => dir,
        None => {
            let home = PathBuf::from(std::env::var_os("HOME")?);
            if cfg!(target_os = "macos") {
                home.join("Library").join("Application Support")
            } else {
                home.join(".local").join("state")
            }
        }
    };
    Some(base.join("loopscope"))
}

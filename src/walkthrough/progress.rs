//! Which steps a learner has done, remembered between runs.
//!
//! Progress is one small JSON file per user, in the platform's place for
//! application state: `$XDG_STATE_HOME/loopscope/progress.json`, or
//! `~/.local/state/loopscope/progress.json` when `XDG_STATE_HOME` is unset
//! (on macOS, `~/Library/Application Support/loopscope/progress.json`).
//! Chapters are keyed by their id and steps by their number, so renaming a
//! chapter file keeps its progress as long as its `id:` stays.
//!
//! Progress is a convenience, never a reason to fail: a missing file is no
//! progress, an unreadable one is set aside with a warning (and replaced on
//! the next save), and a failed save is reported but changes nothing else.
//! Saves write a temporary file and rename it over the old one, so a crash
//! mid-save never leaves half a file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The version written into the file; a file with another version is set aside.
const VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct File {
    version: u32,
    /// Chapter id → numbers (1-based) of the steps done.
    chapters: BTreeMap<String, BTreeSet<usize>>,
}

/// The done steps of every chapter, and where they are saved.
#[derive(Clone, Debug)]
pub struct Progress {
    /// `None`: kept in memory only (tests, or no home directory).
    path: Option<PathBuf>,
    data: File,
    /// Why the saved progress could not be read, if it could not.
    warning: Option<String>,
}

/// The default place of the progress file, if the environment names a home.
pub fn default_path() -> Option<PathBuf> {
    Some(state_dir()?.join("progress.json"))
}

/// loopscope's state directory, if the environment names a home:
/// `$XDG_STATE_HOME/loopscope`, or `~/.local/state/loopscope` (on macOS
/// `~/Library/Application Support/loopscope`). The tour keeps what the
/// chapters make there (chapter 12's append-only file), not in whatever
/// directory it was started from.
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

impl Progress {
    /// Progress kept in memory only.
    pub fn in_memory() -> Progress {
        Progress {
            path: None,
            data: File {
                version: VERSION,
                ..File::default()
            },
            warning: None,
        }
    }

    /// Loads the progress saved at the default place (see the module doc).
    pub fn load_default() -> Progress {
        match default_path() {
            Some(path) => Progress::load(path),
            None => {
                let mut p = Progress::in_memory();
                p.warning = Some("no HOME or XDG_STATE_HOME: progress is not saved".into());
                p
            }
        }
    }

    /// Loads the progress saved at `path` (none yet if the file does not exist).
    pub fn load(path: PathBuf) -> Progress {
        let mut p = Progress::in_memory();
        match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<File>(&bytes) {
                Ok(data) if data.version == VERSION => p.data = data,
                Ok(data) => {
                    p.warning = Some(format!(
                        "{}: progress saved by another version ({}); starting afresh",
                        path.display(),
                        data.version
                    ))
                }
                Err(e) => {
                    p.warning = Some(format!(
                        "{}: cannot read saved progress ({e}); starting afresh",
                        path.display()
                    ))
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                p.warning = Some(format!("{}: {e}; starting afresh", path.display()));
            }
        }
        p.path = Some(path);
        p
    }

    /// Where progress is saved, if anywhere.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Why the saved progress was not used, if it was not.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// True if step `step` (1-based) of chapter `chapter` is done.
    pub fn is_done(&self, chapter: &str, step: usize) -> bool {
        self.data
            .chapters
            .get(chapter)
            .is_some_and(|s| s.contains(&step))
    }

    /// How many of the steps `1..=steps` of `chapter` are done.
    pub fn done_count(&self, chapter: &str, steps: usize) -> usize {
        self.data
            .chapters
            .get(chapter)
            .map_or(0, |s| s.range(1..=steps).count())
    }

    /// Marks a step done and saves, if it was not done already.
    pub fn mark_done(&mut self, chapter: &str, step: usize) -> io::Result<()> {
        let inserted = self
            .data
            .chapters
            .entry(chapter.to_string())
            .or_default()
            .insert(step);
        if inserted { self.save() } else { Ok(()) }
    }

    /// Forgets all progress, in memory and on disk.
    pub fn reset(&mut self) -> io::Result<()> {
        self.data.chapters.clear();
        self.warning = None;
        match &self.path {
            Some(path) => match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    fn save(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_vec_pretty(&self.data).map_err(io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, json)?;
        fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("loopscope-progress-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn saves_and_loads_and_resets() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("nested").join("progress.json");
        let mut p = Progress::load(path.clone());
        assert!(p.warning().is_none());
        assert!(!p.is_done("intro", 1));
        p.mark_done("intro", 1).expect("save");
        p.mark_done("intro", 3).expect("save");
        p.mark_done("other", 2).expect("save");
        let q = Progress::load(path.clone());
        assert!(q.is_done("intro", 1) && q.is_done("intro", 3) && !q.is_done("intro", 2));
        assert_eq!(q.done_count("intro", 5), 2);
        // Steps beyond the chapter's length (it got shorter) are not counted.
        assert_eq!(q.done_count("intro", 2), 1);
        let mut q = q;
        q.reset().expect("reset");
        assert!(!path.exists());
        assert!(!Progress::load(path).is_done("intro", 1));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_broken_file_is_a_warning_not_an_error() {
        let dir = temp_dir("broken");
        fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("progress.json");
        fs::write(&path, b"{ not json").expect("write");
        let mut p = Progress::load(path.clone());
        assert!(p.warning().is_some_and(|w| w.contains("cannot read")));
        p.mark_done("c", 1).expect("replaces the broken file");
        assert!(Progress::load(path.clone()).is_done("c", 1));
        fs::write(&path, br#"{"version":99,"chapters":{}}"#).expect("write");
        assert!(
            Progress::load(path)
                .warning()
                .is_some_and(|w| w.contains("another version"))
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn in_memory_never_touches_disk() {
        let mut p = Progress::in_memory();
        p.mark_done("c", 1).expect("nothing to fail");
        assert!(p.is_done("c", 1));
        assert!(p.path().is_none());
        p.reset().expect("reset");
        assert!(!p.is_done("c", 1));
    }
}

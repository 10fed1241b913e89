//! The background fsync thread (mirror of Redis's `bio.c` job type
//! `BIO_AOF_FSYNC`).
//!
//! `fsync` can take a long time on a busy disk, and the event loop must not
//! wait for it under `appendfsync everysec`. So the loop hands a duplicate of
//! the file's descriptor to this thread, which fsyncs it and drops it. The
//! loop only asks "is an fsync still running?" ([`Fsyncer::in_progress`],
//! Redis's `bioPendingJobsOfType`), to decide whether its next write should
//! wait: on Linux a `write` to a file being fsynced can block.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};

use crate::server::log;

/// The loop's handle on the fsync thread, started on first use.
#[derive(Default)]
pub struct Fsyncer {
    jobs: Option<Sender<File>>,
    /// Jobs handed over and not finished yet.
    pending: Arc<AtomicUsize>,
}

impl Fsyncer {
    /// True while a handed-over fsync has not finished.
    pub fn in_progress(&self) -> bool {
        self.pending() > 0
    }

    /// Jobs waiting or running (`aof_pending_bio_fsync` in INFO).
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Hands an fsync of `file` to the thread (mirror of
    /// `aof_background_fsync`). The thread gets its own descriptor, so the
    /// loop may close or replace the file meanwhile.
    pub fn submit(&mut self, file: &File) -> std::io::Result<()> {
        let dup = file.try_clone()?;
        if self.jobs.is_none() {
            self.jobs = Some(self.start()?);
        }
        self.pending.fetch_add(1, Ordering::AcqRel);
        let sent = self.jobs.as_ref().map(|tx| tx.send(dup));
        if !matches!(sent, Some(Ok(()))) {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            self.jobs = None;
            return Err(std::io::Error::other("the fsync thread is gone"));
        }
        Ok(())
    }

    /// Starts the thread (mirror of `bioInit` for this job type).
    fn start(&self) -> std::io::Result<Sender<File>> {
        let (tx, rx) = channel::<File>();
        let pending = Arc::clone(&self.pending);
        std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                for file in rx {
                    if let Err(e) = super::aof_fsync(&file) {
                        log::warning(&format!("Background AOF fsync failed: {e}"));
                    }
                    drop(file);
                    pending.fetch_sub(1, Ordering::AcqRel);
                }
            })?;
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submitted_fsync_finishes() {
        let path = std::env::temp_dir().join(format!("loopscope-bio-{}", std::process::id()));
        let file = File::create(&path).expect("create");
        let mut f = Fsyncer::default();
        assert!(!f.in_progress());
        f.submit(&file).expect("submit");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while f.in_progress() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!f.in_progress(), "the fsync never finished");
        std::fs::remove_file(&path).expect("cleanup");
    }
}

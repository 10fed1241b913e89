//! The terminal the UI runs on, and its keys, read on a thread of their own.
//!
//! [`Tty::open`] finds the terminal (or says plainly that there is none, before
//! anything starts). [`TtyInput`] reads its keys: a thread waits in `poll`
//! on the terminal and only then lets crossterm read and parse what arrived.
//! The wait is ours because crossterm's own wait never ends on a terminal
//! that hung up (it re-reads the dead descriptor forever, its issue 793):
//! `poll` reports the hang-up, the thread says so to the UI and stops, and
//! the UI ends (see [`super::lifetime`]). The UI thread itself only ever
//! takes events from a channel, so it keeps its turn whatever the terminal
//! does.

use std::io::{self, IsTerminal};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::Duration;

use crossterm::event::{self, Event as TermEvent};

use super::lifetime;
use super::run::Input;

/// How long the key thread waits in `poll` before it lets crossterm look
/// anyway: a resize arrives as a signal crossterm catches, not as input,
/// so this is the longest a resize waits to be drawn.
const RESIZE_LATENCY: Duration = Duration::from_millis(50);

/// Terminal events the key thread may read ahead of the UI.
const KEY_QUEUE: usize = 256;

/// What the UI tells a person who started it without a terminal.
fn no_terminal(what: &str) -> String {
    format!(
        "the UI needs a terminal: it draws on standard output and reads keys from the \
         terminal, and {what}. To run the server without the UI, use `loopscope serve` \
         (and `loopscope serve --trace-port PORT` to attach a UI from a terminal later)."
    )
}

/// The terminal the UI reads keys from: shared by the key thread and the
/// watchdog, closed when the last of them lets go.
#[derive(Clone)]
pub struct Tty(Arc<OwnedFd>);

impl Tty {
    /// The terminal crossterm reads keys from too: standard input if it is
    /// a terminal, else the process's controlling terminal (`/dev/tty`).
    /// Standard output must be a terminal as well, since the UI draws there.
    /// The error is one line for a person.
    pub fn open() -> Result<Tty, String> {
        if !io::stdout().is_terminal() {
            return Err(no_terminal("standard output is not a terminal"));
        }
        let fd = if io::stdin().is_terminal() {
            io::stdin().as_fd().try_clone_to_owned()
        } else {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .map(OwnedFd::from)
        };
        fd.map(|fd| Tty(Arc::new(fd))).map_err(|e| {
            no_terminal(&format!(
                "this process has none (standard input is not one, and /dev/tty: {e})"
            ))
        })
    }
}

impl AsRawFd for Tty {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// Keys and resizes from the terminal, read by a thread (see the module doc).
pub struct TtyInput {
    events: Receiver<Result<TermEvent, String>>,
}

impl TtyInput {
    /// Starts the key thread on `tty` (from [`Tty::open`]).
    pub fn spawn(tty: &Tty) -> io::Result<TtyInput> {
        let tty = Arc::clone(&tty.0);
        let (tx, events) = mpsc::sync_channel(KEY_QUEUE);
        std::thread::Builder::new()
            .name("ui-keys".into())
            .spawn(move || read_keys(&tty, &tx))?;
        Ok(TtyInput { events })
    }
}

impl Input for TtyInput {
    fn next(&mut self, timeout: Duration) -> io::Result<Option<TermEvent>> {
        let got = if timeout.is_zero() {
            self.events.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        } else {
            self.events.recv_timeout(timeout)
        };
        match got {
            Ok(Ok(ev)) => Ok(Some(ev)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Ok(Err(why)) => Err(io::Error::other(why)),
            Err(RecvTimeoutError::Disconnected) => {
                Err(io::Error::other("the terminal's key reader stopped"))
            }
        }
    }
}

/// The key thread: wait for the terminal, hand what crossterm parses to the
/// UI, stop at a hang-up or when the UI is gone.
fn read_keys(tty: &OwnedFd, tx: &SyncSender<Result<TermEvent, String>>) {
    let ms = RESIZE_LATENCY.as_millis() as libc::c_int;
    loop {
        let mut pfd = libc::pollfd {
            fd: tty.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd that lives across the call.
        if unsafe { libc::poll(&mut pfd, 1, ms) } < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return gone(tx, format!("cannot wait for the terminal: {e}"));
        }
        if lifetime::hung_up(pfd.revents) {
            return gone(tx, "the terminal went away".into());
        }
        // Something arrived, or it is time to look for a resize. Zero
        // timeouts: crossterm only takes what is there.
        loop {
            let ev = match event::poll(Duration::ZERO) {
                Ok(false) => break,
                Ok(true) => event::read(),
                Err(e) => Err(e),
            };
            let sent = match ev {
                Ok(ev) => tx.send(Ok(ev)),
                Err(e) => return gone(tx, format!("cannot read the terminal: {e}")),
            };
            if sent.is_err() {
                return; // the UI is gone
            }
        }
    }
}

/// Tells the UI its terminal is gone, and why.
fn gone(tx: &SyncSender<Result<TermEvent, String>>, why: String) {
    lifetime::mark_terminal_gone();
    let _ = tx.send(Err(why));
}

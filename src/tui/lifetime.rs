//! How the UI's life ends: a quit signal, or a terminal that goes away.
//!
//! A terminal UI must never outlive its terminal. When a terminal window or
//! a tmux session closes, the kernel hangs the terminal up: the process gets
//! SIGHUP, and from then on the terminal reads as "ready" forever while every
//! read returns nothing or fails. A program that only waits for keys then
//! spins at full speed and never notices (crossterm's event reader does
//! exactly that; its issue 793). So loopscope watches for the end itself, in
//! three places that do not depend on each other:
//!
//! - the signal handlers of [`install_quit_signals`] note SIGTERM, SIGINT and
//!   SIGHUP in an atomic, the only thing a handler may safely do;
//! - the key reader ([`super::tty`]) and the [`Watchdog`] note a terminal
//!   that reports a hang-up or an error;
//! - the UI thread asks [`ending`] at every turn of its loop and quits the
//!   normal way: terminal restored, exit status set.
//!
//! The watchdog is the last resort. Should the UI thread be stuck somewhere
//! it cannot notice anything, the watchdog waits [`GRACE`], puts the terminal
//! back as well as it still can, and ends the process with `_exit`. Either
//! way the process is gone within about a second, and with it the server's
//! port.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::tty::Tty;

/// Why the UI must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// SIGTERM or SIGINT: the user (or a supervisor) asked to quit.
    Quit,
    /// SIGHUP, or the terminal reported a hang-up: nobody is looking any more.
    Hangup,
}

impl End {
    /// The exit status for this end: 0 for a quit that was asked for, 1 for
    /// a terminal that went away.
    pub fn exit_status(self) -> i32 {
        match self {
            End::Quit => 0,
            End::Hangup => 1,
        }
    }
}

/// How long the UI thread has to end by itself once the end is known,
/// before the watchdog ends the process.
pub const GRACE: Duration = Duration::from_millis(800);

/// How often the watchdog looks, when nothing wakes it earlier.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// The quit signal that arrived (0: none). Written by the handler.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Set once the terminal is known to be gone (see [`mark_terminal_gone`]).
static TERMINAL_GONE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_quit_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::Relaxed);
}

/// Makes SIGTERM, SIGINT and SIGHUP end the UI (see [`ending`]). In the tour
/// this replaces the server's own handlers: the UI quitting ends the
/// process, server and all. (Ctrl-C itself is a key in raw mode, not a
/// signal.)
pub fn install_quit_signals() {
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe; the sigaction struct is fully initialised.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_quit_signal as *const () as usize;
        libc::sigemptyset(&mut act.sa_mask);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Notes that the terminal is gone (a hang-up, an error, the end of input).
pub fn mark_terminal_gone() {
    TERMINAL_GONE.store(true, Ordering::Relaxed);
}

/// Whether, and why, the UI must end now.
pub fn ending() -> Option<End> {
    if TERMINAL_GONE.load(Ordering::Relaxed) {
        return Some(End::Hangup);
    }
    match SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        libc::SIGHUP => Some(End::Hangup),
        _ => Some(End::Quit),
    }
}

/// True if `revents` (from `poll`) says the terminal is gone.
pub fn hung_up(revents: libc::c_short) -> bool {
    revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// What the watchdog puts back when it has to end the process itself:
/// the terminal's settings from before the UI started, and the screen.
pub struct Saved {
    tty: Tty,
    termios: Option<libc::termios>,
}

impl Saved {
    /// Records the terminal's current settings (call it before raw mode).
    pub fn now(tty: &Tty) -> Saved {
        let tty = tty.clone();
        // SAFETY: tcgetattr writes a termios into the zeroed struct we own.
        let termios = unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            (libc::tcgetattr(tty.as_raw_fd(), &mut t) == 0).then_some(t)
        };
        Saved { tty, termios }
    }

    /// Puts the terminal back without taking any lock the stuck UI thread
    /// might hold: raw system calls only, their failures ignored (a terminal
    /// that is gone cannot be restored, and need not be).
    fn restore(&self) {
        // Leave the alternate scroll mode and the alternate screen, show the
        // cursor again.
        const LEAVE: &[u8] = b"\x1b[?1007l\x1b[?1049l\x1b[?25h";
        // SAFETY: plain system calls on descriptors we hold open, with a
        // buffer and a termios that live across the calls.
        unsafe {
            if let Some(t) = &self.termios {
                libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, t);
            }
            libc::write(libc::STDOUT_FILENO, LEAVE.as_ptr().cast(), LEAVE.len());
        }
    }
}

/// The thread that ends the process if the UI thread does not (see the
/// module doc). It lives as long as the process.
pub struct Watchdog;

impl Watchdog {
    /// Starts watching the terminal `saved` was taken from.
    pub fn spawn(saved: Saved) -> std::io::Result<Watchdog> {
        std::thread::Builder::new()
            .name("ui-watchdog".into())
            .spawn(move || watch(&saved))?;
        Ok(Watchdog)
    }
}

fn watch(saved: &Saved) {
    let mut deadline: Option<(Instant, End)> = None;
    loop {
        if ending().is_none() {
            // Sleep in poll: a hang-up wakes it at once. No events are asked
            // for; poll reports a hang-up or an error regardless.
            let mut pfd = libc::pollfd {
                fd: saved.tty.as_raw_fd(),
                events: 0,
                revents: 0,
            };
            let ms = WATCH_INTERVAL.as_millis() as libc::c_int;
            // SAFETY: one pollfd that lives across the call.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n > 0 && hung_up(pfd.revents) {
                mark_terminal_gone();
            }
        } else {
            // The terminal may be gone for good: poll would return at once,
            // every time. Plain sleeps from here on.
            std::thread::sleep(WATCH_INTERVAL);
        }
        match (deadline, ending()) {
            (None, Some(end)) => deadline = Some((Instant::now() + GRACE, end)),
            (Some((at, end)), _) if Instant::now() >= at => {
                saved.restore();
                // SAFETY: _exit ends the process without running anything
                // that could wait for the stuck thread (no atexit handlers,
                // no flushing of locked buffers).
                unsafe { libc::_exit(end.exit_status()) }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hang_up_or_an_error_means_the_terminal_is_gone_and_input_does_not() {
        assert!(hung_up(libc::POLLHUP));
        assert!(hung_up(libc::POLLIN | libc::POLLHUP));
        assert!(hung_up(libc::POLLERR));
        assert!(hung_up(libc::POLLNVAL));
        assert!(!hung_up(libc::POLLIN));
        assert!(!hung_up(0));
    }

    /// What `poll` reports for the terminal side of a pseudo-terminal.
    fn revents(fd: libc::c_int) -> libc::c_short {
        let mut pfd = libc::pollfd {
            fd,
            events: 0,
            revents: 0,
        };
        // SAFETY: one pollfd that lives across the call; zero timeout.
        assert!(unsafe { libc::poll(&mut pfd, 1, 0) } >= 0);
        pfd.revents
    }

    /// The kernel behaviour the key thread and the watchdog rely on: the
    /// terminal side of a pseudo-terminal reports a hang-up once the other
    /// side (the terminal window, tmux) closes, and not before.
    #[test]
    fn a_closed_terminal_window_shows_as_a_hang_up() {
        let (mut controller, mut terminal) = (0, 0);
        // SAFETY: openpty writes two descriptors we then own; no name,
        // settings or size are asked for.
        let opened = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        assert!(!hung_up(revents(terminal)));
        // SAFETY: closing descriptors this test opened, each once.
        unsafe { libc::close(controller) };
        assert!(hung_up(revents(terminal)));
        unsafe { libc::close(terminal) };
    }

    #[test]
    fn a_quit_exits_cleanly_and_a_hang_up_does_not() {
        assert_eq!(End::Quit.exit_status(), 0);
        assert_eq!(End::Hangup.exit_status(), 1);
    }
}

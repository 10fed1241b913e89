//! The kernel side of the loop: mio's poller, made to behave like Redis's
//! level-triggered epoll backend (mirror of `ae_epoll.c`).
//!
//! # Edge versus level
//!
//! Redis registers sockets with plain `EPOLLIN`/`EPOLLOUT`: *level-triggered*.
//! As long as a socket holds unread bytes, every `epoll_wait` reports it again.
//! Redis relies on that: `readQueryFromClient` makes one bounded read per event,
//! `writeToClient` stops after 64 KiB, the accept handler takes a bounded number
//! of connections — whatever is left is picked up by the next iteration, so one
//! busy client cannot starve the others.
//!
//! mio registers everything with `EPOLLET`: *edge-triggered*. The kernel
//! reports a socket once when it becomes ready and then stays silent until new
//! data arrives. Copy Redis's "one bounded read per event" onto that and the
//! leftover bytes are never reported again: the client hangs.
//!
//! So this module keeps Redis's behaviour by remembering readiness itself:
//!
//! - every event the kernel reports sets that fd's *ready bits*;
//! - only the handler can clear them, by telling the loop that an I/O call
//!   proved the direction drained ([`ApiState::clear_ready`]: `WouldBlock`, or
//!   a read or write shorter than asked, which on Linux means the socket buffer
//!   was emptied or filled at that moment, and any later change is a new edge;
//!   a read that got all it asked for checks whether anything is left);
//! - before each poll, fds that were fired last time and still have a ready bit
//!   for a registered direction are collected; if there are any, the poll does
//!   not sleep (like Redis's `aeSetDontWait`), and they join this iteration's
//!   `fired` array marked `refired`, so the trace can tell "the kernel said so"
//!   from "fired again because its handler left data behind".

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::{AE_READABLE, AE_WRITABLE, Fd, FileEvent, FiredEvent};

/// The token of the waker, outside any fd's range: a wake is not a file event.
const WAKER_TOKEN: Token = Token(usize::MAX);

/// A readiness bit beside AE_READABLE/AE_WRITABLE: the poller reported a
/// hang-up (or an error) on the fd, which no read has consumed yet.
const HUNG_UP: u8 = 0x80;

/// mio's poller plus the level-trigger emulation (mirror of `aeApiState`).
pub struct ApiState {
    poll: Poll,
    /// The kernel's answer buffer, sized `setsize` like ae's `epoll_event[setsize]`.
    events: Events,
    /// Per fd: the directions (AE_READABLE | AE_WRITABLE) known to be ready,
    /// and [`HUNG_UP`] once the peer closed its side or the socket failed.
    ready: Vec<u8>,
    /// Per fd: 1 + its index in `fired` during a poll, 0 when absent.
    fired_pos: Vec<u32>,
    /// Fds found still ready before this poll, merged into `fired` after it.
    carry: Vec<FiredEvent>,
    waker: Arc<Waker>,
    /// Set when the last poll was woken by [`ApiState::waker`] (a control message).
    pub woken: bool,
}

/// The timeout `epoll_wait` gets for a wait of `timeout`, in whole
/// milliseconds (the conversion in `aeApiPoll`): Redis measures the time to
/// the next timer in microseconds and rounds those *up* to the next
/// millisecond, so a timer due in 99.2 ms makes a 100 ms wait, and one due in
/// 0.3 ms a 1 ms wait, never 99 or 0. `None` is no limit (epoll's -1). We
/// hand mio exactly this, so the trace shows what the poll is given.
pub fn timeout_ms(timeout: Option<Duration>) -> Option<u64> {
    timeout.map(|t| u64::try_from(t.as_micros().div_ceil(1000)).unwrap_or(u64::MAX))
}

fn interest(mask: u8) -> Option<Interest> {
    match (mask & AE_READABLE != 0, mask & AE_WRITABLE != 0) {
        (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
        (true, false) => Some(Interest::READABLE),
        (false, true) => Some(Interest::WRITABLE),
        (false, false) => None,
    }
}

impl ApiState {
    /// Creates the poller (mirror of `aeApiCreate`).
    pub fn create(setsize: usize) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        Ok(ApiState {
            poll,
            events: Events::with_capacity(setsize.max(1)),
            ready: vec![0; setsize],
            fired_pos: vec![0; setsize],
            carry: Vec::new(),
            waker,
            woken: false,
        })
    }

    /// Resizes the per-fd tables and the kernel's answer buffer (part of `aeResizeSetSize`).
    pub fn resize(&mut self, setsize: usize) {
        self.events = Events::with_capacity(setsize.max(1));
        self.ready.resize(setsize, 0);
        self.fired_pos.resize(setsize, 0);
    }

    /// A handle other threads use to interrupt a sleeping poll.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Adds `mask` to the kernel's interest for `fd`, keeping what was there
    /// (mirror of `aeApiAddEvent`: EPOLL_CTL_ADD for a new fd, MOD otherwise).
    pub fn add_event(&mut self, fd: Fd, old: u8, mask: u8) -> io::Result<()> {
        let Some(wanted) = interest(old | mask) else {
            return Ok(());
        };
        let registry = self.poll.registry();
        if interest(old).is_none() {
            registry.register(&mut SourceFd(&fd), Token(fd as usize), wanted)
        } else {
            registry.reregister(&mut SourceFd(&fd), Token(fd as usize), wanted)
        }
    }

    /// Removes `mask` from the kernel's interest for `fd` (mirror of
    /// `aeApiDelEvent`: MOD with what remains, or DEL when nothing does), and
    /// forgets readiness in the removed directions.
    pub fn del_event(&mut self, fd: Fd, old: u8, mask: u8) {
        let registry = self.poll.registry();
        // Errors are ignored like Redis does: the fd may already be gone.
        let _ = match interest(old & !mask) {
            Some(remaining) => {
                registry.reregister(&mut SourceFd(&fd), Token(fd as usize), remaining)
            }
            None => registry.deregister(&mut SourceFd(&fd)),
        };
        self.clear_ready(fd, mask);
        if interest(old & !mask).is_none() {
            // The fd number may be reused by a new connection: forget the hang-up too.
            self.clear_ready(fd, HUNG_UP);
        }
    }

    /// A read on `fd` left the socket empty: it is drained for reading,
    /// unless the peer hung up. Then the end of the stream is
    /// still to be read, and a level-triggered poll would keep reporting it;
    /// mio reports the hang-up once, often with the last bytes, so the fd
    /// stays ready until a read returns it.
    pub fn short_read(&mut self, fd: Fd) {
        let hung_up = usize::try_from(fd)
            .ok()
            .and_then(|i| self.ready.get(i))
            .is_some_and(|bits| bits & HUNG_UP != 0);
        if !hung_up {
            self.clear_ready(fd, AE_READABLE);
        }
    }

    /// Forgets readiness of `fd` in the `mask` directions.
    pub fn clear_ready(&mut self, fd: Fd, mask: u8) {
        if let Some(bits) = usize::try_from(fd).ok().and_then(|i| self.ready.get_mut(i)) {
            *bits &= !mask;
        }
    }

    /// Collects the fds of the previous `fired` array that are still ready in a
    /// registered direction. Returns true if there are any, in which case the
    /// caller polls without sleeping.
    // anchor: ae.still_ready
    pub fn collect_still_ready<C>(
        &mut self,
        events: &[FileEvent<C>],
        prev_fired: &[FiredEvent],
    ) -> bool {
        self.carry.clear();
        for fe in prev_fired {
            let slot = fe.fd as usize;
            let still = self.ready[slot] & events[slot].mask & (AE_READABLE | AE_WRITABLE);
            if still != 0 {
                self.carry.push(FiredEvent {
                    fd: fe.fd,
                    mask: still,
                    refired: true,
                });
            }
        }
        !self.carry.is_empty()
    }

    /// The fds found still ready by [`ApiState::collect_still_ready`], for the trace.
    pub fn still_ready(&self) -> impl Iterator<Item = Fd> + '_ {
        self.carry.iter().map(|fe| fe.fd)
    }

    /// Waits at most `timeout_ms` (see [`timeout_ms`]; `None` waits for ever)
    /// for readiness and fills `fired` (mirror of `aeApiPoll`). Returns
    /// the number of entries. Like Redis, an error or hang-up reports the fd as
    /// both readable and writable so the handlers find the condition when they
    /// read or write, and an interrupted wait (EINTR) yields zero events.
    pub fn poll(&mut self, timeout_ms: Option<u64>, fired: &mut Vec<FiredEvent>) -> usize {
        fired.clear();
        self.woken = false;
        let timeout = timeout_ms.map(Duration::from_millis);
        if let Err(e) = self.poll.poll(&mut self.events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                eprintln!("loopscope: poll failed: {e}");
            }
            self.events.clear();
        }
        for ev in self.events.iter() {
            if ev.token() == WAKER_TOKEN {
                self.woken = true;
                continue;
            }
            let fd = ev.token().0 as Fd;
            let mut mask = 0;
            if ev.is_readable() || ev.is_read_closed() {
                mask |= AE_READABLE;
            }
            if ev.is_writable() || ev.is_write_closed() {
                mask |= AE_WRITABLE;
            }
            if ev.is_error() {
                mask |= AE_READABLE | AE_WRITABLE;
            }
            let hung_up = if ev.is_read_closed() || ev.is_error() {
                HUNG_UP
            } else {
                0
            };
            self.ready[fd as usize] |= mask | hung_up;
            Self::merge(
                &mut self.fired_pos,
                fired,
                FiredEvent {
                    fd,
                    mask,
                    refired: false,
                },
            );
        }
        for entry in self.carry.drain(..) {
            Self::merge(&mut self.fired_pos, fired, entry);
        }
        for fe in fired.iter() {
            self.fired_pos[fe.fd as usize] = 0;
        }
        fired.len()
    }

    /// Adds `entry` to `fired`, or ORs its mask into the fd's existing entry;
    /// an entry the kernel reported is never marked refired.
    fn merge(fired_pos: &mut [u32], fired: &mut Vec<FiredEvent>, entry: FiredEvent) {
        let slot = entry.fd as usize;
        match fired_pos[slot] {
            0 => {
                fired.push(entry);
                fired_pos[slot] = fired.len() as u32;
            }
            pos => {
                let existing = &mut fired[pos as usize - 1];
                existing.mask |= entry.mask;
                existing.refired &= entry.refired;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds_as_epoll_gets_them() {
        let ms = |us: u64| timeout_ms(Some(Duration::from_micros(us)));
        assert_eq!(ms(99_200), Some(100));
        assert_eq!(ms(100_000), Some(100));
        assert_eq!(ms(300), Some(1));
        assert_eq!(ms(0), Some(0));
        // Below a microsecond counts as nothing, as Redis's clock cannot see it.
        assert_eq!(timeout_ms(Some(Duration::from_nanos(999))), Some(0));
        assert_eq!(timeout_ms(None), None);
    }
}

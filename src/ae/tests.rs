//! Unit tests for the loop's rules, each on real sockets or real timers.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;

use super::*;

/// The test context: a log of what ran, plus sockets the handlers use.
#[derive(Default)]
struct Ctx {
    log: Vec<String>,
    streams: Vec<UnixStream>,
    /// Bytes a partial reader takes per event.
    chunk: usize,
    /// Fds whose events the next handler deletes.
    victims: Vec<Fd>,
    /// Timer ids the next timer deletes.
    timer_victims: Vec<i64>,
}

const ALL_WITH_HOOKS: i32 = AE_ALL_EVENTS | AE_CALL_BEFORE_SLEEP | AE_CALL_AFTER_SLEEP;

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn log_read(_: &mut EventLoop<Ctx>, ctx: &mut Ctx, fd: Fd, _: u8) {
    ctx.log.push(format!("read {fd}"));
}
fn log_write(_: &mut EventLoop<Ctx>, ctx: &mut Ctx, fd: Fd, _: u8) {
    ctx.log.push(format!("write {fd}"));
}
fn log_both(_: &mut EventLoop<Ctx>, ctx: &mut Ctx, fd: Fd, mask: u8) {
    ctx.log.push(format!("both {fd} {mask}"));
}
const READ: FileHandler<Ctx> = Handler {
    name: "log_read",
    mirrors: "-",
    proc_: log_read,
};
const WRITE: FileHandler<Ctx> = Handler {
    name: "log_write",
    mirrors: "-",
    proc_: log_write,
};
const BOTH: FileHandler<Ctx> = Handler {
    name: "log_both",
    mirrors: "-",
    proc_: log_both,
};

/// Reads `ctx.chunk` bytes from the stream whose fd fired, like Redis's
/// bounded read, and clears readiness only when the read proves it drained
/// (a short read, as the server does).
fn partial_read(el: &mut EventLoop<Ctx>, ctx: &mut Ctx, fd: Fd, _: u8) {
    let stream = ctx
        .streams
        .iter_mut()
        .find(|s| s.as_raw_fd() == fd)
        .unwrap();
    let mut buf = vec![0; ctx.chunk];
    match stream.read(&mut buf) {
        Ok(n) => {
            ctx.log.push(format!(
                "read {n} refired={}",
                el.fired.iter().any(|f| f.fd == fd && f.refired)
            ));
            if n < buf.len() {
                el.short_read(fd);
            }
        }
        Err(_) => el.clear_ready(fd, AE_READABLE),
    }
}
const PARTIAL: FileHandler<Ctx> = Handler {
    name: "partial_read",
    mirrors: "-",
    proc_: partial_read,
};

fn delete_victims(el: &mut EventLoop<Ctx>, ctx: &mut Ctx, fd: Fd, _: u8) {
    ctx.log.push(format!("killer {fd}"));
    for v in std::mem::take(&mut ctx.victims) {
        el.delete_file_event(v, AE_READABLE | AE_WRITABLE);
    }
}
const KILLER: FileHandler<Ctx> = Handler {
    name: "delete_victims",
    mirrors: "-",
    proc_: delete_victims,
};

fn timer_once(_: &mut EventLoop<Ctx>, ctx: &mut Ctx, id: i64) -> i64 {
    ctx.log.push(format!("once {id}"));
    AE_NOMORE
}
fn timer_again(_: &mut EventLoop<Ctx>, ctx: &mut Ctx, id: i64) -> i64 {
    ctx.log.push(format!("again {id}"));
    0
}
fn timer_deleter(el: &mut EventLoop<Ctx>, ctx: &mut Ctx, id: i64) -> i64 {
    ctx.log.push(format!("deleter {id}"));
    for v in std::mem::take(&mut ctx.timer_victims) {
        assert_eq!(el.delete_time_event(v), AE_OK);
    }
    0
}
fn timer_creator(el: &mut EventLoop<Ctx>, ctx: &mut Ctx, id: i64) -> i64 {
    ctx.log.push(format!("creator {id}"));
    el.create_time_event(0, ONCE, None);
    AE_NOMORE
}
fn finalize(_: &mut EventLoop<Ctx>, ctx: &mut Ctx, id: i64) {
    ctx.log.push(format!("finalized {id}"));
}
const ONCE: TimeHandler<Ctx> = Handler {
    name: "timer_once",
    mirrors: "-",
    proc_: timer_once,
};
const AGAIN: TimeHandler<Ctx> = Handler {
    name: "timer_again",
    mirrors: "-",
    proc_: timer_again,
};
const DELETER: TimeHandler<Ctx> = Handler {
    name: "timer_deleter",
    mirrors: "-",
    proc_: timer_deleter,
};
const CREATOR: TimeHandler<Ctx> = Handler {
    name: "timer_creator",
    mirrors: "-",
    proc_: timer_creator,
};

#[test]
fn time_events_run_newest_first_and_nomore_runs_once() {
    let mut el = EventLoop::create(64).unwrap();
    let mut ctx = Ctx::default();
    assert_eq!(el.create_time_event(0, ONCE, None), 0);
    assert_eq!(el.create_time_event(0, AGAIN, None), 1);
    el.process_events(&mut ctx, AE_TIME_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, ["again 1", "once 0"]);
    ctx.log.clear();
    el.process_events(&mut ctx, AE_TIME_EVENTS | AE_DONT_WAIT);
    assert_eq!(
        ctx.log,
        ["again 1"],
        "a timer that returned AE_NOMORE never runs again"
    );
    // The AE_NOMORE timer was marked and then unlinked by the next pass.
    assert_eq!(el.time_events.len(), 1);
}

#[test]
fn timer_not_due_does_not_run_and_bounds_the_poll() {
    let mut el = EventLoop::create(64).unwrap();
    let mut ctx = Ctx::default();
    el.create_time_event(60_000, ONCE, None);
    let soon = el.create_time_event(30, ONCE, None);
    let (id, wait) = el.earliest_timer().unwrap();
    assert_eq!(id, soon);
    assert!(wait <= Duration::from_millis(30));
    let start = Instant::now();
    // No fds: the poll is a timed sleep until the 30 ms timer.
    el.process_events(&mut ctx, AE_ALL_EVENTS);
    assert!(start.elapsed() >= Duration::from_millis(25));
    assert_eq!(ctx.log, [format!("once {soon}")]);
}

#[test]
fn deleting_timers_from_inside_a_handler_is_safe() {
    let mut el = EventLoop::create(64).unwrap();
    let mut ctx = Ctx::default();
    let victim = el.create_time_event(0, AGAIN, Some(finalize));
    let deleter = el.create_time_event(0, DELETER, None);
    // The deleter runs first (newest first), deletes the victim and itself.
    ctx.timer_victims = vec![victim, deleter];
    el.process_events(&mut ctx, AE_TIME_EVENTS | AE_DONT_WAIT);
    assert_eq!(
        ctx.log,
        [format!("deleter {deleter}"), format!("finalized {victim}")]
    );
    // The deleter is marked deleted but still linked until the next pass;
    // as in Redis 7.0.15 (not 7.2), the nearest-timer search still counts it.
    assert_eq!(
        el.earliest_timer().map(|(id, _)| id),
        Some(AE_DELETED_EVENT_ID),
    );
    el.process_events(&mut ctx, AE_TIME_EVENTS | AE_DONT_WAIT);
    assert!(el.time_events.is_empty());
    assert_eq!(el.delete_time_event(victim), AE_ERR);
}

#[test]
fn timers_created_during_the_pass_wait_for_the_next_one() {
    let mut el = EventLoop::create(64).unwrap();
    let mut ctx = Ctx::default();
    el.create_time_event(0, CREATOR, None);
    el.process_events(&mut ctx, AE_TIME_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, ["creator 0"]);
    el.process_events(&mut ctx, AE_TIME_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, ["creator 0", "once 1"]);
}

#[test]
fn read_runs_before_write_and_barrier_inverts_it() {
    let mut el = EventLoop::create(1024).unwrap();
    let mut ctx = Ctx::default();
    let (a, mut b) = pair();
    b.write_all(b"x").unwrap();
    let fd = a.as_raw_fd();
    el.create_file_event(fd, AE_READABLE, READ);
    el.create_file_event(fd, AE_WRITABLE, WRITE);
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, [format!("read {fd}"), format!("write {fd}")]);

    ctx.log.clear();
    el.create_file_event(fd, AE_WRITABLE | AE_BARRIER, WRITE);
    assert_eq!(
        el.get_file_events(fd),
        AE_READABLE | AE_WRITABLE | AE_BARRIER
    );
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, [format!("write {fd}"), format!("read {fd}")]);

    // Deleting WRITABLE takes BARRIER with it.
    el.delete_file_event(fd, AE_WRITABLE);
    assert_eq!(el.get_file_events(fd), AE_READABLE);
    drop(b);
}

#[test]
fn one_handler_for_both_directions_is_called_once() {
    let mut el = EventLoop::create(1024).unwrap();
    let mut ctx = Ctx::default();
    let (a, mut b) = pair();
    b.write_all(b"x").unwrap();
    let fd = a.as_raw_fd();
    el.create_file_event(fd, AE_READABLE | AE_WRITABLE, BOTH);
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, [format!("both {fd} 3")]);
}

#[test]
fn a_partial_reader_is_fired_again_without_new_data() {
    let mut el = EventLoop::create(1024).unwrap();
    let (a, mut b) = pair();
    b.write_all(&[7u8; 100]).unwrap();
    let fd = a.as_raw_fd();
    let mut ctx = Ctx {
        chunk: 40,
        streams: vec![a],
        ..Ctx::default()
    };
    el.create_file_event(fd, AE_READABLE, PARTIAL);
    for _ in 0..5 {
        el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    }
    assert_eq!(
        ctx.log,
        [
            "read 40 refired=false",
            "read 40 refired=true",
            "read 20 refired=true"
        ]
    );
    // Drained: nothing is fired again.
    assert_eq!(
        el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT),
        0
    );
}

/// A loop watching one end of a socket pair READABLE with `PARTIAL`, which
/// reads at most 64 bytes per call; returns the loop, its context, the
/// watched fd, and the other end to write to.
fn partial_reader() -> (EventLoop<Ctx>, Ctx, Fd, UnixStream) {
    let mut el = EventLoop::create(1024).unwrap();
    let (a, b) = pair();
    let fd = a.as_raw_fd();
    let ctx = Ctx {
        chunk: 64,
        streams: vec![a],
        ..Ctx::default()
    };
    el.create_file_event(fd, AE_READABLE, PARTIAL);
    (el, ctx, fd, b)
}

/// The last bytes and the hang-up arrive in one kernel event: the short read
/// that takes the bytes must not hide the end of the stream, which a
/// level-triggered poll would go on reporting.
#[test]
fn a_hang_up_after_the_last_bytes_is_still_read() {
    let (mut el, mut ctx, fd, mut b) = partial_reader();
    b.write_all(b"bye").unwrap();
    drop(b);
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, ["read 3 refired=false", "read 0 refired=true"]);
    // Once its events are deleted, the fd number starts afresh.
    el.delete_file_event(fd, AE_READABLE);
    assert_eq!(
        el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT),
        0
    );
}

#[test]
fn new_data_after_draining_fires_as_a_kernel_event() {
    let (mut el, mut ctx, _, mut b) = partial_reader();
    b.write_all(b"hello").unwrap();
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    b.write_all(b"again").unwrap();
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, ["read 5 refired=false", "read 5 refired=false"]);
}

#[test]
fn a_handler_deleting_a_later_fd_stops_its_dispatch() {
    let mut el = EventLoop::create(1024).unwrap();
    let mut ctx = Ctx::default();
    let (a, mut a_peer) = pair();
    let (b, mut b_peer) = pair();
    a_peer.write_all(b"x").unwrap();
    b_peer.write_all(b"x").unwrap();
    el.create_file_event(a.as_raw_fd(), AE_READABLE, KILLER);
    el.create_file_event(b.as_raw_fd(), AE_READABLE, KILLER);
    // Whichever fd is dispatched first deletes the other's registration.
    ctx.victims = vec![a.as_raw_fd(), b.as_raw_fd()];
    el.process_events(&mut ctx, AE_FILE_EVENTS | AE_DONT_WAIT);
    assert_eq!(el.fired.len(), 2, "both fds were ready");
    assert_eq!(
        ctx.log.len(),
        1,
        "the second handler was unregistered before its turn: {:?}",
        ctx.log
    );
}

#[test]
fn maxfd_follows_the_highest_registered_fd() {
    let mut el = EventLoop::create(1024).unwrap();
    let pairs: Vec<_> = (0..3).map(|_| pair()).collect();
    let mut fds: Vec<Fd> = pairs.iter().map(|(a, _)| a.as_raw_fd()).collect();
    fds.sort();
    assert_eq!(el.maxfd, -1);
    for &fd in &fds {
        el.create_file_event(fd, AE_READABLE, READ);
    }
    assert_eq!(el.maxfd, fds[2]);
    el.delete_file_event(fds[1], AE_READABLE);
    assert_eq!(el.maxfd, fds[2], "deleting a lower fd leaves maxfd alone");
    el.delete_file_event(fds[2], AE_READABLE);
    assert_eq!(el.maxfd, fds[0], "maxfd scans down past the hole");
    el.create_file_event(fds[0], AE_WRITABLE, WRITE);
    el.delete_file_event(fds[0], AE_READABLE);
    assert_eq!(el.maxfd, fds[0], "an fd with some mask left still counts");
    el.delete_file_event(fds[0], AE_WRITABLE);
    assert_eq!(el.maxfd, -1);
}

#[test]
fn fds_outside_setsize_are_refused() {
    let mut el: EventLoop<Ctx> = EventLoop::create(4).unwrap();
    let (a, _b) = pair();
    // The kernel hands out the lowest free descriptor, which may be below the
    // set size when the test harness runs with stdin closed; a duplicate at
    // or above 64 is outside the set whatever the harness did.
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) only reads `a` and returns a new fd we own.
    let high = unsafe { libc::fcntl(a.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 64) };
    assert!(high >= 64, "fcntl(F_DUPFD_CLOEXEC) failed");
    // SAFETY: `high` is a fresh descriptor nothing else owns.
    let high = unsafe { std::os::fd::OwnedFd::from_raw_fd(high) };
    assert_eq!(
        el.create_file_event(high.as_raw_fd(), AE_READABLE, READ),
        AE_ERR
    );
    assert_eq!(el.create_file_event(-1, AE_READABLE, READ), AE_ERR);
    assert_eq!(el.maxfd, -1);
}

fn count_hook(_: &mut EventLoop<Ctx>, ctx: &mut Ctx) {
    ctx.log.push("hook".into());
}

#[test]
fn hooks_run_only_when_asked() {
    let mut el = EventLoop::create(64).unwrap();
    let mut ctx = Ctx::default();
    el.before_sleep = Some(Handler {
        name: "before",
        mirrors: "beforeSleep",
        proc_: count_hook,
    });
    el.after_sleep = Some(Handler {
        name: "after",
        mirrors: "afterSleep",
        proc_: count_hook,
    });
    el.create_time_event(0, AGAIN, None);
    el.process_events(&mut ctx, AE_ALL_EVENTS);
    assert_eq!(ctx.log, ["again 0"]);
    ctx.log.clear();
    el.process_events(&mut ctx, ALL_WITH_HOOKS);
    assert_eq!(ctx.log, ["hook", "hook", "again 0"]);
}

#[test]
fn no_flags_means_no_work() {
    let mut el = EventLoop::create(64).unwrap();
    let mut ctx = Ctx::default();
    el.create_time_event(0, AGAIN, None);
    assert_eq!(el.process_events(&mut ctx, AE_DONT_WAIT), 0);
    assert!(ctx.log.is_empty());
}

#[test]
fn resize_refuses_to_cut_below_a_registered_fd() {
    let mut el = EventLoop::create(1024).unwrap();
    let (a, _b) = pair();
    let fd = a.as_raw_fd();
    el.create_file_event(fd, AE_READABLE, READ);
    assert_eq!(el.resize_set_size(fd as usize), AE_ERR);
    assert_eq!(el.setsize, 1024);
    assert_eq!(el.resize_set_size(fd as usize + 1), AE_OK);
    assert_eq!(el.events.len(), fd as usize + 1);
    assert_eq!(el.resize_set_size(4096), AE_OK);
    assert_eq!(
        el.create_file_event(4000, AE_READABLE, READ),
        AE_ERR,
        "fd 4000 is not open, the kernel refuses"
    );
    assert_eq!(
        el.get_file_events(fd),
        AE_READABLE,
        "registrations survive a resize"
    );
}

/// Found with the property tests' model: an fd fired in the last iteration,
/// then deleted, and the set size shrunk below it (serverCron does this after
/// `CONFIG SET maxclients`), made the next poll index past the shrunk tables.
#[test]
fn shrinking_below_an_fd_fired_last_iteration_is_safe() {
    let (a, _a_peer) = pair();
    let (b, _b_peer) = pair();
    let (low, high) = if a.as_raw_fd() < b.as_raw_fd() {
        (a.as_raw_fd(), b.as_raw_fd())
    } else {
        (b.as_raw_fd(), a.as_raw_fd())
    };
    let mut el = EventLoop::create(high as usize + 1).unwrap();
    let mut ctx = Ctx::default();
    el.create_file_event(low, AE_READABLE, READ);
    el.create_file_event(high, AE_WRITABLE, WRITE);
    el.process_events(&mut ctx, AE_ALL_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log, [format!("write {high}")]);
    el.delete_file_event(high, AE_WRITABLE);
    assert_eq!(el.resize_set_size(high as usize), AE_OK);
    assert!(el.fired.iter().all(|f| (f.fd as usize) < el.setsize));
    el.process_events(&mut ctx, AE_ALL_EVENTS | AE_DONT_WAIT);
    assert_eq!(ctx.log.len(), 1, "nothing else is registered to fire");
}

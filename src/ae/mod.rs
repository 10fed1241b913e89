//! The event loop: a mirror of Redis's `ae.c`, on top of `mio`.
//!
//! Redis is single-threaded. One loop does everything: it asks the kernel which
//! sockets are ready (`epoll_wait`), runs the handler registered for each ready
//! socket, runs the timers that are due, and repeats. This module keeps the
//! shape and the names of Redis's loop so you can read both side by side:
//!
//! - [`EventLoop::events`] is indexed by fd, exactly like `aeEventLoop.events`:
//!   `events[fd].mask` says what the loop waits for on that fd (READABLE,
//!   WRITABLE, BARRIER) and which handler runs for each direction.
//! - [`EventLoop::fired`] is filled by the poll step with the `(fd, mask)` pairs
//!   that are ready in this iteration, like `aeEventLoop.fired`.
//! - Time events live in an unsorted list, newest first, with increasing ids;
//!   deleting one only marks it, and it is unlinked later by the timer pass —
//!   so a handler may delete any timer, even the one that is running.
//! - [`EventLoop::process_events`] is `aeProcessEvents`: before-sleep hook,
//!   poll (with a timeout derived from the nearest timer), after-sleep hook,
//!   fired file events (read before write, inverted by BARRIER), time events.
//!
//! The loop knows nothing about Redis. Handlers are plain named functions that
//! receive the loop and a context value `C` (the server), so the trace can show
//! their names — both ours and the Redis function each mirrors.
//!
//! One real difference from Redis lives in [`poll`]: mio only offers
//! edge-triggered readiness, while Redis's epoll backend is level-triggered.
//! The poll step emulates level triggering; read its module doc.

pub mod poll;

use std::time::{Duration, Instant};

use crate::probe;
use crate::trace::Tracer;
use crate::trace::model::{self, Mask, PollReason, ProbeData, Snapshot};

/// A file descriptor, as ae uses them: the index into `events`.
pub type Fd = i32;

/// Mirror of `AE_OK`.
pub const AE_OK: i32 = 0;
/// Mirror of `AE_ERR`.
pub const AE_ERR: i32 = -1;

/// Event masks (mirror of `AE_NONE` … `AE_BARRIER`).
pub const AE_NONE: u8 = 0;
pub const AE_READABLE: u8 = 1;
pub const AE_WRITABLE: u8 = 2;
/// With WRITABLE: run the write handler *before* the read handler when both
/// fire in one iteration. Redis used it so a reply is never sent before the
/// next `beforeSleep` has fsynced the append-only file.
pub const AE_BARRIER: u8 = 4;

/// Flags for [`EventLoop::process_events`] (mirror of `AE_FILE_EVENTS` …).
pub const AE_FILE_EVENTS: i32 = 1 << 0;
pub const AE_TIME_EVENTS: i32 = 1 << 1;
pub const AE_ALL_EVENTS: i32 = AE_FILE_EVENTS | AE_TIME_EVENTS;
pub const AE_DONT_WAIT: i32 = 1 << 2;
pub const AE_CALL_BEFORE_SLEEP: i32 = 1 << 3;
pub const AE_CALL_AFTER_SLEEP: i32 = 1 << 4;

/// A time handler returns this to say "do not run me again" (mirror of `AE_NOMORE`).
pub const AE_NOMORE: i64 = -1;
/// The id a deleted time event gets until the timer pass unlinks it
/// (mirror of `AE_DELETED_EVENT_ID`).
pub const AE_DELETED_EVENT_ID: i64 = -1;

/// The signature of a file-event handler (mirror of `aeFileProc`).
pub type FileProc<C> = fn(&mut EventLoop<C>, &mut C, Fd, u8);
/// The signature of a time-event handler (mirror of `aeTimeProc`): returns
/// the number of ms until the next run, or [`AE_NOMORE`].
pub type TimeProc<C> = fn(&mut EventLoop<C>, &mut C, i64) -> i64;
/// Called when a deleted time event is finally unlinked (mirror of `aeEventFinalizerProc`).
pub type FinalizerProc<C> = fn(&mut EventLoop<C>, &mut C, i64);
/// The before/after sleep hooks (mirror of `aeBeforeSleepProc`).
pub type SleepProc<C> = fn(&mut EventLoop<C>, &mut C);

/// A named handler: the function plus the names the trace shows.
pub struct Handler<P> {
    /// Our function's name, e.g. `read_query_from_client`.
    pub name: &'static str,
    /// The Redis function it mirrors, e.g. `readQueryFromClient`.
    pub mirrors: &'static str,
    pub proc_: P,
}

impl<P: Copy> Clone for Handler<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P: Copy> Copy for Handler<P> {}

impl<P> Handler<P> {
    /// The handler's names as the trace shows them (no allocation).
    pub fn traced(&self) -> model::Handler {
        model::Handler::new(self.name, self.mirrors)
    }

    /// Two handlers are the same when they have the same name; ae compares
    /// `rfileProc == wfileProc` to avoid calling one combined handler twice.
    fn same_as(&self, other: &Handler<P>) -> bool {
        self.name == other.name
    }
}

pub type FileHandler<C> = Handler<FileProc<C>>;
pub type TimeHandler<C> = Handler<TimeProc<C>>;
pub type SleepHandler<C> = Handler<SleepProc<C>>;

/// What the loop waits for on one fd (mirror of `aeFileEvent`).
pub struct FileEvent<C> {
    /// AE_READABLE | AE_WRITABLE | AE_BARRIER, or AE_NONE when the slot is free.
    pub mask: u8,
    pub rfile_proc: Option<FileHandler<C>>,
    pub wfile_proc: Option<FileHandler<C>>,
}

impl<C> FileEvent<C> {
    const NONE: FileEvent<C> = FileEvent {
        mask: AE_NONE,
        rfile_proc: None,
        wfile_proc: None,
    };
}

/// One ready fd of this iteration (mirror of `aeFiredEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FiredEvent {
    pub fd: Fd,
    pub mask: u8,
    /// True when the kernel said nothing new about this fd and the level-trigger
    /// emulation fired it again because its handler left data unconsumed.
    pub refired: bool,
}

/// A timer (mirror of `aeTimeEvent`).
pub struct TimeEvent<C> {
    /// The id, or [`AE_DELETED_EVENT_ID`] once deleted.
    pub id: i64,
    /// The id it was created with; unlike `id` it survives deletion, so the
    /// timer pass can find the entry again after a callback ran.
    pub created_id: i64,
    /// When it is due, on the monotonic clock.
    pub when: Instant,
    pub proc_: TimeHandler<C>,
    pub finalizer: Option<FinalizerProc<C>>,
    /// How many callbacks of this timer are running; a running timer is never unlinked.
    refcount: u32,
    /// What the handler returned last time (its period), for display.
    pub last_period_ms: Option<i64>,
}

/// Why the poll step waits as long as it does; the trace shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutReason {
    /// `AE_DONT_WAIT` was passed or set on the loop: poll without sleeping.
    DontWait,
    /// Some fds still hold data their handler has not consumed (level-trigger
    /// emulation): poll without sleeping, then fire them again.
    StillReady,
    /// Sleep until the nearest timer (its id) is due.
    NearestTimer(i64),
    /// No timers and nothing pending: sleep until an fd is ready.
    Forever,
}

/// The event loop (mirror of `aeEventLoop`).
pub struct EventLoop<C> {
    /// Highest fd with any registered event, or -1 (mirror of `maxfd`).
    pub maxfd: Fd,
    /// Capacity: fds `0..setsize` can be registered (mirror of `setsize`).
    pub setsize: usize,
    /// The id the next time event gets (mirror of `timeEventNextId`).
    pub time_event_next_id: i64,
    /// Registered file events, indexed by fd (mirror of `events`).
    pub events: Vec<FileEvent<C>>,
    /// The ready fds of the current iteration (mirror of `fired`).
    pub fired: Vec<FiredEvent>,
    /// Timers, newest first (mirror of the `timeEventHead` list). Stored with
    /// the head at the *end* of the vector so creating one is a push.
    pub time_events: Vec<TimeEvent<C>>,
    /// `main` returns once this is set (mirror of `stop`).
    pub stop: bool,
    pub before_sleep: Option<SleepHandler<C>>,
    pub after_sleep: Option<SleepHandler<C>>,
    /// Loop-wide flags; only [`AE_DONT_WAIT`] is used (mirror of `flags`).
    pub flags: i32,
    /// The kernel side: mio's poller plus the level-trigger emulation (mirror of `apidata`).
    pub api: poll::ApiState,
    /// Iterations of `process_events` so far, for the trace.
    pub iteration: u64,
    /// How many `process_events` calls are running: 1 inside the loop's
    /// own iteration, more when a handler ran the loop from inside
    /// (`processEventsWhileBlocked` during `DEBUG LOADAOF`).
    nesting: u32,
    /// The probes' target (see [`crate::trace`]); unobserved unless a viewer
    /// subscribes. Set with [`EventLoop::set_tracer`].
    pub tracer: Tracer,
    /// Adds the context's part (clients, keyspace) to a trace snapshot.
    pub describe: Option<fn(&C, &crate::trace::TraceClock, &mut Snapshot)>,
}

impl<C> EventLoop<C> {
    /// Creates a loop for fds `0..setsize` (mirror of `aeCreateEventLoop`).
    // anchor: ae.create_event_loop
    pub fn create(setsize: usize) -> std::io::Result<Self> {
        Ok(EventLoop {
            maxfd: -1,
            setsize,
            time_event_next_id: 0,
            events: (0..setsize).map(|_| FileEvent::NONE).collect(),
            fired: Vec::with_capacity(setsize),
            time_events: Vec::new(),
            stop: false,
            before_sleep: None,
            after_sleep: None,
            flags: 0,
            api: poll::ApiState::create(setsize)?,
            iteration: 0,
            nesting: 0,
            tracer: Tracer::disabled(),
            describe: None,
        })
    }

    /// Installs the tracer and gives it the poller's waker, so a viewer's
    /// control message can interrupt a sleeping poll.
    pub fn set_tracer(&mut self, tracer: Tracer) {
        tracer.set_waker(self.api.waker());
        self.tracer = tracer;
    }

    /// The loop's state for the trace: `events` (without empty slots), `fired`,
    /// the live time events, plus what [`EventLoop::describe`] adds.
    pub fn snapshot(&self, ctx: &C) -> Snapshot {
        let clock = self.tracer.clock();
        let file_events = (0..=self.maxfd)
            .filter_map(|fd| Some((fd, self.events.get(usize::try_from(fd).ok()?)?)))
            .filter(|(_, fe)| fe.mask != AE_NONE)
            .map(|(fd, fe)| model::FileEventInfo {
                fd,
                mask: Mask(fe.mask),
                read: fe.rfile_proc.map(|h| h.traced()),
                write: fe.wfile_proc.map(|h| h.traced()),
                what: model::FdRole::Other,
            })
            .collect();
        let mut time_events: Vec<_> = self
            .time_events
            .iter()
            .filter(|te| te.id != AE_DELETED_EVENT_ID)
            .map(|te| model::TimeEventInfo {
                id: te.id,
                handler: te.proc_.traced(),
                when_us: clock.us(te.when),
                period_ms: te.last_period_ms.and_then(|p| u64::try_from(p).ok()),
            })
            .collect();
        time_events.sort_by_key(|t| t.id);
        let mut snap = Snapshot {
            setsize: self.setsize,
            maxfd: self.maxfd,
            file_events,
            fired: self.fired.iter().map(traced_fired).collect(),
            time_events,
            ..Snapshot::default()
        };
        if let Some(describe) = self.describe {
            describe(ctx, &clock, &mut snap);
        }
        snap
    }

    /// Changes how many fds the loop can hold (mirror of `aeResizeSetSize`).
    /// Refused with `AE_ERR` while an fd at or above the new size is registered.
    pub fn resize_set_size(&mut self, setsize: usize) -> i32 {
        if setsize == self.setsize {
            return AE_OK;
        }
        if self.maxfd >= 0 && self.maxfd as usize >= setsize {
            return AE_ERR;
        }
        self.events.resize_with(setsize, || FileEvent::NONE);
        // `fired` outlives its iteration (the level-trigger emulation reads
        // it before the next poll), and may name an fd deleted since: no fd
        // past the new size may stay in it.
        self.fired
            .retain(|f| usize::try_from(f.fd).is_ok_and(|fd| fd < setsize));
        self.api.resize(setsize);
        self.setsize = setsize;
        AE_OK
    }

    /// Asks `main` to return after the current iteration (mirror of `aeStop`).
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// Makes every poll non-blocking while set (mirror of `aeSetDontWait`).
    pub fn set_dont_wait(&mut self, no_wait: bool) {
        if no_wait {
            self.flags |= AE_DONT_WAIT;
        } else {
            self.flags &= !AE_DONT_WAIT;
        }
    }

    /// Registers interest in `mask` on `fd`, calling `handler` when it is ready
    /// (mirror of `aeCreateFileEvent`). Masks add up: registering WRITABLE on an
    /// fd that is already READABLE keeps both. Fails with `AE_ERR` when `fd` is
    /// outside `0..setsize` (Redis sets `ERANGE`) or the kernel refuses.
    // anchor: ae.create_file_event
    pub fn create_file_event(&mut self, fd: Fd, mask: u8, handler: FileHandler<C>) -> i32 {
        let Some(slot) = usize::try_from(fd).ok().filter(|&i| i < self.setsize) else {
            return AE_ERR;
        };
        let old = self.events[slot].mask;
        if self.api.add_event(fd, old, mask).is_err() {
            return AE_ERR;
        }
        let fe = &mut self.events[slot];
        fe.mask |= mask;
        if mask & AE_READABLE != 0 {
            fe.rfile_proc = Some(handler);
        }
        if mask & AE_WRITABLE != 0 {
            fe.wfile_proc = Some(handler);
        }
        if fd > self.maxfd {
            self.maxfd = fd;
        }
        probe!(self.tracer, "create_file_event" => "aeCreateFileEvent", ProbeData::FileEventCreated {
            fd,
            mask: Mask(mask),
            handler: handler.traced(),
            now: Mask(self.events[slot].mask),
        });
        AE_OK
    }

    /// Stops waiting for `mask` on `fd` (mirror of `aeDeleteFileEvent`).
    /// Removing WRITABLE also removes BARRIER, as in Redis. When the fd was the
    /// highest one registered, `maxfd` moves down to the next registered fd.
    // anchor: ae.delete_file_event
    pub fn delete_file_event(&mut self, fd: Fd, mut mask: u8) {
        let Some(slot) = usize::try_from(fd).ok().filter(|&i| i < self.setsize) else {
            return;
        };
        let old = self.events[slot].mask;
        if old == AE_NONE {
            return;
        }
        if mask & AE_WRITABLE != 0 {
            mask |= AE_BARRIER;
        }
        self.api.del_event(fd, old, mask);
        let fe = &mut self.events[slot];
        fe.mask &= !mask;
        if fe.mask & AE_READABLE == 0 {
            fe.rfile_proc = None;
        }
        if fe.mask & AE_WRITABLE == 0 {
            fe.wfile_proc = None;
        }
        if fd == self.maxfd && fe.mask == AE_NONE {
            self.maxfd = (0..fd)
                .rev()
                .find(|&j| self.events[j as usize].mask != AE_NONE)
                .unwrap_or(-1);
        }
        probe!(self.tracer, "delete_file_event" => "aeDeleteFileEvent", ProbeData::FileEventDeleted {
            fd,
            mask: Mask(mask & old),
            now: Mask(self.events[slot].mask),
        });
    }

    /// The mask registered on `fd` (mirror of `aeGetFileEvents`).
    pub fn get_file_events(&self, fd: Fd) -> u8 {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.events.get(i))
            .map_or(AE_NONE, |fe| fe.mask)
    }

    /// Tells the level-trigger emulation that an I/O call on `fd` proved the
    /// `mask` direction drained (it returned `WouldBlock`, a short read or a
    /// short write), so the fd is not fired again until the kernel reports it.
    pub fn clear_ready(&mut self, fd: Fd, mask: u8) {
        self.api.clear_ready(fd, mask);
    }

    /// Tells the level-trigger emulation that a read on `fd` left the socket
    /// empty (it returned fewer bytes than asked, or nothing more is queued):
    /// drained, unless the peer hung up, whose end of stream is still to be
    /// read (see `ApiState::short_read`).
    pub fn short_read(&mut self, fd: Fd) {
        self.api.short_read(fd);
    }

    /// Adds a timer due in `ms` milliseconds and returns its id (mirror of
    /// `aeCreateTimeEvent`). Ids start at 0 and only grow.
    // anchor: ae.create_time_event
    pub fn create_time_event(
        &mut self,
        ms: i64,
        handler: TimeHandler<C>,
        finalizer: Option<FinalizerProc<C>>,
    ) -> i64 {
        let id = self.time_event_next_id;
        self.time_event_next_id += 1;
        let when = Instant::now() + Duration::from_millis(ms.max(0) as u64);
        probe!(self.tracer, "create_time_event" => "aeCreateTimeEvent", |clock| ProbeData::TimeEventCreated {
            id,
            handler: handler.traced(),
            when_us: clock.us(when),
        });
        self.time_events.push(TimeEvent {
            id,
            created_id: id,
            when,
            proc_: handler,
            finalizer,
            refcount: 0,
            last_period_ms: None,
        });
        id
    }

    /// Marks timer `id` deleted (mirror of `aeDeleteTimeEvent`). It is unlinked,
    /// and its finalizer called, by the next timer pass. Returns `AE_ERR` when
    /// no live timer has that id.
    // anchor: ae.delete_time_event
    pub fn delete_time_event(&mut self, id: i64) -> i32 {
        match self
            .time_events
            .iter_mut()
            .find(|te| te.id == id && id != AE_DELETED_EVENT_ID)
        {
            Some(te) => {
                te.id = AE_DELETED_EVENT_ID;
                probe!(self.tracer, "delete_time_event" => "aeDeleteTimeEvent", ProbeData::TimeEventDeleted { id });
                AE_OK
            }
            None => AE_ERR,
        }
    }

    /// The nearest timer and how long until it is due (zero when overdue),
    /// or `None` with no timers (mirror of `usUntilEarliestTimer`). As in
    /// Redis 7.0.15, a timer marked deleted but not yet unlinked still counts
    /// (its id then reads `AE_DELETED_EVENT_ID`); Redis 7.2 skips it.
    pub fn earliest_timer(&self) -> Option<(i64, Duration)> {
        let now = Instant::now();
        self.time_events
            .iter()
            .min_by_key(|te| te.when)
            .map(|te| (te.id, te.when.saturating_duration_since(now)))
    }

    /// Runs the timers that are due (mirror of `processTimeEvents`). Walks the
    /// list from the head (newest first); unlinks deleted timers that are not
    /// running; skips timers created during this pass; reschedules each one by
    /// what its handler returned. Returns how many ran.
    // anchor: ae.process_time_events
    fn process_time_events(&mut self, ctx: &mut C) -> usize {
        let mut processed = 0;
        let max_id = self.time_event_next_id - 1;
        let mut now = Instant::now();
        let mut i = self.time_events.len();
        while i > 0 {
            i -= 1;
            let te = &self.time_events[i];
            if te.id == AE_DELETED_EVENT_ID {
                if te.refcount == 0 {
                    let te = self.time_events.remove(i);
                    if let Some(finalizer) = te.finalizer {
                        finalizer(self, ctx, te.created_id);
                        now = Instant::now();
                    }
                }
                continue;
            }
            if te.id > max_id || te.when > now {
                continue;
            }
            let (id, handler) = (te.id, te.proc_);
            self.time_events[i].refcount += 1;
            probe!(self.tracer, "process_time_events" => "processTimeEvents", ProbeData::TimeEventStart {
                id,
                handler: handler.traced(),
            });
            let stopwatch = self.tracer.stopwatch();
            let ret = (handler.proc_)(self, ctx, id);
            processed += 1;
            now = Instant::now();
            probe!(self.tracer, "process_time_events" => "processTimeEvents", |clock| ProbeData::TimeEvent {
                id,
                handler: handler.traced(),
                next_us: (ret != AE_NOMORE).then(|| clock.us(now + Duration::from_millis(ret.max(0) as u64))),
                period_ms: u64::try_from(ret).ok(),
                duration_us: clock.elapsed_us(stopwatch),
            });
            // The handler may have created or unlinked timers: find ours again.
            let Some(j) = self.time_events.iter().rposition(|te| te.created_id == id) else {
                continue;
            };
            i = j;
            let te = &mut self.time_events[j];
            te.refcount -= 1;
            if ret == AE_NOMORE {
                te.id = AE_DELETED_EVENT_ID;
            } else {
                te.when = now + Duration::from_millis(ret.max(0) as u64);
                te.last_period_ms = Some(ret);
            }
        }
        processed
    }

    /// Runs one iteration of the loop (mirror of `aeProcessEvents`) and returns
    /// the number of file and time events processed.
    ///
    /// In order: the poll's timeout, worked out first as Redis 7.0.15 does
    /// (the time until the nearest timer, or zero with `AE_DONT_WAIT`); the
    /// before-sleep hook; the poll, with a zero timeout instead when fds are
    /// still ready (our level-trigger emulation); the after-sleep hook; every
    /// fired fd, reading before writing unless the fd has `AE_BARRIER`; then
    /// the due timers.
    // anchor: ae.process_events
    pub fn process_events(&mut self, ctx: &mut C, flags: i32) -> usize {
        let mut processed = 0;
        if flags & (AE_TIME_EVENTS | AE_FILE_EVENTS) == 0 {
            return 0;
        }
        self.iteration += 1;
        self.nesting += 1;
        if self.nesting > 1 {
            // The iteration that called us is not over: the tracer puts it
            // aside and takes it up again when this one ends.
            self.tracer.enter_nested_iteration();
        }
        if self.tracer.begin_iteration(self.iteration) {
            let snap = self.snapshot(ctx);
            self.tracer.snapshot(snap);
        }
        probe!(self.tracer, "process_events" => "aeProcessEvents", ProbeData::IterationBegin {});

        // Poll only when there are fds to watch, or to sleep until a timer.
        if self.maxfd != -1 || (flags & AE_TIME_EVENTS != 0 && flags & AE_DONT_WAIT == 0) {
            // As in Redis 7.0, the wait is worked out *before* beforeSleep,
            // so time spent in beforeSleep is not taken off it (Redis 7.2
            // moved this after the hook).
            let planned = if flags & AE_DONT_WAIT != 0 || self.flags & AE_DONT_WAIT != 0 {
                (Some(Duration::ZERO), TimeoutReason::DontWait)
            } else if flags & AE_TIME_EVENTS != 0 {
                match self.earliest_timer() {
                    Some((id, wait)) => (Some(wait), TimeoutReason::NearestTimer(id)),
                    None => (None, TimeoutReason::Forever),
                }
            } else {
                (None, TimeoutReason::Forever)
            };

            if let Some(hook) = self
                .before_sleep
                .filter(|_| flags & AE_CALL_BEFORE_SLEEP != 0)
            {
                (hook.proc_)(self, ctx);
            }

            // Our level-trigger emulation (Redis has none, see `ae.still_ready`):
            // an fd of the last `fired` array that is still ready means "do
            // not sleep". Looked at after beforeSleep, whose writes can use up
            // a socket's room.
            let still_ready = self.api.collect_still_ready(&self.events, &self.fired);
            let (timeout, reason) = match planned {
                (_, TimeoutReason::DontWait) => planned,
                _ if still_ready => (Some(Duration::ZERO), TimeoutReason::StillReady),
                _ => planned,
            };

            // What epoll_wait is given: whole milliseconds, rounded up.
            let timeout_ms = poll::timeout_ms(timeout);
            probe!(self.tracer, "process_events" => "aeProcessEvents", ProbeData::PollEnter {
                timeout_ms,
                reason: traced_reason(reason, &self.time_events, &self.api),
            });
            let slept = self.tracer.stopwatch();
            // anchor: ae.poll
            let mut numevents = self.api.poll(timeout_ms, &mut self.fired);
            probe!(self.tracer, "process_events" => "aeApiPoll", |cx| ProbeData::PollReturn {
                fired: self.fired.iter().map(traced_fired).collect(),
                slept_us: cx.elapsed_us(slept),
            });

            if flags & AE_FILE_EVENTS == 0 {
                numevents = 0;
            }

            if let Some(hook) = self
                .after_sleep
                .filter(|_| flags & AE_CALL_AFTER_SLEEP != 0)
            {
                (hook.proc_)(self, ctx);
            }
            probe!(self.tracer, "process_events" => "aeProcessEvents", ProbeData::AfterSleep {});

            for j in 0..numevents {
                // A handler that ran the loop from inside (see `nesting`)
                // had its polls overwrite `fired`, as they do in Redis,
                // whose loop reads on in the same array: we read on too,
                // but never past what it holds now.
                if j >= self.fired.len() {
                    break;
                }
                self.dispatch_fired(ctx, j);
                processed += 1;
            }
        }

        if flags & AE_TIME_EVENTS != 0 {
            processed += self.process_time_events(ctx);
        }
        self.tracer
            .iteration_end(crate::site!("process_events", "aeProcessEvents"));
        if self.nesting > 1 {
            self.tracer.leave_nested_iteration();
        }
        self.nesting -= 1;
        processed
    }

    /// Runs the handlers for `fired[j]`: the inner loop of `aeProcessEvents`.
    ///
    /// A handler runs only if its direction is both in the fired mask and still
    /// registered now — an earlier handler in this batch may have closed the fd.
    /// Normally the read handler runs first, so a query read now can be answered
    /// right away; with `AE_BARRIER` the write handler runs first. A handler
    /// registered for both directions is called only once.
    // anchor: ae.dispatch_fired
    fn dispatch_fired(&mut self, ctx: &mut C, j: usize) {
        let FiredEvent { fd, mask, refired } = self.fired[j];
        let slot = fd as usize;
        let invert = self.events[slot].mask & AE_BARRIER != 0;
        let mut fired_handler: Option<FileHandler<C>> = None;

        if !invert && self.events[slot].mask & mask & AE_READABLE != 0 {
            fired_handler = self.call_file_handler(ctx, fd, mask, AE_READABLE, refired);
        }
        if self.events[slot].mask & mask & AE_WRITABLE != 0 {
            let same = matches!((fired_handler, self.events[slot].wfile_proc), (Some(r), Some(w)) if r.same_as(&w));
            if !same {
                fired_handler = self
                    .call_file_handler(ctx, fd, mask, AE_WRITABLE, refired)
                    .or(fired_handler);
            }
        }
        if invert && self.events[slot].mask & mask & AE_READABLE != 0 {
            let same = matches!((fired_handler, self.events[slot].rfile_proc), (Some(w), Some(r)) if r.same_as(&w));
            if !same {
                self.call_file_handler(ctx, fd, mask, AE_READABLE, refired);
            }
        }
    }

    /// Calls the handler registered on `fd` for `direction`.
    fn call_file_handler(
        &mut self,
        ctx: &mut C,
        fd: Fd,
        mask: u8,
        direction: u8,
        refired: bool,
    ) -> Option<FileHandler<C>> {
        let fe = &self.events[fd as usize];
        let handler = if direction == AE_READABLE {
            fe.rfile_proc
        } else {
            fe.wfile_proc
        }?;
        probe!(self.tracer, "call_file_handler" => "aeProcessEvents", ProbeData::FileEvent {
            fd,
            mask: Mask(direction),
            handler: handler.traced(),
            refired,
        });
        (handler.proc_)(self, ctx, fd, mask);
        Some(handler)
    }

    /// Runs iterations until [`stop`](Self::stop) is called (mirror of `aeMain`).
    // anchor: ae.main
    pub fn main(&mut self, ctx: &mut C) {
        self.stop = false;
        while !self.stop {
            self.process_events(
                ctx,
                AE_ALL_EVENTS | AE_CALL_BEFORE_SLEEP | AE_CALL_AFTER_SLEEP,
            );
        }
    }
}

/// Why the poll waits, as the trace shows it.
fn traced_reason<C>(
    reason: TimeoutReason,
    time_events: &[TimeEvent<C>],
    api: &poll::ApiState,
) -> PollReason {
    match reason {
        TimeoutReason::DontWait => PollReason::DontWait,
        TimeoutReason::StillReady => PollReason::StillReady {
            fds: api.still_ready().collect(),
        },
        TimeoutReason::NearestTimer(id) => PollReason::Timer {
            id,
            name: std::borrow::Cow::Borrowed(
                time_events
                    .iter()
                    .find(|te| te.id == id)
                    .map_or("", |te| te.proc_.name),
            ),
        },
        TimeoutReason::Forever => PollReason::NoTimers,
    }
}

/// A `fired` entry as the trace shows it.
fn traced_fired(fe: &FiredEvent) -> model::Fired {
    model::Fired {
        fd: fe.fd,
        mask: Mask(fe.mask),
        refired: fe.refired,
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

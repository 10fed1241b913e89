//! The tracer: what the loop thread calls at every probe, and the handle other
//! threads use to watch and steer it.
//!
//! # The cost of a probe
//!
//! A probe is a call to [`Tracer::probe`] with a static [`Site`] and a closure
//! that builds the event. The method is inlined and tests one `bool`,
//! [`Tracer::observed`]; only if it is set does the (cold, out-of-line) path run
//! the closure, number the event, hand it to every viewer and ask the gate
//! whether to stop. With nobody watching, a probe therefore costs one
//! predictable branch and the closure's data is never built.
//!
//! Watched by a viewer that cannot keep up (a UI that draws 30 frames a second
//! while the loop runs 100,000 commands), most events would be built only to
//! be dropped. So the tracer first asks whether anyone will take the event (a
//! viewer with room, or a gate that may stop on its details) and tells the
//! builder in [`ProbeCx::detail`]. Without detail the builder leaves out what
//! only a reader of the event needs (a command's arguments, its reply
//! preview) and keeps what the tracer's own books need (kinds, counts, the
//! facts of the shadow state below); the event is then counted as dropped for
//! every viewer, exactly as if it had been built and refused.
//!
//! The tracer is *observed* while at least one viewer is subscribed or the gate
//! may stop the loop (a pause is pending, breakpoints are set). Viewers come and
//! go from other threads through a [`TraceHandle`]: their requests travel on a
//! channel, a flag tells the loop thread that something is waiting, and mio's
//! [`Waker`] interrupts a loop that sleeps in poll. The loop looks at the flag
//! at the start of every iteration ([`Tracer::begin_iteration`]), and at every
//! probe while observed.
//!
//! # Snapshots without stopping the world
//!
//! A viewer must start from the loop's full state. Only the loop thread can
//! read that state, and only between handlers, so snapshots are taken at the
//! start of an iteration: [`Tracer::begin_iteration`] says when one is wanted
//! (a new viewer, or once a second while observed) and the loop hands it over
//! with [`Tracer::snapshot`]. Between snapshots the tracer keeps a *shadow*: the
//! last snapshot with every event since applied by [`Snapshot::apply`]. A viewer
//! that joins while the loop is observed (even paused inside a handler) gets
//! the shadow at once, and one that lost events gets it as its resync.
//!
//! # Blocking in the gate
//!
//! When the gate says stop, the loop thread blocks in `recv` on the request
//! channel: no CPU, no poll, clients wait. Each request is handled (a step, a
//! breakpoint, a new viewer...) until the gate lets the loop go again.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::Waker;

use super::gate::Gate;
use super::model::{
    Ack, BeforeSleepSummary, Control, ControlRequest, ErrorReply, Event, FEATURES, FORMAT_VERSION,
    GuidePosition, Hello, KeyspaceInfo, ListenerInfo, Message, ProbeData, ProbeKind, Site,
    Snapshot, StopReason,
};
use super::queue::{self, Inbox, Injector, Outbox, Pushed, RecvError};
use crate::walkthrough::condition::Condition;

/// How many events a viewer's queue holds before it starts dropping.
pub const DEFAULT_CAPACITY: usize = 4096;

/// How often an observed loop sends a full snapshot.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(1);

/// The trace clock: microseconds since the tracer was created.
#[derive(Clone, Copy, Debug)]
pub struct TraceClock {
    epoch: Instant,
    epoch_unix_us: u64,
}

impl TraceClock {
    fn start() -> TraceClock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        TraceClock {
            epoch: Instant::now(),
            epoch_unix_us: u64::try_from(unix).unwrap_or(u64::MAX),
        }
    }

    /// `t` on the trace clock (0 for instants before the tracer existed).
    pub fn us(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    pub fn now_us(&self) -> u64 {
        self.us(Instant::now())
    }
}

/// What a probe's builder is given: the trace clock (it derefs to it), and
/// whether anyone will read the event's details.
pub struct ProbeCx {
    pub clock: TraceClock,
    /// False when the event will only update the tracer's books and be
    /// counted as dropped: the builder may leave out text and lists that
    /// [`Snapshot::apply`] does not use.
    pub detail: bool,
    /// All the time the gate has held the loop so far (see [`Live::held`]).
    held: Duration,
}

impl ProbeCx {
    /// Microseconds since `sw` started, leaving out the time the gate held
    /// the loop meanwhile (a command paused at one of its probes did not
    /// take the pause to run); 0 if it was not started.
    pub fn elapsed_us(&self, sw: Stopwatch) -> u64 {
        sw.0.map_or(0, |(started, held)| {
            micros(
                started
                    .elapsed()
                    .saturating_sub(self.held.saturating_sub(held)),
            )
        })
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl std::ops::Deref for ProbeCx {
    type Target = TraceClock;

    fn deref(&self) -> &TraceClock {
        &self.clock
    }
}

/// Measures a duration only when observed (durations are part of some
/// events): when it started, and how long the gate had held the loop by
/// then. Read it with [`ProbeCx::elapsed_us`].
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch(Option<(Instant, Duration)>);

/// The loop's static facts, for [`Hello`] and the first snapshot.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub setsize: usize,
    pub hz: u32,
    pub port: u16,
    pub listeners: Vec<ListenerInfo>,
}

/// What a viewer thread asks of the loop thread.
enum Request {
    Subscribe {
        viewer: u64,
        /// Boxed: it is by far the largest request, and the rarest.
        outbox: Box<Outbox>,
        /// The attach port admitted this viewer to watch only.
        read_only: bool,
    },
    /// The viewer is gone entirely.
    Leave { viewer: u64 },
    /// The viewer can no longer send control messages (it stays subscribed).
    Mute { viewer: u64 },
    Control {
        viewer: u64,
        request: ControlRequest,
    },
}

/// State shared by the loop thread and every handle.
struct Shared {
    /// Requests are waiting on the channel.
    pending: AtomicBool,
    /// Wakes the loop from poll; set once by the event loop.
    waker: OnceLock<Arc<Waker>>,
    next_viewer: AtomicU64,
}

/// Creates a tracer (for the event loop to own) and the handle viewers use.
///
/// With `start_paused` the gate stops the loop at the start of its first
/// iteration, and the tracer is observed from the start so that a viewer
/// attaching later finds an exact state.
pub fn tracer(start_paused: bool) -> (Tracer, TraceHandle) {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        pending: AtomicBool::new(false),
        waker: OnceLock::new(),
        next_viewer: AtomicU64::new(1),
    });
    let gate = Gate::new(start_paused);
    let observed = gate.engaged();
    let live = Live {
        shared: shared.clone(),
        rx,
        subs: Vec::new(),
        gate,
        clock: TraceClock::start(),
        facts: Facts::default(),
        seq: 0,
        iter: 0,
        shadow: Snapshot {
            maxfd: -1,
            ..Snapshot::default()
        },
        // Created observed, the tracer sees every event from the very first:
        // the empty shadow is exact.
        shadow_valid: observed,
        want_snapshot: true,
        last_snapshot: None,
        iter_started: None,
        held: Duration::ZERO,
        iter_counts: (0, 0, 0),
        outer_iterations: Vec::new(),
        before_sleep: None,
        guide: None,
    };
    (
        Tracer {
            observed,
            live: Box::new(live),
        },
        TraceHandle { tx, shared },
    )
}

/// The loop thread's side: owned by the event loop.
pub struct Tracer {
    /// The one flag every probe tests.
    observed: bool,
    /// Everything else, boxed so the loop struct stays small.
    live: Box<Live>,
}

impl Tracer {
    /// A tracer nobody can ever observe (for loops built without one).
    pub fn disabled() -> Tracer {
        tracer(false).0
    }

    /// True while events are being built (someone watches, or the gate may stop).
    /// Built with the `bypass-probes` feature (only for measuring what probes
    /// cost), this is constant false and every probe compiles to nothing.
    #[inline(always)]
    pub fn observed(&self) -> bool {
        !cfg!(feature = "bypass-probes") && self.observed
    }

    /// A probe: if observed, builds the event with `data` and emits it (which
    /// may stop the loop in the gate). Use the [`probe!`](crate::probe) macro,
    /// which also makes the site.
    #[inline(always)]
    pub fn probe<F: FnOnce(&ProbeCx) -> ProbeData>(&mut self, site: &'static Site, data: F) {
        if self.observed() {
            self.emit_with(site, data);
        }
    }

    #[cold]
    #[inline(never)]
    fn emit_with<F: FnOnce(&ProbeCx) -> ProbeData>(&mut self, site: &'static Site, data: F) {
        let detail = self.live.prepare();
        let data = data(&ProbeCx {
            clock: self.live.clock,
            detail,
            held: self.live.held,
        });
        self.finish(site, data, detail);
    }

    fn emit(&mut self, site: &'static Site, data: ProbeData) {
        let detail = self.live.prepare();
        self.finish(site, data, detail);
    }

    fn finish(&mut self, site: &'static Site, data: ProbeData, detail: bool) {
        self.live.emit(site, data, detail);
        self.observed = self.live.observed();
    }

    /// The end of an iteration; its duration and counts come from the tracer.
    #[inline(always)]
    pub fn iteration_end(&mut self, site: &'static Site) {
        if self.observed() {
            let data = self.live.iteration_end_data();
            self.emit(site, data);
        }
    }

    /// An iteration starts while another is still running: a handler runs
    /// the loop from inside (`processEventsWhileBlocked`). What the tracer
    /// counts for the running one (its number, start, counts) is put aside
    /// until [`Tracer::leave_nested_iteration`], so the events that follow
    /// the inner iterations are its own again. Its duration includes the
    /// time they took, since they ran inside it; its counts are its own.
    #[cold]
    pub fn enter_nested_iteration(&mut self) {
        let live = &mut self.live;
        live.outer_iterations.push(OpenIteration {
            iter: live.iter,
            started: live.iter_started,
            counts: live.iter_counts,
        });
    }

    /// The inner iteration has ended: the one that ran it goes on.
    #[cold]
    pub fn leave_nested_iteration(&mut self) {
        let live = &mut self.live;
        if let Some(outer) = live.outer_iterations.pop() {
            live.iter = outer.iter;
            live.iter_started = outer.started;
            live.iter_counts = outer.counts;
        }
    }

    /// The end of `before_sleep`: what it did is counted by the tracer,
    /// `keyspace` (the non-empty databases) comes from the server.
    #[inline(always)]
    pub fn before_sleep_end<F: FnOnce() -> Vec<KeyspaceInfo>>(
        &mut self,
        site: &'static Site,
        keyspace: F,
    ) {
        if self.observed() {
            let data = self.live.before_sleep_end_data(keyspace());
            self.emit(site, data);
        }
    }

    /// Starts a stopwatch if observed.
    #[inline(always)]
    pub fn stopwatch(&self) -> Stopwatch {
        Stopwatch(if self.observed() {
            Some((Instant::now(), self.live.held))
        } else {
            None
        })
    }

    pub fn clock(&self) -> TraceClock {
        self.live.clock
    }

    /// Call at the top of every iteration, before its `IterationBegin` probe.
    /// Picks up requests from viewers. Returns true if a snapshot is wanted:
    /// build one and pass it to [`Tracer::snapshot`].
    #[inline(always)]
    pub fn begin_iteration(&mut self, iter: u64) -> bool {
        if cfg!(feature = "bypass-probes") {
            return false;
        }
        if self.observed || self.live.shared.pending.load(Ordering::Relaxed) {
            self.begin_iteration_slow(iter)
        } else {
            false
        }
    }

    #[cold]
    #[inline(never)]
    fn begin_iteration_slow(&mut self, iter: u64) -> bool {
        self.live.iter = iter;
        self.live.drain_requests();
        self.observed = self.live.observed();
        self.observed && self.live.snapshot_due()
    }

    /// Hands over the snapshot asked for by [`Tracer::begin_iteration`]. The
    /// tracer fills in `seq`, `iter`, `t_us` and the static facts.
    pub fn snapshot(&mut self, snap: Snapshot) {
        self.live.take_snapshot(snap);
    }

    /// Sets the static facts (setsize, hz, port, listeners) once the server knows them.
    pub fn set_facts(&mut self, facts: Facts) {
        self.live.shadow.setsize = facts.setsize;
        self.live.shadow.listeners.clone_from(&facts.listeners);
        self.live.shadow.relabel_all();
        self.live.facts = facts;
    }

    /// Gives the tracer the waker of the loop's poller, so control messages can
    /// interrupt a poll that sleeps.
    pub fn set_waker(&self, waker: Arc<Waker>) {
        let _ = self.live.shared.waker.set(waker);
    }
}

/// What the tracer counts for an iteration still running around an inner
/// one (see [`Tracer::enter_nested_iteration`]).
struct OpenIteration {
    iter: u64,
    started: Option<(Instant, Duration)>,
    counts: (u32, u32, u32),
}

/// One subscribed viewer, as the loop thread sees it.
struct Sub {
    viewer: u64,
    outbox: Outbox,
    /// Has received hello and a snapshot, so events make sense to it.
    ready: bool,
    /// The viewer's `watch` list: events meeting one of these are delivered
    /// even when its queue is full ([`Outbox::push_watched`]).
    watch: Vec<Condition>,
    /// Said in its hello: it may only watch.
    read_only: bool,
}

impl Sub {
    fn watches(&self, ev: &Event) -> bool {
        self.watch.iter().any(|c| c.matches(ev))
    }
}

/// The tracer's state beyond the `observed` flag.
struct Live {
    shared: Arc<Shared>,
    rx: Receiver<Request>,
    subs: Vec<Sub>,
    gate: Gate,
    clock: TraceClock,
    facts: Facts,
    /// Number of the last event emitted.
    seq: u64,
    iter: u64,
    /// The last snapshot plus every event since: the current state.
    shadow: Snapshot,
    /// The shadow is exact (the tracer has been observed since the snapshot).
    shadow_valid: bool,
    /// An exact snapshot is wanted at the next iteration start.
    want_snapshot: bool,
    last_snapshot: Option<Instant>,
    /// When this iteration began, and [`Live::held`] at that moment.
    iter_started: Option<(Instant, Duration)>,
    /// All the time the gate has held the loop so far (paused, or waiting
    /// between played iterations). Durations in end events subtract the
    /// part of it that fell inside them, so a pause never reads as work.
    held: Duration,
    /// File events, commands and time events of this iteration.
    iter_counts: (u32, u32, u32),
    /// The iterations still running around the current one, innermost
    /// last: number, start and counts (see [`Tracer::enter_nested_iteration`]).
    outer_iterations: Vec<OpenIteration>,
    /// While inside `before_sleep`: when it began, [`Live::held`] then, and
    /// what it did so far.
    before_sleep: Option<(Instant, Duration, BeforeSleepSummary)>,
    /// Where the leading viewer's guide last said it was: passed on to
    /// every viewer, and to each new one after the gate.
    guide: Option<GuidePosition>,
}

impl Live {
    fn observed(&self) -> bool {
        !self.subs.is_empty() || self.gate.engaged()
    }

    fn snapshot_due(&self) -> bool {
        self.want_snapshot
            || !self.shadow_valid
            || self
                .last_snapshot
                .is_none_or(|t| t.elapsed() >= SNAPSHOT_EVERY)
    }

    fn hello(&self, viewer: u64, read_only: bool) -> Message {
        Message::Hello(Hello {
            format: FORMAT_VERSION,
            loopscope: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
            setsize: self.facts.setsize,
            hz: self.facts.hz,
            port: self.facts.port,
            epoch_unix_us: self.clock.epoch_unix_us,
            viewer,
            read_only,
            anchors: anchor_entries(),
            features: FEATURES.iter().map(|f| Cow::Borrowed(*f)).collect(),
        })
    }

    fn gate_message(&self) -> Arc<Message> {
        Arc::new(Message::Gate(self.gate.status()))
    }

    /// Before a probe's event is built: answers requests, resynchronises
    /// viewers that lost events and have room again, and says whether anyone
    /// will take the event's details (see [`ProbeCx::detail`]).
    fn prepare(&mut self) -> bool {
        self.drain_requests();
        self.resync_lagging();
        self.gate.engaged()
            || self
                .subs
                .iter()
                .any(|s| s.ready && (s.outbox.takes_events() || !s.watch.is_empty()))
    }

    /// Numbers the event, keeps the books, sends it (or, built without
    /// `detail`, counts it as dropped) and lets the gate decide.
    fn emit(&mut self, site: &'static Site, data: ProbeData, detail: bool) {
        let now = Instant::now();
        let kind = data.kind();
        self.account(&data, now);
        self.seq += 1;
        let ev = Event {
            seq: self.seq,
            iter: self.iter,
            t_us: self.clock.us(now),
            site: Cow::Borrowed(site),
            data,
        };
        if self.shadow_valid {
            self.shadow.apply(&ev);
        }
        if detail {
            let msg = Arc::new(Message::Event(ev));
            let Message::Event(ev) = &*msg else { return };
            self.subs.retain_mut(|s| {
                let pushed = match s.ready && s.watches(ev) {
                    true => s.outbox.push_watched(&msg, kind),
                    false if s.ready => s.outbox.push(&msg, kind),
                    false => Pushed::Queued,
                };
                pushed != Pushed::Closed
            });
            self.offer_to_gate(ev, kind);
        } else {
            self.subs.retain_mut(|s| !s.ready || s.outbox.skip(kind));
            self.offer_to_gate(&ev, kind);
        }
    }

    /// Lets the gate stop the loop at `ev`, or wait between played iterations.
    fn offer_to_gate(&mut self, ev: &Event, kind: ProbeKind) {
        if self.gate.check(ev) {
            let stopped = Instant::now();
            self.broadcast(self.gate_message());
            self.wait_while_paused();
            self.held += stopped.elapsed();
        } else if kind == ProbeKind::IterationBegin {
            let stopped = Instant::now();
            self.play_wait(ev);
            self.held += stopped.elapsed();
        }
    }

    /// Counts what an iteration and a `before_sleep` did, for their end events.
    fn account(&mut self, data: &ProbeData, now: Instant) {
        match data {
            ProbeData::IterationBegin {} => {
                self.iter_started = Some((now, self.held));
                self.iter_counts = (0, 0, 0);
            }
            ProbeData::FileEvent { .. } => self.iter_counts.0 += 1,
            ProbeData::Command { .. } => self.iter_counts.1 += 1,
            ProbeData::TimeEvent { .. } => self.iter_counts.2 += 1,
            ProbeData::BeforeSleepBegin {} => {
                self.before_sleep = Some((now, self.held, BeforeSleepSummary::default()))
            }
            _ => {}
        }
        if let Some((_, _, did)) = &mut self.before_sleep {
            did.count(data);
        }
    }

    fn iteration_end_data(&mut self) -> ProbeData {
        let (file_events, commands, time_events) = self.iter_counts;
        let (started, held_before) = self.iter_started.take().unzip();
        ProbeData::IterationEnd {
            duration_us: started.map_or(0, |t| micros(t.elapsed())),
            file_events,
            commands,
            time_events,
            paused_us: self.held_since(held_before),
        }
    }

    fn before_sleep_end_data(&mut self, keyspace: Vec<KeyspaceInfo>) -> ProbeData {
        let (started, held_before, did) = match self.before_sleep.take() {
            Some((started, held, did)) => (Some(started), Some(held), did),
            None => (None, None, BeforeSleepSummary::default()),
        };
        ProbeData::BeforeSleepEnd {
            duration_us: started.map_or(0, |t| micros(t.elapsed())),
            paused_us: self.held_since(held_before),
            did,
            keyspace,
        }
    }

    /// Microseconds the gate held the loop since [`Live::held`] was `before`.
    fn held_since(&self, before: Option<Duration>) -> u64 {
        before.map_or(0, |b| {
            u64::try_from(self.held.saturating_sub(b).as_micros()).unwrap_or(u64::MAX)
        })
    }

    /// Viewers that lost events get their drop counts and the current state,
    /// as soon as their queue has room for both plus the next event.
    fn resync_lagging(&mut self) {
        if !self.shadow_valid {
            return;
        }
        let mut snapshot: Option<Arc<Message>> = None;
        for sub in self.subs.iter_mut().filter(|s| s.ready) {
            if let Some(drops) = sub.outbox.resync_room(3) {
                let snap = snapshot
                    .get_or_insert_with(|| Arc::new(Message::Snapshot(self.shadow.clone())));
                sub.outbox.push_forced(Arc::new(Message::Drops(drops)));
                sub.outbox.push_forced(snap.clone());
            }
        }
    }

    /// Sends `msg` to every ready viewer, forgetting those that are gone.
    fn broadcast(&mut self, msg: Arc<Message>) {
        self.subs
            .retain(|s| !s.ready || s.outbox.push_forced(msg.clone()) != Pushed::Closed);
    }

    fn send_to(&mut self, viewer: u64, msg: Message) {
        let msg = Arc::new(msg);
        self.subs
            .retain(|s| s.viewer != viewer || s.outbox.push_forced(msg.clone()) != Pushed::Closed);
    }

    /// Blocks the loop thread until the gate lets it go. Almost no CPU is
    /// used: the thread sleeps in `recv` until a viewer sends something,
    /// waking every [`RELEASE_POLL`] to see whether the process is stopping
    /// (see [`release_gate_for_shutdown`]).
    fn wait_while_paused(&mut self) {
        while self.gate.is_paused() {
            if GATE_RELEASED.load(Ordering::Relaxed) {
                self.gate.reset();
                self.broadcast(self.gate_message());
                return;
            }
            match self.rx.recv_timeout(RELEASE_POLL) {
                Ok(request) => self.handle(request),
                Err(RecvTimeoutError::Timeout) => {}
                // Nobody can ever send a control message again: run on.
                Err(RecvTimeoutError::Disconnected) => {
                    self.gate.reset();
                    self.broadcast(self.gate_message());
                }
            }
        }
    }

    /// While playing: waits the play interval at the start of an iteration,
    /// still answering viewers; a pause that arrives meanwhile stops right here.
    fn play_wait(&mut self, at: &Event) {
        let started = Instant::now();
        while let Some(interval) = self.gate.play_interval() {
            let left = interval.saturating_sub(started.elapsed());
            match self.rx.recv_timeout(left) {
                Ok(request) => self.handle(request),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
            if self.gate.pause_pending() {
                self.gate.stop_at(at, StopReason::Pause);
                self.broadcast(self.gate_message());
                self.wait_while_paused();
                return;
            }
        }
    }

    /// Handles every waiting request, if the flag says there are any.
    fn drain_requests(&mut self) {
        if !self.shared.pending.swap(false, Ordering::Acquire) {
            return;
        }
        loop {
            match self.rx.try_recv() {
                Ok(request) => self.handle(request),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::Subscribe {
                viewer,
                outbox,
                read_only,
            } => {
                let mut sub = Sub {
                    viewer,
                    outbox: *outbox,
                    ready: false,
                    watch: Vec::new(),
                    read_only,
                };
                if self.shadow_valid {
                    self.greet(&mut sub, Arc::new(Message::Snapshot(self.shadow.clone())));
                } else {
                    self.want_snapshot = true;
                }
                self.subs.push(sub);
            }
            Request::Leave { viewer } => {
                self.subs.retain(|s| s.viewer != viewer);
                self.mute(viewer);
            }
            Request::Mute { viewer } => self.mute(viewer),
            Request::Control { viewer, request } => self.control(viewer, request),
        }
        if !self.observed() {
            // Nobody sees the events from now on, so the shadow goes stale.
            self.shadow_valid = false;
        }
    }

    fn mute(&mut self, viewer: u64) {
        if self.gate.leave(viewer) {
            self.broadcast(self.gate_message());
        }
    }

    fn control(&mut self, viewer: u64, request: ControlRequest) {
        if let Control::Watch { conditions } = &request.control {
            return self.watch(viewer, request.id, conditions);
        }
        let was_observed = self.observed();
        match self.gate.control(viewer, &request.control) {
            Ok(done) => {
                let ack = Ack {
                    id: request.id,
                    cmd: Cow::Borrowed(request.control.name()),
                    breakpoint: done.breakpoint,
                };
                self.send_to(viewer, Message::Ack(ack));
                if request.control == super::model::Control::Snapshot {
                    if self.shadow_valid {
                        self.send_to(viewer, Message::Snapshot(self.shadow.clone()));
                    } else {
                        self.want_snapshot = true;
                    }
                }
                if done.changed {
                    self.broadcast(self.gate_message());
                }
                if let Control::Guide(place) = request.control {
                    let place = GuidePosition { viewer, ..place };
                    self.broadcast(Arc::new(Message::Guide(place.clone())));
                    self.guide = Some(place);
                }
            }
            Err(error) => self.send_to(
                viewer,
                Message::Error(ErrorReply {
                    id: request.id,
                    error,
                }),
            ),
        }
        if !was_observed && self.observed() {
            // The gate engaged with nobody watching: the shadow starts stale.
            self.want_snapshot = true;
        }
    }

    /// Replaces `viewer`'s watch list, if every condition parses. Its ack
    /// travels in the viewer's ordered stream, so every event after the ack
    /// was checked against the new list.
    fn watch(&mut self, viewer: u64, id: Option<u64>, texts: &[String]) {
        let parsed: Result<Vec<Condition>, String> = texts
            .iter()
            .map(|t| Condition::parse(t).map_err(|e| format!("watch `{t}`: {e}")))
            .collect();
        let reply = match parsed {
            Ok(list) => {
                if let Some(sub) = self.subs.iter_mut().find(|s| s.viewer == viewer) {
                    sub.watch = list;
                }
                Message::Ack(Ack {
                    id,
                    cmd: Cow::Borrowed("watch"),
                    breakpoint: None,
                })
            }
            Err(error) => Message::Error(ErrorReply { id, error }),
        };
        self.send_to(viewer, reply);
    }

    /// Sends hello, the state and the gate to a new viewer.
    fn greet(&self, sub: &mut Sub, snapshot: Arc<Message>) {
        sub.outbox
            .push_forced(Arc::new(self.hello(sub.viewer, sub.read_only)));
        sub.outbox.push_forced(snapshot);
        sub.outbox.push_forced(self.gate_message());
        if let Some(place) = &self.guide {
            sub.outbox
                .push_forced(Arc::new(Message::Guide(place.clone())));
        }
        sub.ready = true;
    }

    /// Installs an exact snapshot as the shadow and sends it: a greeting for new
    /// viewers, a periodic refresh for the others.
    fn take_snapshot(&mut self, mut snap: Snapshot) {
        snap.seq = self.seq;
        snap.iter = self.iter;
        snap.t_us = self.clock.now_us();
        snap.setsize = self.facts.setsize;
        if snap.listeners.is_empty() {
            snap.listeners.clone_from(&self.facts.listeners);
        }
        snap.relabel_all();
        self.shadow = snap;
        self.shadow_valid = true;
        self.want_snapshot = false;
        self.last_snapshot = Some(Instant::now());
        let msg = Arc::new(Message::Snapshot(self.shadow.clone()));
        let mut subs = std::mem::take(&mut self.subs);
        for sub in &mut subs {
            if sub.ready {
                sub.outbox.push_forced(msg.clone());
            } else {
                self.greet(sub, msg.clone());
            }
        }
        self.subs = subs;
    }
}

/// Set once the process is asked to stop (SIGTERM, SIGINT): from then on the
/// gate never holds the loop, so the loop reaches serverCron, which stops it.
static GATE_RELEASED: AtomicBool = AtomicBool::new(false);

/// How often a loop paused at the gate looks at [`GATE_RELEASED`].
const RELEASE_POLL: Duration = Duration::from_millis(100);

/// Lets go of a loop paused at the gate, for good: the process is stopping
/// and a paused loop would never see it. Only stores to an atomic, so a
/// signal handler may call it.
pub fn release_gate_for_shutdown() {
    GATE_RELEASED.store(true, Ordering::Relaxed);
}

/// The handle viewers use: subscribe to the stream, send control messages.
/// Cheap to clone and usable from any thread.
#[derive(Clone)]
pub struct TraceHandle {
    tx: Sender<Request>,
    shared: Arc<Shared>,
}

impl TraceHandle {
    /// Subscribes a new viewer whose queue holds `capacity` events. Its first
    /// messages will be hello, a snapshot and the gate status.
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        self.subscribe_as(capacity, false)
    }

    /// [`TraceHandle::subscribe`], saying in the hello whether the viewer
    /// may only watch (as the attach port admitted it), so its UI shows
    /// that from the start instead of learning it from a refusal.
    pub fn subscribe_as(&self, capacity: usize, read_only: bool) -> Subscription {
        let viewer = self.shared.next_viewer.fetch_add(1, Ordering::Relaxed);
        let (outbox, inbox) = queue::channel(capacity);
        self.send(Request::Subscribe {
            viewer,
            outbox: Box::new(outbox),
            read_only,
        });
        Subscription {
            viewer,
            inbox,
            handle: self.clone(),
        }
    }

    fn send(&self, request: Request) {
        if self.tx.send(request).is_ok() {
            self.shared.pending.store(true, Ordering::Release);
            if let Some(waker) = self.shared.waker.get() {
                // A failed wake only delays the request to the next iteration.
                let _ = waker.wake();
            }
        }
    }
}

/// One viewer's subscription: read messages, send control messages. Dropping
/// it unsubscribes (and gives up control, if it had it).
pub struct Subscription {
    viewer: u64,
    inbox: Inbox,
    handle: TraceHandle,
}

impl Subscription {
    /// This viewer's id (also in its hello).
    pub fn viewer(&self) -> u64 {
        self.viewer
    }

    /// Waits for the next message, at most `timeout` (`None`: as long as it takes).
    pub fn recv_timeout(&self, timeout: Option<Duration>) -> Result<Arc<Message>, RecvError> {
        self.inbox.recv_timeout(timeout)
    }

    /// Takes every message already queued.
    pub fn drain_into(&self, out: &mut Vec<Arc<Message>>) {
        self.inbox.drain_into(out);
    }

    /// Sends a control message as this viewer; the answer arrives in the stream.
    pub fn control(&self, request: ControlRequest) {
        self.handle.send(Request::Control {
            viewer: self.viewer,
            request,
        });
    }

    /// This viewer will send no more control messages (its input closed):
    /// gives up control, if it had it, but keeps receiving.
    pub fn mute(&self) {
        self.handle.send(Request::Mute {
            viewer: self.viewer,
        });
    }

    /// Lets another thread of this viewer add messages to its stream.
    pub fn injector(&self) -> Injector {
        self.inbox.injector()
    }

    /// A sender of control messages for another thread of this viewer.
    pub fn controller(&self) -> ControlSender {
        ControlSender {
            viewer: self.viewer,
            handle: self.handle.clone(),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.inbox.close();
        self.handle.send(Request::Leave {
            viewer: self.viewer,
        });
    }
}

/// Sends control messages on behalf of one viewer (for its reader thread).
#[derive(Clone)]
pub struct ControlSender {
    viewer: u64,
    handle: TraceHandle,
}

impl ControlSender {
    pub fn send(&self, request: ControlRequest) {
        self.handle.send(Request::Control {
            viewer: self.viewer,
            request,
        });
    }

    pub fn mute(&self) {
        self.handle.send(Request::Mute {
            viewer: self.viewer,
        });
    }
}

/// A probe at this line: `probe!(tracer, "our_fn" => "redisFn", data)`, where
/// `data` is a [`ProbeData`] expression evaluated only when observed. Write
/// `|cx| data` to use the [`ProbeCx`] in it (the trace clock, and whether the
/// details will be read).
#[macro_export]
macro_rules! probe {
    ($tracer:expr, $function:literal => $mirrors:literal, |$cx:ident| $data:expr) => {
        $tracer.probe(
            $crate::site!($function, $mirrors),
            |$cx: &$crate::trace::ProbeCx| $data,
        )
    };
    ($tracer:expr, $function:literal => $mirrors:literal, $data:expr) => {
        $tracer.probe(
            $crate::site!($function, $mirrors),
            |_: &$crate::trace::ProbeCx| $data,
        )
    };
}

/// The anchor table for the hello, from the embedded sources (a viewer
/// uses it too when a stream's hello has none).
pub fn anchor_entries() -> Vec<crate::trace::model::AnchorEntry> {
    let sites = crate::source::anchor_sites();
    crate::source::ANCHORS
        .iter()
        .filter_map(|info| {
            let site = sites.iter().find(|s| s.name == info.name)?;
            Some(crate::trace::model::AnchorEntry {
                name: Cow::Borrowed(info.name),
                file: Cow::Borrowed(site.file),
                line: site.line,
                function: Cow::Borrowed(info.function),
                note: Cow::Borrowed(info.note),
                redis_function: Cow::Borrowed(info.redis.function),
                redis_file: Cow::Borrowed(info.redis.file),
                permalink: info.redis.permalink(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{Control, GateState, StepUnit};
    use std::sync::atomic::AtomicUsize;
    use std::thread;

    fn site() -> &'static Site {
        crate::site!("test", "test")
    }

    /// What a loop does at the top of an iteration.
    fn begin(t: &mut Tracer, iter: u64) {
        if t.begin_iteration(iter) {
            t.snapshot(Snapshot {
                maxfd: -1,
                ..Snapshot::default()
            });
        }
        t.probe(site(), |_| ProbeData::IterationBegin {});
    }

    fn next(sub: &Subscription) -> Arc<Message> {
        sub.recv_timeout(Some(Duration::from_secs(5)))
            .expect("a message")
    }

    fn control(sub: &Subscription, control: Control) {
        sub.control(ControlRequest { id: None, control });
    }

    #[test]
    fn unobserved_probes_build_nothing() {
        let (mut t, _handle) = tracer(false);
        let built = AtomicUsize::new(0);
        for i in 0..100 {
            assert!(!t.begin_iteration(i));
            t.probe(site(), |_| {
                built.fetch_add(1, Ordering::Relaxed);
                ProbeData::AfterSleep {}
            });
        }
        assert!(!t.observed());
        assert_eq!(built.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_viewer_gets_hello_snapshot_gate_then_numbered_events() {
        let (mut t, handle) = tracer(false);
        let sub = handle.subscribe(16);
        begin(&mut t, 1);
        t.probe(site(), |_| ProbeData::AfterSleep {});
        assert!(matches!(&*next(&sub), Message::Hello(h) if h.viewer == sub.viewer()));
        assert!(matches!(&*next(&sub), Message::Snapshot(s) if s.seq == 0 && s.iter == 1));
        assert!(matches!(&*next(&sub), Message::Gate(_)));
        assert!(
            matches!(&*next(&sub), Message::Event(e) if e.seq == 1 && e.data == ProbeData::IterationBegin {})
        );
        assert!(
            matches!(&*next(&sub), Message::Event(e) if e.seq == 2 && e.site.function == "test")
        );
        drop(sub);
        begin(&mut t, 2);
        assert!(!t.observed(), "the last viewer left");
    }

    #[test]
    fn a_watched_event_reaches_a_viewer_that_drops_everything_else() {
        let (mut t, handle) = tracer(false);
        let sub = handle.subscribe(4);
        sub.control(ControlRequest {
            id: Some(9),
            control: Control::Watch {
                conditions: vec!["iteration_end commands>=3".into()],
            },
        });
        let flood = |t: &mut Tracer, iter: u64, commands: u32| {
            begin(t, iter);
            for _ in 0..500 {
                t.probe(site(), |_| ProbeData::AfterSleep {});
            }
            t.probe(site(), |_| ProbeData::IterationEnd {
                duration_us: 1,
                paused_us: 0,
                file_events: 0,
                commands,
                time_events: 0,
            });
        };
        for iter in 1..=20 {
            flood(&mut t, iter, (iter % 5) as u32);
        }
        let mut got = Vec::new();
        sub.drain_into(&mut got);
        assert!(
            got.iter()
                .any(|m| matches!(&**m, Message::Ack(a) if a.id == Some(9)))
        );
        let watched: Vec<u64> = got
            .iter()
            .filter_map(|m| match &**m {
                Message::Event(e) if matches!(e.data, ProbeData::IterationEnd { .. }) => {
                    Some(e.iter)
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            watched,
            [3, 4, 8, 9, 13, 14, 18, 19],
            "every one, nothing else"
        );
        // A condition that does not parse is refused, and the list stays.
        sub.control(ControlRequest {
            id: Some(10),
            control: Control::Watch {
                conditions: vec!["no_such_event".into()],
            },
        });
        flood(&mut t, 21, 4);
        got.clear();
        sub.drain_into(&mut got);
        assert!(got.iter().any(
            |m| matches!(&**m, Message::Error(e) if e.id == Some(10) && e.error.contains("no_such_event"))
        ));
        assert!(
            got.iter()
                .any(|m| matches!(&**m, Message::Event(e) if e.iter == 21))
        );
    }

    #[test]
    fn a_slow_viewer_loses_events_counted_then_resyncs() {
        let (mut t, handle) = tracer(false);
        let sub = handle.subscribe(4);
        begin(&mut t, 1);
        for _ in 0..10 {
            t.probe(site(), |_| ProbeData::AfterSleep {});
        }
        let mut got = Vec::new();
        sub.drain_into(&mut got);
        // hello, snapshot and gate take three of the four slots: the
        // iteration_begin fits, all ten after_sleep are dropped.
        let events = got
            .iter()
            .filter(|m| matches!(&***m, Message::Event(_)))
            .count();
        assert_eq!(events, 1);
        t.probe(site(), |_| ProbeData::AfterSleep {});
        sub.drain_into(&mut got);
        let drops = got.iter().find_map(|m| match &**m {
            Message::Drops(d) => Some(d.clone()),
            _ => None,
        });
        let drops = drops.expect("a drops message once there is room");
        assert_eq!(drops.total, 10);
        assert_eq!(drops.by_kind.get(&ProbeKind::AfterSleep), Some(&10));
        // The resync snapshot reflects the state right before the next event.
        let last_two: Vec<_> = got.iter().rev().take(2).collect();
        assert!(matches!(&**last_two[0], Message::Event(e) if e.seq == 12));
        assert!(matches!(&**last_two[1], Message::Snapshot(s) if s.seq == 11));
    }

    #[test]
    fn details_are_built_only_for_a_viewer_with_room_or_an_engaged_gate() {
        let (mut t, handle) = tracer(false);
        let sub = handle.subscribe(4);
        begin(&mut t, 1);
        let mut asked = Vec::new();
        for _ in 0..3 {
            t.probe(site(), |cx| {
                asked.push(cx.detail);
                ProbeData::AfterSleep {}
            });
        }
        // hello, snapshot, gate and the iteration_begin fill the queue.
        assert_eq!(asked, [false, false, false]);
        let mut got = Vec::new();
        sub.drain_into(&mut got);
        t.probe(site(), |cx| {
            asked.push(cx.detail);
            ProbeData::AfterSleep {}
        });
        assert_eq!(asked.last(), Some(&true), "room again, after the resync");
        sub.drain_into(&mut got);
        let drops = got.iter().find_map(|m| match &**m {
            Message::Drops(d) => Some(d.total),
            _ => None,
        });
        assert_eq!(drops, Some(3), "events not built are counted as dropped");
        assert!(
            got.iter()
                .any(|m| matches!(&**m, Message::Event(e) if e.seq == 5))
        );

        // A breakpoint may match on any detail: the gate sees full events
        // even when no viewer has room.
        control(
            &sub,
            Control::BreakAdd {
                on: crate::trace::model::BreakOn::Kind {
                    kind: ProbeKind::Published,
                },
            },
        );
        for _ in 0..8 {
            t.probe(site(), |cx| {
                asked.push(cx.detail);
                ProbeData::AfterSleep {}
            });
        }
        assert_eq!(asked.last(), Some(&true));
    }

    #[test]
    fn pause_blocks_the_loop_until_a_step() {
        let (mut t, handle) = tracer(false);
        let sub = handle.subscribe(1024);
        begin(&mut t, 1);
        control(&sub, Control::Pause);
        let (done_tx, done_rx) = mpsc::channel();
        let looper = thread::spawn(move || {
            t.probe(site(), |_| ProbeData::AfterSleep {}); // stops here
            done_tx.send("first").ok();
            t.probe(site(), |_| ProbeData::AfterSleep {}); // stepped to, stops again
            done_tx.send("second").ok();
            t
        });
        // Wait for the gate to report the stop.
        loop {
            if let Message::Gate(g) = &*next(&sub)
                && g.state == GateState::Paused
            {
                break;
            }
        }
        assert!(
            done_rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "the loop is blocked"
        );
        control(
            &sub,
            Control::Step {
                unit: StepUnit::Probe,
            },
        );
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(5)).ok(),
            Some("first")
        );
        assert!(
            done_rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "stopped at the next probe"
        );
        control(&sub, Control::Continue);
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(5)).ok(),
            Some("second")
        );
        looper.join().ok();
    }

    #[test]
    fn end_events_say_how_long_the_gate_held_the_loop() {
        const HOLD: Duration = Duration::from_millis(30);
        let (mut t, handle) = tracer(false);
        let sub = handle.subscribe(1024);
        begin(&mut t, 1);
        t.probe(site(), |_| ProbeData::BeforeSleepBegin {});
        control(&sub, Control::Pause);
        let looper = thread::spawn(move || {
            let started = Instant::now();
            let stopwatch = t.stopwatch();
            t.probe(site(), |_| ProbeData::AfterSleep {}); // held here
            // What a stopwatch across the pause reads, and the wall clock.
            let mut read = (0, 0);
            t.probe(site(), |cx| {
                read = (cx.elapsed_us(stopwatch), micros(started.elapsed()));
                ProbeData::AfterSleep {}
            });
            t.before_sleep_end(site(), Vec::new);
            t.iteration_end(site());
            read
        });
        loop {
            if let Message::Gate(g) = &*next(&sub)
                && g.state == GateState::Paused
            {
                break;
            }
        }
        // The loop cannot move on before this sleep ends, however the
        // threads are scheduled: the pause is at least this long.
        thread::sleep(HOLD);
        control(&sub, Control::Continue);
        let mut ends = Vec::new();
        while ends.len() < 2 {
            if let Message::Event(ev) = &*next(&sub) {
                match ev.data {
                    ProbeData::BeforeSleepEnd {
                        duration_us,
                        paused_us,
                        ..
                    }
                    | ProbeData::IterationEnd {
                        duration_us,
                        paused_us,
                        ..
                    } => ends.push((duration_us, paused_us)),
                    _ => {}
                }
            }
        }
        for (duration_us, paused_us) in ends {
            assert!(paused_us >= HOLD.as_micros() as u64, "{paused_us}");
            assert!(duration_us >= paused_us, "{duration_us} {paused_us}");
        }
        let (measured, wall) = looper.join().expect("the loop thread");
        assert!(
            wall - measured >= HOLD.as_micros() as u64,
            "the pause is left out: {measured} of {wall}"
        );
    }

    #[test]
    fn refused_control_gets_an_error_and_changes_nothing() {
        let (mut t, handle) = tracer(false);
        let owner = handle.subscribe(64);
        let other = handle.subscribe(64);
        control(&owner, Control::TakeControl);
        begin(&mut t, 1);
        control(&other, Control::Pause);
        t.probe(site(), |_| ProbeData::AfterSleep {}); // must not stop
        let mut got = Vec::new();
        other.drain_into(&mut got);
        assert!(
            got.iter()
                .any(|m| matches!(&**m, Message::Error(e) if e.error.contains("read-only")))
        );
        assert!(
            got.iter()
                .all(|m| !matches!(&**m, Message::Gate(g) if g.state != GateState::Running))
        );
    }

    #[test]
    fn the_leaders_guide_place_reaches_every_viewer_and_late_ones_too() {
        let (mut t, handle) = tracer(false);
        let leader = handle.subscribe(64);
        let student = handle.subscribe(64);
        let place = |step| GuidePosition {
            chapter: "06-a-command".into(),
            step,
            done: vec![0],
            viewer: 999, // whatever the sender says, the loop names it
        };
        control(&leader, Control::Guide(place(1)));
        control(&student, Control::Guide(place(4)));
        begin(&mut t, 1);
        t.probe(site(), |_| ProbeData::AfterSleep {});
        let guides = |sub: &Subscription| {
            let mut got = Vec::new();
            sub.drain_into(&mut got);
            let places: Vec<GuidePosition> = got
                .iter()
                .filter_map(|m| match &**m {
                    Message::Guide(g) => Some(g.clone()),
                    _ => None,
                })
                .collect();
            (places, got)
        };
        let expected = GuidePosition {
            viewer: leader.viewer(),
            ..place(1)
        };
        let (seen, _) = guides(&leader);
        assert_eq!(seen, vec![expected.clone()]);
        let (seen, got) = guides(&student);
        assert_eq!(seen, vec![expected.clone()], "only the leader's place");
        assert!(
            got.iter()
                .any(|m| matches!(&**m, Message::Error(e) if e.error.contains("read-only"))),
            "a viewer without control cannot lead"
        );
        let late = handle.subscribe(64);
        t.probe(site(), |_| ProbeData::AfterSleep {});
        let mut got = Vec::new();
        late.drain_into(&mut got);
        let kinds: Vec<&str> = got
            .iter()
            .take(4)
            .map(|m| match &**m {
                Message::Hello(_) => "hello",
                Message::Snapshot(_) => "snapshot",
                Message::Gate(_) => "gate",
                Message::Guide(g) if *g == expected => "guide",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["hello", "snapshot", "gate", "guide"]);
    }

    #[test]
    fn stopwatch_only_runs_when_observed() {
        let (t, _handle) = tracer(false);
        assert!(t.stopwatch().0.is_none());
    }
}

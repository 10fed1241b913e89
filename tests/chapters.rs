//! Every chapter, played end to end against a real server.
//!
//! For each chapter a fresh server runs in this process, with a tracer whose
//! stream the test reads exactly as the TUI would. Each step's action is sent
//! with the built-in client over loopback, and the step's wait-condition must
//! be met within a bounded time. Steps with `pause: yes` are played the way
//! the TUI plays them, through a `PauseDriver`: the loop must really stop at
//! the event that completes the step (the test then lets it go on). Finally
//! every action must have been answered without an error reply.
//!
//! The same player also plays them the harder ways a learner meets: with a
//! second viewer attached over the attach port that follows the guide too,
//! after switching chapters back and forth on one server (the closed
//! connections of the chapter left must complete nothing), and with a viewer
//! as lossy as the TUI while a flood of pipelined commands runs (a step
//! waiting for a rare event must still tick, every time).
//!
//! A failure names the chapter file, the step and the condition that was not
//! met, and how far its sequence got. `CHAPTER_ONLY=06-` plays only the
//! chapters whose file name contains that text.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use loopscope::server::{self, Config};
use loopscope::trace::admission::Policy;
use loopscope::trace::attach::spawn_attach_server;
use loopscope::trace::model::{Control, ControlRequest, Message, ProbeData};
use loopscope::trace::reader::TraceReader;
use loopscope::trace::{Subscription, TraceHandle};
use loopscope::walkthrough::client::{ActionClient, ClientEvent};
use loopscope::walkthrough::pause::PauseDriver;
use loopscope::walkthrough::{Chapter, Loaded, Origin, Progress, Walkthrough, load};

/// How long one step's wait-condition may take (DEBUG SLEEP 1 and a 300 ms
/// TTL are the slowest things a chapter does).
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Where a chapter that turns the AOF on has it write: a temp dir, not the
/// working directory.
fn aof_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("loopscope-chapters-{}", std::process::id()))
}

/// The queue the TUI's own viewer has: small, so a busy loop drops for it.
const TUI_CAPACITY: usize = 1024;

/// A server on a free loopback port, its loop running on its own thread,
/// and a viewer subscribed to its trace with a queue of `capacity` events.
fn start_server(capacity: usize) -> (SocketAddr, Subscription, TraceHandle, std::path::PathBuf) {
    // Each server its own directory: tests run side by side, and one's
    // `CONFIG SET appendonly no` must not close another's file.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = aof_dir().join(n.to_string());
    let config = Config {
        port: 0,
        dir: dir.clone(),
        ..Config::default()
    };
    let (mut el, mut srv) = server::init_server(config).expect("the server starts");
    let handle = server::probes::install_tracer(&mut el, &srv, false);
    let sub = handle.subscribe(capacity);
    let addr = srv.local_addr;
    std::thread::Builder::new()
        .name("chapter server".into())
        .spawn(move || el.main(&mut srv))
        .expect("spawn the loop");
    (addr, sub, handle, dir)
}

/// A second viewer over the attach port, running its own guide on the
/// stream it reads (it never takes control: its pauses are only hints).
struct Attached {
    guide: Walkthrough,
    pauses: PauseDriver,
    lines: Receiver<Message>,
    out: TcpStream,
    greeted: bool,
}

impl Attached {
    fn connect(handle: TraceHandle, chapters: Loaded) -> Attached {
        let (policy, _) =
            Policy::for_bind(&["127.0.0.1:0".parse().expect("addr")], None, false).expect("policy");
        let server = spawn_attach_server(handle, "127.0.0.1:0", policy).expect("attach port");
        let stream = TcpStream::connect(server.addr).expect("attach");
        // The attach server lives as long as the process; its connection too.
        std::mem::forget(server);
        let out = stream.try_clone().expect("clone");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for msg in TraceReader::new(BufReader::new(stream)).flatten() {
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let mut guide = Walkthrough::with_progress(chapters, Progress::in_memory());
        let pauses = PauseDriver::new(&mut guide);
        Attached {
            guide,
            pauses,
            lines,
            out,
            greeted: false,
        }
    }

    fn send(&mut self, controls: Vec<ControlRequest>) {
        for c in controls {
            let mut line = serde_json::to_vec(&c).expect("json");
            line.push(b'\n');
            self.out.write_all(&line).expect("send a control line");
        }
    }

    /// Follows the primary guide to `pos`.
    fn follow(&mut self, chapter: usize, step: usize) {
        if self.guide.position().map(|p| p.chapter) != Some(chapter) {
            self.guide.open(chapter);
        }
        self.guide.goto(step);
        let controls = self.pauses.sync(&self.guide);
        self.send(controls);
    }

    fn read_available(&mut self) {
        while let Ok(msg) = self.lines.try_recv() {
            self.greeted |= matches!(msg, Message::Hello(_));
            let handled = self.pauses.handle(&mut self.guide, &msg);
            self.send(handled.controls);
        }
    }
}

/// A raw client pipelining PINGs as fast as the loop answers, until stopped.
struct Flood {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Flood {
    fn start(addr: SocketAddr) -> Flood {
        const BATCH: usize = 1000;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut conn = TcpStream::connect(addr).expect("flood connects");
            conn.set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
            let batch = b"*1\r\n$4\r\nPING\r\n".repeat(BATCH);
            let want = b"+PONG\r\n".len() * BATCH;
            let mut buf = vec![0u8; want];
            let mut sent = 0;
            while !flag.load(Ordering::Relaxed) {
                conn.write_all(&batch).expect("flood writes");
                conn.read_exact(&mut buf).expect("flood reads its replies");
                sent += BATCH as u64;
            }
            sent
        });
        Flood { stop, thread }
    }

    /// Stops the flood; returns how many commands it sent.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the flood ends")
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One chapter being played: the guide, the built-in client, the trace.
struct Player {
    file: String,
    guide: Walkthrough,
    pauses: PauseDriver,
    client: ActionClient,
    sub: Subscription,
    /// Steps whose completing event the loop stood still at.
    held: Vec<usize>,
    /// The loop stands still at a step's pause, as it does for a learner
    /// until they act: the next step's action is sent first, then the loop
    /// goes on (see [`Player::release`]).
    holding: bool,
    /// The server's directory (its AOF), removed with the player.
    dir: std::path::PathBuf,
    /// Actions sent for a step that waits for an error reply
    /// (`reply=error`): their error is the lesson, not a mistake.
    errors_expected: Vec<String>,
    /// How long one step may take.
    timeout: Duration,
    actions_sent: usize,
    /// Replies to actions that arrived while the player waited for a
    /// set-up's reply (they count as answered in `check_replies`).
    answered_early: Vec<ClientEvent>,
    /// How long the player reads a step before it acts (the loop runs on
    /// meanwhile), so what an earlier step left in flight has happened.
    reading: Duration,
    /// The built-in client's connections: name, local address.
    own: Vec<(String, String)>,
    /// Events the loop dropped for this viewer (its last `drops`).
    dropped: u64,
    /// The stream's hello arrived (it says what the loop can do).
    greeted: bool,
    attached: Option<Attached>,
}

impl Player {
    fn new(chapter: &Chapter, timeout: Duration) -> Player {
        // Big enough that this player never loses an event, even for the 5000-PING step.
        Player::over(vec![chapter.clone()], timeout, 1 << 20, false)
    }

    /// A player of `chapters` on one server, its viewer's queue `capacity`
    /// events, with a second viewer attached if `attach`. Opens the first.
    fn over(chapters: Vec<Chapter>, timeout: Duration, capacity: usize, attach: bool) -> Player {
        Player::resuming(chapters, timeout, capacity, attach, Progress::in_memory())
    }

    /// Like [`Player::over`], with `progress` saved from an earlier run:
    /// the first chapter opens at its first step not done, as the TUI
    /// resumes it.
    fn resuming(
        chapters: Vec<Chapter>,
        timeout: Duration,
        capacity: usize,
        attach: bool,
        progress: Progress,
    ) -> Player {
        let (addr, sub, handle, dir) = start_server(capacity);
        let loaded = Loaded {
            chapters,
            diagnostics: Vec::new(),
        };
        let mut guide = Walkthrough::with_progress(loaded.clone(), progress);
        let pauses = PauseDriver::new(&mut guide);
        assert!(guide.open(0));
        Player {
            file: guide.chapters()[0].file.clone(),
            guide,
            pauses,
            client: ActionClient::new(addr),
            sub,
            held: Vec::new(),
            holding: false,
            errors_expected: Vec::new(),
            dir,
            timeout,
            actions_sent: 0,
            answered_early: Vec::new(),
            reading: Duration::ZERO,
            own: Vec::new(),
            dropped: 0,
            greeted: false,
            attached: attach.then(|| Attached::connect(handle, loaded)),
        }
    }

    /// Opens chapter `c` the way the TUI does: the client's connections of
    /// the chapter before are closed, after writing its cleanup on the
    /// first of them, and the guide knows they are its own.
    fn open_chapter(&mut self, c: usize) {
        self.release();
        let cleanup = self.guide.current_chapter().and_then(|c| c.cleanup.clone());
        let cleanup = cleanup.zip(self.own.first()).map(|(mut a, (name, _))| {
            a.client = name.clone();
            a
        });
        assert!(self.guide.open(c));
        self.guide
            .closing_own(self.own.drain(..).map(|(_, local)| local));
        self.client.close_with(cleanup.as_ref());
        self.file = self.guide.chapters()[c].file.clone();
        self.held.clear();
    }

    /// The next outcome of an action, noting the connections it opened.
    fn client_event(&mut self, timeout: Duration) -> Option<ClientEvent> {
        loop {
            match self.client.wait_event(timeout)? {
                ClientEvent::Connected { client, local } => self.own.push((client, local)),
                other => return Some(other),
            }
        }
    }

    fn send(&self, controls: Vec<ControlRequest>) {
        for c in controls {
            self.sub.control(c);
        }
    }

    fn handle(&mut self, msg: &Message) {
        match msg {
            Message::Error(e) => panic!(
                "{}: the gate refused a control message: {}",
                self.file, e.error
            ),
            Message::Drops(d) => {
                assert_eq!(d.watched, 0, "{}: a watched event was lost", self.file);
                self.dropped = d.total;
            }
            Message::Hello(_) => self.greeted = true,
            _ => {}
        }
        let handled = self.pauses.handle(&mut self.guide, msg);
        self.send(handled.controls);
        if let Some(step) = handled.holding {
            // The guide leaves the learner looking; the loop stays until
            // the learner acts, as in the TUI, where `t` then `c` sends the
            // next step's command into the moment the pause showed.
            self.held.push(step);
            self.holding = true;
        }
    }

    /// Lets the loop go on from a step's pause, as the learner's `c` does.
    fn release(&mut self) {
        if std::mem::take(&mut self.holding) {
            self.sub.control(ControlRequest {
                id: None,
                control: Control::Continue,
            });
        }
    }

    /// Handles messages until `done` holds or `timeout` passes.
    fn read_until(&mut self, timeout: Duration, done: impl Fn(&Player) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let wait = left.min(Duration::from_millis(20));
            if let Ok(msg) = self.sub.recv_timeout(Some(wait)) {
                self.handle(&msg);
            }
            if let Some(a) = self.attached.as_mut() {
                a.read_available();
            }
        }
        true
    }

    /// Plays step `i`: sends its action, waits for its condition.
    fn play_step(&mut self, i: usize) -> Result<(), String> {
        self.play_step_as(i, false)
    }

    /// Sends the set-up the guide gives out once the step opened at is
    /// watched, and waits for its replies, as a learner would wait for the
    /// guide to say it is done before acting.
    fn set_up(&mut self, i: usize, title: &str) -> Result<(), String> {
        let Some(setup) = self.guide.take_setup() else {
            return Ok(());
        };
        let shown = setup.to_string();
        self.client.send(&setup).map_err(|e| {
            format!(
                "step {} `{title}`: cannot send the set-up `{shown}`: {e}",
                i + 1
            )
        })?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let mut parked = false;
            while let Ok(msg) = self.sub.recv_timeout(Some(Duration::from_millis(5))) {
                parked |= matches!(&*msg, Message::Event(e) if matches!(e.data, ProbeData::ClientBlocked { .. }));
                self.handle(&msg);
            }
            if parked {
                // A set-up that blocks (a waiter the step's action will
                // serve) is done once the loop parks its client; its reply
                // comes with the step's action, and is checked with the rest.
                self.actions_sent += 1;
                return Ok(());
            }
            match self.client.try_event() {
                Some(ClientEvent::Connected { client, local }) => self.own.push((client, local)),
                Some(ClientEvent::Replied {
                    action,
                    errors,
                    first,
                    ..
                }) if action == shown => {
                    return match errors {
                        0 => Ok(()),
                        _ => Err(format!(
                            "{}: step {} `{title}`: the set-up `{shown}` got an error reply: {first}",
                            self.file,
                            i + 1
                        )),
                    };
                }
                Some(ClientEvent::Failed { client, error }) => {
                    return Err(format!("{}: set-up on client {client}: {error}", self.file));
                }
                Some(other) => self.answered_early.push(other),
                None if Instant::now() > deadline => {
                    return Err(format!(
                        "{}: step {} `{title}`: the set-up `{shown}` got no reply within {:?}",
                        self.file,
                        i + 1,
                        self.timeout
                    ));
                }
                None => {}
            }
        }
    }

    /// Plays step `i`. `opened_here`: the chapter was opened at this step
    /// (resumed): its set-up is sent first, and if the step has no action
    /// of its own, the learner presses `t` for the one the guide offers.
    fn play_step_as(&mut self, i: usize, opened_here: bool) -> Result<(), String> {
        assert!(self.guide.goto(i));
        let step = self.guide.current_step().cloned().expect("the step exists");
        let controls = self.pauses.sync(&self.guide);
        self.send(controls);
        let chapter = self.guide.position().expect("open").chapter;
        if let Some(a) = self.attached.as_mut() {
            a.follow(chapter, i);
        }
        // Act only once the gate can stop where the next pause is, and the
        // loop watches what the step waits for, as a learner reading the
        // step would (reading takes longer than either).
        self.read_until(self.timeout, |p| {
            p.greeted
                && p.guide.pause_armed()
                && p.guide.watch_armed()
                && p.attached
                    .as_ref()
                    .is_none_or(|a| a.greeted && a.guide.watch_armed())
        });
        let set_up = self.guide.setup_pending();
        if set_up {
            // The set-up's replies need a running loop.
            self.release();
        }
        self.set_up(i, &step.title)?;
        if !self.reading.is_zero() && step.action.is_some() && !self.holding {
            self.read_until(self.reading, |_| false);
        }
        // A step whose own action makes its moment must not be met before
        // that action goes out (by what an earlier step left in flight, or
        // by its set-up), nor any step by its set-up alone: the set-up
        // re-creates what the step needs, the learner makes its moment.
        if (step.action.is_some() || set_up) && self.guide.is_met(i) {
            return Err(format!(
                "{}:{}: step {} `{}` was met before its action was sent",
                self.file,
                step.line,
                i + 1,
                step.title
            ));
        }
        let action = match opened_here {
            true => self.guide.current_action().cloned(),
            false => step.action.clone(),
        };
        if let Some(action) = &action {
            self.client.send(action).map_err(|e| {
                format!(
                    "step {} `{}`: cannot send `{action}`: {e}",
                    i + 1,
                    step.title
                )
            })?;
            self.actions_sent += 1;
            if step
                .wait
                .conditions
                .iter()
                .any(|c| c.text.contains("reply=error"))
            {
                self.errors_expected.push(action.to_string());
            }
        }
        self.release();
        if !self.read_until(self.timeout, |p| step.wait.is_empty() || p.guide.is_met(i)) {
            let (met, of) = self.guide.current_wait_progress().unwrap_or((0, 0));
            let waiting = step
                .wait
                .conditions
                .get(met)
                .map_or("", |c| c.text.as_str());
            return Err(format!(
                "{}:{}: step {} `{}`: `wait: {waiting}` not met within {:?} ({met} of {of} conditions met)",
                self.file,
                step.line,
                i + 1,
                step.title,
                self.timeout
            ));
        }
        // The gate's stop travels behind the event that met the step.
        if step.pause && !self.read_until(self.timeout, |p| p.held.contains(&i)) {
            return Err(format!(
                "{}:{}: step {} `{}` has `pause: yes`, but the loop did not stop at the event that met it",
                self.file,
                step.line,
                i + 1,
                step.title
            ));
        }
        let followed = |p: &Player| {
            p.attached
                .as_ref()
                .is_none_or(|a| step.wait.is_empty() || a.guide.is_met(i))
        };
        // A follower whose step opened after the event that met it needs a
        // later one: the loop runs on, as it does once the learner goes on.
        if !self.read_until(Duration::from_millis(200), followed) {
            self.release();
        }
        if !self.read_until(self.timeout, followed) {
            return Err(format!(
                "{}:{}: step {} `{}`: the attached viewer's guide did not see it met",
                self.file,
                step.line,
                i + 1,
                step.title
            ));
        }
        Ok(())
    }

    /// Every action answered, and no answer an error.
    fn check_replies(&mut self) -> Result<(), String> {
        self.release();
        let deadline = Instant::now() + self.timeout;
        let mut answered = 0;
        let early: Vec<ClientEvent> = self.answered_early.drain(..).collect();
        let mut events = early.into_iter();
        while answered < self.actions_sent {
            let next = match events.next() {
                Some(e) => Some(e),
                None => self.client_event(Duration::from_millis(50)),
            };
            // Keep the stream flowing: a stop at a breakpoint must be continued.
            while let Ok(msg) = self.sub.recv_timeout(Some(Duration::ZERO)) {
                self.handle(&msg);
            }
            self.release();
            match next {
                Some(ClientEvent::Replied { errors: 0, .. }) => answered += 1,
                Some(ClientEvent::Replied { action, .. })
                    if self.errors_expected.contains(&action) =>
                {
                    self.errors_expected.retain(|a| *a != action);
                    answered += 1;
                }
                Some(ClientEvent::Replied { action, first, .. }) => {
                    return Err(format!(
                        "{}: `{action}` got an error reply: {first}",
                        self.file
                    ));
                }
                Some(ClientEvent::Failed { client, error }) => {
                    return Err(format!("{}: client {client}: {error}", self.file));
                }
                Some(ClientEvent::Connected { .. }) => unreachable!("client_event notes these"),
                None if Instant::now() > deadline => {
                    return Err(format!(
                        "{}: {} of {} actions answered",
                        self.file, answered, self.actions_sent
                    ));
                }
                None => {}
            }
        }
        self.actions_sent = 0;
        self.errors_expected.clear();
        Ok(())
    }

    /// Plays every step of the open chapter, then checks the replies.
    fn play_all(&mut self) -> Result<(), String> {
        let steps = self.guide.current_chapter().expect("open").steps.len();
        for i in 0..steps {
            self.play_step(i)?;
        }
        self.check_replies()
    }
}

fn play(chapter: &Chapter) -> Result<(), String> {
    let mut player = Player::new(chapter, STEP_TIMEOUT);
    // Read each step a moment before acting, as a learner does: a step
    // met by what the step before left in flight fails here.
    player.reading = Duration::from_millis(100);
    for i in 0..chapter.steps.len() {
        player.play_step(i)?;
    }
    player.check_replies()
}

#[test]
fn every_chapter_plays_end_to_end() {
    let loaded = load::load(&Origin::Embedded);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert!(loaded.chapters.len() >= 12);
    let only = std::env::var("CHAPTER_ONLY").ok();
    let failures: Vec<String> = loaded
        .chapters
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| c.file.contains(o.as_str())))
        .filter_map(|c| play(c).err())
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Plays `chapter` from step `from` (0-based) to its end on a fresh server,
/// as a learner whose saved progress has every step before `from` done:
/// the guide opens the chapter there, sends the step's set-up, and the
/// learner goes on from there.
fn play_from(chapter: &Chapter, from: usize) -> Result<(), String> {
    let mut progress = Progress::in_memory();
    for done in 1..=from {
        progress.mark_done(&chapter.id, done).expect("in memory");
    }
    let mut player = Player::resuming(
        vec![chapter.clone()],
        STEP_TIMEOUT,
        1 << 20,
        false,
        progress,
    );
    let at = player.guide.position().expect("open").step;
    if at != from {
        return Err(format!(
            "{}: opened at step {} instead of {}",
            chapter.file,
            at + 1,
            from + 1
        ));
    }
    player.play_step_as(from, true)?;
    for i in from + 1..chapter.steps.len() {
        player.play_step(i)?;
    }
    player.check_replies()
}

#[test]
fn every_chapter_resumes_at_every_step() {
    // A learner comes back to a chapter at the step progress saved: each
    // step must re-create what it needs (its `setup:`), so the chapter can
    // be played to its end from there. Step 1 is what the end-to-end test
    // plays. Two chapters at a time: the machines that run this are small.
    let all = load::load(&Origin::Embedded).chapters;
    let only = std::env::var("CHAPTER_ONLY").ok();
    let chapters: Vec<Chapter> = all
        .into_iter()
        .filter(|c| only.as_ref().is_none_or(|o| c.file.contains(o.as_str())))
        .collect();
    let started = Instant::now();
    let halves: Vec<Vec<Chapter>> = vec![
        chapters.iter().step_by(2).cloned().collect(),
        chapters.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let workers: Vec<_> = halves
        .into_iter()
        .map(|half| {
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for c in &half {
                    // A step that continues the one before opens as that
                    // one (the walkthrough's unit tests check that rule).
                    for from in (1..c.steps.len()).filter(|&s| !c.steps[s].continues) {
                        if let Err(e) = play_from(c, from) {
                            failures.push(format!("resumed at step {}: {e}", from + 1));
                        }
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a worker"))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // Bounded: every step waits at most STEP_TIMEOUT, and a passing run is
    // far quicker than that.
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "{:?}",
        started.elapsed()
    );
}

/// The embedded chapters whose file names contain these texts, in this order.
fn chapters(names: &[&str]) -> Vec<Chapter> {
    let loaded = load::load(&Origin::Embedded);
    names
        .iter()
        .map(|n| {
            let found = loaded.chapters.iter().find(|c| c.file.contains(n));
            found.cloned().unwrap_or_else(|| panic!("no chapter {n}"))
        })
        .collect()
}

#[test]
fn every_chapter_plays_with_a_second_viewer_attached() {
    let all = load::load(&Origin::Embedded).chapters;
    let only = std::env::var("CHAPTER_ONLY").ok();
    let mut failures = Vec::new();
    for c in all
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| c.file.contains(o.as_str())))
    {
        let mut player = Player::over(vec![c.clone()], STEP_TIMEOUT, 1 << 20, true);
        if let Err(e) = player.play_all() {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn switching_chapters_back_and_forth_completes_nothing_by_itself() {
    // Chapters 6 and 10 both start by waiting for a client's fd to be
    // readable: exactly what the end of file of a closed connection is.
    let mut player = Player::over(chapters(&["06-", "10-"]), STEP_TIMEOUT, 1 << 20, false);
    for (round, c) in [0, 1, 0, 1, 0].into_iter().enumerate() {
        player.open_chapter(c);
        let first = player.guide.current_step().cloned().expect("a first step");
        let controls = player.pauses.sync(&player.guide);
        player.send(controls);
        // A learner reads the step before acting: the connections closed a
        // moment ago reach the loop meanwhile, and must tick nothing.
        let ticked = player.read_until(Duration::from_millis(500), |p| p.guide.is_met(0));
        assert!(
            !ticked,
            "round {round}: {} step 1 `{}` completed before anything was sent",
            player.file, first.title
        );
        if round < 4 {
            // Half a chapter, then on to the other one.
            player.play_step(0).expect("the first step");
            player.check_replies().expect("replies");
        } else {
            player
                .play_all()
                .expect("the whole chapter, after the switches");
        }
    }
}

#[test]
fn leaving_a_chapter_deletes_what_it_left_behind() {
    // Chapter 7 makes a 32 MiB key; chapter 12 would write it into its AOF.
    let mut player = Player::over(chapters(&["07-", "06-"]), STEP_TIMEOUT, 1 << 20, false);
    player.play_all().expect("chapter 7 plays");
    let addr = player.client.addr();
    let exists = || {
        let mut conn = TcpStream::connect(addr).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        conn.write_all(b"*2\r\n$6\r\nEXISTS\r\n$3\r\nbig\r\n")
            .expect("write");
        let mut reply = [0u8; 4];
        conn.read_exact(&mut reply).expect("reply");
        reply
    };
    assert_eq!(&exists(), b":1\r\n", "chapter 7 made it");
    player.open_chapter(1);
    // The cleanup went out on chapter 7's connection as it closed; the
    // server runs it at its next turn.
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        player.read_until(Duration::ZERO, |_| false);
        &exists() == b":0\r\n"
    });
    assert!(gone, "`big` is still there after leaving chapter 7");
}

#[test]
fn a_rare_event_ticks_its_step_every_time_under_a_flood() {
    // Chapter 11's "See it happen" waits for one refired fd; a flood of
    // pipelined PINGs makes the loop drop most events for a viewer as small
    // as the TUI's. Watched conditions are delivered all the same.
    let mut player = Player::over(chapters(&["11-"]), STEP_TIMEOUT, TUI_CAPACITY, false);
    let step = player.guide.chapters()[0]
        .steps
        .iter()
        .position(|s| s.title == "See it happen")
        .expect("the step");
    let flood = Flood::start(player.client.addr());
    for round in 0..3 {
        player.guide.reset_progress().expect("in memory");
        player.open_chapter(0);
        for i in 0..=step {
            if let Err(e) = player.play_step(i) {
                panic!("round {round}: {e}");
            }
        }
        player.check_replies().expect("replies");
    }
    let sent = flood.stop();
    assert!(sent > 0, "the flood ran");
    assert!(
        player.dropped > 0,
        "the viewer never lost an event: the flood proved nothing"
    );
}

#[test]
fn a_step_that_cannot_happen_fails_with_its_place() {
    // A chapter whose condition the loop never meets must fail, naming file,
    // line and condition: the test above can fail.
    let text = "---\ntitle: t\nsummary: s\n---\n## Never\naction: PING\nwait: command name=get\n";
    let chapter = loopscope::walkthrough::parse::parse_chapter("never.md", text).expect("parses");
    let timeout = Duration::from_secs(1);
    let mut player = Player::new(&chapter, timeout);
    let started = Instant::now();
    let err = player.play_step(0).expect_err("GET never runs");
    assert!(
        err.starts_with("never.md:5: step 1 `Never`: `wait: command name=get` not met"),
        "{err}"
    );
    assert!(started.elapsed() >= timeout);
}

//! Every chapter, played end to end against a real server.
//!
//! For each chapter a fresh server runs in this process, with a tracer whose
//! stream the test reads exactly as the TUI would. Each step's action is sent
//! with the built-in client over loopback, and the step's wait-condition must
//! be met within a bounded time. Steps with `pause: yes` are played the way
//! the guide plays them: the breakpoint from `pause_breakpoint` is installed
//! in the gate, and the loop must really stop at the event that completes the
//! step (the test then lets it go on). Finally every action must have been
//! answered without an error reply.
//!
//! A failure names the chapter file, the step and the condition that was not
//! met, and how far its sequence got. `CHAPTER_ONLY=06-` plays only the
//! chapters whose file name contains that text.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use loopscope::server::{self, Config};
use loopscope::trace::model::{BreakOn, Control, ControlRequest, GateState, Message, StopReason};
use loopscope::trace::{self, Subscription};
use loopscope::walkthrough::client::{ActionClient, ClientEvent};
use loopscope::walkthrough::{Chapter, Loaded, Origin, Progress, StepOutcome, Walkthrough, load};

/// How long one step's wait-condition may take (DEBUG SLEEP 1 and a 300 ms
/// TTL are the slowest things a chapter does).
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// A server on a free loopback port, its loop running on its own thread,
/// and a viewer subscribed to its trace.
fn start_server() -> (SocketAddr, Subscription) {
    let config = Config {
        port: 0,
        ..Config::default()
    };
    let (mut el, mut srv) = server::init_server(config).expect("the server starts");
    let (mut tracer, handle) = trace::tracer(false);
    tracer.set_facts(server::probes::facts(&srv, el.setsize));
    el.set_tracer(tracer);
    // Big enough that this test never loses an event, even for the 5000-PING step.
    let sub = handle.subscribe(1 << 20);
    let addr = srv.local_addr;
    std::thread::Builder::new()
        .name("chapter server".into())
        .spawn(move || el.main(&mut srv))
        .expect("spawn the loop");
    (addr, sub)
}

/// One chapter being played: the guide, the built-in client, the trace.
struct Player {
    file: String,
    guide: Walkthrough,
    client: ActionClient,
    sub: Subscription,
    /// The breakpoint installed for the watched step: what it stops at, and
    /// its id once the gate acknowledged it.
    breakpoint: Option<(BreakOn, Option<u32>)>,
    next_request: u64,
    /// Request id → the breakpoint it adds.
    pending_adds: HashMap<u64, BreakOn>,
    /// Sequence number of the event that met each step.
    met_at: HashMap<usize, u64>,
    /// How long one step may take.
    timeout: Duration,
    /// Steps whose completing event the loop stood still at.
    paused_at_met: Vec<usize>,
    /// The stop (event sequence number) already continued from: gate status
    /// repeats while paused, and a second Continue would release a later stop.
    continued: Option<u64>,
    actions_sent: usize,
}

impl Player {
    fn new(chapter: &Chapter, timeout: Duration) -> Player {
        let (addr, sub) = start_server();
        let loaded = Loaded {
            chapters: vec![chapter.clone()],
            diagnostics: Vec::new(),
        };
        let mut guide = Walkthrough::with_progress(loaded, Progress::in_memory());
        guide.use_gate_breakpoints();
        assert!(guide.open(0));
        Player {
            file: chapter.file.clone(),
            guide,
            client: ActionClient::new(addr),
            sub,
            breakpoint: None,
            next_request: 1,
            pending_adds: HashMap::new(),
            met_at: HashMap::new(),
            timeout,
            paused_at_met: Vec::new(),
            continued: None,
            actions_sent: 0,
        }
    }

    fn control(&mut self, control: Control) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        self.sub.control(ControlRequest {
            id: Some(id),
            control,
        });
        id
    }

    /// Installs the breakpoint the guide wants now (removing the old one).
    fn sync_breakpoint(&mut self) {
        let wanted = self.guide.pause_breakpoint();
        if self.breakpoint.as_ref().map(|(on, _)| on) == wanted.as_ref() {
            return;
        }
        if let Some((_, Some(bp))) = self.breakpoint.take() {
            self.control(Control::BreakRemove { bp });
        }
        self.breakpoint = None;
        if let Some(on) = wanted {
            let id = self.control(Control::BreakAdd { on: on.clone() });
            self.pending_adds.insert(id, on.clone());
            self.breakpoint = Some((on, None));
        }
    }

    fn handle(&mut self, msg: &Message) {
        match msg {
            Message::Event(ev) => {
                if let StepOutcome::Met { step, .. } = self.guide.observe(msg) {
                    self.met_at.insert(step, ev.seq);
                }
                self.sync_breakpoint();
            }
            Message::Ack(ack) => {
                let added = ack.id.and_then(|id| self.pending_adds.remove(&id));
                if let (Some(on), Some(bp)) = (added, ack.breakpoint) {
                    match &mut self.breakpoint {
                        Some((wanted, id)) if *wanted == on => {
                            *id = Some(bp);
                            self.guide.breakpoint_installed(&on);
                        }
                        // Superseded before the gate answered: take it out again.
                        _ => {
                            self.control(Control::BreakRemove { bp });
                        }
                    }
                }
            }
            Message::Gate(g) if g.state == GateState::Paused => {
                let Some(at) = &g.at else { return };
                if self.continued == Some(at.seq) {
                    return;
                }
                if matches!(at.reason, StopReason::Breakpoint { .. }) {
                    let stopped = self
                        .met_at
                        .iter()
                        .find(|(_, seq)| **seq == at.seq)
                        .map(|(step, _)| *step);
                    if let Some(step) = stopped {
                        self.paused_at_met.push(step);
                    }
                }
                // The guide would leave the learner looking; the test goes on.
                self.continued = Some(at.seq);
                self.control(Control::Continue);
            }
            Message::Error(e) => panic!(
                "{}: the gate refused a control message: {}",
                self.file, e.error
            ),
            _ => {}
        }
    }

    /// Plays step `i`: sends its action, waits for its condition.
    fn play_step(&mut self, i: usize) -> Result<(), String> {
        assert!(self.guide.goto(i));
        let step = self.guide.current_step().cloned().expect("the step exists");
        self.sync_breakpoint();
        // Act only once the gate can stop where the step pauses, as a learner
        // reading the step would.
        let armed_by = Instant::now() + self.timeout;
        while !self.guide.pause_armed() && Instant::now() < armed_by {
            if let Ok(msg) = self.sub.recv_timeout(Some(Duration::from_millis(200))) {
                self.handle(&msg);
            }
        }
        if let Some(action) = &step.action {
            self.client.send(action).map_err(|e| {
                format!(
                    "step {} `{}`: cannot send `{action}`: {e}",
                    i + 1,
                    step.title
                )
            })?;
            self.actions_sent += 1;
        }
        let deadline = Instant::now() + self.timeout;
        while !step.wait.is_empty() && !self.guide.is_met(i) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
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
            match self.sub.recv_timeout(Some(left)) {
                Ok(msg) => self.handle(&msg),
                Err(_) => continue,
            }
        }
        if step.pause && !self.paused_at_met.contains(&i) {
            // The gate's stop may still be on its way: read until it arrives.
            let until = Instant::now() + self.timeout;
            while !self.paused_at_met.contains(&i) && Instant::now() < until {
                if let Ok(msg) = self.sub.recv_timeout(Some(Duration::from_millis(200))) {
                    self.handle(&msg);
                }
            }
            if !self.paused_at_met.contains(&i) {
                return Err(format!(
                    "{}:{}: step {} `{}` has `pause: yes`, but the loop did not stop at the event that met it",
                    self.file,
                    step.line,
                    i + 1,
                    step.title
                ));
            }
        }
        Ok(())
    }

    /// Every action answered, and no answer an error.
    fn check_replies(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + self.timeout;
        let mut answered = 0;
        while answered < self.actions_sent {
            // Keep the stream flowing: a stop at a breakpoint must be continued.
            while let Ok(msg) = self.sub.recv_timeout(Some(Duration::ZERO)) {
                self.handle(&msg);
            }
            match self.client.wait_event(Duration::from_millis(50)) {
                Some(ClientEvent::Replied { errors: 0, .. }) => answered += 1,
                Some(ClientEvent::Replied { action, first, .. }) => {
                    return Err(format!(
                        "{}: `{action}` got an error reply: {first}",
                        self.file
                    ));
                }
                Some(ClientEvent::Failed { client, error }) => {
                    return Err(format!("{}: client {client}: {error}", self.file));
                }
                None if Instant::now() > deadline => {
                    return Err(format!(
                        "{}: {} of {} actions answered",
                        self.file, answered, self.actions_sent
                    ));
                }
                None => {}
            }
        }
        Ok(())
    }
}

fn play(chapter: &Chapter) -> Result<(), String> {
    let mut player = Player::new(chapter, STEP_TIMEOUT);
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

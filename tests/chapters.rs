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
//! A failure names the chapter file, the step and the condition that was not
//! met, and how far its sequence got. `CHAPTER_ONLY=06-` plays only the
//! chapters whose file name contains that text.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use loopscope::server::{self, Config};
use loopscope::trace::model::{Control, ControlRequest, Message};
use loopscope::trace::{self, Subscription};
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

/// A server on a free loopback port, its loop running on its own thread,
/// and a viewer subscribed to its trace.
fn start_server() -> (SocketAddr, Subscription) {
    let config = Config {
        port: 0,
        dir: aof_dir(),
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
    pauses: PauseDriver,
    client: ActionClient,
    sub: Subscription,
    /// Steps whose completing event the loop stood still at.
    held: Vec<usize>,
    /// How long one step may take.
    timeout: Duration,
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
        let pauses = PauseDriver::new(&mut guide);
        assert!(guide.open(0));
        Player {
            file: chapter.file.clone(),
            guide,
            pauses,
            client: ActionClient::new(addr),
            sub,
            held: Vec::new(),
            timeout,
            actions_sent: 0,
        }
    }

    fn send(&self, controls: Vec<ControlRequest>) {
        for c in controls {
            self.sub.control(c);
        }
    }

    fn handle(&mut self, msg: &Message) {
        if let Message::Error(e) = msg {
            panic!(
                "{}: the gate refused a control message: {}",
                self.file, e.error
            );
        }
        let handled = self.pauses.handle(&mut self.guide, msg);
        self.send(handled.controls);
        if let Some(step) = handled.holding {
            // The guide would leave the learner looking; the test goes on.
            self.held.push(step);
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
            if let Ok(msg) = self.sub.recv_timeout(Some(left)) {
                self.handle(&msg);
            }
        }
        true
    }

    /// Plays step `i`: sends its action, waits for its condition.
    fn play_step(&mut self, i: usize) -> Result<(), String> {
        assert!(self.guide.goto(i));
        let step = self.guide.current_step().cloned().expect("the step exists");
        let controls = self.pauses.sync(&self.guide);
        self.send(controls);
        // Act only once the gate can stop where the next pause is, as a
        // learner reading the step would.
        self.read_until(self.timeout, |p| {
            p.guide.pause_armed() && p.guide.watch_armed()
        });
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
                Some(ClientEvent::Connected { .. }) => {}
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
    let _ = std::fs::remove_dir_all(aof_dir());
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

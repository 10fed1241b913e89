//! The runner: a terminal, a feed of trace messages, and the loop between them.
//!
//! One thread does everything, in this order, again and again:
//!
//! 1. take every key that is waiting and act on it (keys come first, so they
//!    act within a few milliseconds however busy the loop is);
//! 2. send the control messages the keys produced, and the guide's (its
//!    breakpoints at the moments its steps wait for); hand a step's command
//!    to the built-in client's thread, and take the replies it got;
//! 3. draw, if anything changed and the last frame is not too recent;
//! 4. wait a short moment for trace messages, then apply *all* that arrived.
//!
//! Because step 4 applies a whole batch before the next draw, a busy server
//! never makes the UI draw stale intermediate states or fall further and
//! further behind: it draws only the latest state, at most [`MAX_FPS`] times
//! a second. It also takes at most one batch per frame and waits for keys in
//! between: the feed is lossy on the loop's side, so when the loop is busy,
//! what the UI does not take is dropped and counted (the header shows it)
//! instead of the UI eating the CPU the server needs. A batch with more than
//! [`MAX_EVENTS_PER_BATCH`] events is cut the same way: its newest events are
//! applied, the older ones are skipped and counted as dropped, and the next
//! snapshot (the loop sends one every second) repairs what they would have
//! changed.
//!
//! The terminal is set up with `ratatui::try_init`, which also installs a panic
//! hook that restores the terminal; a guard restores it on every other way
//! out, including SIGTERM, SIGINT and SIGHUP, which make the UI quit, and a
//! terminal that goes away (see [`super::lifetime`]: the keys come from a
//! thread of [`super::tty`], so step 1 never waits on the terminal itself).
//! Nothing is printed to the screen but the UI: diagnostics go to the log
//! file given in [`Options`].

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossterm::event::Event as TermEvent;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::backend::CrosstermBackend;

use super::code::RedisCheckout;
use super::control::Viewing;
use super::guide::Guide;
use super::keys::{Action, Key};
use super::lifetime::{self, End};
use super::sender::Sender;
use super::source::{Feed, TraceSource};
use super::state::{App, Status};
use super::theme::Theme;
use super::tty::{Tty, TtyInput};
use super::view;
use crate::trace::model::Message;
use crate::walkthrough::{Origin, Walkthrough};

/// How long the runner waits for trace messages before looking at the keys
/// again: the worst-case key latency, plus one batch.
const TICK: Duration = Duration::from_millis(15);

/// Bytes of the buffer a frame is drawn into before it goes to the terminal
/// in one write (a full 200x50 redraw with colours is well below this).
const FRAME_BUFFER: usize = 1 << 18;

/// Draws per second at most, while trace messages pour in.
pub const MAX_FPS: u32 = 30;

/// Probe events applied per batch at most (a few milliseconds of work).
/// Older events of a bigger batch are skipped like a drop: the state has a
/// gap, says so, and the loop's next periodic snapshot repairs it.
pub const MAX_EVENTS_PER_BATCH: usize = 512;

/// Messages the UI's feed holds before the loop drops events for it (the
/// in-process queue, and the attach and replay channels). Two batches: the
/// UI never applies more per frame, and every event waiting beyond that
/// would have been built (or sent and parsed) only to be skipped, with CPU
/// the server needs. A full feed makes the loop drop further events
/// before it builds them.
pub const FEED_CAPACITY: usize = 2 * MAX_EVENTS_PER_BATCH;

/// How the UI looks and where it reports.
pub struct Options {
    /// The terminal, if the caller looked for it already (the tour does,
    /// before its server starts); `None`: [`run`] looks for it once the
    /// source is open, so a bad recording or a wrong attach port is
    /// reported even where there is no terminal.
    pub tty: Option<Tty>,
    /// Use the ASCII glyphs even if the locale says UTF-8.
    pub ascii: bool,
    /// The standing hint in the status line (how to connect a client).
    pub hint: String,
    /// Where diagnostics go (never the screen).
    pub log: Option<Box<dyn Write + Send>>,
    /// Where that log is, for the `?` help.
    pub log_path: Option<std::path::PathBuf>,
    /// A Redis checkout (`--redis-src`): the source pane reads Redis's
    /// functions from it.
    pub redis_src: Option<std::path::PathBuf>,
    /// The guide's chapters: `None` for the built-in ones, or a folder
    /// (`--walkthrough DIR`).
    pub walkthrough: Option<std::path::PathBuf>,
    /// Forget the learner's progress first (`--reset-progress`).
    pub reset_progress: bool,
    /// Open the guide at once (the tour does, at the chapter to resume).
    pub guide_open: bool,
    /// Start in the projector preset (`--projector`; `V` toggles it).
    pub projector: bool,
    /// Follow the class's leader from the start (`attach --follow`; `F`
    /// toggles it).
    pub follow: bool,
    /// The host of the server a step's action goes to (its port comes from
    /// the stream); `None` when there is no server (a replay).
    pub server_host: Option<String>,
}

/// Runs the UI on the terminal until the user quits.
pub fn run(source: TraceSource, mut opts: Options) -> io::Result<()> {
    let label = source.label();
    let viewing = match &source {
        TraceSource::Attach(target) => Viewing::attached(target.handshake.read_only),
        TraceSource::Live(_) | TraceSource::Replay(_) => Viewing::alone(),
    };
    let recording = matches!(source, TraceSource::Replay(_));
    let feed = source.open().map_err(io::Error::other)?;
    let tty = match opts.tty.take() {
        Some(tty) => tty,
        None => Tty::open().map_err(io::Error::other)?,
    };
    // From here on a quit signal or a hang-up ends the UI (until now, their
    // default action ended the process at once). The watchdog must know the
    // terminal's settings from before raw mode, and watch before anything
    // can get stuck.
    lifetime::install_quit_signals();
    lifetime::Watchdog::spawn(lifetime::Saved::now(&tty))?;
    let mut app = App::new(
        Theme::from_env(opts.ascii),
        label,
        std::mem::take(&mut opts.hint),
    );
    app.recording = recording;
    app.code.redis = opts.redis_src.take().map(RedisCheckout::new);
    app.log_path = opts.log_path.take();
    app.viewing = viewing;
    app.projector = opts.projector;
    app.guide = Some(load_guide(&mut opts));
    if opts.guide_open {
        app.on_action(Action::Guide);
    }
    if opts.follow
        && let Some(g) = app.guide.as_mut()
    {
        // The stream has not begun: whom to follow comes with it.
        g.set_following(true);
        g.set_open(true);
        app.focus = super::panes::Pane::Guide;
    }
    // try_init sets the terminal up (raw mode, the alternate screen, a panic
    // hook that restores it); we draw through our own buffered backend, so
    // each frame reaches the terminal in one write instead of in the 1 KiB
    // pieces stdout's line buffer sends: no half-drawn frame is ever shown.
    drop(ratatui::try_init()?);
    let _restore = Restore;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::BufWriter::with_capacity(
        FRAME_BUFFER,
        io::stdout(),
    )))?;
    let mut input = TtyInput::spawn(&tty)?;
    // Alternate scroll mode: in the alternate screen, the terminal turns the
    // mouse wheel into up/down keys. The mouse itself is never captured, so
    // selecting and copying text works as in any other program.
    let _ = io::stdout().write_all(b"\x1b[?1007h");
    let _ = io::stdout().flush();
    drive(&mut terminal, app, feed, &mut input, opts.log).map(drop)
}

/// The chapters, with the learner's progress; what could not be read is
/// logged (the guide pane says how many files that was).
fn load_guide(opts: &mut Options) -> Guide {
    let origin = opts
        .walkthrough
        .take()
        .map_or(Origin::Embedded, Origin::Dir);
    let mut walk = Walkthrough::load(&origin);
    for d in walk.diagnostics() {
        note(&mut opts.log, &d.to_string());
    }
    if opts.reset_progress
        && let Err(e) = walk.reset_progress()
    {
        note(&mut opts.log, &format!("cannot reset progress: {e}"));
    }
    Guide::new(walk, opts.server_host.take())
}

/// Restores the terminal when dropped: on return, on error, and while a
/// panic unwinds (ratatui's panic hook restores it too, before the message).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = io::stdout().write_all(b"\x1b[?1007l");
        let _ = io::stdout().flush();
        ratatui::restore();
    }
}

/// Where terminal events come from (the real terminal, or a test's script).
pub trait Input {
    /// The next event, waiting at most `timeout`.
    fn next(&mut self, timeout: Duration) -> io::Result<Option<TermEvent>>;
}

/// The loop of the module doc, on any backend. Returns the final state.
pub fn drive<B: Backend>(
    terminal: &mut Terminal<B>,
    mut app: App,
    mut feed: Box<dyn Feed>,
    input: &mut dyn Input,
    mut log: Option<Box<dyn Write + Send>>,
) -> io::Result<App>
where
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let frame_time = Duration::from_secs(1) / MAX_FPS;
    let mut batch: Vec<Message> = Vec::new();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut live = true;
    let mut last_batch: Option<Instant> = None;
    let mut client: Option<Sender> = None;
    loop {
        while let Some(ev) = input.next(Duration::ZERO)? {
            dirty |= on_terminal_event(&mut app, &ev);
        }
        for control in std::mem::take(&mut app.outbox) {
            if let Err(e) = feed.send(control) {
                app.status = Some(Status::Error(e));
            }
        }
        app.publish_guide();
        if let Some(g) = app.guide.as_mut() {
            for req in std::mem::take(&mut g.requests) {
                // The guide learns of a refusal from the stream; a dead
                // feed shows in the status line already.
                let _ = feed.send_request(req);
            }
            dirty |= client_jobs(g, &mut client, &mut log);
        }
        while let Some(ev) = client.as_ref().and_then(Sender::try_reply) {
            app.on_client_event(&ev);
            dirty = true;
        }
        if app.quit {
            return Ok(app);
        }
        match lifetime::ending() {
            Some(End::Quit) => return Ok(app),
            Some(End::Hangup) => {
                note(&mut log, "the terminal went away: quitting");
                return Err(io::Error::other("the terminal went away"));
            }
            None => {}
        }
        let due = last_draw.is_none_or(|t| t.elapsed() >= frame_time);
        if dirty && due {
            terminal
                .draw(|f| view::draw(f, &app))
                .map_err(io::Error::other)?;
            dirty = false;
            last_draw = Some(Instant::now());
        }
        // Take at most one batch per frame: when the loop is busy, what the UI
        // does not take is dropped (and counted) by the loop, rather than the
        // UI spending a whole core to keep up and taking it from the server.
        // Keys still act at once.
        let rest = match last_batch {
            Some(t) => frame_time.saturating_sub(t.elapsed()),
            None => Duration::ZERO,
        };
        if live
            && !rest.is_zero()
            && let Some(ev) = input.next(rest)?
        {
            dirty |= on_terminal_event(&mut app, &ev);
            continue;
        }
        if live {
            last_batch = None;
            if let Err(why) = feed.wait(TICK, &mut batch) {
                note(&mut log, &why);
                app.on_source_end(why);
                live = false;
                dirty = true;
            }
            if !batch.is_empty() {
                last_batch = Some(Instant::now());
            }
            let link = feed.link();
            if link != app.link {
                app.link = link;
                dirty = true;
            }
            let events = batch
                .iter()
                .filter(|m| matches!(m, Message::Event(_)))
                .count();
            let mut skip = events.saturating_sub(MAX_EVENTS_PER_BATCH);
            for m in batch.drain(..) {
                match &m {
                    Message::Event(_) if skip > 0 => {
                        skip -= 1;
                        app.on_skipped(&m);
                        continue;
                    }
                    Message::Error(e) => note(&mut log, &e.error),
                    _ => {}
                }
                app.on_message(m);
                dirty = true;
            }
        } else if let Some(ev) = input.next(TICK)? {
            dirty |= on_terminal_event(&mut app, &ev);
        }
    }
}

/// Hands the guide's jobs to the client thread, started on first use.
/// True if there were any.
fn client_jobs(
    g: &mut Guide,
    client: &mut Option<Sender>,
    log: &mut Option<Box<dyn Write + Send>>,
) -> bool {
    let jobs = std::mem::take(&mut g.jobs);
    if jobs.is_empty() {
        return false;
    }
    if client.is_none() {
        match Sender::spawn() {
            Ok(s) => *client = Some(s),
            Err(e) => {
                note(log, &format!("cannot start the guide's client: {e}"));
                g.last_reply = Some(format!("cannot start the client: {e}"));
                return true;
            }
        }
    }
    if let Some(c) = client.as_ref() {
        for job in jobs {
            c.push(job);
        }
    }
    true
}

/// Acts on one terminal event; true if the screen must be redrawn.
fn on_terminal_event(app: &mut App, ev: &TermEvent) -> bool {
    match ev {
        TermEvent::Key(k) => match Key::from_event(k) {
            Some(key) => {
                app.on_key(key);
                true
            }
            None => false,
        },
        TermEvent::Resize(..) => true,
        _ => false,
    }
}

fn note(log: &mut Option<Box<dyn Write + Send>>, line: &str) {
    if let Some(w) = log.as_mut() {
        let _ = writeln!(w, "loopscope ui: {line}");
        let _ = w.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::trace::model::{Control, ControlRequest, StepUnit};
    use crate::tui::testkit::Script;

    /// A loop that never stops producing iterations, recording the controls it gets.
    struct Flood {
        script: Script,
        sent: Arc<Mutex<Vec<Control>>>,
        end_after: Option<usize>,
    }

    impl Feed for Flood {
        fn wait(&mut self, _: Duration, out: &mut Vec<Message>) -> Result<(), String> {
            if let Some(n) = self.end_after.as_mut() {
                if *n == 0 {
                    return Err("the loop stopped".into());
                }
                *n -= 1;
            }
            for _ in 0..200 {
                self.script.idle();
            }
            out.append(&mut self.script.out);
            Ok(())
        }

        fn send_request(&mut self, request: ControlRequest) -> Result<(), String> {
            self.sent
                .lock()
                .map_err(|e| e.to_string())?
                .push(request.control);
            Ok(())
        }
    }

    fn key(c: char) -> TermEvent {
        TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    /// Plays `keys` one per call, each after `gap` empty polls, then nothing.
    fn scripted(keys: Vec<TermEvent>, gap: usize) -> impl Input {
        let mut polls = 0usize;
        let mut keys = keys.into_iter();
        move |_: Duration| -> io::Result<Option<TermEvent>> {
            polls += 1;
            Ok(if polls.is_multiple_of(gap + 1) {
                keys.next()
            } else {
                None
            })
        }
    }

    impl<F: FnMut(Duration) -> io::Result<Option<TermEvent>>> Input for F {
        fn next(&mut self, timeout: Duration) -> io::Result<Option<TermEvent>> {
            self(timeout)
        }
    }

    fn app() -> App {
        App::new(Theme::new(false, true), "test", "hint")
    }

    #[test]
    fn keys_act_while_the_stream_never_runs_dry() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let feed = Flood {
            script: Script::start(),
            sent: sent.clone(),
            end_after: None,
        };
        let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        let mut input = scripted(vec![key('n'), key('P'), key('q')], 3);
        drive(&mut term, app(), Box::new(feed), &mut input, None).expect("drive");
        let sent = sent.lock().expect("lock").clone();
        assert_eq!(
            sent,
            [
                Control::Step {
                    unit: StepUnit::Probe
                },
                Control::Play { interval_ms: 250 }
            ]
        );
    }

    #[test]
    fn the_end_of_the_stream_is_shown_and_the_ui_stays() {
        let feed = Flood {
            script: Script::start(),
            sent: Arc::default(),
            end_after: Some(2),
        };
        let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        // Wait long enough for the end, then travel back in history and quit.
        let mut input = scripted(vec![key('['), key('q')], 20);
        let app = drive(&mut term, app(), Box::new(feed), &mut input, None).expect("drive");
        assert_eq!(app.ended.as_deref(), Some("the loop stopped"));
        // Each batch had 1,800 events (200 idle iterations of 9): only the
        // newest of each were applied, the rest count as lost, and the state
        // still reached the end.
        assert_eq!(app.gaps, 2 * (1800 - MAX_EVENTS_PER_BATCH as u64));
        assert_eq!(app.live_frame().map(|f| f.snap.iter), Some(400));
        term.draw(|f| view::draw(f, &app)).expect("draw");
        let screen = term.backend().to_string();
        assert!(screen.contains("VIEWING THE PAST"), "{screen}");
        assert!(
            screen.contains("iter 400") || screen.contains("iteration 400"),
            "{screen}"
        );
    }
}

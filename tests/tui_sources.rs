//! The UI's sources against a real server: attach to `serve --trace-port`,
//! and replay a file written by `serve --trace FILE`. These check that the
//! UI reads the stream the real loop writes, not only our hand-made one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loopscope::trace::model::{Control, GateState, Message, ProbeKind, StepUnit, short_bytes};
use loopscope::tui::source::Feed;
use loopscope::tui::state::App;
use loopscope::tui::theme::Theme;
use loopscope::tui::{AttachTarget, TraceSource};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// A `loopscope serve` child, killed when dropped.
struct Server(Child);

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_loopscope"))
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start loopscope serve");
        // The server says when it is ready on its log (stderr).
        let err = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(err).lines();
        let ready = lines.any(|l| l.is_ok_and(|l| l.contains("ready to accept")));
        assert!(ready, "the server never said it was ready");
        std::thread::spawn(move || lines.for_each(drop));
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ping(port: u16) -> Vec<u8> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.write_all(b"PING\r\n").expect("ping");
    // One line of reply, however the bytes arrive.
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    while !reply.ends_with(b"\r\n") {
        let n = c.read(&mut buf).expect("reply");
        assert!(n > 0, "connection closed before the reply ended");
        reply.extend_from_slice(&buf[..n]);
    }
    reply
}

/// Feeds `app` until `stop` holds for it.
fn feed_until(feed: &mut dyn Feed, app: &mut App, what: &str, stop: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stop(app) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        let mut batch = Vec::new();
        feed.wait(Duration::from_millis(20), &mut batch)
            .expect("stream open");
        for m in batch {
            app.on_message(m);
        }
    }
}

fn paused(app: &App) -> bool {
    app.gate
        .as_ref()
        .is_some_and(|g| g.state == GateState::Paused)
}

#[test]
fn attach_to_a_paused_server_and_step_it() {
    let (port, tport) = (free_port(), free_port());
    let _server = Server::start(&[
        "--port",
        &port.to_string(),
        "--trace-port",
        &tport.to_string(),
        "--start-paused",
    ]);
    let mut feed = TraceSource::Attach(AttachTarget::new(format!("127.0.0.1:{tport}")))
        .open()
        .expect("attach");
    let mut app = App::new(Theme::new(false, true), "attach", "");
    feed_until(feed.as_mut(), &mut app, "the first stop", |a| {
        paused(a) && a.live_frame().is_some()
    });
    let listener_fd = app
        .live_frame()
        .and_then(|f| f.snap.listeners.first().map(|l| l.fd))
        .expect("a listener in the snapshot");

    // A client pings; the paused loop cannot answer until we step it.
    let pinger = std::thread::spawn(move || ping(port));
    std::thread::sleep(Duration::from_millis(200));
    feed.send(Control::Step {
        unit: StepUnit::FileEvent,
    })
    .expect("step");
    feed_until(feed.as_mut(), &mut app, "the accept", |a| {
        paused(a)
            && a.live_frame()
                .and_then(|f| f.at.as_ref())
                .is_some_and(|e| e.data.kind() == ProbeKind::FileEvent)
    });
    assert_eq!(
        app.live_frame().and_then(|f| f.dispatching()),
        Some(listener_fd)
    );
    assert!(
        !pinger.is_finished(),
        "the client got an answer from a paused loop"
    );

    feed.send(Control::Continue).expect("continue");
    let reply = pinger.join().expect("pinger");
    feed_until(feed.as_mut(), &mut app, "the PING in the flow", |a| {
        first_command_is_ping(a)
    });
    // The client got exactly the reply the trace says the command queued.
    assert_eq!(
        app.commands.get(0).map(|c| c.reply.preview.clone()),
        Some(short_bytes(&reply))
    );
}

fn first_command_is_ping(app: &App) -> bool {
    app.commands.get(0).is_some_and(|c| {
        c.argv
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case("ping"))
    })
}

#[test]
fn replay_a_recorded_trace_to_its_end() {
    let port = free_port();
    let path: PathBuf = std::env::temp_dir().join(format!("loopscope-rec-{port}.jsonl"));
    let reply;
    {
        let _server = Server::start(&[
            "--port",
            &port.to_string(),
            "--trace",
            path.to_str().expect("utf-8 path"),
        ]);
        reply = ping(port);
        // Let an iteration or two pass so the writer catches up.
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut feed = TraceSource::Replay(path.clone()).open().expect("replay");
    let mut app = App::new(Theme::new(false, true), "replay", "");
    feed_until(feed.as_mut(), &mut app, "the start", paused);
    feed.send(Control::Continue).expect("continue");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the replay never ended");
        let mut batch = Vec::new();
        if let Err(why) = feed.wait(Duration::from_millis(50), &mut batch) {
            assert!(why.contains("end of the recording"), "{why}");
            break;
        }
        for m in batch {
            assert!(
                !matches!(m, Message::Error(_)),
                "the recording has a bad line: {m:?}"
            );
            app.on_message(m);
        }
    }
    assert!(first_command_is_ping(&app));
    assert_eq!(
        app.commands.get(0).map(|c| c.reply.preview.clone()),
        Some(short_bytes(&reply))
    );
    assert!(app.history().iterations() > 0);
    let _ = std::fs::remove_file(path);
}

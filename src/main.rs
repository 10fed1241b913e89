//! The `loopscope` command line.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use loopscope::server::{self, Config, log};

#[derive(Parser)]
#[command(name = "loopscope", version, about = "Watch a Redis-style event loop think", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    ui: UiArgs,
    #[command(flatten)]
    class: AttachPortArgs,
}

#[derive(Subcommand)]
enum Command {
    /// The default: run the server and watch its loop in the terminal UI,
    /// paused before the first iteration.
    Tour(TourArgs),
    /// Open the terminal UI on a running `loopscope serve --trace-port`.
    Attach(AttachArgs),
    /// Open the terminal UI on a recorded trace (`serve --trace FILE`) and
    /// step forward and back through it.
    Replay(ReplayArgs),
    /// Run the server headless: connect redis-cli or redis-benchmark to it.
    Serve(ServeArgs),
    /// Print the code behind an anchor, with its Redis counterpart.
    Source(SourceArgs),
    /// List the guided chapters with your progress, or check chapter files.
    Chapters(ChaptersArgs),
}

#[derive(Args)]
struct ChaptersArgs {
    /// Validate every chapter file (metadata, anchors, wait-conditions,
    /// actions against the command table) and exit non-zero on any problem.
    #[arg(long)]
    check: bool,
    /// Print chapter N (1-based) as plain text.
    #[arg(long, value_name = "N")]
    show: Option<usize>,
    /// Forget which steps you have done.
    #[arg(long)]
    reset_progress: bool,
    /// Read the chapters from this folder instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    walkthrough: Option<std::path::PathBuf>,
}

fn chapters(args: ChaptersArgs) -> ExitCode {
    use loopscope::walkthrough::{self, Origin};
    let origin = args.walkthrough.map_or(Origin::Embedded, Origin::Dir);
    if args.check {
        let loaded = walkthrough::load::load_for_check(&origin);
        let mut problems = loaded.diagnostics;
        problems.extend(walkthrough::check::check(&loaded.chapters));
        for p in &problems {
            eprintln!("{p}");
        }
        if problems.is_empty() {
            println!("{} chapters, all fine", loaded.chapters.len());
            return ExitCode::SUCCESS;
        }
        eprintln!("{} problem(s)", problems.len());
        return ExitCode::FAILURE;
    }
    let mut guide = walkthrough::Walkthrough::load(&origin);
    for d in guide.diagnostics() {
        eprintln!("loopscope: {d}");
    }
    if let Some(w) = guide.progress().warning() {
        eprintln!("loopscope: {w}");
    }
    if args.reset_progress {
        if let Err(e) = guide.reset_progress() {
            eprintln!("loopscope: cannot reset progress: {e}");
            return ExitCode::FAILURE;
        }
        println!("Progress forgotten.");
    }
    if let Some(n) = args.show {
        return match guide.chapters().get(n.wrapping_sub(1)) {
            Some(c) => {
                print!(
                    "{}",
                    walkthrough::render_chapter(n, c, server::DEFAULT_PORT)
                );
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "loopscope: there is no chapter {n} (there are {})",
                    guide.chapters().len()
                );
                ExitCode::FAILURE
            }
        };
    }
    print!("{}", walkthrough::chapter_list(&guide));
    ExitCode::SUCCESS
}

#[derive(Args)]
struct SourceArgs {
    /// The anchor to show, e.g. `ae.poll`.
    #[arg(required_unless_present = "list")]
    anchor: Option<String>,
    /// List every anchor with its place in our code and the Redis function it mirrors.
    #[arg(long)]
    list: bool,
    /// A Redis checkout (the directory holding `src/`): also print the Redis function itself.
    #[arg(long, value_name = "DIR", value_parser = parse_redis_src)]
    redis_src: Option<std::path::PathBuf>,
}

fn source(args: SourceArgs) -> ExitCode {
    if args.list {
        print!("{}", loopscope::source::list_anchors());
        return ExitCode::SUCCESS;
    }
    let name = args.anchor.unwrap_or_default();
    let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    match loopscope::source::describe_anchor(&name, args.redis_src.as_deref(), color) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loopscope: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A `--redis-src` folder: the checkout, also when given as its `src/`.
fn parse_redis_src(value: &str) -> Result<std::path::PathBuf, String> {
    loopscope::source::redis::checkout_root(std::path::Path::new(value))
}

/// Where and how the embedded server listens.
#[derive(Args, Clone, Debug)]
struct ServerArgs {
    /// TCP port to listen on.
    #[arg(long, default_value_t = server::DEFAULT_PORT)]
    port: u16,
    /// Address to bind. Keep the default (loopback) unless you mean to expose the server.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// How many times a second serverCron runs (1..=500), like Redis's `hz`.
    #[arg(long, default_value_t = server::CONFIG_DEFAULT_HZ, value_parser = clap::value_parser!(u32).range(1..=500))]
    hz: u32,
    /// Most clients connected at once; the loop's setsize is this plus 128, as in Redis.
    #[arg(long, default_value_t = server::CONFIG_DEFAULT_MAX_CLIENTS, value_parser = clap::value_parser!(u32).range(1..))]
    maxclients: u32,
    /// Password every client must give with AUTH (or HELLO … AUTH) before other commands.
    #[arg(long, value_name = "PASSWORD", default_value = "")]
    requirepass: String,
    /// With no password, refuse clients that do not connect over loopback, as Redis does.
    #[arg(long, value_name = "yes|no", default_value = "yes", value_parser = parse_yes_no, action = clap::ArgAction::Set)]
    protected_mode: bool,
    /// Keep an append-only file: every write is logged in `DIR/appendonlydir` and replayed at start-up, as Redis's `appendonly`.
    #[arg(long, value_name = "yes|no", default_value = "no", value_parser = parse_yes_no, action = clap::ArgAction::Set)]
    appendonly: bool,
    /// When the append-only file is fsynced: before every reply (`always`), once a second in the background (`everysec`), or never (`no`).
    #[arg(long, value_name = "always|everysec|no", default_value = "everysec", value_parser = parse_appendfsync)]
    appendfsync: server::aof::AppendFsync,
    /// The name the append-only file's parts start with (a name, not a path).
    #[arg(long, value_name = "NAME", default_value = server::aof::DEFAULT_APPENDFILENAME, value_parser = parse_appendfilename)]
    appendfilename: String,
    /// Working directory for persistence: the append-only file goes in `DIR/appendonlydir`. Default: the current directory for `serve`; loopscope's state directory (`$XDG_STATE_HOME/loopscope` or `~/.local/state/loopscope`) for the tour, so a chapter's AOF never lands where you happened to start it.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

/// Reads an `appendfsync` policy.
fn parse_appendfsync(value: &str) -> Result<server::aof::AppendFsync, String> {
    server::aof::AppendFsync::parse(value.as_bytes())
        .ok_or_else(|| "expected always, everysec or no".to_string())
}

/// Like Redis, `appendfilename` must be a bare file name.
fn parse_appendfilename(value: &str) -> Result<String, String> {
    if value.is_empty() || value.contains('/') || value.chars().any(char::is_whitespace) {
        Err("appendfilename must be a file name, without a path or spaces".to_string())
    } else {
        Ok(value.to_string())
    }
}

/// Reads a Redis-style boolean flag value.
fn parse_yes_no(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("expected yes or no".to_string()),
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    trace: TraceArgs,
}

impl ServerArgs {
    /// The server's configuration; `default_dir` is the persistence
    /// directory when `--dir` is not given.
    fn config(&self, default_dir: std::path::PathBuf) -> Config {
        Config {
            bind: self.bind.clone(),
            port: self.port,
            hz: self.hz,
            maxclients: self.maxclients,
            requirepass: self.requirepass.clone().into_bytes(),
            protected_mode: self.protected_mode,
            appendonly: self.appendonly,
            appendfsync: self.appendfsync,
            appendfilename: self.appendfilename.clone(),
            dir: self.dir.clone().unwrap_or(default_dir),
            ..Config::default()
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    // Flags are judged before anything is bound, so a mistake in them is
    // the error a user sees, whatever else is wrong.
    let attach = match attach_port(&args.trace.port, args.trace.trace_read_only) {
        Ok(attach) => attach,
        Err(e) => {
            eprintln!("loopscope: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut el, mut srv) = match server::init_server(args.server.config(".".into())) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("loopscope: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (file_sink, attach_server) = match start_tracing(&args.trace, attach, &mut el, &srv) {
        Ok(outputs) => outputs,
        Err(e) => {
            eprintln!("loopscope: {e}");
            return ExitCode::FAILURE;
        }
    };
    // As in Redis's main: the listener is live, the tracer sees the load
    // (whose loop iterations answer early clients), then the loop runs.
    log::notice(&format!(
        "loopscope {} initialized, listening on {}",
        env!("CARGO_PKG_VERSION"),
        srv.local_addr
    ));
    let loaded = server::load_data_from_disk(&mut el, &mut srv);
    if let Err(e) = &loaded {
        eprintln!("loopscope: {e}");
    } else if !srv.shutdown_requested {
        log::notice(&format!(
            "loopscope {} ready to accept connections on {} (try: redis-cli -p {})",
            env!("CARGO_PKG_VERSION"),
            srv.local_addr,
            srv.local_addr.port()
        ));
        el.main(&mut srv);
    }
    // Dropping the loop drops its tracer, which ends the stream: the file
    // sink writes what is still queued and returns.
    drop(el);
    if let Some(sink) = file_sink {
        let _ = sink.join();
    }
    if let Some(attached) = attach_server {
        attached.finish(std::time::Duration::from_secs(2));
    }
    if loaded.is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Source(args)) => source(args),
        Some(Command::Chapters(args)) => chapters(args),
        Some(Command::Tour(args)) => tour(args),
        Some(Command::Attach(args)) => attach(args),
        Some(Command::Replay(args)) => replay(args),
        None => tour(TourArgs {
            server: cli.server,
            ui: cli.ui,
            class: cli.class,
        }),
    }
}

// ---------------------------------------------------------------------------
// Tracing flags of `serve` (issue 3): where the trace stream goes, and the
// gate. See docs/trace-format.md for the format.
// ---------------------------------------------------------------------------

/// Where the trace stream goes, and whether the loop starts paused.
#[derive(Args, Clone, Debug, Default)]
struct TraceArgs {
    /// Write the trace as JSON lines to FILE, or to standard output with `-`.
    /// A writer that cannot keep up loses events (counted in the stream), it never slows the server.
    #[arg(long, value_name = "FILE|-")]
    trace: Option<String>,
    #[command(flatten)]
    port: AttachPortArgs,
    /// Viewers may watch but never control the loop (pause, step, breakpoints are refused).
    #[arg(long, requires = "trace_port", conflicts_with = "start_paused")]
    trace_read_only: bool,
    /// Pause the loop before its first iteration, until a viewer steps or continues it.
    #[arg(long, requires = "trace_port")]
    start_paused: bool,
}

/// The attach port's flags, shared by `serve` and the tour (where a class
/// attaches to follow the teacher).
#[derive(Args, Clone, Debug, Default)]
struct AttachPortArgs {
    /// Serve the trace on this TCP port: viewers read JSON lines (`nc 127.0.0.1 PORT` is enough).
    /// With serve they may send control lines, and the first to ask controls the loop; a tour's
    /// viewers only watch, and follow its guide (`loopscope attach HOST:PORT --follow`).
    #[arg(long, value_name = "PORT")]
    trace_port: Option<u16>,
    /// Address for --trace-port. Loopback by default: with serve, anyone who can connect can
    /// pause the server. Any other address needs --trace-token.
    #[arg(long, default_value = "127.0.0.1", requires = "trace_port")]
    trace_bind: String,
    /// Viewers must present this token (`loopscope attach --trace-token TOKEN`) before they see
    /// anything. Required when --trace-bind is not a loopback address.
    #[arg(long, value_name = "TOKEN", requires = "trace_port")]
    trace_token: Option<String>,
}

type SinkThread = std::thread::JoinHandle<std::io::Result<()>>;

/// Creates the tracer, installs it in the loop, and starts the transports the
/// flags ask for (`attach`: the attach port's address and its rules).
/// Returns the file sink's thread, to be joined at exit.
fn start_tracing(
    args: &TraceArgs,
    attach: Option<(String, loopscope::trace::admission::Policy)>,
    el: &mut loopscope::ae::EventLoop<server::Server>,
    srv: &server::Server,
) -> Result<
    (
        Option<SinkThread>,
        Option<loopscope::trace::attach::AttachServer>,
    ),
    String,
> {
    use loopscope::trace::{attach, sink};

    let handle = server::probes::install_tracer(el, srv, args.start_paused);
    let file_sink = match &args.trace {
        Some(path) => {
            let out = sink::open_output(path)
                .map_err(|e| format!("cannot open trace file {path}: {e}"))?;
            Some(
                sink::spawn_file_sink(&handle, out)
                    .map_err(|e| format!("cannot start the trace writer: {e}"))?,
            )
        }
        None => None,
    };
    let attach_server = match attach {
        Some((addr, policy)) => {
            let attached = attach::spawn_attach_server(handle, &addr, policy)
                .map_err(|e| format!("cannot listen for trace viewers on {addr}: {e}"))?;
            log::notice(&format!(
                "trace viewers can attach on {} (try: nc {} {})",
                attached.addr,
                attached.addr.ip(),
                attached.addr.port()
            ));
            Some(attached)
        }
        None => None,
    };
    Ok((file_sink, attach_server))
}

/// The attach port's address and the rules for its viewers, if the flags ask
/// for one.
fn attach_port(
    args: &AttachPortArgs,
    read_only: bool,
) -> Result<Option<(String, loopscope::trace::admission::Policy)>, String> {
    let Some(port) = args.trace_port else {
        return Ok(None);
    };
    let addr = format!("{}:{port}", args.trace_bind);
    let policy = attach_policy(args, read_only, &addr)?;
    Ok(Some((addr, policy)))
}

/// The rules for attach-port viewers (see `Policy::for_bind`); prints the
/// warning for a port reachable from other machines.
fn attach_policy(
    args: &AttachPortArgs,
    read_only: bool,
    addr: &str,
) -> Result<loopscope::trace::admission::Policy, String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<std::net::SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve --trace-bind {}: {e}", args.trace_bind))?
        .collect();
    let (policy, warning) =
        loopscope::trace::admission::Policy::for_bind(&addrs, args.trace_token.clone(), read_only)?;
    if let Some(w) = warning {
        eprintln!("loopscope: {w}");
    }
    Ok(policy)
}

// ---------------------------------------------------------------------------
// The terminal UI (issue 4): tour, attach and replay. Here, and only here, a
// server and the UI are wired together.
// ---------------------------------------------------------------------------

#[derive(Args, Clone, Debug, Default)]
struct UiArgs {
    /// Draw with ASCII characters only (chosen anyway when the locale is not
    /// UTF-8). Colours are off when NO_COLOR is set.
    #[arg(long)]
    ascii: bool,
    /// The log file (the screen belongs to the UI) [default: loopscope.log in
    /// the temporary directory]
    #[arg(long, value_name = "FILE")]
    log: Option<std::path::PathBuf>,
    /// A Redis checkout (the directory holding Redis's `src/`): the source
    /// pane shows the Redis function our code mirrors, read from there.
    #[arg(long, value_name = "DIR", value_parser = parse_redis_src)]
    redis_src: Option<std::path::PathBuf>,
    /// Read the guide's chapters from this folder instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    walkthrough: Option<std::path::PathBuf>,
    /// Forget which chapter steps you have done, then start.
    #[arg(long)]
    reset_progress: bool,
    /// Start in the projector preset: a few large panes with only their
    /// essential columns, readable from the back of a classroom (V toggles it).
    #[arg(long)]
    projector: bool,
}

/// What the guide needs to know about where it runs.
struct GuideSetup {
    /// Open the guide at once.
    open: bool,
    /// Follow the class's leader from the start.
    follow: bool,
    /// Where a step's command goes (the port comes from the stream).
    server_host: Option<String>,
}

#[derive(Args)]
struct TourArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    ui: UiArgs,
    /// A class attaches here to watch and follow the guide.
    #[command(flatten)]
    class: AttachPortArgs,
}

#[derive(Args)]
struct AttachArgs {
    /// The trace port to attach to.
    #[arg(default_value = "127.0.0.1:7380")]
    addr: String,
    /// The token the server was started with (`serve --trace-token`).
    #[arg(long, value_name = "TOKEN")]
    trace_token: Option<String>,
    /// Only watch: the server refuses this viewer's pause, step and breakpoints.
    #[arg(long)]
    read_only: bool,
    /// Follow the class: the guide shows the chapter and step of the viewer in control
    /// (a teacher's tour, or the viewer leading), with its ticks (F toggles it).
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    ui: UiArgs,
}

#[derive(Args)]
struct ReplayArgs {
    /// A trace written by `loopscope serve --trace FILE`.
    file: std::path::PathBuf,
    #[command(flatten)]
    ui: UiArgs,
}

/// An open log: where it is, and the file.
type Log = (std::path::PathBuf, std::fs::File);

/// Opens the log file in append mode: `--log FILE`, or one log per
/// instance, `NAME.log` in the state folder (`loopscope::state_dir`), or in
/// the temporary folder when that cannot be made.
fn open_log(ui: &UiArgs, name: &str) -> Result<Log, String> {
    let path = ui.log.clone().unwrap_or_else(|| {
        loopscope::state_dir::state_dir()
            .filter(|dir| std::fs::create_dir_all(dir).is_ok())
            .map_or_else(
                || std::env::temp_dir().join(format!("loopscope-{name}.log")),
                |dir| dir.join(format!("{name}.log")),
            )
    });
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map(|f| (path.clone(), f))
        .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))
}

/// The log, or `None` after saying why it cannot be opened.
fn log_or_say(ui: &UiArgs, name: &str) -> Option<Log> {
    open_log(ui, name)
        .map_err(|e| eprintln!("loopscope: {e}"))
        .ok()
}

/// `path` as a person would type it: `~/…` under the home folder.
fn shown(path: &std::path::Path) -> String {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .filter(|home| home.is_absolute())
        .and_then(|home| path.strip_prefix(home).ok().map(|rest| rest.display()))
        .map_or_else(|| path.display().to_string(), |rest| format!("~/{rest}"))
}

/// The terminal the tour's UI will run on, found before its server starts;
/// `None` after saying why there is none.
fn terminal() -> Option<loopscope::tui::Tty> {
    loopscope::tui::Tty::open()
        .map_err(|e| eprintln!("loopscope: {e}"))
        .ok()
}

/// Runs the UI on `source` and turns the outcome into an exit code. `tty`
/// is the terminal if it was looked for already (see `Options::tty`).
fn run_ui(
    tty: Option<loopscope::tui::Tty>,
    source: loopscope::tui::TraceSource,
    ui: &UiArgs,
    (log_path, log): Log,
    hint: String,
    guide: GuideSetup,
) -> ExitCode {
    let opts = loopscope::tui::Options {
        tty,
        ascii: ui.ascii,
        hint,
        log: Some(Box::new(log)),
        log_path: Some(log_path),
        redis_src: ui.redis_src.clone(),
        walkthrough: ui.walkthrough.clone(),
        reset_progress: ui.reset_progress,
        guide_open: guide.open,
        follow: guide.follow,
        projector: ui.projector,
        server_host: guide.server_host,
    };
    match loopscope::tui::run(source, opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln: it panics when the terminal that standard error
            // goes to has gone away, which is one of the ways to get here.
            let _ = writeln!(std::io::stderr(), "loopscope: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `loopscope` / `loopscope tour`: the server on a background thread, the UI
/// on this one, the loop paused before its first iteration.
fn tour(args: TourArgs) -> ExitCode {
    let Some(tty) = terminal() else {
        return ExitCode::FAILURE;
    };
    // A class watches and follows; only the tour's own UI moves its loop.
    let class = match attach_port(&args.class, true) {
        Ok(class) => class,
        Err(e) => {
            eprintln!("loopscope: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Named after the port, or the pid when the system picks the port.
    let name = match args.server.port {
        0 => format!("tour-pid-{}", std::process::id()),
        port => format!("tour-{port}"),
    };
    let Some((log_path, log_file)) = log_or_say(&args.ui, &name) else {
        return ExitCode::FAILURE;
    };
    if let Ok(f) = log_file.try_clone() {
        log::set_sink(Box::new(f));
    }
    let state_dir = loopscope::state_dir::state_dir();
    let config = args.server.config(state_dir.unwrap_or_else(|| ".".into()));
    let (tx, rx) = std::sync::mpsc::channel();
    // A load that fails does so with the tour already on screen: its reason
    // is said once the TUI has given the terminal back.
    let load_error = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let load_failed = std::sync::Arc::clone(&load_error);
    // The loop and the server are built on their own thread and never leave it.
    let started = std::thread::Builder::new()
        .name("event-loop".into())
        .spawn(move || match server::init_server(config) {
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
            }
            Ok((mut el, mut srv)) => {
                let handle = server::probes::install_tracer(&mut el, &srv, true);
                log::notice(&format!(
                    "loopscope {} tour: listening on {}",
                    env!("CARGO_PKG_VERSION"),
                    srv.local_addr
                ));
                if tx.send(Ok((handle, srv.local_addr))).is_ok() {
                    // Loaded with the tour watching, as in `serve`.
                    match server::load_data_from_disk(&mut el, &mut srv) {
                        Err(e) => {
                            log::warning(&format!("loopscope: {e}"));
                            if let Ok(mut slot) = load_failed.lock() {
                                *slot = Some(e.to_string());
                            }
                        }
                        Ok(()) if srv.shutdown_requested => {}
                        Ok(()) => el.main(&mut srv),
                    }
                }
            }
        });
    let (handle, addr) = match started.map_err(|e| e.to_string()).map(|_| rx.recv()) {
        Ok(Ok(Ok(pair))) => pair,
        Ok(Ok(Err(e))) | Err(e) => {
            eprintln!("loopscope: {e}");
            return ExitCode::FAILURE;
        }
        Ok(Err(_)) => {
            eprintln!(
                "loopscope: the event loop thread died at start (see {})",
                log_path.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let sub = handle.subscribe(loopscope::tui::FEED_CAPACITY);
    let class_hint = match class {
        Some((class_addr, policy)) => {
            match loopscope::trace::attach::spawn_attach_server(handle, &class_addr, policy) {
                Ok(attached) => {
                    let follow = format!("loopscope attach {} --follow", attached.addr);
                    log::notice(&format!("a class can follow this tour: {follow}"));
                    format!("   class: {follow}")
                }
                Err(e) => {
                    eprintln!("loopscope: cannot listen for a class on {class_addr}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => String::new(),
    };
    let hint = format!(
        // The keys are in the footer; the log's path comes last, and is
        // in the `?` help too, in case it does not fit.
        "in another terminal: redis-cli -p {}{class_hint}   (log: {})",
        addr.port(),
        shown(&log_path)
    );
    // A server bound to every address is reached on loopback.
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let code = run_ui(
        Some(tty),
        loopscope::tui::TraceSource::Live(sub),
        &args.ui,
        (log_path, log_file),
        hint,
        GuideSetup {
            open: true,
            follow: false,
            server_host: Some(host),
        },
    );
    if let Some(e) = load_error.lock().ok().and_then(|mut slot| slot.take()) {
        eprintln!("loopscope: {e}");
        return ExitCode::FAILURE;
    }
    code
}

fn attach(args: AttachArgs) -> ExitCode {
    let Some(log) = log_or_say(&args.ui, &format!("attach-{}", std::process::id())) else {
        return ExitCode::FAILURE;
    };
    let hint = format!("attached to {}   (log: {})", args.addr, shown(&log.0));
    // The server's host is the attach port's; its port comes in the stream.
    let host = args
        .addr
        .rsplit_once(':')
        .map_or(args.addr.as_str(), |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let target = loopscope::tui::AttachTarget {
        addr: args.addr.clone(),
        handshake: loopscope::trace::admission::Handshake {
            token: args.trace_token.clone(),
            read_only: args.read_only,
        },
    };
    run_ui(
        None,
        loopscope::tui::TraceSource::Attach(target),
        &args.ui,
        log,
        hint,
        GuideSetup {
            open: false,
            follow: args.follow,
            server_host: Some(host),
        },
    )
}

fn replay(args: ReplayArgs) -> ExitCode {
    let Some(log) = log_or_say(&args.ui, &format!("replay-{}", std::process::id())) else {
        return ExitCode::FAILURE;
    };
    let hint = format!(
        "replaying {}: [ goes back   (log: {})",
        args.file.display(),
        shown(&log.0)
    );
    run_ui(
        None,
        loopscope::tui::TraceSource::Replay(args.file.clone()),
        &args.ui,
        log,
        hint,
        GuideSetup {
            open: false,
            follow: false,
            server_host: None,
        },
    )
}

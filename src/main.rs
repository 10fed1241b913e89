//! The `loopscope` command line.

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
}

#[derive(Subcommand)]
enum Command {
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
        let loaded = walkthrough::load::load(&origin);
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
                print!("{}", walkthrough::render_chapter(n, c));
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
    #[arg(long, value_name = "DIR")]
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
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    trace: TraceArgs,
}

impl ServerArgs {
    fn config(&self) -> Config {
        Config {
            bind: self.bind.clone(),
            port: self.port,
            hz: self.hz,
            maxclients: self.maxclients,
            ..Config::default()
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let (mut el, mut srv) = match server::init_server(args.server.config()) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("loopscope: {e}");
            return ExitCode::FAILURE;
        }
    };
    let file_sink = match start_tracing(&args.trace, &mut el, &srv) {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("loopscope: {e}");
            return ExitCode::FAILURE;
        }
    };
    log::notice(&format!(
        "loopscope {} ready to accept connections on {} (try: redis-cli -p {})",
        env!("CARGO_PKG_VERSION"),
        srv.local_addr,
        srv.local_addr.port()
    ));
    el.main(&mut srv);
    // Dropping the loop drops its tracer, which ends the stream: the file
    // sink writes what is still queued and returns.
    drop(el);
    if let Some(sink) = file_sink {
        let _ = sink.join();
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Source(args)) => source(args),
        Some(Command::Chapters(args)) => chapters(args),
        None => serve(ServeArgs {
            server: cli.server,
            trace: TraceArgs::default(),
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
    /// Serve the trace on this TCP port: viewers read JSON lines and may send control lines
    /// (the first to ask controls the loop). `nc 127.0.0.1 PORT` is enough.
    #[arg(long, value_name = "PORT")]
    trace_port: Option<u16>,
    /// Address for --trace-port. Loopback by default: anyone who can connect can pause the server.
    #[arg(long, default_value = "127.0.0.1", requires = "trace_port")]
    trace_bind: String,
    /// Pause the loop before its first iteration, until a viewer steps or continues it.
    #[arg(long, requires = "trace_port")]
    start_paused: bool,
}

type SinkThread = std::thread::JoinHandle<std::io::Result<()>>;

/// Creates the tracer, installs it in the loop, and starts the transports the
/// flags ask for. Returns the file sink's thread, to be joined at exit.
fn start_tracing(
    args: &TraceArgs,
    el: &mut loopscope::ae::EventLoop<server::Server>,
    srv: &server::Server,
) -> Result<Option<SinkThread>, String> {
    use loopscope::trace::{attach, sink};

    let (mut tracer, handle) = loopscope::trace::tracer(args.start_paused);
    tracer.set_facts(server::probes::facts(srv, el.setsize));
    el.set_tracer(tracer);
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
    if let Some(port) = args.trace_port {
        let addr = format!("{}:{port}", args.trace_bind);
        let bound = attach::spawn_attach_server(handle, &addr)
            .map_err(|e| format!("cannot listen for trace viewers on {addr}: {e}"))?;
        log::notice(&format!(
            "trace viewers can attach on {bound} (try: nc {} {})",
            bound.ip(),
            bound.port()
        ));
    }
    Ok(file_sink)
}

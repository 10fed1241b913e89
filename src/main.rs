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
    log::notice(&format!(
        "loopscope {} ready to accept connections on {} (try: redis-cli -p {})",
        env!("CARGO_PKG_VERSION"),
        srv.local_addr,
        srv.local_addr.port()
    ));
    el.main(&mut srv);
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Source(args)) => source(args),
        None => serve(ServeArgs { server: cli.server }),
    }
}

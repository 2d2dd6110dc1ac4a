//! `tidings`: run a server node, administer it, chat from a terminal, and
//! benchmark it.
//!
//! May depend on: server, store-sqlite, sqlite-wal and store-postgres (the
//! baseline and `admin migrate`), sdk, proto, testkit (its signed API client, node
//! processes and temporary servers). Binaries use `anyhow` at the edge.

mod admin;
mod bench;
mod chat;
mod chat_messages;
mod chat_people;
mod migrate;
mod serve;

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: the hot paths allocate many small
/// buffers per message, and glibc consolidates its fast bins before every
/// allocation of 1 KiB or more.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tidings",
    version,
    about = "Self-hosted instant messaging: server, admin, terminal chat, benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a server node (defaults: SQLite in ./tidings-data, HTTP 127.0.0.1:9430, TCP 127.0.0.1:9431).
    Serve(Box<serve::ServeArgs>),
    /// Administer a running server: apps, accounts, bans.
    Admin(admin::AdminArgs),
    /// A terminal chat client on the SDK.
    Chat(chat::ChatArgs),
    /// Measure throughput and latency.
    Bench(bench::BenchArgs),
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Raises this process's soft limit of open files to its hard limit and
/// returns it. Every client connection takes a file descriptor (and a bench
/// client two: its socket and the server's), and the usual soft limit
/// (1,024 on Linux, 256 on macOS) would refuse devices far below
/// `max_connections`.
fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            eprintln!("tidings: could not raise the open-file limit: {e}");
            None
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let open_files = raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                init_logging("info");
                serve::run(*args, open_files).await
            }
            Command::Admin(args) => {
                init_logging("warn");
                admin::run(args).await
            }
            Command::Chat(args) => {
                init_logging("error");
                chat::run(args).await
            }
            Command::Bench(args) => {
                init_logging("error");
                bench::run(args).await
            }
        }
    })
}

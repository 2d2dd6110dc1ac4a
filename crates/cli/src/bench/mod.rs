//! `tidings bench`: throughput and latency of the whole path (SDK → socket →
//! gateway → service → durable store → bus → socket → SDK), beside the
//! limit of the box measured in the same run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand, ValueEnum};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::json;
use tidings_sdk::{Client, ClientConfig, Event, ServerAddress, SessionId};
use tidings_testkit::{ServerApi, TestServer};

mod connections;
mod events;
mod history;
mod matrix;
mod raw;
mod store;
mod sync;

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// N clients in pairs send M messages each to their partner.
    P2p(P2pArgs),
    /// The store alone (no sockets, no services) beside the bare table:
    /// where the gap between the two comes from.
    Store(store::StoreArgs),
    /// A device of an account with many sessions: the sync after login on
    /// a new device, and again with a cursor for every session.
    Sync(sync::SyncArgs),
    /// What an idle logged-in connection costs a node: its memory before
    /// and after N idle connections (TCP, then WebSocket), and how long
    /// they took to log in.
    Connections(connections::ConnectionsArgs),
    /// Account events appended per second by each store, beside its P2P
    /// message appends in the same run.
    Events(events::EventsArgs),
    /// Cloud history pages (p50, p99) from a conversation of a million
    /// messages, through a real server.
    History(history::HistoryArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Transport {
    Tcp,
    Ws,
}

/// Who sends: full SDK clients (each with its local database, as apps run
/// them) or raw protocol clients (no local work: the server's capacity).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ClientKind {
    Sdk,
    Raw,
}

#[derive(Args, Clone)]
struct P2pArgs {
    #[arg(long, value_enum, default_value_t = ClientKind::Sdk)]
    client: ClientKind,
    /// Number of clients (rounded up to an even number).
    #[arg(long, default_value_t = 20)]
    clients: usize,
    /// Messages each client sends.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Sends in flight per client (closed loop). Ignored with --rate.
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// Offered load in messages per second over all clients (open loop).
    #[arg(long)]
    rate: Option<u64>,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 32)]
    size: usize,
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    transport: Transport,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Target a running server (its HTTP address) instead of starting one.
    #[arg(long, requires_all = ["app_key", "app_secret", "gateway"])]
    server_http: Option<String>,
    /// The running server's gateway address (host:port, ws://...); several,
    /// comma-separated, spread the clients over the nodes of a cluster.
    #[arg(long)]
    gateway: Option<String>,
    #[arg(long)]
    app_key: Option<String>,
    #[arg(long)]
    app_secret: Option<String>,
    /// Run the same load against 1 node on SQLite, 1 node on PostgreSQL and
    /// 3 nodes on PostgreSQL + NATS (node processes), and print the ratios.
    /// Needs TIDINGS_BENCH_PG_URL and TIDINGS_BENCH_NATS_URL (or the TEST ones).
    #[arg(long)]
    matrix: bool,
    /// Skip the SQLite baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Where the SDK clients keep their databases (a new directory inside
    /// this one). Default: the system's temporary directory, usually the
    /// disk the server writes to, so the clients' writes and checkpoints
    /// compete with the server's commits. Another disk or a tmpfs models
    /// devices that each have their own storage.
    #[arg(long)]
    client_dir: Option<std::path::PathBuf>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.scenario {
        Scenario::P2p(p2p) if p2p.matrix => {
            let report = matrix::run(&p2p).await?;
            if p2p.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                matrix::print(&report);
            }
            Ok(())
        }
        Scenario::Store(args) => store::run(&args).await,
        Scenario::Sync(args) => sync::run(&args).await,
        Scenario::Events(args) => events::run(&args).await,
        Scenario::History(args) => history::run(&args).await,
        Scenario::Connections(args) => connections::run(&args).await,
        Scenario::P2p(p2p) => {
            let report = p2p_bench(&p2p).await?;
            if p2p.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_text(&report);
            }
            Ok(())
        }
    }
}

/// User + system CPU time of a process, in milliseconds (Linux /proc).
pub(crate) fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0) // USER_HZ is 100 on Linux
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn p2p_bench(args: &P2pArgs) -> anyhow::Result<serde_json::Value> {
    let clients_n = args.clients.max(2).div_ceil(2) * 2;
    let work = tempfile::tempdir()?;
    let local = match &args.server_http {
        Some(_) => None,
        None => Some(TestServer::start().await?),
    };
    let (api, gateways) = match &local {
        Some(server) => {
            let gateway = match args.transport {
                Transport::Tcp => ServerAddress::Tcp(server.tcp_addr.to_string()),
                Transport::Ws => ServerAddress::WebSocket(format!("ws://{}/ws", server.http_addr)),
            };
            (server.api(), vec![gateway])
        }
        None => {
            let http = args.server_http.as_deref().unwrap_or_default();
            let api = ServerApi::new(
                http,
                args.app_key.as_deref().unwrap_or_default(),
                args.app_secret.as_deref().unwrap_or_default(),
            );
            let gateways = args
                .gateway
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(ServerAddress::parse)
                .collect::<Result<Vec<_>, _>>()?;
            (api, gateways)
        }
    };
    let app_key = api.app_key.clone();
    let run_id = hex::encode(rand::random::<[u8; 3]>());

    // Accounts first: their writes are not part of the measurement.
    let mut accounts = Vec::with_capacity(clients_n);
    for i in 0..clients_n {
        let accid = format!("bench{run_id}-{i}");
        let answer = api
            .post("/nimserver/user/create.action", &[("accid", &accid)])
            .await?;
        let token = answer["info"]["token"]
            .as_str()
            .ok_or_else(|| anyhow!("create.action answered {answer}"))?
            .to_owned();
        accounts.push((accid, token));
    }
    let stats_before = local
        .as_ref()
        .and_then(|s| s.server())
        .map(|s| s.state().services.store.commit_stats());
    let text = "x".repeat(args.size);
    let run = Run {
        args,
        app_key: &app_key,
        accounts: &accounts,
        text: &text,
    };
    let cpu_before = cpu_ms(std::process::id());
    let Outcome {
        mut latencies,
        failures,
        delivered,
        acked_at,
        delivered_at,
    } = match args.client {
        ClientKind::Sdk => {
            let clients_dir = match &args.client_dir {
                Some(dir) => tempfile::tempdir_in(dir)
                    .with_context(|| format!("--client-dir {}", dir.display()))?,
                None => tempfile::tempdir()?,
            };
            drive_sdk(&run, &gateways, clients_dir.path()).await?
        }
        ClientKind::Raw => drive_raw(&run, &gateways).await?,
    };
    // This process: the clients, and the server too when it runs in-process.
    let cpu_used_ms = cpu_ms(std::process::id())
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    latencies.sort();
    let acked = latencies.len();
    let msgs_per_sec = acked as f64 / acked_at.as_secs_f64();

    let commit = match (stats_before, local.as_ref().and_then(|s| s.server())) {
        (Some(before), Some(server)) => {
            Some(server.state().services.store.commit_stats().since(&before))
        }
        _ => None,
    };
    let mean_batch = commit
        .map(|c| {
            if c.transactions == 0 {
                1.0
            } else {
                c.messages as f64 / c.transactions as f64
            }
        })
        .unwrap_or(64.0);

    if let Some(mut server) = local {
        server.shutdown().await;
    }

    let baseline = if args.no_baseline {
        None
    } else {
        // The best of three fresh files: the limit, not a noisy sample.
        let rows = acked.max(1);
        let batch = mean_batch.round().max(1.0) as usize;
        let mut best: f64 = 0.0;
        for attempt in 0..3 {
            let path = work.path().join(format!("baseline-{attempt}.db"));
            let text = text.clone();
            let rate = tokio::task::spawn_blocking(move || {
                store::sqlite_baseline(&path, rows, batch, &text)
            })
            .await??;
            best = best.max(rate);
        }
        // Our own store on a fresh file, the same rows and batch size, no
        // network: how much of the gap to the bare table is the store's
        // schema and how much the rest of the path.
        let mut best_store: f64 = 0.0;
        for attempt in 0..3 {
            let path = work.path().join(format!("store-baseline-{attempt}.db"));
            let rate = store::store_baseline(&path, rows, batch, &text, clients_n / 2).await?;
            best_store = best_store.max(rate);
        }
        Some((best, best_store))
    };

    let mut report = json!({
        "scenario": "p2p",
        "store": if args.server_http.is_some() { "external" } else { "sqlite" },
        "transport": if args.transport == Transport::Tcp { "tcp" } else { "websocket" },
        "client": if args.client == ClientKind::Sdk { "sdk" } else { "raw" },
        "clients": clients_n,
        "messages_per_client": args.messages,
        "window": if args.rate.is_some() { serde_json::Value::Null } else { json!(args.window) },
        "offered_rate": args.rate,
        "client_dir": args.client_dir.as_ref().map(|d| d.display().to_string()),
        "acked": acked,
        "failed": failures,
        "delivered": delivered,
        "seconds_to_last_ack": acked_at.as_secs_f64(),
        "msgs_per_sec": msgs_per_sec,
        "ack_latency_ms": {
            "p50": percentile(&latencies, 0.50),
            "p99": percentile(&latencies, 0.99),
            "max": percentile(&latencies, 1.0),
        },
        "deliveries_per_sec": delivered as f64 / delivered_at.as_secs_f64(),
        "store_transactions": commit.map(|c| c.transactions),
        // The server's group commits, the writer taking them to their durable commit:
        // the part of an ack's latency the store and its disk take.
        "store_commit_ms": commit.map(|c| json!({
            "mean": c.mean_commit().map(millis),
            "p50_at_most": c.commit_quantile_at_most(0.50).map(millis),
            "p99_at_most": c.commit_quantile_at_most(0.99).map(millis),
        })),
        "mean_messages_per_commit": mean_batch,
        "process_cpu_us_per_message": cpu_used_ms.map(|ms| ms * 1000.0 / acked.max(1) as f64),
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "os": std::env::consts::OS },
    });
    if let Some((rows_per_sec, store_rows_per_sec)) = baseline {
        report["baseline_rows_per_sec"] = json!(rows_per_sec);
        report["ratio_to_baseline"] = json!(msgs_per_sec / rows_per_sec);
        report["store_alone_msgs_per_sec"] = json!(store_rows_per_sec);
        report["ratio_to_store_alone"] = json!(msgs_per_sec / store_rows_per_sec);
    }
    Ok(report)
}

struct Run<'a> {
    args: &'a P2pArgs,
    app_key: &'a str,
    accounts: &'a [(String, String)],
    text: &'a str,
}

struct Outcome {
    latencies: Vec<Duration>,
    failures: usize,
    delivered: usize,
    acked_at: Duration,
    delivered_at: Duration,
}

/// Client `i` talks to client `i ^ 1`.
fn partner(accounts: &[(String, String)], i: usize) -> String {
    accounts[i ^ 1].0.clone()
}

async fn drive_sdk(
    run: &Run<'_>,
    gateways: &[ServerAddress],
    work: &Path,
) -> anyhow::Result<Outcome> {
    let args = run.args;
    let mut clients = Vec::with_capacity(run.accounts.len());
    for (i, (accid, token)) in run.accounts.iter().enumerate() {
        let mut config = ClientConfig::new(
            run.app_key,
            gateways[i % gateways.len()].clone(),
            work.join(format!("c{i}")),
        );
        config.request_timeout = Duration::from_secs(60);
        let client = Client::new(config)?;
        client
            .login()
            .login(accid, token)
            .await
            .with_context(|| format!("login of {accid}"))?;
        clients.push(client);
    }
    // Delivery counters, listening before anything is sent.
    let expected = args.messages;
    let mut deliveries = Vec::new();
    for client in &clients {
        let mut events = client.events();
        deliveries.push(tokio::spawn(async move {
            let mut got = 0usize;
            while got < expected {
                match events.recv().await {
                    Ok(Event::Received(batch)) => {
                        got += batch.iter().filter(|m| !m.is_outgoing).count()
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
            (got, Instant::now())
        }));
    }
    let started = Instant::now();
    let per_client_rate = args.rate.map(|r| r as f64 / clients.len() as f64);
    let mut senders = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let peer = partner(run.accounts, i);
        let (client, text, args) = (client.clone(), run.text.to_owned(), args.clone());
        senders.push(tokio::spawn(async move {
            send_all(client, peer, text, &args, per_client_rate).await
        }));
    }
    let mut latencies = Vec::with_capacity(clients.len() * args.messages);
    let mut failures = 0usize;
    for sender in senders {
        let (lat, failed) = sender.await?;
        latencies.extend(lat);
        failures += failed;
    }
    let acked_at = started.elapsed();
    let mut delivered = 0usize;
    let mut last_delivery = started;
    for d in deliveries {
        let (got, at) = tokio::time::timeout(Duration::from_secs(120), d)
            .await
            .context("deliveries")??;
        delivered += got;
        last_delivery = last_delivery.max(at);
    }
    for client in &clients {
        let _ = client.login().logout().await;
    }
    Ok(Outcome {
        latencies,
        failures,
        delivered,
        acked_at,
        delivered_at: last_delivery.duration_since(started),
    })
}

async fn drive_raw(run: &Run<'_>, gateways: &[ServerAddress]) -> anyhow::Result<Outcome> {
    let args = run.args;
    let mut peers = Vec::with_capacity(run.accounts.len());
    for (i, (accid, token)) in run.accounts.iter().enumerate() {
        let ServerAddress::Tcp(addr) = &gateways[i % gateways.len()] else {
            anyhow::bail!("raw clients speak TCP only; use --transport tcp");
        };
        peers.push(raw::RawPeer::login(addr, run.app_key, accid, token).await?);
    }
    let started = Instant::now();
    let per_client_rate = args.rate.map(|r| r as f64 / peers.len() as f64);
    let mut tasks = Vec::new();
    for (i, peer) in peers.into_iter().enumerate() {
        let plan = raw::Plan {
            to: partner(run.accounts, i),
            text: run.text.to_owned(),
            messages: args.messages,
            window: args.window,
            rate: per_client_rate,
        };
        tasks.push(tokio::spawn(peer.run(plan)));
    }
    let mut outcome = Outcome {
        latencies: Vec::new(),
        failures: 0,
        delivered: 0,
        acked_at: Duration::ZERO,
        delivered_at: Duration::ZERO,
    };
    for task in tasks {
        let done = tokio::time::timeout(Duration::from_secs(300), task)
            .await
            .context("raw client")???;
        outcome.latencies.extend(done.latencies);
        outcome.failures += done.failures;
        outcome.delivered += done.delivered;
        outcome.acked_at = outcome.acked_at.max(done.last_ack.duration_since(started));
        outcome.delivered_at = outcome
            .delivered_at
            .max(done.last_delivery.duration_since(started));
    }
    Ok(outcome)
}

/// Sends `messages` to `peer`, keeping `window` in flight, or at a fixed rate.
async fn send_all(
    client: Client,
    peer: String,
    text: String,
    args: &P2pArgs,
    rate: Option<f64>,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::with_capacity(args.messages);
    let mut failures = 0;
    let mut in_flight = FuturesUnordered::new();
    let session = SessionId::p2p(peer);
    let send = |client: Client, session: SessionId, text: String| async move {
        let start = Instant::now();
        let result = client.chat().send_text(session, &text).await;
        (start.elapsed(), result.is_ok())
    };
    let started = Instant::now();
    for i in 0..args.messages {
        match rate {
            Some(rate) => {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                // Collect finished sends while waiting for the next slot.
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep_until(due.into()) => break,
                        Some((lat, ok)) = in_flight.next(), if !in_flight.is_empty() => {
                            if ok { latencies.push(lat) } else { failures += 1 }
                        }
                    }
                }
            }
            None => {
                while in_flight.len() >= args.window.max(1) {
                    if let Some((lat, ok)) = in_flight.next().await {
                        if ok {
                            latencies.push(lat)
                        } else {
                            failures += 1
                        }
                    }
                }
            }
        }
        in_flight.push(send(client.clone(), session.clone(), text.clone()));
    }
    while let Some((lat, ok)) = in_flight.next().await {
        if ok {
            latencies.push(lat)
        } else {
            failures += 1
        }
    }
    (latencies, failures)
}

fn print_text(r: &serde_json::Value) {
    println!(
        "p2p: {} clients × {} messages over {}",
        r["clients"],
        r["messages_per_client"],
        r["transport"].as_str().unwrap_or("")
    );
    println!(
        "  acked        {} ({} failed) in {:.2} s",
        r["acked"],
        r["failed"],
        r["seconds_to_last_ack"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  throughput   {:.0} durable msgs/s",
        r["msgs_per_sec"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  ack latency  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        r["ack_latency_ms"]["p50"].as_f64().unwrap_or(0.0),
        r["ack_latency_ms"]["p99"].as_f64().unwrap_or(0.0),
        r["ack_latency_ms"]["max"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  deliveries   {} ({:.0}/s)",
        r["delivered"],
        r["deliveries_per_sec"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  group commit {:.1} messages per transaction",
        r["mean_messages_per_commit"].as_f64().unwrap_or(0.0)
    );
    let commit = &r["store_commit_ms"];
    if let Some(mean) = commit["mean"].as_f64() {
        let bound = |q: &str| match commit[q].as_f64() {
            Some(ms) => format!("≤ {ms} ms"),
            None => "over 1 s".into(),
        };
        println!(
            "  commit time  mean {mean:.2} ms  p50 {}  p99 {} (the server's group commits)",
            bound("p50_at_most"),
            bound("p99_at_most")
        );
    }
    if let Some(cpu) = r["process_cpu_us_per_message"].as_f64() {
        println!("  cpu          {cpu:.0} µs per message (this process, all threads)");
    }
    if let Some(base) = r["baseline_rows_per_sec"].as_f64() {
        println!(
            "  baseline     {:.0} rows/s (one writer, same settings and batch size; best of 3)",
            base
        );
        println!(
            "  ratio        {:.2}",
            r["ratio_to_baseline"].as_f64().unwrap_or(0.0)
        );
        println!(
            "  store alone  {:.0} msgs/s (SqliteStore, same rows and batch size, no network; ratio {:.2})",
            r["store_alone_msgs_per_sec"].as_f64().unwrap_or(0.0),
            r["ratio_to_store_alone"].as_f64().unwrap_or(0.0)
        );
    }
}

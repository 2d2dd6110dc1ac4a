//! `tidings bench history`: cloud history pages from a conversation of a
//! million messages, p50 and p99, through a real server over a real
//! socket (a protocol-level client, so that no device syncs the million
//! first). Pages start at random places: newest first from a sequence,
//! oldest first from a time, and newest first before a time.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use rand::Rng;
use serde_json::json;
use tidings_proto::{request, HistoryRequest};
use tidings_testkit::TestServer;

use super::raw::RawPeer;

#[derive(Args, Clone)]
pub struct HistoryArgs {
    /// Messages in the conversation.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Pages read of each kind.
    #[arg(long, default_value_t = 300)]
    pages: usize,
    /// Messages per page (1 to 100).
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Run the server on this PostgreSQL URL instead of SQLite.
    #[arg(long)]
    postgres: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

const BATCH: usize = 2_000;

pub async fn run(args: &HistoryArgs) -> anyhow::Result<()> {
    let database = match &args.postgres {
        Some(url) => Some(tidings_store_postgres::testing::TestDatabase::create(url).await?),
        None => None,
    };
    let store_url = database.as_ref().map(|db| db.url.clone());
    let server = TestServer::start_with(|config| {
        if let Some(url) = store_url {
            config.store = url;
        }
    })
    .await?;
    let token = server.create_account("ann").await?;
    server.create_account("bob").await?;
    let filled = Instant::now();
    let stamps = fill(&server, args.messages.max(1)).await?;
    let fill_seconds = filled.elapsed().as_secs_f64();

    let Some(running) = server.server() else {
        bail!("the server is stopped");
    };
    let mut peer = RawPeer::login(
        &running.tcp_addr().to_string(),
        &server.app_key,
        "ann",
        &token,
    )
    .await?;
    let total = stamps.len() as u64;
    let mut rng = rand::rng();
    let mut kinds = Vec::new();
    let mut seq = 1;
    for kind in [
        "newest_first_from_a_seq",
        "oldest_first_from_a_time",
        "newest_first_before_a_time",
    ] {
        let mut took = Vec::with_capacity(args.pages);
        let mut returned = 0;
        for _ in 0..args.pages.max(1) {
            let at = rng.random_range(1..=total);
            let time = stamps[(at - 1) as usize];
            let query = HistoryRequest {
                session_type: 0,
                session_id: "bob".into(),
                limit: args.limit,
                anchor_seq: if kind == "newest_first_from_a_seq" {
                    at
                } else {
                    0
                },
                ascending: kind == "oldest_first_from_a_time",
                start_time: if kind == "oldest_first_from_a_time" {
                    time
                } else {
                    0
                },
                end_time: if kind == "newest_first_before_a_time" {
                    time
                } else {
                    0
                },
                message_types: Vec::new(),
            };
            seq += 1;
            let started = Instant::now();
            let answer = peer.call(seq, request::Area::from(query)).await?;
            took.push(started.elapsed());
            if answer.code != 200 {
                bail!("history answered {} {}", answer.code, answer.message);
            }
            returned += answer.history_page().map_or(0, |page| page.messages.len());
        }
        took.sort();
        kinds.push(json!({
            "kind": kind,
            "pages": took.len(),
            "messages_returned": returned,
            "p50_ms": ms(percentile(&took, 0.50)),
            "p99_ms": ms(percentile(&took, 0.99)),
            "max_ms": ms(took.last().copied().unwrap_or_default()),
        }));
    }
    let report = json!({
        "scenario": "history",
        "store": if args.postgres.is_some() { "postgres" } else { "sqlite" },
        "conversation_messages": total,
        "fill_seconds": fill_seconds,
        "page_limit": args.limit,
        "pages": kinds,
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS },
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "cloud history of one conversation of {total} messages ({}), pages of {}",
            report["store"], args.limit
        );
        for kind in &kinds {
            println!(
                "  {:<28} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
                kind["kind"].as_str().unwrap_or_default(),
                kind["p50_ms"].as_f64().unwrap_or_default(),
                kind["p99_ms"].as_f64().unwrap_or_default(),
                kind["max_ms"].as_f64().unwrap_or_default()
            );
        }
    }
    drop(server);
    drop(database); // dropped with the guard
    Ok(())
}

/// Appends `count` messages between ann and bob, both ways, straight to
/// the store; answers each one's timestamp, in sequence order.
async fn fill(server: &TestServer, count: usize) -> anyhow::Result<Vec<i64>> {
    use tidings_store::NewMessage;
    let Some(running) = server.server() else {
        bail!("the server is stopped");
    };
    let store = running.state().services.store.clone();
    let conversation = tidings_store::p2p_conversation("ann", "bob");
    let mut stamps = Vec::with_capacity(count);
    for start in (0..count).step_by(BATCH) {
        let batch: Vec<NewMessage> = (start..(start + BATCH).min(count))
            .map(|i| {
                let (from, to) = if i % 2 == 0 {
                    ("ann", "bob")
                } else {
                    ("bob", "ann")
                };
                NewMessage {
                    app_key: server.app_key.clone(),
                    conversation: conversation.clone(),
                    members: tidings_store::Members::Pair,
                    client_id: format!("{i:032}"),
                    from: from.into(),
                    from_nick: String::new(),
                    from_client_type: 4,
                    to: to.into(),
                    session_type: 0,
                    message_type: 0,
                    text: format!("message {i} of the history bench"),
                    attachment: String::new(),
                    remote_ext: String::new(),
                    flags: tidings_store::flags::ALL,
                    apns_content: String::new(),
                    apns_payload: String::new(),
                }
            })
            .collect();
        for appended in store.append_messages(batch).await? {
            stamps.push(appended.stored.timestamp);
        }
        // Spread over time, so that time bounds fall between messages.
        if start % (BATCH * 10) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    store.flush().await?;
    Ok(stamps)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

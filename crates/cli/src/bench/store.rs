//! `tidings bench store`: `SqliteStore::append_messages` on a fresh file
//! beside the bare table, the same rows and batch size, in one run. Also
//! the two baselines `bench p2p` prints beside its own rate.

use std::path::Path;
use std::time::Instant;

use clap::Args;
use serde_json::json;

#[derive(Args, Clone)]
pub struct StoreArgs {
    /// Messages written by each attempt.
    #[arg(long, default_value_t = 100_000, value_parser = at_least_one)]
    messages: usize,
    /// Messages per group commit (one `append_messages` call).
    #[arg(long, default_value_t = 150, value_parser = at_least_one)]
    batch: usize,
    /// P2P conversations the messages are spread over, round robin.
    #[arg(long, default_value_t = 5, value_parser = at_least_one)]
    conversations: usize,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Fresh files per side; the best rate counts (the limit, not a noisy sample).
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    attempts: usize,
    /// Only the store (for instruction counts under valgrind).
    #[arg(long)]
    no_baseline: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// A count of 1 or more: with 0 messages there is no rate, and a batch of
/// 0 would never finish.
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

pub async fn run(args: &StoreArgs) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let text = "x".repeat(args.size);
    let (mut best_store, mut best_bare) = (0.0f64, 0.0f64);
    // Interleaved, so that a slow spell of the machine hits both sides.
    for attempt in 0..args.attempts.max(1) {
        let path = work.path().join(format!("store-{attempt}.db"));
        let rate =
            store_baseline(&path, args.messages, args.batch, &text, args.conversations).await?;
        best_store = best_store.max(rate);
        if !args.no_baseline {
            let path = work.path().join(format!("bare-{attempt}.db"));
            let (rows, batch, text) = (args.messages, args.batch, text.clone());
            let rate =
                tokio::task::spawn_blocking(move || sqlite_baseline(&path, rows, batch, &text))
                    .await??;
            best_bare = best_bare.max(rate);
        }
    }
    let report = json!({
        "scenario": "store",
        "messages": args.messages,
        "batch": args.batch,
        "conversations": args.conversations,
        "store_msgs_per_sec": best_store,
        "baseline_rows_per_sec": if args.no_baseline { serde_json::Value::Null } else { json!(best_bare) },
        "ratio_to_baseline": if args.no_baseline { serde_json::Value::Null } else { json!(best_store / best_bare) },
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "store: {} messages, {} a group commit, over {} conversations",
            args.messages, args.batch, args.conversations
        );
        println!(
            "  store alone  {best_store:.0} msgs/s (best of {})",
            args.attempts
        );
        if !args.no_baseline {
            println!("  bare table   {best_bare:.0} rows/s (one writer, same settings)");
            println!("  ratio        {:.2}", best_store / best_bare);
        }
    }
    Ok(())
}

/// The limit of the box: one writer inserting the same number of message
/// rows into a fresh SQLite file, WAL with synchronous=FULL, committing every
/// `batch` rows. Returns rows per second.
pub(super) fn sqlite_baseline(
    path: &Path,
    rows: usize,
    batch: usize,
    text: &str,
) -> anyhow::Result<f64> {
    // Exactly the store's writer: its VFS and settings (WAL,
    // synchronous=FULL, no inline checkpoints).
    let conn = tidings_sqlite_wal::open_writer(path)?;
    tidings_store_sqlite::configure_writer(&conn)?;
    conn.execute_batch(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, seq INTEGER NOT NULL, \
         client_id TEXT NOT NULL, from_accid TEXT NOT NULL, to_id TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)",
    )?;
    let started = Instant::now();
    let mut done = 0;
    while done < rows {
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (conversation, seq, client_id, from_accid, to_id, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for i in done..(done + batch).min(rows) {
                insert.execute(rusqlite::params![
                    format!("p2p:a{}|b{}", i % 16, i % 16),
                    i as i64,
                    format!("{i:032x}"),
                    "alice",
                    "bob",
                    text,
                    i as i64
                ])?;
            }
        }
        tx.commit()?;
        done = (done + batch).min(rows);
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// The store alone: `SqliteStore::append_messages` called by one caller,
/// `batch` messages a call (one group commit each), over `conversations`
/// P2P conversations, on a fresh file. Returns messages per second.
pub(super) async fn store_baseline(
    path: &Path,
    rows: usize,
    batch: usize,
    text: &str,
    conversations: usize,
) -> anyhow::Result<f64> {
    use tidings_store::prelude::*;
    use tidings_store::NewMessage;
    let store = tidings_store_sqlite::SqliteStore::open(path)?;
    let app_key = hex::encode(rand::random::<[u8; 16]>());
    let conversations = conversations.max(1);
    let message = |i: usize| {
        let pair = i % conversations;
        let (from, to) = (
            format!("bench-{}", 2 * pair),
            format!("bench-{}", 2 * pair + 1),
        );
        NewMessage {
            app_key: app_key.clone(),
            conversation: tidings_store::p2p_conversation(&from, &to),
            members: tidings_store::Members::Pair,
            client_id: format!("{:012x}{:020x}", i, rand::random::<u64>()),
            from,
            from_nick: String::new(),
            from_client_type: 1,
            to,
            session_type: 0,
            message_type: 0,
            text: text.to_owned(),
            attachment: String::new(),
            remote_ext: String::new(),
            flags: 0,
            apns_content: String::new(),
            apns_payload: String::new(),
        }
    };
    // Made before the clock starts: the store's time, not the formatting's.
    let batches: Vec<Vec<NewMessage>> = (0..rows)
        .step_by(batch.max(1))
        .map(|start| (start..(start + batch).min(rows)).map(message).collect())
        .collect();
    let started = Instant::now();
    for messages in batches {
        store.append_messages(messages).await?;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

//! `tidings bench events`: account events appended per second through the
//! store (each a change with its event, in its own transaction, many at a
//! time), beside P2P messages appended per second by the same store in the
//! same run. On SQLite, and on PostgreSQL with `--postgres`.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use futures_util::{stream, StreamExt};
use serde_json::json;
use tidings_store::{App, NewAccount, NewEvent, NewMessage, Recorded, RelationChange, Store, MUTE};

#[derive(Args, Clone)]
pub struct EventsArgs {
    /// Changes (one event each) per attempt.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Changes in flight at once (concurrent callers).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Accounts the events are spread over.
    #[arg(long, default_value_t = 100)]
    accounts: usize,
    /// Messages for the P2P rate beside it, in batches of 150.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Also on this PostgreSQL server (a database is created and dropped).
    #[arg(long)]
    postgres: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

const APP: &str = "bench";

pub async fn run(args: &EventsArgs) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let sqlite: Arc<dyn Store> = Arc::new(tidings_store_sqlite::SqliteStore::open(
        &work.path().join("events.db"),
    )?);
    let mut stores = vec![("sqlite", sqlite, None)];
    if let Some(url) = &args.postgres {
        let db = tidings_store_postgres::testing::TestDatabase::create(url).await?;
        let store: Arc<dyn Store> =
            Arc::new(tidings_store_postgres::PostgresStore::connect(&db.url).await?);
        stores.push(("postgres", store, Some(db)));
    }
    let mut results = Vec::new();
    for (name, store, _guard) in &stores {
        prepare(store.as_ref(), args.accounts.max(1)).await?;
        let events = events_per_sec(store.clone(), args).await?;
        let messages = messages_per_sec(store.clone(), args.messages.max(1)).await?;
        results.push(json!({
            "store": name,
            "events_per_sec": events,
            "p2p_messages_per_sec": messages,
        }));
    }
    let report = json!({
        "scenario": "events",
        "events": args.events,
        "concurrency": args.concurrency,
        "accounts": args.accounts,
        "results": results,
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS },
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for r in report["results"].as_array().into_iter().flatten() {
            println!(
                "{:<9} {:>8.0} events/s ({} at once)   beside {:>8.0} P2P msgs/s",
                r["store"].as_str().unwrap_or(""),
                r["events_per_sec"].as_f64().unwrap_or_default(),
                args.concurrency,
                r["p2p_messages_per_sec"].as_f64().unwrap_or_default()
            );
        }
    }
    Ok(())
}

async fn prepare(store: &dyn Store, accounts: usize) -> anyhow::Result<()> {
    store
        .create_app(App {
            app_key: APP.into(),
            app_secret: "secret".into(),
            name: APP.into(),
            created_at: 0,
        })
        .await?;
    for i in 0..accounts + 1 {
        store
            .create_account(NewAccount {
                app_key: APP.into(),
                accid: format!("a{i}"),
                name: String::new(),
                token: "t".into(),
                created_at: 0,
            })
            .await?;
    }
    Ok(())
}

/// Mute list changes: a row and an event of the owner's log each.
async fn events_per_sec(store: Arc<dyn Store>, args: &EventsArgs) -> anyhow::Result<f64> {
    let accounts = args.accounts.max(1);
    let started = Instant::now();
    let outcomes: Vec<_> = stream::iter(0..args.events.max(1))
        .map(|i| {
            let store = store.clone();
            async move {
                let owner = format!("a{}", i % accounts);
                let change = RelationChange::Special {
                    owner: owner.clone(),
                    target: format!("a{accounts}"),
                    relation: MUTE,
                    on: (i / accounts).is_multiple_of(2),
                };
                let record = Box::new(move |_: &tidings_store::ChangeFacts| Recorded {
                    events: vec![NewEvent {
                        accid: owner,
                        body: vec![0; 24],
                    }],
                    notifications: Vec::new(),
                });
                store.change_relation(APP, change, i as i64, record).await
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let took = started.elapsed().as_secs_f64();
    for outcome in outcomes {
        outcome?;
    }
    Ok(args.events.max(1) as f64 / took.max(1e-9))
}

async fn messages_per_sec(store: Arc<dyn Store>, messages: usize) -> anyhow::Result<f64> {
    let batch = 150;
    let started = Instant::now();
    let mut pending = Vec::new();
    for start in (0..messages).step_by(batch) {
        let rows: Vec<NewMessage> = (start..(start + batch).min(messages))
            .map(|i| {
                let (from, to) = (format!("a{}", i % 5), "a99".to_owned());
                NewMessage {
                    app_key: APP.into(),
                    conversation: tidings_store::p2p_conversation(&from, &to),
                    members: tidings_store::Members::Pair,
                    client_id: format!("{i:016}"),
                    from,
                    from_nick: String::new(),
                    from_client_type: 4,
                    to,
                    session_type: 0,
                    message_type: 0,
                    text: "x".repeat(32),
                    attachment: String::new(),
                    remote_ext: String::new(),
                    flags: tidings_store::flags::ALL,
                    apns_content: String::new(),
                    apns_payload: String::new(),
                }
            })
            .collect();
        let store = store.clone();
        pending.push(tokio::spawn(
            async move { store.append_messages(rows).await },
        ));
        if pending.len() >= 8 {
            pending.remove(0).await??;
        }
    }
    for p in pending {
        p.await??;
    }
    Ok(messages as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

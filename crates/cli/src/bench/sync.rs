//! `tidings bench sync`: how long a device of an account with many
//! sessions takes to sync after login. First a new device with no cursors,
//! then the same device again, with a cursor for every session (sent in
//! ranges of 1,000) and one new message in each.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;
use tidings_sdk::{Client, ClientConfig, Event, LoginStep};
use tidings_testkit::{TestServer, Transport};
use tokio::sync::broadcast::error::RecvError;

#[derive(Args, Clone)]
pub struct SyncArgs {
    /// Sessions of the account, one peer each (ids of 32 characters, the
    /// longest an account may have).
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Messages in each session before the first login.
    #[arg(long, default_value_t = 2)]
    messages: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

const HUB: &str = "hub";

pub async fn run(args: &SyncArgs) -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.create_account(HUB).await?;
    let peers: Vec<String> = (0..args.sessions.max(1))
        .map(|i| format!("{i:032}"))
        .collect();
    for round in 0..args.messages.max(1) {
        server
            .store_one_from_each(&peers, HUB, &format!("m{round}"))
            .await?;
    }
    let device = server.client_config(Transport::Tcp);
    let first = sync_after_login(&device, &token).await?;
    server.store_one_from_each(&peers, HUB, "again").await?;
    let again = sync_after_login(&device, &token).await?;
    let sessions = peers.len();
    let first_messages = sessions * args.messages.max(1);
    let report = json!({
        "scenario": "sync",
        "sessions": sessions,
        "cursor_ranges_at_resync": sessions.div_ceil(tidings_sdk::CURSORS_PER_SYNC),
        "first_login": phase(first_messages, first.0, first.1),
        "login_again": phase(sessions, again.0, again.1 - first.1),
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS },
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("sync after login, an account of {sessions} sessions");
        for (label, key) in [
            ("new device ", "first_login"),
            ("login again", "login_again"),
        ] {
            let p = &report[key];
            let number = |field: &str| p[field].as_f64().unwrap_or_default();
            println!(
                "  {label}  {} messages in {:.2} s ({:.0} msgs/s)",
                p["messages"],
                number("seconds"),
                number("msgs_per_sec")
            );
        }
    }
    Ok(())
}

fn phase(messages: usize, took: Duration, counted: u32) -> serde_json::Value {
    let seconds = took.as_secs_f64();
    json!({
        "messages": messages,
        "unread_counted": counted,
        "seconds": seconds,
        "msgs_per_sec": messages as f64 / seconds.max(1e-9),
    })
}

/// Logs the device in, waits for "synced" and logs out; the time from the
/// login call to "synced", and the account's total unread count then.
async fn sync_after_login(device: &ClientConfig, token: &str) -> anyhow::Result<(Duration, u32)> {
    let client = Client::new(device.clone())?;
    let mut events = client.events();
    let started = Instant::now();
    client.login().login(HUB, token).await?;
    let synced = tokio::time::timeout(Duration::from_secs(600), async {
        loop {
            match events.recv().await {
                Ok(Event::LoginStep(LoginStep::Synced)) => return Ok(()),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => bail!("the client stopped before it synced"),
            }
        }
    });
    synced.await.context("no sync within 10 minutes")??;
    let took = started.elapsed();
    let unread = client.conversation().total_unread_count().await?;
    client.login().logout().await?;
    Ok((took, unread))
}

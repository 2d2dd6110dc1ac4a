//! `tidings bench sync`: how long a device of an account with many
//! sessions takes to sync after login. First a new device with no cursors,
//! then the same device again, with a cursor for every session (sent in
//! ranges of 1,000) and one new message in each. With `--friends`,
//! `--blacklisted` or `--notifications` the account has relations too (its
//! new device reloads them), and the device logs in again after
//! `--new-events` events of its log.

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
    /// Friends of the account (added directly).
    #[arg(long, default_value_t = 0)]
    friends: usize,
    /// Accounts on its blacklist.
    #[arg(long, default_value_t = 0)]
    blacklisted: usize,
    /// System notifications it holds (friend requests from others).
    #[arg(long, default_value_t = 0)]
    notifications: usize,
    /// Events of its log between the two logins (with relations; mute
    /// list changes). Without relations, one new message per session.
    #[arg(long, default_value_t = 100)]
    new_events: usize,
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
    let with_relations = args.friends + args.blacklisted + args.notifications > 0;
    if with_relations {
        prepare_relations(&server, args).await?;
    }
    let device = server.client_config(Transport::Tcp);
    let first = sync_after_login(&device, &token).await?;
    let held = if with_relations {
        let held = held_relations(&device, &token).await?;
        new_events(&server, args.new_events).await?;
        Some(held)
    } else {
        server.store_one_from_each(&peers, HUB, "again").await?;
        None
    };
    let again = sync_after_login(&device, &token).await?;
    let sessions = peers.len();
    let first_messages = sessions * args.messages.max(1);
    if let Some(held) = held {
        let report = json!({
            "scenario": "sync",
            "sessions": sessions,
            "messages": first_messages,
            "friends": args.friends,
            "blacklisted": args.blacklisted,
            "notifications": args.notifications,
            "held_after_first_sync": held,
            "new_device_seconds": first.0.as_secs_f64(),
            "new_events": args.new_events,
            "login_again_seconds": again.0.as_secs_f64(),
            "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS },
        });
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "sync after login, an account of {sessions} sessions ({first_messages} messages), \
                 {} friends, {} blacklisted, {} notifications",
                args.friends, args.blacklisted, args.notifications
            );
            println!("  new device   synced in {:.3} s", first.0.as_secs_f64());
            println!(
                "  login again  {} new events, synced in {:.3} s",
                args.new_events,
                again.0.as_secs_f64()
            );
        }
        return Ok(());
    }
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
                "  {label}  {} messages ({} on the server) in {:.2} s ({:.0} msgs/s)",
                p["messages"],
                p["messages_on_server"],
                number("seconds"),
                number("msgs_per_sec")
            );
        }
    }
    Ok(())
}

/// A sync's figures. Every message is from a peer and counted, so the
/// unread count is what the device received: a new device gets only the
/// roaming window's share of what the server holds.
fn phase(on_server: usize, took: Duration, counted: u32) -> serde_json::Value {
    let seconds = took.as_secs_f64();
    json!({
        "messages": counted,
        "messages_on_server": on_server,
        "unread_counted": counted,
        "seconds": seconds,
        "msgs_per_sec": f64::from(counted) / seconds.max(1e-9),
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

/// Accounts for the hub's relations, each made with the events and
/// notifications the services make, many at a time (group commit).
async fn prepare_relations(server: &TestServer, args: &SyncArgs) -> anyhow::Result<()> {
    use futures_util::{stream, StreamExt, TryStreamExt};
    let state = server
        .server()
        .context("the server is stopped")?
        .state()
        .clone();
    let app = server.app_key.clone();
    let named = |prefix: &str, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i:06}")).collect()
    };
    let (friends, blocked, askers) = (
        named("f", args.friends),
        named("b", args.blacklisted),
        named("n", args.notifications),
    );
    let all: Vec<String> = friends
        .iter()
        .chain(&blocked)
        .chain(&askers)
        .cloned()
        .collect();
    stream::iter(all)
        .map(|accid| {
            let (state, app) = (state.clone(), app.clone());
            async move {
                state
                    .services
                    .accounts
                    .create(&app, &accid, &accid, None)
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .map_err(|e| anyhow::anyhow!("creating accounts: {e}"))?;
    let relations = &state.services.relations;
    let steps = friends
        .iter()
        .map(|f| (f.clone(), 0))
        .chain(blocked.iter().map(|b| (b.clone(), 1)))
        .chain(askers.iter().map(|n| (n.clone(), 2)));
    stream::iter(steps)
        .map(|(other, kind)| {
            let app = app.clone();
            async move {
                match kind {
                    0 => relations.friend(&app, HUB, &other, 1, "").await,
                    1 => relations.set_special(&app, HUB, &other, 1, true).await,
                    _ => relations.friend(&app, &other, HUB, 2, "hello").await,
                }
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .map_err(|e| anyhow::anyhow!("making relations: {e}"))?;
    Ok(())
}

/// `n` events of the hub's log: its mute list changes.
async fn new_events(server: &TestServer, n: usize) -> anyhow::Result<()> {
    let state = server
        .server()
        .context("the server is stopped")?
        .state()
        .clone();
    let app = server.app_key.clone();
    for i in 0..n {
        let other = format!("f{:06}", i / 2);
        state
            .services
            .relations
            .set_special(&app, HUB, &other, 2, i.is_multiple_of(2))
            .await
            .map_err(|e| anyhow::anyhow!("a mute list change: {e}"))?;
    }
    Ok(())
}

/// What the device holds once synced: the proof the sync brought it all.
async fn held_relations(device: &ClientConfig, token: &str) -> anyhow::Result<serde_json::Value> {
    let client = Client::new(device.clone())?;
    client.login().auto_login(HUB, token).await?;
    let held = json!({
        "friends": client.relation().my_friends().await?.len(),
        "blacklisted": client.relation().blacklist().await?.len(),
        "notifications": client.system_notification().fetch(100_000, None).await?.len(),
    });
    client.login().logout().await?;
    Ok(held)
}

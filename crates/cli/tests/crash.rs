//! Crash safety: the real `tidings` binary is killed with SIGKILL while
//! clients send, restarted on the same data directory, and every acked
//! message must be there exactly once; SDK resends after the restart must
//! not duplicate anything.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidings_sdk::{Client, ClientConfig, Event, ServerAddress, SessionId};
use tidings_testkit::{NodeProcess, ServerApi};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acked_message_and_duplicates_nothing() {
    tidings_testkit::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("server");
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_tidings"));
    let mut node = NodeProcess::start_fresh(binary, &data_dir, &[])
        .await
        .unwrap();
    let ports = (node.http, node.tcp);
    let (http, tcp) = ports;
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("secrets.json")).unwrap())
            .unwrap();
    let (key, secret) = (
        secrets["default_app_key"].as_str().unwrap(),
        secrets["default_app_secret"].as_str().unwrap(),
    );
    let api = ServerApi::new(&format!("http://127.0.0.1:{http}"), key, secret);

    // Three senders, three receivers.
    let mut clients = Vec::new();
    for i in 0..6 {
        let accid = format!("u{i}");
        let answer = api
            .post("/nimserver/user/create.action", &[("accid", &accid)])
            .await
            .unwrap();
        let token = answer["info"]["token"].as_str().unwrap().to_owned();
        let mut config = ClientConfig::new(
            key,
            ServerAddress::Tcp(format!("127.0.0.1:{tcp}")),
            dir.path().join(&accid),
        );
        config.reconnect_min = Duration::from_millis(50);
        config.reconnect_max = Duration::from_millis(300);
        config.request_timeout = Duration::from_secs(30);
        let client = Client::new(config).unwrap();
        client.login().login(&accid, &token).await.unwrap();
        clients.push(client);
    }
    // Every message each receiver is handed, across the restart.
    let received: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    for (i, client) in clients.iter().enumerate().skip(3) {
        let mut events = client.events();
        let received = received.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let Event::Received(batch) = event {
                    let mut map = received.lock().unwrap();
                    map.entry(i)
                        .or_default()
                        .extend(batch.iter().map(|m| m.message_id.clone()));
                }
            }
        });
    }

    // Senders: 200 messages each, 16 in flight; acks are recorded as they come.
    let acked: Arc<Mutex<HashSet<(String, String)>>> = Arc::default();
    let mut senders = Vec::new();
    for (s, client) in clients.iter().take(3).enumerate() {
        let client = client.clone();
        let acked = acked.clone();
        senders.push(tokio::spawn(async move {
            let peer = format!("u{}", s + 3);
            let mut sent = Vec::new();
            let mut in_flight = tokio::task::JoinSet::new();
            for n in 0..200 {
                while in_flight.len() >= 16 {
                    in_flight.join_next().await;
                }
                // Listen before sending, so a fast ack cannot pass unseen.
                let mut events = client.events();
                let message = client
                    .chat()
                    .enqueue(tidings_sdk::OutgoingMessage::text(
                        SessionId::p2p(&peer),
                        format!("{s}-{n}"),
                    ))
                    .await
                    .unwrap();
                sent.push(message.message_id.clone());
                let acked = acked.clone();
                let id = message.message_id.clone();
                in_flight.spawn(async move {
                    // Acks may come long after a restart.
                    if tidings_testkit::acked(&mut events, &id, Duration::from_secs(60)).await {
                        acked.lock().unwrap().insert((format!("u{s}"), id));
                    }
                });
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            while in_flight.join_next().await.is_some() {}
            sent
        }));
    }

    tokio::time::sleep(Duration::from_millis(250)).await;
    let acked_before_kill = acked.lock().unwrap().clone();
    node.kill().unwrap(); // SIGKILL
    assert!(
        !acked_before_kill.is_empty(),
        "the kill should land mid-load"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut node = NodeProcess::start(binary, &data_dir, ports, &[])
        .await
        .unwrap();

    let mut all_sent = Vec::new();
    for (s, sender) in senders.into_iter().enumerate() {
        for id in tokio::time::timeout(Duration::from_secs(90), sender)
            .await
            .unwrap()
            .unwrap()
        {
            all_sent.push((format!("u{s}"), id));
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(
        acked.len(),
        all_sent.len(),
        "every message is acked once the server is back"
    );
    // Receivers get each message exactly once.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let total: usize = received.lock().unwrap().values().map(Vec::len).sum();
        if total >= all_sent.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (i, ids) in received.lock().unwrap().iter() {
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "receiver u{i} got a message twice");
        assert_eq!(ids.len(), 200, "receiver u{i} got {} of 200", ids.len());
    }

    for client in &clients {
        client.login().logout().await.unwrap();
    }
    // Stop the server gracefully (SIGTERM) and read the database directly.
    node.stop();
    let db = rusqlite::Connection::open(data_dir.join("tidings.db")).unwrap();
    let mut stored: HashMap<(String, String), i64> = HashMap::new();
    let mut stmt = db
        .prepare(
            "SELECT from_accid, client_id, count(*) FROM messages GROUP BY from_accid, client_id",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (key, count) = row.unwrap();
        stored.insert(key, count);
    }
    for key in &acked_before_kill {
        assert_eq!(
            stored.get(key),
            Some(&1),
            "acked before the kill, then lost or doubled: {key:?}"
        );
    }
    assert_eq!(stored.len(), all_sent.len(), "no extra messages");
    assert!(stored.values().all(|&n| n == 1));
    // Sequences are gapless per conversation.
    let mut stmt = db
        .prepare("SELECT conversation, count(*), max(seq) FROM messages GROUP BY conversation")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (conversation, count, max) = row.unwrap();
        assert_eq!(count, max, "gap in {conversation}");
    }
}

//! Three `tidings serve` processes on one PostgreSQL and one NATS; clients
//! spread over them send while one node is killed with SIGKILL. Its clients
//! move to another node; nothing acked is lost and nothing is stored twice.
//! Skipped unless TIDINGS_TEST_PG_URL and TIDINGS_TEST_NATS_URL are set.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidings_sdk::{Client, ClientConfig, Event, OutgoingMessage, ServerAddress, SessionId};
use tidings_store::p2p_conversation;
use tidings_store::prelude::*;
use tidings_store_postgres::testing::TestDatabase;
use tidings_store_postgres::PostgresStore;
use tidings_testkit::{NodeProcess, ServerApi};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_one_of_three_nodes_mid_load() {
    tidings_testkit::init_tracing();
    let Some(nats) =
        tidings_store_postgres::testing::service_url("TIDINGS_TEST_NATS_URL", "cluster crash")
    else {
        return;
    };
    let Some(db) = TestDatabase::from_env("cluster crash").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("shared");
    let prefix = format!("t{}", std::process::id());
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_tidings"));
    let extra = ["--store", &db.url, "--bus", &nats, "--bus-prefix", &prefix];
    // The first node creates the default app and secrets; the others share them.
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(
            NodeProcess::start_fresh(binary, &data_dir, &extra)
                .await
                .unwrap(),
        );
    }
    let ports: Vec<(u16, u16)> = nodes.iter().map(|n| (n.http, n.tcp)).collect();
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("secrets.json")).unwrap())
            .unwrap();
    let (key, secret) = (
        secrets["default_app_key"].as_str().unwrap(),
        secrets["default_app_secret"].as_str().unwrap(),
    );
    let api = ServerApi::new(&format!("http://127.0.0.1:{}", ports[1].0), key, secret);

    // u0..u2 send to u3..u5; client i starts on node i % 3 and knows the others.
    let mut clients = Vec::new();
    for i in 0..6 {
        let accid = format!("u{i}");
        let token = api
            .post("/nimserver/user/create.action", &[("accid", &accid)])
            .await
            .unwrap()["info"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let home = i % 3;
        let address = |n: usize| ServerAddress::Tcp(format!("127.0.0.1:{}", ports[n].1));
        let mut config = ClientConfig::new(key, address(home), dir.path().join(&accid));
        config.alternates = vec![address((home + 1) % 3), address((home + 2) % 3)];
        config.reconnect_min = Duration::from_millis(50);
        config.reconnect_max = Duration::from_millis(300);
        config.request_timeout = Duration::from_secs(20);
        let client = Client::new(config).unwrap();
        client.login().login(&accid, &token).await.unwrap();
        clients.push(client);
    }
    let received: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    for (i, client) in clients.iter().enumerate().skip(3) {
        let mut events = client.events();
        let received = received.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let Event::Received(batch) = event {
                    received
                        .lock()
                        .unwrap()
                        .entry(i)
                        .or_default()
                        .extend(batch.iter().map(|m| m.message_id.clone()));
                }
            }
        });
    }
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut senders = Vec::new();
    for (s, client) in clients.iter().take(3).enumerate() {
        let (client, acked) = (client.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let peer = format!("u{}", s + 3);
            let mut in_flight = tokio::task::JoinSet::new();
            for n in 0..150 {
                while in_flight.len() >= 8 {
                    in_flight.join_next().await;
                }
                // Listen before sending, so a fast ack cannot pass unseen.
                let mut events = client.events();
                let message = client
                    .chat()
                    .enqueue(OutgoingMessage::text(
                        SessionId::p2p(&peer),
                        format!("{s}-{n}"),
                    ))
                    .await
                    .unwrap();
                let (acked, id) = (acked.clone(), message.message_id.clone());
                in_flight.spawn(async move {
                    // Acks may come long after a restart.
                    if tidings_testkit::acked(&mut events, &id, Duration::from_secs(60)).await {
                        acked.lock().unwrap().insert(id);
                    }
                });
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            while in_flight.join_next().await.is_some() {}
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let acked_before_kill = acked.lock().unwrap().len();
    nodes[0].kill().unwrap(); // SIGKILL node 0 mid-load
    assert!(acked_before_kill > 0, "the kill should land mid-load");
    for sender in senders {
        tokio::time::timeout(Duration::from_secs(120), sender)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        acked.lock().unwrap().len(),
        450,
        "every message acked, by a surviving node if need be"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    while received
        .lock()
        .unwrap()
        .values()
        .map(Vec::len)
        .sum::<usize>()
        < 450
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (i, ids) in received.lock().unwrap().iter() {
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "u{i} got a message twice");
        assert_eq!(ids.len(), 150, "u{i} got {} of 150", ids.len());
    }

    let store = PostgresStore::connect(&db.url).await.unwrap();
    assert_eq!(
        store.message_count(key).await.unwrap(),
        450,
        "nothing lost, nothing doubled"
    );
    for s in 0..3 {
        let conversation = p2p_conversation(&format!("u{s}"), &format!("u{}", s + 3));
        let all = store
            .messages_after(key, &conversation, 0, 1000)
            .await
            .unwrap();
        let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
        assert_eq!(
            seqs,
            (1..=150).collect::<Vec<u64>>(),
            "gapless {conversation}"
        );
    }
    for client in &clients {
        let _ = client.login().logout().await;
    }
    drop(nodes); // SIGTERM to the survivors
}

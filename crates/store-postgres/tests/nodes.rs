//! Several nodes (stores) writing one conversation at once, through one
//! PostgreSQL: sequences stay gapless and strictly increasing, and a
//! message resent to two nodes at the same time is stored once.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tidings_store::{p2p_conversation, MessageStore};
use tidings_store_postgres::testing::TestDatabase;
use tidings_store_postgres::PostgresStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_one_conversation_gapless_and_deduplicated() {
    let Some(db) = TestDatabase::from_env("multi-node sequences").await else {
        return;
    };
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Arc::new(PostgresStore::connect(&db.url).await.unwrap()));
    }
    let mut tasks = Vec::new();
    for i in 0..300usize {
        let node = nodes[i % 3].clone();
        // Every client id is sent twice, to two different nodes.
        let twin = nodes[(i + 1) % 3].clone();
        let client_id = format!("m{}", i / 2);
        let (from, to) = if i % 4 < 2 { ("p", "q") } else { ("q", "p") };
        for store in [node, twin] {
            let message = tidings_store::__conformance::text("app", from, to, &client_id);
            tasks.push(tokio::spawn(async move {
                store.append_message(message).await.unwrap()
            }));
        }
    }
    let mut fresh = 0;
    for task in tasks {
        if !task.await.unwrap().duplicate {
            fresh += 1;
        }
    }
    let all = nodes[0]
        .messages_after("app", &p2p_conversation("p", "q"), 0, 10_000)
        .await
        .unwrap();
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "gapless and ordered"
    );
    let mut keys: Vec<_> = all
        .iter()
        .map(|m| (m.message.from.clone(), m.message.client_id.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), all.len(), "nothing stored twice");
    assert_eq!(all.len(), fresh);
    // i / 2 gives 150 ids; each id is used by one sender only (i % 4 < 2 pairs).
    assert_eq!(all.len(), 150);
}

//! `tidings admin migrate` copies a SQLite store into PostgreSQL; a node on
//! the copy serves the same accounts and history.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use tidings_sdk::{Client, SessionId};
use tidings_store_postgres::testing::TestDatabase;
use tidings_testkit::{receive, TestServer, Transport};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_keeps_accounts_and_history() {
    let Some(db) = TestDatabase::from_env("migrate").await else {
        return;
    };
    let mut server = TestServer::start().await.unwrap();
    let alice = server.login_new("alice").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    for i in 0..10 {
        alice
            .chat()
            .send_text(SessionId::p2p("bob"), &format!("m{i}"))
            .await
            .unwrap();
    }
    alice.login().logout().await.unwrap();
    let data_dir = server.data_dir();
    let client_config = server.client_config(Transport::Tcp);
    server.shutdown().await;

    let migrate = |to: &str| {
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(["admin", "migrate", "--from"])
            .arg(format!("sqlite:{}", data_dir.join("tidings.db").display()))
            .args(["--to", to])
            .output()
            .unwrap()
    };
    let first = migrate(&db.url);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains("messages") && stdout.contains("counts match"),
        "{stdout}"
    );
    // Never into a database that holds data.
    let again = migrate(&db.url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));

    // A node on the copy: same app keys (same data directory), same history.
    let node = tidings_server::Server::start(tidings_server::ServerConfig {
        store: db.url.clone(),
        ..tidings_testkit::test_config(data_dir)
    })
    .await
    .unwrap();
    let mut config = client_config;
    config.server = tidings_sdk::ServerAddress::Tcp(node.tcp_addr().to_string());
    let bob = Client::new(config).unwrap();
    let mut events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let got = receive(&mut events, 10).await.unwrap();
    assert_eq!(got.last().unwrap().text, "m9");
    assert_eq!(got.last().unwrap().seq, 10);
    // The conversation's latest time came along: no message the node
    // writes there is stamped before m9, whatever its database's clock says.
    let (pg, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let last_at: i64 = pg
        .query_one("SELECT last_at FROM conversations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(last_at, got.last().unwrap().timestamp);
    // And new messages continue the sequence.
    let next = bob
        .chat()
        .send_text(SessionId::p2p("alice"), "on postgres")
        .await
        .unwrap();
    assert_eq!(next.seq, 11);
    bob.login().logout().await.unwrap();
    node.shutdown().await;
}

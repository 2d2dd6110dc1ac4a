//! `tidings admin migrate` copies a SQLite store into PostgreSQL; a node on
//! the copy serves the same accounts, history, relations and profiles. Both commands are the
//! lines docs/operations.md gives, with its example hosts and folders
//! replaced by the test's.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use tidings_sdk::{Client, Event, LoginStep, SessionId};
use tidings_store_postgres::testing::{service_url, TestDatabase};
use tidings_testkit::process::NodeProcess;
use tidings_testkit::{receive, wait_for, TestServer, Transport};

/// The `sh` block of docs/operations.md whose first line starts with
/// `start`, its continuation lines joined, split into arguments after the
/// binary's name.
fn operations_command(start: &str) -> Vec<String> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();
    let open = doc.find(&format!("```sh\n{start}")).unwrap() + "```sh\n".len();
    let block = &doc[open..open + doc[open..].find("\n```").unwrap()];
    block
        .replace("\\\n", " ")
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_keeps_accounts_and_history() {
    let Some(db) = TestDatabase::from_env("migrate").await else {
        return;
    };
    let Some(nats) = service_url("TIDINGS_TEST_NATS_URL", "migrate") else {
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
    // Relations, a profile, a notification and the event logs come along.
    alice.relation().request_friend("bob", 1, "").await.unwrap();
    alice.relation().set_muted("bob", true).await.unwrap();
    let nick = tidings_sdk::UserInfoUpdate {
        nick: Some("Alice".into()),
        ..Default::default()
    };
    alice.user().update_my_info(nick).await.unwrap();
    let carol = server.login_new("carol").await.unwrap();
    carol
        .relation()
        .request_friend("alice", 2, "hi")
        .await
        .unwrap();
    carol.login().logout().await.unwrap();
    alice.login().logout().await.unwrap();
    let data_dir = server.data_dir();
    let client_config = server.client_config(Transport::Tcp);
    server.shutdown().await;

    let documented_url = "postgres://tidings@db:5432/tidings";
    let migrate = |to: &str| {
        let args: Vec<String> = operations_command("tidings admin migrate")
            .into_iter()
            .map(|arg| {
                arg.replace("./tidings-data", &data_dir.display().to_string())
                    .replace(documented_url, to)
            })
            .collect();
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(args)
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
    for table in [
        "account_events",
        "user_profiles",
        "friends",
        "special_relations",
        "system_notifications",
    ] {
        let line = stdout.lines().find(|l| l.starts_with(&format!("{table} ")));
        let line = line.unwrap_or_else(|| panic!("{table} not copied: {stdout}"));
        assert!(
            !line.contains(" 0 rows"),
            "{table} copied nothing: {stdout}"
        );
    }
    // Never into a database that holds data.
    let again = migrate(&db.url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));

    // A node on the copy, started as the doc starts one of a cluster: same
    // app keys (same data directory), same history. The ports and the data
    // directory are the test's; the bus prefix is this run's own.
    let mut serve = operations_command("tidings serve");
    let mut extra = Vec::new();
    let mut args = serve.drain(1..);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap();
        let value = match flag.as_str() {
            "--http" | "--tcp" | "--data-dir" => continue,
            "--store" => db.url.clone(),
            "--bus" => nats.clone(),
            "--bus-prefix" => format!("migrate{}", rand::random::<u32>()),
            _ => value,
        };
        extra.extend([flag, value]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut node =
        NodeProcess::start_fresh(Path::new(env!("CARGO_BIN_EXE_tidings")), &data_dir, &extra)
            .await
            .unwrap();
    let mut config = client_config;
    config.server = tidings_sdk::ServerAddress::Tcp(format!("127.0.0.1:{}", node.tcp));
    let bob = Client::new(config).unwrap();
    let mut events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();
    let got = receive(&mut events, 10).await.unwrap();
    assert_eq!(got.last().unwrap().text, "m9");
    assert_eq!(got.last().unwrap().seq, 10);
    wait_for(&mut events, |e| {
        matches!(e, Event::LoginStep(LoginStep::Synced)).then_some(())
    })
    .await
    .unwrap();
    assert!(bob.relation().is_my_friend("alice").await.unwrap());
    let alice_info = bob.user().fetch_user_infos(&["alice"]).await.unwrap();
    assert_eq!(alice_info[0].nick, "Alice");
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
    node.stop();
}

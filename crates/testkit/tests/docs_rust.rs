//! The quickstart's Rust program is `crates/sdk/examples/quickstart.rs`
//! (so every build compiles it), and it does what the doc says against a
//! real server: alice's "hi" reaches bob, and bob's answer is printed.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Stdio;

use tidings_sdk::SessionId;
use tidings_testkit::{receive, TestServer};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_quickstart_rust_block_is_the_sdk_example() {
    let doc = std::fs::read_to_string(repository().join("docs/quickstart.md")).unwrap();
    let marker = doc
        .find("tested: crates/testkit/tests/docs_rust.rs")
        .unwrap();
    let open = marker + doc[marker..].find("```rust\n").unwrap() + "```rust\n".len();
    let block = &doc[open..open + doc[open..].find("```\n").unwrap()];
    let example =
        std::fs::read_to_string(repository().join("crates/sdk/examples/quickstart.rs")).unwrap();
    assert_eq!(block, example, "the doc and the example differ");
}

/// Where cargo put the example: beside this test's `deps` folder.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("examples/quickstart");
    assert!(
        binary.exists(),
        "{} is missing: cargo builds examples with the tests",
        binary.display()
    );
    binary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_rust_program_says_hi_and_prints_the_answer() {
    let server = TestServer::start().await.unwrap();
    let alice_token = server.create_account("alice").await.unwrap();
    let bob = server.login_new("bob").await.unwrap();
    let mut bob_events = bob.events();

    let work = tempfile::tempdir().unwrap();
    let program = std::process::Command::new(example_binary())
        .current_dir(work.path())
        .env("APP_KEY", &server.app_key)
        .env("ALICE_TOKEN", &alice_token)
        .env("TIDINGS_SERVER", format!("http://{}", server.http_addr))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let hi = receive(&mut bob_events, 1).await.unwrap();
    assert_eq!((hi[0].from.as_str(), hi[0].text.as_str()), ("alice", "hi"));
    bob.chat()
        .send_text(SessionId::p2p("alice"), "hello alice")
        .await
        .unwrap();

    let pid = program.id();
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::task::spawn_blocking(move || program.wait_with_output()),
    )
    .await;
    let Ok(output) = output else {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
        panic!("the program did not end after the answer");
    };
    let output = output.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("sent ") && lines[0].ends_with(" as #1 of the conversation"),
        "{stdout}"
    );
    assert_eq!(lines[1], "bob: hello alice", "{stdout}");
    let database = work
        .path()
        .join("alice-data")
        .join(&server.app_key)
        .join("alice/local.db");
    assert!(database.exists(), "no {}", database.display());
}

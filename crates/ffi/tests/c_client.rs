//! Compiles tests/c/client.c against include/tidings.h and the built
//! library, runs it against a real server, and checks the peer got the text.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use tidings_sdk::{Client, Event, SessionId};
use tidings_testkit::{wait_for, TestServer, Transport};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c_program_logs_in_and_sends_through_the_abi() {
    let server = TestServer::start().await.unwrap();
    let token = server.create_account("c-user").await.unwrap();
    let bob_token = server.create_account("bob").await.unwrap();
    let bob = Client::new(server.client_config(Transport::Tcp)).unwrap();
    let mut bob_events = bob.events();
    bob.login().login("bob", &bob_token).await.unwrap();

    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let program = work.path().join("client");
    let lib_dir = support::library_dir();
    let compiled = Command::new("cc")
        .arg(crate_dir.join("tests/c/client.c"))
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg("-L")
        .arg(&lib_dir)
        .args(["-ltidings_ffi", "-lpthread", "-o"])
        .arg(&program)
        .status()
        .unwrap();
    assert!(compiled.success(), "compiling the C client failed");

    let output = tokio::task::spawn_blocking({
        let program = program.clone();
        let data = work.path().join("data");
        let (tcp, key) = (server.tcp_addr.to_string(), server.app_key.clone());
        move || {
            Command::new(program)
                .args([&tcp, &key, data.to_str().unwrap(), "c-user", &token, "bob"])
                .env("LD_LIBRARY_PATH", &lib_dir)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "C client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("\"text\":\"hello from C\""), "{stdout}");

    let got = wait_for(&mut bob_events, |e| match e {
        Event::Received(ms) => ms.first().cloned(),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(
        (got.text.as_str(), got.session.clone()),
        ("hello from C", SessionId::p2p("c-user"))
    );
}

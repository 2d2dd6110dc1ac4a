//! The testkit's node processes fail fast when the node cannot start.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tidings_testkit::process::{free_port, ExitedEarly};
use tidings_testkit::NodeProcess;

#[tokio::test]
async fn a_node_whose_port_is_taken_fails_at_once_and_a_fresh_start_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_tidings"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let started = Instant::now();
    let refused = NodeProcess::start(
        binary,
        &dir.path().join("a"),
        (taken_port, free_port().unwrap()),
        &[],
    )
    .await
    .err()
    .expect("a node cannot listen on a taken port");
    assert!(
        refused.downcast_ref::<ExitedEarly>().is_some(),
        "{refused:#}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "known as soon as the node exits, not at the health deadline"
    );
    let node = NodeProcess::start_fresh(binary, &dir.path().join("b"), &[])
        .await
        .unwrap();
    assert_ne!(node.http, taken_port);
}

//! The real binary raises its own limit of open files: started with a soft
//! limit of 256 (a macOS laptop's default; Linux's is 1,024), a node still
//! serves far more connections than that.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use tidings_proto::{request, Ping};
use tidings_testkit::{NodeProcess, RawConnection};

const SOFT_LIMIT: usize = 256;
const CONNECTIONS: usize = 3 * SOFT_LIMIT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_with_a_low_open_file_limit_serves_more_connections() {
    let hard = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard = String::from_utf8_lossy(&hard.stdout).trim().to_owned();
    if hard != "unlimited" && hard.parse::<usize>().unwrap_or(0) < 2 * CONNECTIONS {
        eprintln!("skipped (open-file limit): a hard limit of {hard} cannot show it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("tidings-with-few-files");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nulimit -Sn {SOFT_LIMIT} || exit 1\nexec '{}' \"$@\"\n",
            env!("CARGO_BIN_EXE_tidings")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let node = NodeProcess::start_fresh(&wrapper, &dir.path().join("server"), &[])
        .await
        .unwrap();

    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], node.tcp));
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        connections.push(RawConnection::connect(addr).await.unwrap());
    }
    // A connection the node could not accept waits in the backlog and
    // never answers (each call gives up after 10 s).
    for (i, connection) in connections.iter_mut().enumerate() {
        let answer = connection
            .call(request::Area::from(Ping {}))
            .await
            .unwrap_or_else(|e| panic!("connection {i} of {CONNECTIONS}: {e}"));
        assert!(answer.pong().is_some(), "connection {i}: {answer:?}");
    }
}

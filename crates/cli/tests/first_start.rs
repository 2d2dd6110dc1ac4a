//! A first start that fails after making the default app (its port is
//! taken) does not hide the app's keys: every start shows where they are,
//! and the keys themselves until the app's first server-API call.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use tidings_testkit::process::{free_port, wait_healthy};
use tidings_testkit::ServerApi;

/// Starts `tidings serve` and returns its first lines of output (up to the
/// line about the keys) and the process.
fn serve(data_dir: &Path, http: u16) -> (Vec<String>, std::process::Child) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .args(["--http", &format!("127.0.0.1:{http}")])
        .args(["--tcp", &format!("127.0.0.1:{}", free_port().unwrap())])
        .env("TIDINGS_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let last = line.contains("AppSecret") || line.trim_start().starts_with("keys");
        lines.push(line);
        if last {
            break;
        }
    }
    (lines, child)
}

fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

#[tokio::test]
async fn the_keys_are_shown_until_the_default_app_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let failed = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["serve", "--data-dir"])
        .arg(&data_dir)
        .args(["--http", &format!("127.0.0.1:{taken_port}")])
        .env("TIDINGS_LOG", "error")
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("secrets.json")).unwrap())
            .unwrap();
    let app_key = secrets["default_app_key"].as_str().unwrap();
    let app_secret = secrets["default_app_secret"].as_str().unwrap();

    // The next start shows them, though it is not the first.
    let http = free_port().unwrap();
    let (lines, child) = serve(&data_dir, http);
    let text = lines.join("\n");
    assert!(text.contains(&format!("AppKey     {app_key}")), "{text}");
    assert!(text.contains(&format!("AppSecret  {app_secret}")), "{text}");
    assert!(text.contains("secrets.json"), "{text}");

    // Used once through the server API...
    wait_healthy(http).await.unwrap();
    let api = ServerApi::new(&format!("http://127.0.0.1:{http}"), app_key, app_secret);
    let created = api
        .post("/nimserver/user/create.action", &[("accid", "first")])
        .await
        .unwrap();
    assert_eq!(created["code"], 200, "{created}");
    stop(child);

    // ...then only where they are.
    let http = free_port().unwrap();
    let (lines, child) = serve(&data_dir, http);
    let text = lines.join("\n");
    assert!(!text.contains(app_secret), "{text}");
    assert!(
        text.contains("keys") && text.contains("secrets.json"),
        "{text}"
    );
    stop(child);
}

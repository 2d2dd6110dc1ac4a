//! The docs' shell blocks that call the server, run by bash as a user
//! pastes them, from a folder whose `tidings-data` is a real server's: each
//! answer matches what the doc shows (its code, and its text where the doc
//! gives a reason).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use sha1::{Digest, Sha1};

use tidings_testkit::TestServer;

fn read_doc(path: &str) -> String {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap()
}

/// The `lang` blocks that follow a `tested: crates/cli/tests/docs_shell.rs`
/// marker, each with the block of any language right after it (the answer
/// the doc shows), in the doc's order.
fn marked_blocks(doc: &str, lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    doc.match_indices("tested: crates/cli/tests/docs_shell.rs")
        .map(|(marker, _)| {
            let open = marker + doc[marker..].find(&fence).unwrap() + fence.len();
            doc[open..open + doc[open..].find("\n```").unwrap()].to_owned()
        })
        .collect()
}

/// The block of any language after the one whose text is `block`.
fn next_block(doc: &str, block: &str) -> String {
    let closing = doc.find(block).unwrap() + block.len() + "\n```".len();
    let open = closing + doc[closing..].find("```").unwrap();
    let open = open + doc[open..].find('\n').unwrap() + 1;
    doc[open..open + doc[open..].find("\n```").unwrap()].to_owned()
}

/// Runs `script` with bash in `dir`.
async fn bash(script: &str, dir: &Path, env: &[(&str, String)]) -> Output {
    let mut command = Command::new("bash");
    command
        .args(["-c", script])
        .current_dir(dir)
        .env_remove("APP_KEY")
        .env_remove("APP_SECRET");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_curl_block_runs_and_answers_as_shown() {
    let doc = read_doc("docs/quickstart.md");
    let block = &marked_blocks(&doc, "sh")[0];
    let expected: Vec<serde_json::Value> = block
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(|json| serde_json::from_str(&json.replace('…', "")).unwrap())
        .collect();
    assert_eq!(expected.len(), 3, "{block}");

    let server = TestServer::start().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(server.data_dir(), work.path().join("tidings-data")).unwrap();
    let output = bash(
        block,
        work.path(),
        &[("TIDINGS_SERVER", format!("http://{}", server.http_addr))],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(answers.len(), expected.len(), "{stdout}");
    for (got, shown) in answers.iter().zip(&expected) {
        assert_eq!(got["code"], shown["code"], "{got} against {shown}");
        if shown.get("desc").is_some() {
            assert_eq!(got["desc"], shown["desc"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_api_shell_blocks_run_and_answer_as_shown() {
    let doc = read_doc("docs/server-api.md");
    let blocks = marked_blocks(&doc, "sh");
    assert_eq!(blocks.len(), 2, "{blocks:?}");

    // The CheckSum line.
    let work = tempfile::tempdir().unwrap();
    let vars = [
        ("APP_SECRET", "s3cret".to_owned()),
        ("NONCE", "n0nce".to_owned()),
        ("CURTIME", "1700000000".to_owned()),
    ];
    let output = bash(&blocks[0], work.path(), &vars).await;
    let expected: String = Sha1::digest(b"s3cretn0nce1700000000")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), expected);

    // Creating an app with the admin token, from a folder with tidings-data.
    let server = TestServer::start().await.unwrap();
    std::os::unix::fs::symlink(server.data_dir(), work.path().join("tidings-data")).unwrap();
    let script = blocks[1].replace(
        "http://127.0.0.1:9430",
        &format!("http://{}", server.http_addr),
    );
    let output = bash(&script, work.path(), &[]).await;
    let got: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let shown: serde_json::Value =
        serde_json::from_str(&next_block(&doc, &blocks[1]).replace('…', "")).unwrap();
    assert_eq!(got["code"], shown["code"], "{got}");
    assert_eq!(got["info"]["name"], shown["info"]["name"], "{got}");
    assert_eq!(got["info"]["appKey"].as_str().unwrap().len(), 32, "{got}");
}

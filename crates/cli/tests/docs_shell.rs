//! The quickstart's curl block, run by bash as a user pastes it, from a
//! folder whose `tidings-data` is a real server's: each answer matches the
//! comment the doc shows under its command (its code, and its text where
//! the doc gives a reason).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use tidings_testkit::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_curl_block_runs_and_answers_as_shown() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/quickstart.md")).unwrap();
    let marker = doc.find("tested: crates/cli/tests/docs_shell.rs").unwrap();
    let open = marker + doc[marker..].find("```sh\n").unwrap() + "```sh\n".len();
    let block = &doc[open..open + doc[open..].find("\n```").unwrap()];
    let expected: Vec<serde_json::Value> = block
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(|json| serde_json::from_str(&json.replace('…', "")).unwrap())
        .collect();
    assert_eq!(expected.len(), 3, "{block}");

    let server = TestServer::start().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(server.data_dir(), work.path().join("tidings-data")).unwrap();
    let (dir, script, url) = (
        work.path().to_path_buf(),
        block.to_owned(),
        format!("http://{}", server.http_addr),
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .args(["-c", &script])
            .current_dir(dir)
            .env("TIDINGS_SERVER", url)
            .env_remove("APP_KEY")
            .env_remove("APP_SECRET")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
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

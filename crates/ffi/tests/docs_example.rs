//! The C example of docs/nim-api.md, compiled and run with the commands
//! the doc gives, in a folder laid out as the checkout's root (`crates/`
//! and `target/debug` linked there). The doc's first command, `cargo
//! build -p tidings-ffi`, is what built this test's library.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use tidings_testkit::TestServer;

/// The fenced block of `lang` after the line holding `marker` in `text`.
fn block_after<'a>(text: &'a str, marker: &str, lang: &str) -> &'a str {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let fence = format!("```{lang}\n");
    let open = at + text[at..].find(&fence).unwrap() + fence.len();
    let close = open + text[open..].find("\n```").unwrap() + 1;
    &text[open..close]
}

fn sh(dir: &Path, line: &str, env: &[(&str, &str)]) -> std::process::Output {
    Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_example_of_the_docs_compiles_and_runs_as_written() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/nim-api.md")).unwrap();
    let marker = "tested: crates/ffi/tests/docs_example.rs";
    let program = block_after(&doc, marker, "c");
    let after_program = &doc[doc.find(program).unwrap() + program.len()..];
    let commands: Vec<&str> = block_after(after_program, "", "sh")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(commands.len(), 3, "build, compile, run: {commands:?}");
    assert_eq!(commands[0], "cargo build -p tidings-ffi");

    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("example.c"), program).unwrap();
    std::os::unix::fs::symlink(root.join("crates"), dir.join("crates")).unwrap();
    std::fs::create_dir(dir.join("target")).unwrap();
    std::os::unix::fs::symlink(support::library_dir(), dir.join("target/debug")).unwrap();
    let compiled = sh(dir, commands[1], &[]);
    assert!(
        compiled.status.success(),
        "{}\n{}",
        commands[1],
        String::from_utf8_lossy(&compiled.stderr)
    );

    let server = TestServer::start().await.unwrap();
    let token = server.create_account("doc-alice").await.unwrap();
    server.create_account("doc-bob").await.unwrap();
    let tcp = server.tcp_addr.to_string();
    let env: Vec<(String, String)> = [
        ("TIDINGS_APP_KEY", server.app_key.as_str()),
        ("TIDINGS_SERVER", tcp.as_str()),
        ("TIDINGS_ACCOUNT", "doc-alice"),
        ("TIDINGS_TOKEN", token.as_str()),
        ("TIDINGS_PEER", "doc-bob"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (dir_owned, run) = (dir.to_path_buf(), commands[2].to_owned());
    let ran = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        sh(&dir_owned, &run, &env)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success(),
        "{}\n{stdout}\n{}",
        commands[2],
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(stdout.contains("\"text\":\"hi from C\""), "{stdout}");
}

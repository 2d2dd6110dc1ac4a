//! The `tidings` command lines of README.md and docs/quickstart.md, run as
//! written from a fresh folder: `serve` (on free ports, its data in the
//! default `./tidings-data`), each `tidings admin` line, the
//! `curl .../healthz` line, and the two `tidings chat` lines, which then
//! exchange a line each way. Only the placeholders a reader fills in (`K`,
//! `S`, the tokens, example hosts and folders) are replaced, and
//! `TIDINGS_SERVER` points the commands at the test's server.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::Chat;
use tidings_testkit::process::NodeProcess;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the doc's `sh` blocks, without their trailing comments.
fn shell_lines(doc: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in doc.lines() {
        match line.trim() {
            "```sh" => in_block = true,
            "```" => in_block = false,
            text if in_block => {
                let command = text.split(" #").next().unwrap_or("").trim();
                if !command.is_empty() && !command.starts_with('#') {
                    lines.push(command.to_owned());
                }
            }
            _ => {}
        }
    }
    lines
}

struct Walkthrough {
    dir: tempfile::TempDir,
    node: NodeProcess,
    app_key: String,
    app_secret: String,
    tokens: HashMap<String, String>,
}

impl Walkthrough {
    /// The doc's `serve` line, from a fresh folder.
    async fn serve(lines: &[String]) -> Walkthrough {
        let serve = lines
            .iter()
            .find(|l| l.starts_with("cargo run --release -p tidings-cli -- serve"))
            .expect("the doc starts the server");
        let args: Vec<&str> = serve
            .split(" -- serve")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let node = NodeProcess::start_fresh(
            Path::new(env!("CARGO_BIN_EXE_tidings")),
            &dir.path().join("tidings-data"),
            &args,
        )
        .await
        .unwrap();
        let secrets: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("tidings-data/secrets.json")).unwrap(),
        )
        .unwrap();
        Walkthrough {
            app_key: secrets["default_app_key"].as_str().unwrap().to_owned(),
            app_secret: secrets["default_app_secret"].as_str().unwrap().to_owned(),
            dir,
            node,
            tokens: HashMap::new(),
        }
    }

    fn server(&self) -> String {
        format!("http://127.0.0.1:{}", self.node.http)
    }

    /// `line` with what a reader fills in filled in, split into arguments.
    fn fill(&self, line: &str) -> Vec<String> {
        let mut line = line
            .replace("http://10.0.0.5:9430", &self.server())
            .replace("http://127.0.0.1:9430", &self.server())
            .replace(
                "/srv/tidings",
                &self.dir.path().join("tidings-data").display().to_string(),
            );
        for (accid, token) in &self.tokens {
            line = line.replace(&format!("<{accid}'s token>"), token);
        }
        line.split_whitespace()
            .map(|word| match word {
                "K" => self.app_key.clone(),
                "S" => self.app_secret.clone(),
                "T1" => self.tokens["alice"].clone(),
                "T2" => self.tokens["bob"].clone(),
                other => other.to_owned(),
            })
            .collect()
    }

    fn tidings(&self, args: &[String]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidings"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("TIDINGS_SERVER", self.server())
            .env("TIDINGS_LOG", "error");
        for var in [
            "TIDINGS_APP_KEY",
            "TIDINGS_APP_SECRET",
            "TIDINGS_DATA_DIR",
            "TIDINGS_TOKEN",
        ] {
            command.env_remove(var);
        }
        command
    }

    /// Runs each `tidings admin` and `curl` line, keeping the tokens made.
    fn run_admin_lines(&mut self, lines: &[String]) -> usize {
        let mut ran = 0;
        for line in lines {
            if line.starts_with("curl http://127.0.0.1:9430/") {
                let output = Command::new("bash")
                    .args(["-c", &self.fill(line).join(" ")])
                    .output()
                    .unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&output.stdout).trim(),
                    "ok",
                    "{line}"
                );
                ran += 1;
                continue;
            }
            let Some(admin) = line.strip_prefix("tidings ") else {
                continue;
            };
            if !admin.starts_with("admin") {
                continue;
            }
            let output = self.tidings(&self.fill(admin)).output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(
                output.status.success(),
                "{line}: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let field = |name: &str| {
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            };
            if let (Some(accid), Some(token)) = (field("accid "), field("token ")) {
                self.tokens.insert(accid, token);
            }
            ran += 1;
        }
        ran
    }

    /// Starts the doc's two `tidings chat` lines; alice's line reaches bob
    /// and bob's answer reaches alice.
    fn chat(&self, lines: &[String]) {
        let chats: Vec<Chat> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("tidings chat"))
            .map(|rest| Chat::spawn(self.tidings(&self.fill(&format!("chat{rest}")))))
            .collect();
        let [mut alice, mut bob] = <[Chat; 2]>::try_from(chats).ok().expect("two chat lines");
        alice.expect("logged in as alice");
        bob.expect("logged in as bob");
        alice.say("hello bob, as the docs say");
        bob.expect("hello bob, as the docs say");
        bob.say("hello alice");
        alice.expect("hello alice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let lines = shell_lines(&readme);
    let mut walk = Walkthrough::serve(&lines).await;
    assert_eq!(walk.run_admin_lines(&lines), 2, "{lines:?}");
    walk.chat(&lines);
    walk.node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_commands_run_as_written() {
    let quickstart = std::fs::read_to_string(repository().join("docs/quickstart.md")).unwrap();
    let lines = shell_lines(&quickstart);
    let mut walk = Walkthrough::serve(&lines).await;
    // healthz, alice, bob, carol (by --data-dir), dave (by --server and keys)
    assert_eq!(walk.run_admin_lines(&lines), 5, "{lines:?}");
    assert_eq!(walk.tokens["dave"], "my-token");
    assert!(walk.tokens.contains_key("carol"));
    walk.chat(&lines);
    walk.node.stop();
}

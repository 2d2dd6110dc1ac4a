//! Helpers the CLI's tests share: `tidings chat` driven through its
//! standard input.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tidings_testkit::TestServer;

pub struct Chat {
    child: Child,
    input: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Chat {
    /// `tidings chat` as `account`, its local data in `data_dir`.
    pub fn start(server: &TestServer, account: &str, token: &str, data_dir: &Path) -> Chat {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidings"));
        command
            .args([
                "chat",
                "--app-key",
                &server.app_key,
                "--account",
                account,
                "--token",
                token,
            ])
            .args(["--server", &format!("http://{}", server.http_addr)])
            .arg("--data-dir")
            .arg(data_dir);
        Chat::spawn(command)
    }

    /// Runs `command` (a `tidings chat`), its input and output piped.
    pub fn spawn(mut command: Command) -> Chat {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Chat {
            child,
            input,
            lines,
        }
    }

    pub fn say(&mut self, line: &str) {
        writeln!(self.input, "{line}").unwrap();
        self.input.flush().unwrap();
    }

    /// The first line holding `needle`, within 20 s.
    pub fn expect(&self, needle: &str) -> String {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no line with {needle:?}; saw:\n{}", seen.join("\n")),
            }
        }
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

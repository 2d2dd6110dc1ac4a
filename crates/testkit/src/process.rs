//! Real `tidings serve` processes, for crash and cluster tests and for
//! benchmarks that need each node's own CPU time.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `/healthz` on `http` answers.
pub async fn wait_healthy(http: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{http}/healthz")).await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the node on port {http} did not become healthy")
}

/// A node process; stopped with SIGTERM (gracefully) when dropped.
pub struct NodeProcess {
    child: Child,
    pub http: u16,
    pub tcp: u16,
}

impl NodeProcess {
    /// Starts `binary serve` on the given ports with `extra` arguments and
    /// waits until it is healthy.
    pub async fn start(
        binary: &Path,
        data_dir: &Path,
        ports: (u16, u16),
        extra: &[&str],
    ) -> anyhow::Result<NodeProcess> {
        let (http, tcp) = ports;
        let child = Command::new(binary)
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args([
                "--http",
                &format!("127.0.0.1:{http}"),
                "--tcp",
                &format!("127.0.0.1:{tcp}"),
            ])
            .args(extra)
            .env(
                "TIDINGS_LOG",
                std::env::var("TIDINGS_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let node = NodeProcess { child, http, tcp };
        wait_healthy(http).await?;
        Ok(node)
    }

    /// [`NodeProcess::start`] on fresh ports.
    pub async fn start_fresh(
        binary: &Path,
        data_dir: &Path,
        extra: &[&str],
    ) -> anyhow::Result<NodeProcess> {
        NodeProcess::start(binary, data_dir, (free_port()?, free_port()?), extra).await
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for the graceful exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

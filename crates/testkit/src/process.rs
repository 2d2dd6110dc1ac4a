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
    wait_healthy_while(http, || Ok(())).await
}

/// [`wait_healthy`], asking `alive` between attempts; its error ends the wait.
async fn wait_healthy_while(
    http: u16,
    mut alive: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // A probe that hangs (something else holds the port) must not stall the wait.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let probe = client.get(format!("http://127.0.0.1:{http}/healthz"));
        if let Ok(r) = probe.send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        alive()?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the node on port {http} did not become healthy")
}

/// Why a node process stopped before it was healthy.
#[derive(Debug, thiserror::Error)]
#[error("the node exited before it was healthy ({0})")]
pub struct ExitedEarly(std::process::ExitStatus);

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
        let mut node = NodeProcess { child, http, tcp };
        wait_healthy_while(http, || match node.child.try_wait()? {
            Some(status) => Err(ExitedEarly(status).into()),
            None => Ok(()),
        })
        .await?;
        Ok(node)
    }

    /// [`NodeProcess::start`] on fresh ports. A port found free can be
    /// taken by another test before the node binds it (the node then
    /// exits): such a start is tried again on other ports.
    pub async fn start_fresh(
        binary: &Path,
        data_dir: &Path,
        extra: &[&str],
    ) -> anyhow::Result<NodeProcess> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let ports = (free_port()?, free_port()?);
            match NodeProcess::start(binary, data_dir, ports, extra).await {
                Err(e) if attempts < 3 && e.downcast_ref::<ExitedEarly>().is_some() => {
                    tracing::warn!(error = %e, ?ports, "starting the node again on other ports");
                }
                outcome => return outcome,
            }
        }
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

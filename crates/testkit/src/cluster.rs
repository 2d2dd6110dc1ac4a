//! Several server nodes sharing one PostgreSQL database, one NATS and one
//! data directory, as a cluster runs. Needs `TIDINGS_TEST_PG_URL` and
//! `TIDINGS_TEST_NATS_URL`; without them [`TestCluster::start`] says the
//! test is skipped and returns `None`.

use std::net::SocketAddr;
use std::time::Duration;

use tidings_sdk::{ClientConfig, ServerAddress};
use tidings_server::{Server, ServerConfig};
use tidings_store_postgres::testing::{service_url, TestDatabase};

use crate::{init_tracing, test_config, ServerApi};

pub struct TestCluster {
    pub nodes: Vec<Option<Server>>,
    pub app_key: String,
    pub app_secret: String,
    dir: tempfile::TempDir,
    pub database: TestDatabase,
    config: ServerConfig,
}

impl TestCluster {
    pub async fn start(nodes: usize, what: &str) -> anyhow::Result<Option<TestCluster>> {
        init_tracing();
        let Some(nats) = service_url("TIDINGS_TEST_NATS_URL", what) else {
            return Ok(None);
        };
        let Some(database) = TestDatabase::from_env(what).await else {
            return Ok(None);
        };
        let dir = tempfile::tempdir()?;
        let config = ServerConfig {
            store: database.url.clone(),
            bus: nats,
            bus_prefix: format!("t{}", rand::random::<u64>()),
            ..test_config(dir.path().join("shared"))
        };
        let mut servers = Vec::new();
        for _ in 0..nodes {
            servers.push(Some(Server::start(config.clone()).await?));
        }
        let secrets = servers
            .iter()
            .flatten()
            .next()
            .map(|s| s.secrets().clone())
            .ok_or_else(|| anyhow::anyhow!("no nodes"))?;
        Ok(Some(TestCluster {
            nodes: servers,
            app_key: secrets.default_app_key,
            app_secret: secrets.default_app_secret,
            dir,
            database,
            config,
        }))
    }

    fn node(&self, i: usize) -> anyhow::Result<&Server> {
        self.nodes
            .get(i)
            .and_then(|n| n.as_ref())
            .ok_or_else(|| anyhow::anyhow!("node {i} is down"))
    }

    pub fn tcp_addr(&self, i: usize) -> anyhow::Result<SocketAddr> {
        Ok(self.node(i)?.tcp_addr())
    }

    pub fn api(&self, i: usize) -> anyhow::Result<ServerApi> {
        Ok(ServerApi::new(
            &format!("http://{}", self.node(i)?.http_addr()),
            &self.app_key,
            &self.app_secret,
        ))
    }

    pub async fn create_account(&self, accid: &str) -> anyhow::Result<String> {
        let answer = self
            .api(0)?
            .post("/nimserver/user/create.action", &[("accid", accid)])
            .await?;
        answer["info"]["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("create.action answered {answer}"))
    }

    /// A device on node `i` with its own data directory.
    pub fn client_config(&self, i: usize, device: &str) -> anyhow::Result<ClientConfig> {
        let mut config = ClientConfig::new(
            &self.app_key,
            ServerAddress::Tcp(self.tcp_addr(i)?.to_string()),
            self.dir.path().join(format!("device-{device}")),
        );
        config.reconnect_min = Duration::from_millis(50);
        config.reconnect_max = Duration::from_millis(500);
        Ok(config)
    }

    /// Starts one more node on the cluster's database and data, reaching
    /// NATS at `bus` instead (a link in front of it that a test can cut);
    /// returns its index.
    pub async fn add_node_on_bus(&mut self, bus: &str) -> anyhow::Result<usize> {
        let config = ServerConfig {
            bus: bus.to_owned(),
            ..self.config.clone()
        };
        self.nodes.push(Some(Server::start(config).await?));
        Ok(self.nodes.len() - 1)
    }

    /// Stops node `i` gracefully.
    pub async fn stop(&mut self, i: usize) {
        if let Some(server) = self.nodes.get_mut(i).and_then(Option::take) {
            server.shutdown().await;
        }
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }
}

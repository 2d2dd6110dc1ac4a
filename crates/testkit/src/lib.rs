//! Test kit: a real server on `127.0.0.1:0` with a temporary data directory,
//! SDK clients against it, a signed server-API client, and a raw protocol
//! connection for feeding the gateway bad input, and a TCP link that cuts
//! connections mid-frame. Used by the end-to-end tests and by `tidings
//! bench`.
//!
//! May depend on: server, sdk, proto. Nothing here mocks the server or store.

pub mod api;
mod cluster;
mod flaky;
pub mod process;
mod raw;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{anyhow, Context};
use tidings_sdk::{Client, ClientConfig, Event, ServerAddress};
use tidings_server::{Server, ServerConfig};
use tokio::sync::broadcast;

pub use api::ServerApi;
pub use cluster::TestCluster;
pub use flaky::{Cut, FlakyLink};
pub use process::NodeProcess;
pub use raw::{ack, pushed_message, RawConnection};

/// Which gateway a test client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    WebSocket,
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A running server with its own temporary data directory.
pub struct TestServer {
    server: Option<Server>,
    dir: tempfile::TempDir,
    pub app_key: String,
    pub app_secret: String,
    pub http_addr: std::net::SocketAddr,
    pub tcp_addr: std::net::SocketAddr,
    clients: AtomicU64,
}

/// Settings that make timeouts observable in tests.
pub fn test_config(data_dir: PathBuf) -> ServerConfig {
    ServerConfig {
        data_dir,
        http_listen: "127.0.0.1:0"
            .parse()
            .unwrap_or_else(|_| ServerConfig::default().http_listen),
        tcp_listen: "127.0.0.1:0"
            .parse()
            .unwrap_or_else(|_| ServerConfig::default().tcp_listen),
        ..ServerConfig::default()
    }
}

impl TestServer {
    pub async fn start() -> anyhow::Result<TestServer> {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> anyhow::Result<TestServer> {
        init_tracing();
        let dir = tempfile::tempdir()?;
        let mut config = test_config(dir.path().join("server"));
        adjust(&mut config);
        let server = Server::start(config).await?;
        let secrets = server.secrets().clone();
        Ok(TestServer {
            app_key: secrets.default_app_key,
            app_secret: secrets.default_app_secret,
            http_addr: server.http_addr(),
            tcp_addr: server.tcp_addr(),
            server: Some(server),
            dir,
            clients: AtomicU64::new(0),
        })
    }

    pub fn server(&self) -> Option<&Server> {
        self.server.as_ref()
    }

    pub fn api(&self) -> ServerApi {
        ServerApi::new(
            &format!("http://{}", self.http_addr),
            &self.app_key,
            &self.app_secret,
        )
    }

    pub fn admin_token(&self) -> String {
        self.server
            .as_ref()
            .map(|s| s.secrets().admin_token.clone())
            .unwrap_or_default()
    }

    /// Creates an account through the server API and returns its token.
    pub async fn create_account(&self, accid: &str) -> anyhow::Result<String> {
        let answer = self
            .api()
            .post(
                "/nimserver/user/create.action",
                &[("accid", accid), ("name", accid)],
            )
            .await?;
        answer["info"]["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("create.action answered {answer}"))
    }

    pub fn address(&self, transport: Transport) -> ServerAddress {
        match transport {
            Transport::Tcp => ServerAddress::Tcp(self.tcp_addr.to_string()),
            Transport::WebSocket => ServerAddress::WebSocket(format!("ws://{}/ws", self.http_addr)),
        }
    }

    /// A client config with a fresh data directory (a new device).
    pub fn client_config(&self, transport: Transport) -> ClientConfig {
        let n = self.clients.fetch_add(1, Ordering::Relaxed);
        let data_dir = self.dir.path().join(format!("device-{n}"));
        let mut config = ClientConfig::new(&self.app_key, self.address(transport), data_dir);
        config.reconnect_min = Duration::from_millis(50);
        config.reconnect_max = Duration::from_millis(500);
        config
    }

    /// A new device of the given client type (TCP), not logged in.
    pub fn device(&self, client_type: u32) -> anyhow::Result<Client> {
        let mut config = self.client_config(Transport::Tcp);
        config.client_type = client_type;
        Ok(Client::new(config)?)
    }

    /// The last position of `accid`'s event log.
    pub async fn log_head(&self, accid: &str) -> anyhow::Result<u64> {
        let server = self.server.as_ref().context("the server is stopped")?;
        let store = server.state().services.store.clone();
        Ok(store.events_after(&self.app_key, accid, 0, 1).await?.head)
    }

    /// Waits (up to 10 s) until `accid`'s log is trimmed through `pos`.
    pub async fn wait_trimmed(&self, accid: &str, pos: u64) -> anyhow::Result<()> {
        let server = self.server.as_ref().context("the server is stopped")?;
        let store = server.state().services.store.clone();
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let page = store.events_after(&self.app_key, accid, 0, 1).await?;
                if page.trimmed_through >= pos {
                    return Ok::<(), anyhow::Error>(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .context("the log was not trimmed in time")?
    }

    /// Creates the account and logs a new device in over TCP.
    pub async fn login_new(&self, accid: &str) -> anyhow::Result<Client> {
        let token = self.create_account(accid).await?;
        let client = Client::new(self.client_config(Transport::Tcp))?;
        client.login().login(accid, &token).await?;
        Ok(client)
    }

    /// Graceful shutdown, as Ctrl-C does it.
    pub async fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("server")
    }

    /// A counter or gauge of `/metrics`, as it reads now.
    pub async fn metric(&self, name: &str) -> anyhow::Result<i64> {
        let metrics = reqwest::get(format!("http://{}/metrics", self.http_addr))
            .await?
            .text()
            .await?;
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("no {name} in /metrics"))
    }

    /// One text from every peer to `to`, written straight into the store in
    /// one append: an account with thousands of sessions without thousands
    /// of clients (the peers need not exist as accounts).
    pub async fn store_one_from_each(
        &self,
        peers: &[String],
        to: &str,
        text: &str,
    ) -> anyhow::Result<()> {
        use tidings_proto::{client_type, message_flags, message_type};
        let server = self.server.as_ref().context("the server is stopped")?;
        let messages = peers
            .iter()
            .map(|peer| tidings_store::NewMessage {
                app_key: self.app_key.clone(),
                conversation: tidings_store::p2p_conversation(peer, to),
                client_id: format!("{peer}-{text}"),
                from: peer.clone(),
                from_nick: String::new(),
                from_client_type: client_type::IOS,
                to: to.into(),
                session_type: 0,
                message_type: message_type::TEXT,
                text: text.into(),
                attachment: String::new(),
                remote_ext: String::new(),
                flags: message_flags::ALL,
                apns_content: String::new(),
                apns_payload: String::new(),
                members: tidings_store::Members::Pair,
            })
            .collect();
        server
            .state()
            .services
            .store
            .append_messages(messages)
            .await?;
        Ok(())
    }

    /// How many messages the server's store holds for the default app.
    pub async fn stored_messages(&self) -> anyhow::Result<u64> {
        let server = self.server.as_ref().context("the server is stopped")?;
        Ok(server
            .state()
            .services
            .store
            .message_count(&self.app_key)
            .await?)
    }
}

/// A session's whole local history, oldest first, read page by page.
pub async fn whole_history(
    client: &Client,
    session: &tidings_sdk::SessionId,
) -> anyhow::Result<Vec<tidings_sdk::LocalMessage>> {
    let mut all = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = client
            .chat()
            .history(session, before.as_deref(), 100)
            .await?;
        let Some(oldest) = page.first() else {
            return Ok(all);
        };
        before = Some(oldest.message_id.clone());
        all.splice(0..0, page);
    }
}

/// Waits for the first event `pick` accepts.
pub async fn wait_for<T>(
    events: &mut broadcast::Receiver<Event>,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> anyhow::Result<T> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return Ok(found);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(n, "test lagged behind events")
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(anyhow!("event stream closed"))
                }
            }
        }
    })
    .await
    .context("timed out waiting for an event")?
}

/// Whether `SendComplete` without error arrives for `message_id` within
/// `within`. Subscribe (`client.events()`) before sending, or the event may
/// pass first.
pub async fn acked(
    events: &mut broadcast::Receiver<Event>,
    message_id: &str,
    within: Duration,
) -> bool {
    tokio::time::timeout(within, async {
        loop {
            match events.recv().await {
                Ok(Event::SendComplete {
                    message,
                    error: None,
                }) if message.message_id == message_id => return true,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return false,
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// The reason of the next `Kicked` event.
pub async fn kicked(events: &mut broadcast::Receiver<Event>) -> anyhow::Result<u32> {
    wait_for(events, |e| match e {
        Event::Kicked { reason, .. } => Some(*reason),
        _ => None,
    })
    .await
}

/// The next change of my other devices.
pub async fn clients_changed(
    events: &mut broadcast::Receiver<Event>,
) -> anyhow::Result<(tidings_sdk::ClientsChange, Vec<tidings_sdk::LoginClient>)> {
    wait_for(events, |e| match e {
        Event::LoginClientsChanged { change, clients } => Some((*change, clients.clone())),
        _ => None,
    })
    .await
}

/// Collects received messages until `count` have arrived.
pub async fn receive(
    events: &mut broadcast::Receiver<Event>,
    count: usize,
) -> anyhow::Result<Vec<tidings_sdk::LocalMessage>> {
    let mut got = Vec::new();
    while got.len() < count {
        let batch = wait_for(events, |e| match e {
            Event::Received(messages) => Some(messages.clone()),
            _ => None,
        })
        .await?;
        got.extend(batch.iter().cloned());
    }
    Ok(got)
}

//! Starting and stopping a node: data directory, store, bus, listeners,
//! graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidings_bus::{Bus, LocalBus};
use tidings_bus_nats::NatsBus;
use tidings_store::{App, Store};
use tidings_store_postgres::PostgresStore;
use tidings_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::services::apps::random_hex;
use crate::state::ServerState;
use crate::{api, listeners};

/// How long shutdown waits for connections to close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Store(#[from] tidings_store::StoreError),
    #[error("bus: {0}")]
    Bus(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Secrets kept in the data directory (mode 0600).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminSecrets {
    pub admin_token: String,
    /// The app created on first start.
    pub default_app_key: String,
    pub default_app_secret: String,
}

pub struct Server {
    state: Arc<ServerState>,
    http_addr: SocketAddr,
    tcp_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    secrets: AdminSecrets,
    first_start: bool,
}

impl Server {
    /// Opens the data directory and binds both listeners.
    pub async fn start(mut config: ServerConfig) -> Result<Server, StartError> {
        listeners::fit_caps_to_open_files(&mut config);
        let dir = config.data_dir.clone();
        let io_err = |source| StartError::DataDir {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io_err)?;
        let store = open_store(&config).await?;
        let bus = open_bus(&config).await?;
        let (secrets, first_start) = load_or_create_secrets(&dir, &*store, &config).await?;

        let http = TcpListener::bind(config.http_listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.http_listen,
                source,
            })?;
        let tcp = TcpListener::bind(config.tcp_listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.tcp_listen,
                source,
            })?;
        let http_addr = http.local_addr().map_err(io_err)?;
        let tcp_addr = tcp.local_addr().map_err(io_err)?;

        let (shutdown, shutdown_rx) = watch::channel(false);
        let listening = crate::state::Listening {
            http: http_addr,
            tcp: tcp_addr,
        };
        let state = Arc::new(ServerState::new(
            config,
            listening,
            store,
            bus,
            secrets.admin_token.clone(),
            secrets.default_app_key.clone(),
            shutdown_rx.clone(),
        ));
        let trimmer = crate::services::events::spawn_trimmer(
            state.services.store.clone(),
            state.config.event_log_max_age(),
            state.config.event_log_max_events_per_account,
            state.config.event_log_trim_interval(),
            shutdown_rx.clone(),
        );
        let router = api::app(state.clone());
        let http_task = tokio::spawn(listeners::accept_http(
            http,
            router,
            state.clone(),
            shutdown_rx.clone(),
        ));
        let tcp_task = tokio::spawn(listeners::accept_tcp(tcp, state.clone(), shutdown_rx));
        tracing::info!(%http_addr, %tcp_addr, "tidings node started");
        Ok(Server {
            state,
            http_addr,
            tcp_addr,
            shutdown,
            tasks: vec![http_task, tcp_task, trimmer],
            secrets,
            first_start,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    pub fn state(&self) -> &Arc<ServerState> {
        &self.state
    }

    pub fn secrets(&self) -> &AdminSecrets {
        &self.secrets
    }

    /// True when this start created the data directory's default app.
    pub fn first_start(&self) -> bool {
        self.first_start
    }

    /// Stops accepting, tells every connection why it closes, waits for them
    /// (at most a few seconds) and flushes the store.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let slots = self.state.config.max_connections as u32;
        let drained = tokio::time::timeout(
            DRAIN_TIMEOUT,
            self.state.connection_slots.acquire_many(slots),
        )
        .await;
        if drained.is_err() {
            tracing::warn!("some connections did not close in time");
        }
        for task in self.tasks {
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, task).await;
        }
        if let Err(e) = self.state.services.store.flush().await {
            tracing::error!(error = %e, "final flush failed");
        }
        tracing::info!("tidings node stopped");
    }
}

async fn open_store(config: &ServerConfig) -> Result<Arc<dyn Store>, StartError> {
    let spec = config.store.trim();
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(spec).await?));
    }
    let path = match spec {
        "" | "sqlite" => config.data_dir.join("tidings.db"),
        other => match other.strip_prefix("sqlite:") {
            Some(path) => PathBuf::from(path),
            None => {
                return Err(StartError::Config(format!(
                    "store '{other}' is not sqlite, sqlite:<path> or postgres://..."
                )))
            }
        },
    };
    Ok(Arc::new(SqliteStore::open(&path)?))
}

async fn open_bus(config: &ServerConfig) -> Result<Arc<dyn Bus>, StartError> {
    match config.bus.trim() {
        "" | "local" => Ok(Arc::new(LocalBus::new())),
        url if url.starts_with("nats://") => {
            let bus = NatsBus::connect(url, &config.bus_prefix)
                .await
                .map_err(|e| StartError::Bus(e.to_string()))?;
            Ok(Arc::new(bus))
        }
        other => Err(StartError::Config(format!(
            "bus '{other}' is not local or nats://..."
        ))),
    }
}

const SECRETS_FILE: &str = "secrets.json";

async fn load_or_create_secrets(
    dir: &Path,
    store: &dyn Store,
    config: &ServerConfig,
) -> Result<(AdminSecrets, bool), StartError> {
    let path = dir.join(SECRETS_FILE);
    let io_err = |source| StartError::DataDir {
        path: path.clone(),
        source,
    };
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io_err)?;
        let secrets = serde_json::from_str(&text)
            .map_err(|e| io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        return Ok((secrets, false));
    }
    let mut secrets = AdminSecrets {
        admin_token: random_hex(24),
        default_app_key: String::new(),
        default_app_secret: String::new(),
    };
    if config.create_default_app {
        let app = store
            .create_app(App {
                app_key: random_hex(16),
                app_secret: random_hex(16),
                name: "default".into(),
                created_at: crate::now_ms(),
            })
            .await?;
        secrets.default_app_key = app.app_key;
        secrets.default_app_secret = app.app_secret;
    }
    let text =
        serde_json::to_string_pretty(&secrets).map_err(|e| io_err(std::io::Error::other(e)))?;
    match write_private(&path, &text) {
        Ok(()) => Ok((secrets, true)),
        // Another node sharing this directory was first: use its secrets.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path).map_err(io_err)?;
            let theirs = serde_json::from_str(&text)
                .map_err(|e| io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
            Ok((theirs, false))
        }
        Err(e) => Err(io_err(e)),
    }
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

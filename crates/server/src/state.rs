use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tidings_bus::Bus;
use tidings_store::Store;
use tokio::sync::{watch, Semaphore};

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::services::Services;

/// The addresses a node's listeners are bound to.
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub http: SocketAddr,
    pub tcp: SocketAddr,
}

/// What every connection and HTTP handler shares.
pub struct ServerState {
    pub config: ServerConfig,
    pub listening: Listening,
    pub services: Services,
    pub metrics: Metrics,
    pub admin_token: String,
    pub(crate) connection_slots: Arc<Semaphore>,
    pub(crate) shutdown: watch::Receiver<bool>,
    next_connection: AtomicU64,
    /// The app made on first start, and whether the server API has been
    /// called for it (so `serve` stops printing its keys).
    default_app_key: String,
    default_app_used: AtomicBool,
}

/// Written into the data directory at the default app's first server-API
/// call.
const DEFAULT_APP_USED_FILE: &str = "default-app-used";

impl ServerState {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: ServerConfig,
        listening: Listening,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        admin_token: String,
        default_app_key: String,
        shutdown: watch::Receiver<bool>,
    ) -> ServerState {
        let default_app_used = config.data_dir.join(DEFAULT_APP_USED_FILE).exists();
        let connection_slots = Arc::new(Semaphore::new(config.max_connections));
        let services = Services::new(store, bus, &config);
        // Connection ids start at a random point so ids from different
        // nodes (or restarts) do not collide on the bus.
        let first = rand::random::<u64>() >> 16;
        ServerState {
            config,
            listening,
            services,
            metrics: Metrics::default(),
            admin_token,
            connection_slots,
            shutdown,
            next_connection: AtomicU64::new(first.max(1)),
            default_app_key,
            default_app_used: AtomicBool::new(default_app_used),
        }
    }

    /// Whether the default app has had a server-API call (ever, on any
    /// start of this data directory).
    pub fn default_app_used(&self) -> bool {
        self.default_app_used.load(Ordering::Relaxed)
    }

    /// Notes a verified server-API call for `app_key`.
    pub(crate) fn api_called_for(&self, app_key: &str) {
        if app_key != self.default_app_key || self.default_app_used() {
            return;
        }
        self.default_app_used.store(true, Ordering::Relaxed);
        let marker: PathBuf = self.config.data_dir.join(DEFAULT_APP_USED_FILE);
        if let Err(e) = std::fs::write(&marker, b"") {
            tracing::warn!(error = %e, path = %marker.display(), "could not note the default app's first use");
        }
    }

    pub(crate) fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}

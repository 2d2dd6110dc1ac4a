use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tidings_bus::Bus;
use tidings_store::Store;
use tokio::sync::{watch, Semaphore};

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::services::Services;

/// What every connection and HTTP handler shares.
pub struct ServerState {
    pub config: ServerConfig,
    pub services: Services,
    pub metrics: Metrics,
    pub admin_token: String,
    pub(crate) connection_slots: Arc<Semaphore>,
    pub(crate) shutdown: watch::Receiver<bool>,
    next_connection: AtomicU64,
}

impl ServerState {
    pub(crate) fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        admin_token: String,
        shutdown: watch::Receiver<bool>,
    ) -> ServerState {
        let connection_slots = Arc::new(Semaphore::new(config.max_connections));
        let services = Services::new(store, bus, &config);
        // Connection ids start at a random point so ids from different
        // nodes (or restarts) do not collide on the bus.
        let first = rand::random::<u64>() >> 16;
        ServerState {
            config,
            services,
            metrics: Metrics::default(),
            admin_token,
            connection_slots,
            shutdown,
            next_connection: AtomicU64::new(first.max(1)),
        }
    }

    pub(crate) fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}

//! The Tidings server as a library: [`Server::start`] binds the listeners and
//! runs the gateway (WebSocket and TCP), the services and the HTTP server API
//! until it is shut down.
//!
//! Layers, top to bottom: `gateway` frames, authenticates and routes;
//! `api` is the app backend's HTTP surface; both call `services`, which hold
//! every rule (limits, permissions, sequencing, fan-out); services persist
//! through `tidings-store` and route through `tidings-bus`.
//!
//! May depend on: proto, store, store-sqlite, bus. Never on the SDK.

pub mod api;
pub mod config;
mod error;
pub mod gateway;
mod listeners;
pub mod metrics;
pub mod services;
mod setup;
mod state;

pub use config::ServerConfig;
pub use error::{echo, ServiceError};
pub use setup::{AdminSecrets, Server, StartError};
pub use state::ServerState;

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

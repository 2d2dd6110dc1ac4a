//! Server configuration. The defaults run on a laptop with no file at all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Directory of the SQLite database, attachments and the default app's keys.
    pub data_dir: PathBuf,
    /// HTTP listener: server API, WebSocket gateway, health, metrics.
    pub http_listen: SocketAddr,
    /// TCP gateway listener (u32 big-endian length-prefixed frames).
    pub tcp_listen: SocketAddr,
    /// Send a heartbeat when nothing was sent for this long (seconds).
    pub heartbeat_interval_secs: f64,
    /// Close a connection that sent nothing for this long (seconds).
    pub idle_timeout_secs: f64,
    /// A client must log in within this long after connecting (seconds).
    pub login_timeout_secs: f64,
    /// Most concurrent client connections (TCP and WebSocket together);
    /// more are refused with 503. Lowered at start to what the process's
    /// open-file limit leaves after the HTTP listener's share.
    pub max_connections: usize,
    /// Most bytes of frames queued for one connection whose peer does not
    /// read them; past it the connection is closed (the device reconnects
    /// and syncs).
    pub max_queued_bytes_per_connection: usize,
    /// Close a connection whose peer has taken nothing of what it was sent
    /// for this long (seconds).
    pub write_timeout_secs: f64,
    /// Most concurrent HTTP connections (server API, health, metrics, and
    /// WebSocket handshakes until they upgrade); more are answered 503 and
    /// closed. Kept apart from `max_connections`, so neither listener can
    /// take the other's room.
    pub max_http_connections: usize,
    /// An HTTP request's head must arrive within this long after its
    /// connection opened or answered its last request (seconds); idle
    /// keep-alive connections are closed then too.
    pub http_header_timeout_secs: f64,
    /// An HTTP request's body and its answer must be done within this long
    /// (seconds); 408 otherwise.
    pub http_request_timeout_secs: f64,
    /// How far a server-API CurTime may be from the server's clock (seconds).
    pub api_time_window_secs: u64,
    /// Wrong tokens for one account from one address within
    /// `login_failure_window_secs` after which its logins from there are
    /// refused (416) for the rest of the window; 0 turns this off.
    pub login_failures_per_window: u32,
    /// The window of `login_failures_per_window` (seconds).
    pub login_failure_window_secs: f64,
    /// Events older than this leave the account event logs (days). A device
    /// offline for longer reloads its profiles, friends and notifications
    /// instead of replaying what it missed.
    pub event_log_max_age_days: f64,
    /// Most events kept per account; older ones leave the log the same way.
    pub event_log_max_events_per_account: u64,
    /// How often the event logs are trimmed (seconds).
    pub event_log_trim_interval_secs: f64,
    /// Most custom notifications one account may send per
    /// `custom_notification_window_secs` (416 past it); 0: no limit.
    pub custom_notifications_per_window: u32,
    /// The window of `custom_notifications_per_window` (seconds).
    pub custom_notification_window_secs: f64,
    /// Most custom notifications kept for an account with no device online
    /// (delivered at its next login); past it the oldest go.
    pub custom_notifications_kept_per_account: u32,
    /// A new device gets, per conversation, only the messages of the last
    /// this many days (0: no limit) ...
    pub roaming_window_days: f64,
    /// ... and at most this many of them (0: no limit). Older ones are
    /// read through cloud history.
    pub roaming_messages_per_conversation: u32,
    /// How long after sending a device may revoke its message (seconds;
    /// 509 after it). The app's backend (`msg/recall`) has no window.
    pub revoke_window_secs: f64,
    /// What `GET /lbs` lists as the TCP gateways (`host:port`), for a
    /// cluster behind a balancer or a node behind NAT; empty: this node's
    /// own, at the host the client asked for.
    pub lbs_tcp: Vec<String>,
    /// What `GET /lbs` lists as the WebSocket gateways (`ws://host:port/ws`);
    /// empty: this node's own.
    pub lbs_ws: Vec<String>,
    /// Create a default app on first start.
    pub create_default_app: bool,
    /// Where data lives: `sqlite` (`<data_dir>/tidings.db`), `sqlite:<path>`,
    /// or `postgres://user@host:port/db` (shared by the nodes of a cluster).
    pub store: String,
    /// How events reach connections: `local` (one node) or `nats://host:port`.
    pub bus: String,
    /// NATS subject prefix; every node of one deployment uses the same.
    pub bus_prefix: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            data_dir: PathBuf::from("tidings-data"),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 9430)),
            tcp_listen: SocketAddr::from(([127, 0, 0, 1], 9431)),
            heartbeat_interval_secs: 30.0,
            idle_timeout_secs: 90.0,
            login_timeout_secs: 30.0,
            max_connections: 100_000,
            max_queued_bytes_per_connection: 4 * 1024 * 1024,
            write_timeout_secs: 30.0,
            max_http_connections: 4096,
            http_header_timeout_secs: 10.0,
            http_request_timeout_secs: 30.0,
            api_time_window_secs: 300,
            login_failures_per_window: 10,
            login_failure_window_secs: 300.0,
            event_log_max_age_days: 30.0,
            event_log_max_events_per_account: 10_000,
            event_log_trim_interval_secs: 600.0,
            custom_notifications_per_window: 100,
            custom_notification_window_secs: 10.0,
            custom_notifications_kept_per_account: 1000,
            revoke_window_secs: 120.0,
            roaming_window_days: 7.0,
            roaming_messages_per_conversation: 100,
            lbs_tcp: Vec::new(),
            lbs_ws: Vec::new(),
            create_default_app: true,
            store: "sqlite".into(),
            bus: "local".into(),
            bus_prefix: "tidings".into(),
        }
    }
}

impl ServerConfig {
    pub fn login_failure_window(&self) -> Duration {
        seconds(self.login_failure_window_secs, 300.0)
    }

    pub fn event_log_max_age(&self) -> Duration {
        seconds(self.event_log_max_age_days * 86_400.0, 30.0 * 86_400.0)
    }

    /// `None`: no time limit.
    pub fn roaming_window(&self) -> Option<Duration> {
        (self.roaming_window_days.is_finite() && self.roaming_window_days > 0.0)
            .then(|| seconds(self.roaming_window_days * 86_400.0, 7.0 * 86_400.0))
    }

    pub fn revoke_window(&self) -> Duration {
        seconds(self.revoke_window_secs, 120.0)
    }

    pub fn custom_notification_window(&self) -> Duration {
        seconds(self.custom_notification_window_secs, 10.0)
    }

    pub fn event_log_trim_interval(&self) -> Duration {
        seconds(self.event_log_trim_interval_secs, 600.0)
    }

    pub fn heartbeat_interval(&self) -> Duration {
        seconds(self.heartbeat_interval_secs, 30.0)
    }

    pub fn idle_timeout(&self) -> Duration {
        seconds(self.idle_timeout_secs, 90.0)
    }

    pub fn login_timeout(&self) -> Duration {
        seconds(self.login_timeout_secs, 30.0)
    }

    pub fn write_timeout(&self) -> Duration {
        seconds(self.write_timeout_secs, 30.0)
    }

    pub fn http_header_timeout(&self) -> Duration {
        seconds(self.http_header_timeout_secs, 10.0)
    }

    pub fn http_request_timeout(&self) -> Duration {
        seconds(self.http_request_timeout_secs, 30.0)
    }
}

/// At least 10 ms; a value that is not a finite number means the default.
fn seconds(value: f64, default: f64) -> Duration {
    let value = if value.is_finite() { value } else { default };
    Duration::from_secs_f64(value.clamp(0.01, 1e9))
}

//! `tidings serve`: configuration from file, environment and flags; a node
//! that stops gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tidings_server::{Server, ServerConfig};

/// Every option is also a `TIDINGS_*` environment variable and a key of the
/// TOML file; flags win over the environment, which wins over the file.
#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "TIDINGS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, attachments, keys).
    #[arg(long, env = "TIDINGS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTTP listener: server API, WebSocket gateway (/ws), /healthz, /metrics.
    #[arg(long = "http", env = "TIDINGS_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// TCP gateway listener.
    #[arg(long = "tcp", env = "TIDINGS_TCP_LISTEN")]
    pub tcp_listen: Option<SocketAddr>,
    /// Seconds of outbound silence before a heartbeat.
    #[arg(long, env = "TIDINGS_HEARTBEAT_INTERVAL_SECS")]
    pub heartbeat_interval_secs: Option<f64>,
    /// Seconds of inbound silence before a connection is closed.
    #[arg(long, env = "TIDINGS_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<f64>,
    /// Seconds a new connection has to log in.
    #[arg(long, env = "TIDINGS_LOGIN_TIMEOUT_SECS")]
    pub login_timeout_secs: Option<f64>,
    /// Most concurrent client connections.
    #[arg(long, env = "TIDINGS_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most bytes of frames queued for one connection that does not read
    /// them; past it the connection is closed.
    #[arg(long, env = "TIDINGS_MAX_QUEUED_BYTES_PER_CONNECTION")]
    pub max_queued_bytes_per_connection: Option<usize>,
    /// Seconds a peer may take nothing of what it is sent before its
    /// connection is closed.
    #[arg(long, env = "TIDINGS_WRITE_TIMEOUT_SECS")]
    pub write_timeout_secs: Option<f64>,
    /// Most concurrent HTTP connections; more are answered 503.
    #[arg(long, env = "TIDINGS_MAX_HTTP_CONNECTIONS")]
    pub max_http_connections: Option<usize>,
    /// Seconds an HTTP request's head may take to arrive (also closes idle
    /// keep-alive connections).
    #[arg(long, env = "TIDINGS_HTTP_HEADER_TIMEOUT_SECS")]
    pub http_header_timeout_secs: Option<f64>,
    /// Seconds an HTTP request's body and answer may take; 408 after.
    #[arg(long, env = "TIDINGS_HTTP_REQUEST_TIMEOUT_SECS")]
    pub http_request_timeout_secs: Option<f64>,
    /// Days an event stays in the account event logs.
    #[arg(long, env = "TIDINGS_EVENT_LOG_MAX_AGE_DAYS")]
    pub event_log_max_age_days: Option<f64>,
    /// Most events kept per account.
    #[arg(long, env = "TIDINGS_EVENT_LOG_MAX_EVENTS_PER_ACCOUNT")]
    pub event_log_max_events_per_account: Option<u64>,
    /// Seconds between two trims of the event logs.
    #[arg(long, env = "TIDINGS_EVENT_LOG_TRIM_INTERVAL_SECS")]
    pub event_log_trim_interval_secs: Option<f64>,
    /// Most custom notifications an account may send per window (416 past it); 0: no limit.
    #[arg(long, env = "TIDINGS_CUSTOM_NOTIFICATIONS_PER_WINDOW")]
    pub custom_notifications_per_window: Option<u32>,
    /// The window of custom_notifications_per_window, seconds.
    #[arg(long, env = "TIDINGS_CUSTOM_NOTIFICATION_WINDOW_SECS")]
    pub custom_notification_window_secs: Option<f64>,
    /// Most custom notifications kept for an offline account.
    #[arg(long, env = "TIDINGS_CUSTOM_NOTIFICATIONS_KEPT_PER_ACCOUNT")]
    pub custom_notifications_kept_per_account: Option<u32>,
    /// A new device gets the messages of the last this many days (0: all).
    #[arg(long, env = "TIDINGS_ROAMING_WINDOW_DAYS")]
    pub roaming_window_days: Option<f64>,
    /// ... and at most this many per conversation (0: no limit).
    #[arg(long, env = "TIDINGS_ROAMING_MESSAGES_PER_CONVERSATION")]
    pub roaming_messages_per_conversation: Option<u32>,
    /// How long after sending a device may revoke its message, seconds.
    #[arg(long, env = "TIDINGS_REVOKE_WINDOW_SECS")]
    pub revoke_window_secs: Option<f64>,
    /// How far a server-API CurTime may be from the server's clock, seconds.
    #[arg(long, env = "TIDINGS_API_TIME_WINDOW_SECS")]
    pub api_time_window_secs: Option<u64>,
    /// Wrong tokens for one account from one address, within the window,
    /// after which its logins from there are refused (416); 0: no limit.
    #[arg(long, env = "TIDINGS_LOGIN_FAILURES_PER_WINDOW")]
    pub login_failures_per_window: Option<u32>,
    /// The window of --login-failures-per-window, seconds.
    #[arg(long, env = "TIDINGS_LOGIN_FAILURE_WINDOW_SECS")]
    pub login_failure_window_secs: Option<f64>,
    /// Store: sqlite (default), sqlite:<path>, or postgres://user@host:port/db.
    #[arg(long, env = "TIDINGS_STORE")]
    pub store: Option<String>,
    /// Bus: local (default, one node) or nats://host:port (a cluster).
    #[arg(long, env = "TIDINGS_BUS")]
    pub bus: Option<String>,
    /// NATS subject prefix shared by the nodes of one deployment.
    #[arg(long, env = "TIDINGS_BUS_PREFIX")]
    pub bus_prefix: Option<String>,
    /// Do not create a default app on first start.
    #[arg(long, env = "TIDINGS_NO_DEFAULT_APP")]
    pub no_default_app: bool,
}

pub fn load_config(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => ServerConfig::default(),
    };
    if let Some(v) = &args.data_dir {
        config.data_dir = v.clone();
    }
    if let Some(v) = args.http_listen {
        config.http_listen = v;
    }
    if let Some(v) = args.tcp_listen {
        config.tcp_listen = v;
    }
    if let Some(v) = args.heartbeat_interval_secs {
        config.heartbeat_interval_secs = v;
    }
    if let Some(v) = args.idle_timeout_secs {
        config.idle_timeout_secs = v;
    }
    if let Some(v) = args.login_timeout_secs {
        config.login_timeout_secs = v;
    }
    if let Some(v) = args.max_connections {
        config.max_connections = v;
    }
    if let Some(v) = args.max_queued_bytes_per_connection {
        config.max_queued_bytes_per_connection = v;
    }
    if let Some(v) = args.write_timeout_secs {
        config.write_timeout_secs = v;
    }
    if let Some(v) = args.max_http_connections {
        config.max_http_connections = v;
    }
    if let Some(v) = args.http_header_timeout_secs {
        config.http_header_timeout_secs = v;
    }
    if let Some(v) = args.http_request_timeout_secs {
        config.http_request_timeout_secs = v;
    }
    if let Some(v) = args.event_log_max_age_days {
        config.event_log_max_age_days = v;
    }
    if let Some(v) = args.event_log_max_events_per_account {
        config.event_log_max_events_per_account = v;
    }
    if let Some(v) = args.event_log_trim_interval_secs {
        config.event_log_trim_interval_secs = v;
    }
    if let Some(v) = args.custom_notifications_per_window {
        config.custom_notifications_per_window = v;
    }
    if let Some(v) = args.custom_notification_window_secs {
        config.custom_notification_window_secs = v;
    }
    if let Some(v) = args.custom_notifications_kept_per_account {
        config.custom_notifications_kept_per_account = v;
    }
    if let Some(v) = args.revoke_window_secs {
        config.revoke_window_secs = v;
    }
    if let Some(v) = args.roaming_window_days {
        config.roaming_window_days = v;
    }
    if let Some(v) = args.roaming_messages_per_conversation {
        config.roaming_messages_per_conversation = v;
    }
    if let Some(v) = args.api_time_window_secs {
        config.api_time_window_secs = v;
    }
    if let Some(v) = args.login_failures_per_window {
        config.login_failures_per_window = v;
    }
    if let Some(v) = args.login_failure_window_secs {
        config.login_failure_window_secs = v;
    }
    if let Some(v) = &args.store {
        config.store = v.clone();
    }
    if let Some(v) = &args.bus {
        config.bus = v.clone();
    }
    if let Some(v) = &args.bus_prefix {
        config.bus_prefix = v.clone();
    }
    if args.no_default_app {
        config.create_default_app = false;
    }
    Ok(config)
}

/// Below this many open files a node holds too few devices to be more
/// than a trial, and says so.
const FEW_OPEN_FILES: u64 = 4_096;

/// `open_files`: the process's limit of open files, already raised as far
/// as its hard limit allows (`None` if unknown).
pub async fn run(args: ServeArgs, open_files: Option<u64>) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    match open_files {
        Some(limit) if limit < FEW_OPEN_FILES.min(config.max_connections as u64) => {
            tracing::warn!(
                limit,
                max_connections = config.max_connections,
                "the open-file limit holds only about this many devices; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=)"
            );
        }
        Some(limit) => tracing::info!(limit, "open-file limit (one a connection)"),
        None => {}
    }
    let data_dir = config.data_dir.clone();
    let server = Server::start(config).await.context("starting the server")?;
    println!("tidings {} serving", env!("CARGO_PKG_VERSION"));
    println!(
        "  http      http://{}  (server API /nimserver/, WebSocket /ws, /healthz, /metrics)",
        server.http_addr()
    );
    println!("  tcp       {}", server.tcp_addr());
    println!("  data dir  {}", data_dir.display());
    let secrets = server.secrets();
    let secrets_file = data_dir.join("secrets.json");
    if !secrets.default_app_key.is_empty() {
        // The keys are shown until the app is first used, so a first start
        // that failed after making them (a port taken) does not hide them.
        if server.state().default_app_used() {
            println!(
                "  keys      {} (the default app's AppKey and AppSecret, the admin token)",
                secrets_file.display()
            );
        } else {
            let made = if server.first_start() {
                "First start: created the default app."
            } else {
                "The default app (shown until its first server-API call)."
            };
            println!(
                "{made} Its keys are also in {} (mode 0600):",
                secrets_file.display()
            );
            println!("  AppKey     {}", secrets.default_app_key);
            println!("  AppSecret  {}", secrets.default_app_secret);
        }
    } else {
        println!("  keys      {} (the admin token)", secrets_file.display());
    }
    wait_for_stop_signal().await;
    println!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/configuration.md's example file is a valid file, and it does
    /// repeat the defaults (but the data directory).
    #[test]
    fn the_documented_example_file_repeats_the_defaults() {
        let doc = include_str!("../../../docs/configuration.md");
        let open = doc.find("```toml\n# tidings.toml\n").expect("the example") + "```toml\n".len();
        let example = &doc[open..open + doc[open..].find("```").expect("its end")];
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("tidings.toml");
        std::fs::write(&path, example).unwrap_or_else(|e| panic!("{e}"));
        let args = ServeArgs {
            config: Some(path),
            ..Default::default()
        };
        let mut config = load_config(&args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/tidings"));
        config.data_dir = ServerConfig::default().data_dir;
        let as_json = |c: &ServerConfig| serde_json::to_value(c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(as_json(&config), as_json(&ServerConfig::default()));
    }

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("tidings.toml");
        std::fs::write(
            &path,
            "data_dir = \"/srv/tidings\"\nidle_timeout_secs = 12.0\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let args = ServeArgs {
            config: Some(path),
            idle_timeout_secs: Some(20.0),
            ..Default::default()
        };
        let config = load_config(&args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.data_dir, PathBuf::from("/srv/tidings"));
        assert_eq!(config.idle_timeout_secs, 20.0);
        assert_eq!(config.tcp_listen, ServerConfig::default().tcp_listen);
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("tidings.toml");
        std::fs::write(&path, "data_dri = \"typo\"\n").unwrap_or_else(|e| panic!("{e}"));
        let args = ServeArgs {
            config: Some(path),
            ..Default::default()
        };
        assert!(load_config(&args).is_err());
    }
}

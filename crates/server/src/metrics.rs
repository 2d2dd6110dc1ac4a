//! Counters served at `/metrics` in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Tcp = 0,
    WebSocket = 1,
}

impl Listener {
    const ALL: [Listener; 2] = [Listener::Tcp, Listener::WebSocket];

    fn label(self) -> &'static str {
        match self {
            Listener::Tcp => "tcp",
            Listener::WebSocket => "ws",
        }
    }
}

/// Where a gateway connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    BeforeLogin = 0,
    LoggedIn = 1,
}

/// Why a connection ended, as counted in `tidings_connections_closed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer hung up or its socket failed.
    PeerClosed,
    Logout,
    Kicked,
    LoginTimeout,
    IdleTimeout,
    /// Its queue of frames went past its limit: it does not read.
    SlowReader,
    /// A write to it made no progress within the write timeout.
    WriteStalled,
    BadFrame,
    LoginFailures,
    /// Its event stream fell behind or broke.
    EventsLost,
    Shutdown,
    /// Refused at once: the listener was at its connection limit.
    ConnectionLimit,
    ServerError,
}

impl CloseReason {
    const ALL: [CloseReason; 13] = [
        CloseReason::PeerClosed,
        CloseReason::Logout,
        CloseReason::Kicked,
        CloseReason::LoginTimeout,
        CloseReason::IdleTimeout,
        CloseReason::SlowReader,
        CloseReason::WriteStalled,
        CloseReason::BadFrame,
        CloseReason::LoginFailures,
        CloseReason::EventsLost,
        CloseReason::Shutdown,
        CloseReason::ConnectionLimit,
        CloseReason::ServerError,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CloseReason::PeerClosed => "peer_closed",
            CloseReason::Logout => "logout",
            CloseReason::Kicked => "kicked",
            CloseReason::LoginTimeout => "login_timeout",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::SlowReader => "slow_reader",
            CloseReason::WriteStalled => "write_stalled",
            CloseReason::BadFrame => "bad_frame",
            CloseReason::LoginFailures => "login_failures",
            CloseReason::EventsLost => "events_lost",
            CloseReason::Shutdown => "shutdown",
            CloseReason::ConnectionLimit => "connection_limit",
            CloseReason::ServerError => "server_error",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    pub connections_open: AtomicI64,
    /// Open gateway connections by listener and [`ConnState`].
    connections: [[AtomicI64; 2]; 2],
    /// Gateway connections ended, by [`CloseReason`].
    closed: [AtomicU64; CloseReason::ALL.len()],
    /// Open HTTP connections (not counting those upgraded to WebSocket).
    pub http_connections_open: AtomicI64,
    /// HTTP connections refused with 503 at the HTTP connection limit.
    pub http_refused_total: AtomicU64,
    /// Bytes of frames queued for peers, over every connection.
    pub queued_bytes: Arc<AtomicI64>,
    pub connections_total: AtomicU64,
    pub logins_total: AtomicU64,
    pub login_failures_total: AtomicU64,
    pub messages_stored_total: AtomicU64,
    pub messages_duplicate_total: AtomicU64,
    pub pushes_total: AtomicU64,
    pub bad_frames_total: AtomicU64,
    /// Sync requests taken up, over all connections.
    pub syncs_total: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A gateway connection enters `state` (from `from`, if it was in one).
    pub fn conn_state(&self, listener: Listener, from: Option<ConnState>, to: Option<ConnState>) {
        let row = &self.connections[listener as usize];
        if let Some(from) = from {
            row[from as usize].fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(to) = to {
            row[to as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn closed(&self, reason: CloseReason) {
        Metrics::inc(&self.closed[reason as usize]);
    }

    /// How many gateway connections ended for `reason`.
    pub fn closed_count(&self, reason: CloseReason) -> u64 {
        self.closed[reason as usize].load(Ordering::Relaxed)
    }

    pub fn render(&self, store: tidings_store::CommitStats, throttle_entries: usize) -> String {
        let mut out = String::new();
        let name = "tidings_connections";
        let _ = writeln!(out, "# TYPE {name} gauge");
        for listener in Listener::ALL {
            for (state, label) in [
                (ConnState::BeforeLogin, "before_login"),
                (ConnState::LoggedIn, "logged_in"),
            ] {
                let value =
                    self.connections[listener as usize][state as usize].load(Ordering::Relaxed);
                let listener = listener.label();
                let _ = writeln!(
                    out,
                    "{name}{{listener=\"{listener}\",state=\"{label}\"}} {value}"
                );
            }
        }
        let name = "tidings_connections_closed_total";
        let _ = writeln!(out, "# TYPE {name} counter");
        for reason in CloseReason::ALL {
            let value = self.closed_count(reason);
            let _ = writeln!(out, "{name}{{reason=\"{}\"}} {value}", reason.label());
        }
        let store_counters = [
            ("tidings_store_transactions_total", store.transactions),
            ("tidings_store_writes_total", store.writes),
            ("tidings_store_messages_total", store.messages),
        ];
        for (name, value) in store_counters {
            let _ = writeln!(out, "# TYPE {name} counter\n{name} {value}");
        }
        render_commit_histogram(&mut out, &store);
        let gauges = [
            (
                "tidings_connections_open",
                self.connections_open.load(Ordering::Relaxed),
            ),
            (
                "tidings_http_connections_open",
                self.http_connections_open.load(Ordering::Relaxed),
            ),
            (
                "tidings_queued_bytes",
                self.queued_bytes.load(Ordering::Relaxed),
            ),
            ("tidings_login_throttle_entries", throttle_entries as i64),
        ];
        for (name, value) in gauges {
            let _ = writeln!(out, "# TYPE {name} gauge\n{name} {value}");
        }
        let counters = [
            ("tidings_connections_total", &self.connections_total),
            ("tidings_logins_total", &self.logins_total),
            ("tidings_login_failures_total", &self.login_failures_total),
            ("tidings_messages_stored_total", &self.messages_stored_total),
            (
                "tidings_messages_duplicate_total",
                &self.messages_duplicate_total,
            ),
            ("tidings_pushes_total", &self.pushes_total),
            ("tidings_bad_frames_total", &self.bad_frames_total),
            ("tidings_syncs_total", &self.syncs_total),
            ("tidings_http_refused_total", &self.http_refused_total),
        ];
        for (name, value) in counters {
            let _ = writeln!(
                out,
                "# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// `tidings_store_commit_seconds`: how long each group took from the writer
/// taking it to its durable commit, as a Prometheus histogram.
fn render_commit_histogram(out: &mut String, store: &tidings_store::CommitStats) {
    let name = "tidings_store_commit_seconds";
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut cumulative = 0;
    for (count, bound) in store
        .commit_buckets
        .iter()
        .zip(tidings_store::COMMIT_BUCKETS_US)
    {
        cumulative += count;
        let le = bound as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let total: u64 = store.commit_buckets.iter().sum();
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
    let _ = writeln!(
        out,
        "{name}_sum {}\n{name}_count {total}",
        store.commit_micros as f64 / 1e6
    );
}

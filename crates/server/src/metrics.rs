//! Counters served at `/metrics` in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub connections_open: AtomicI64,
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

    pub fn render(&self, store: tidings_store::CommitStats) -> String {
        let mut out = String::new();
        let store_counters = [
            ("tidings_store_transactions_total", store.transactions),
            ("tidings_store_writes_total", store.writes),
            ("tidings_store_messages_total", store.messages),
        ];
        for (name, value) in store_counters {
            let _ = writeln!(out, "# TYPE {name} counter\n{name} {value}");
        }
        render_commit_histogram(&mut out, &store);
        let gauges = [(
            "tidings_connections_open",
            self.connections_open.load(Ordering::Relaxed),
        )];
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

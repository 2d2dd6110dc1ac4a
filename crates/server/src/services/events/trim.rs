//! Trims every account's event log by age and count, now and then.

use std::sync::Arc;
use std::time::Duration;

use tidings_store::Store;
use tokio::sync::watch;

use crate::now_ms;

/// Trims at start and then every `every`, until `shutdown` turns true.
/// Events older than `max_age` go, and of each account all but the newest
/// `keep`.
pub fn spawn_trimmer(
    store: Arc<dyn Store>,
    max_age: Duration,
    keep: u64,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let before = now_ms().saturating_sub(max_age.as_millis() as i64);
            match store.trim_events(before, keep).await {
                Ok(0) => {}
                Ok(trimmed) => tracing::info!(trimmed, "trimmed account event logs"),
                Err(e) => tracing::warn!(error = %e, "trimming the event logs failed"),
            }
        }
    })
}

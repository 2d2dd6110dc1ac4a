//! WAL checkpoints off the commit path. The writer never checkpoints on its
//! own (`wal_autocheckpoint=0`), so no acked send waits for the database
//! file's fsync; this thread copies the WAL back into the database every
//! interval.
//!
//! Passive checkpoints never stop the writer, but under steady load the WAL
//! never starts over: SQLite rewinds it only when a write begins with every
//! frame copied back. Left alone the file grows as long as the load lasts
//! (about 1.6 KB per message), and every commit extends it, so each fsync
//! writes file metadata too. So once the WAL passes
//! [`RESTART_AFTER_FRAMES`], this thread asks the writer to rewind it: the
//! writer, between two groups, copies back the few frames the last passive
//! checkpoint left and starts again at the front of the already allocated file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::Connection;

const INTERVAL: Duration = Duration::from_millis(50);
/// 8,192 pages of 4 KiB: a WAL of about 32 MiB.
#[cfg(not(test))]
const RESTART_AFTER_FRAMES: i64 = 8192;
/// Small, so a test sees several rewinds quickly.
#[cfg(test)]
const RESTART_AFTER_FRAMES: i64 = 256;

/// Stops the checkpointer when dropped.
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

/// `(busy, frames in the WAL, frames copied back)`.
pub fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
}

/// Starts the thread; it sets `rewind` when the writer should rewind the WAL.
pub fn start(path: PathBuf, rewind: Arc<AtomicBool>) -> std::io::Result<Checkpointer> {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let conn = match Connection::open(&path) {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::error!(error = %e, "checkpointer cannot open the database");
                    return;
                }
            };
            let _ = conn.busy_timeout(Duration::from_secs(1));
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                match checkpoint(&conn, "PASSIVE") {
                    Ok((_, frames, copied)) if frames >= RESTART_AFTER_FRAMES => {
                        tracing::debug!(frames, copied, "asking the writer to rewind the WAL");
                        rewind.store(true, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
                }
            }
            // Last one on the way out, so a clean stop leaves a small WAL.
            let _ = checkpoint(&conn, "TRUNCATE");
        })?;
    Ok(Checkpointer { _stop: stop })
}

#[cfg(test)]
mod tests {
    use tidings_store::Store;

    use crate::test_support::message;
    use crate::SqliteStore;

    #[tokio::test]
    async fn the_wal_starts_over_under_steady_load() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tidings.db");
        let store = SqliteStore::open(&path).expect("open");
        let wal = dir.path().join("tidings.db-wal");
        let (rounds, per_round) = (80, 100);
        let mut largest = 0;
        for round in 0..rounds {
            let batch = (0..per_round)
                .map(|i| message(round * per_round + i, 2000))
                .collect();
            store.append_messages(batch).await.expect("append");
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            // Room for the checkpointer, as between bursts of real load.
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        assert_eq!(
            store.message_count("app").await.expect("count"),
            (rounds * per_round) as u64
        );
        // 8,000 messages of 2 KB put over 16 MB through the WAL; rewound
        // every 256 frames (1 MiB) it stays a fraction of that.
        assert!(
            largest < 10 * 1024 * 1024,
            "the WAL grew to {largest} bytes"
        );
    }
}

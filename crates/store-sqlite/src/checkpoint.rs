//! When the store's WAL is checkpointed (the mechanism is
//! `tidings-sqlite-wal`): every 50 ms, or sooner once a commit leaves 250
//! new frames (1 MiB), and the writer rewinds the WAL past 2,048 frames
//! (about 8 MiB), so no acked send waits for the database file's fsync and
//! the file stays near that size under steady load. Small checkpoints keep
//! each burst of writes to the database file short, so the writer's own
//! fsync of the WAL does not queue behind megabytes of them (side by side,
//! raw closed loop: 126k against 118k msgs/s with 1,000 frames).
//!
//! A small WAL also makes commits cheaper sooner: until the WAL first
//! starts over, every commit appends to the file, and an `fdatasync` that
//! must also make a new file size durable costs more (100 KB a commit on
//! this machine's disk: 0.43-0.53 ms appending, 0.29 ms overwriting). The
//! store alone (270 messages a commit, 100,000 messages, four interleaved
//! pairs) spent 1.2-2.5 ms in each `COMMIT` with 8,192 frames and
//! 0.6-1.5 ms with 1,024; 2,048 did as well as 1,024 with half the
//! rewinds. A crash also leaves less WAL to recover.

use std::time::Duration;

use tidings_sqlite_wal::Policy;

pub const POLICY: Policy = Policy {
    interval: Some(Duration::from_millis(50)),
    nudge_at_frames: 250,
    rewind_at_frames: REWIND_AT_FRAMES,
    busy_timeout: crate::schema::BUSY_TIMEOUT,
};

#[cfg(not(test))]
const REWIND_AT_FRAMES: i64 = 2048;
/// Small, so a test sees several rewinds quickly and a checkpointer that
/// falls behind on a busy machine still leaves the bound a wide margin.
#[cfg(test)]
const REWIND_AT_FRAMES: i64 = 256;

#[cfg(test)]
mod tests {
    use tidings_store::MessageStore;

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
        // past 256 frames (1 MiB), and by force past four times that
        // however far the checkpointer lags, it stays a fraction of that.
        assert!(
            largest < 10 * 1024 * 1024,
            "the WAL grew to {largest} bytes"
        );
    }
}

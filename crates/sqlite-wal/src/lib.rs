//! WAL checkpoints off the commit path, for every SQLite database Tidings
//! writes: the server's store and each SDK account's local database.
//!
//! The writing connection never checkpoints on its own
//! (`wal_autocheckpoint=0`), so no commit waits for a checkpoint's copying
//! and fsyncs: an SQLite auto-checkpoint runs inside the `COMMIT` that
//! crosses its threshold and stalls everything queued behind it. A
//! [`Checkpointer`] thread on its own connection copies the WAL back into the
//! database instead: every `interval`, and whenever a commit leaves the WAL
//! holding `nudge_at_frames` or more (the writer's WAL hook tells it).
//!
//! Passive checkpoints never stop the writer, but under steady load the WAL
//! never starts over: SQLite rewinds it only when a write begins with every
//! frame copied back. Left alone the file grows as long as the load lasts,
//! and every commit extends it. So once the WAL passes `rewind_at_frames`
//! the checkpointer asks the writer to rewind it ([`WalWriter::rewind_if_due`]):
//! between two transactions the writer copies back the few frames the last
//! passive checkpoint left and starts again at the front of the file.
//! That rewind never waits for the checkpointer or a reader, so no commit
//! stalls behind it, up to a hard limit ([`HARD_LIMIT_FACTOR`] times
//! `rewind_at_frames`): past it, the writer rewinds whether asked or not
//! and waits (its busy timeout) to do so. The WAL stays bounded even when
//! the checkpoint thread gets no CPU or the disk is slow.
//!
//! The writing connection opens with [`open_writer`]: its WAL writes go to
//! the file in one system call a commit ([`coalesce`]), and its hottest
//! statements can bind text without SQLite copying it ([`borrowed`]). Both
//! need unsafe code, kept to those two modules.
//!
//! May depend on: `rusqlite` (and `thiserror`, `tracing`). Knows nothing of
//! messages or accounts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

pub mod borrowed;
pub mod coalesce;

/// Opens the connection that writes `path`, on the [`coalesce`] VFS and
/// with `cache_spill=OFF`, which that VFS needs.
pub fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let vfs = coalesce::register().map_err(|code| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            Some("registering the WAL-coalescing VFS".into()),
        )
    })?;
    let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), vfs)?;
    conn.pragma_update(None, "cache_spill", false)?;
    Ok(conn)
}

/// A commit or checkpoint that takes longer than this is logged (at debug
/// level, with its size), so that a stall in the acks can be traced to
/// the disk.
pub const SLOW_COMMIT: Duration = Duration::from_millis(20);

/// Logs a commit of `jobs` jobs that began at `started`, if it was slow;
/// `writer` names whose commit it was ("server store", "local database").
pub fn log_if_slow(writer: &'static str, jobs: usize, started: Instant) {
    let elapsed = started.elapsed();
    if elapsed > SLOW_COMMIT {
        tracing::debug!(
            writer,
            jobs,
            millis = elapsed.as_millis() as u64,
            "slow commit"
        );
    }
}

/// Plans that do not depend on bound values
/// (`SQLITE_DBCONFIG_ENABLE_QPSG`). Otherwise SQLite parses a statement
/// again whenever a rebound parameter might change its plan (a join, or a
/// range that a partial index might serve), and none of our queries gains
/// from a plan made for one value.
pub fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map(|_| ())
}

/// The writer of a file whose schema `migrate` keeps up to date:
/// `configure` and `migrate` run first on a plain connection, since a
/// migration may be larger than the page cache (and [`open_writer`]'s
/// connection never spills pages before a commit); then the writer opens
/// and is `configure`d again.
pub fn open_migrated_writer(
    path: &Path,
    configure: impl Fn(&Connection) -> rusqlite::Result<()>,
    migrate: impl FnOnce(&Connection) -> rusqlite::Result<()>,
) -> rusqlite::Result<Connection> {
    {
        let conn = Connection::open(path)?;
        configure(&conn)?;
        migrate(&conn)?;
    }
    let conn = open_writer(path)?;
    configure(&conn)?;
    Ok(conn)
}

/// Why the checkpointer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuring the writer: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("starting the checkpoint thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Past `rewind_at_frames` times this, the writer rewinds the WAL itself and
/// waits to do it.
pub const HARD_LIMIT_FACTOR: i64 = 4;

/// When the checkpointer runs.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The longest wait between two checkpoints; `None`: only when nudged
    /// (an idle process then never wakes this thread).
    pub interval: Option<Duration>,
    /// The checkpointer wakes each time commits have added this many
    /// frames to the WAL.
    pub nudge_at_frames: i32,
    /// Past this many frames the writer is asked to rewind the WAL.
    pub rewind_at_frames: i64,
    /// How long the writer waits for a lock in its own transactions (set
    /// on it by [`start`]).
    pub busy_timeout: Duration,
}

enum Signal {
    Nudge,
    Stop,
}

/// The checkpoint thread; it stops (with a last `TRUNCATE` checkpoint, so a
/// clean stop leaves a small WAL) when this is dropped.
pub struct Checkpointer {
    signals: mpsc::Sender<Signal>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.signals.send(Signal::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer's side: rewinds the WAL between transactions when asked.
pub struct WalWriter {
    rewind: Arc<AtomicBool>,
    /// Frames in the WAL after the writer's last commit (from its WAL hook).
    frames: Arc<AtomicI64>,
    /// `rewind_at_frames` times [`HARD_LIMIT_FACTOR`].
    hard_limit_frames: i64,
    /// Where the next rewind that waits is due: the hard limit, or further
    /// on after one that could not finish (a reader held on for longer
    /// than the busy timeout), so a long reader costs one wait per hard
    /// limit's worth of growth, not one per transaction.
    next_forced_at: AtomicI64,
    /// The writer's own busy timeout, put back after a rewind.
    busy_timeout: Duration,
}

enum Rewind {
    Done { frames: i64, copied: i64 },
    Busy,
}

impl WalWriter {
    /// Call between two transactions, never inside one. Below the hard
    /// limit it never waits: while the checkpointer (or a reader on an
    /// older snapshot) is busy, the rewind waits for a later call instead of
    /// the writer waiting for them (SQLite's busy handler sleeps in steps of
    /// up to 100 ms).
    pub fn rewind_if_due(&self, conn: &Connection) {
        let frames = self.frames.load(Ordering::Relaxed);
        let forced = frames >= self.next_forced_at.load(Ordering::Relaxed);
        if !forced && !self.rewind.load(Ordering::Relaxed) {
            return;
        }
        let started = Instant::now();
        let outcome = if forced {
            tracing::info!(
                frames,
                "the WAL passed its hard limit; rewinding it, waiting if need be"
            );
            self.rewind_waiting(conn)
        } else {
            let _ = conn.busy_timeout(Duration::ZERO);
            let outcome = try_rewind(conn);
            let _ = conn.busy_timeout(self.busy_timeout);
            outcome
        };
        match outcome {
            Ok(Rewind::Done { frames, copied }) => {
                self.rewind.store(false, Ordering::Relaxed);
                // The next commit writes at the front of the file.
                self.frames.store(0, Ordering::Relaxed);
                self.next_forced_at
                    .store(self.hard_limit_frames, Ordering::Relaxed);
                tracing::debug!(
                    frames,
                    copied,
                    micros = started.elapsed().as_micros() as u64,
                    "WAL rewound"
                );
            }
            Ok(Rewind::Busy) if forced => {
                self.next_forced_at.store(
                    frames.saturating_add(self.hard_limit_frames),
                    Ordering::Relaxed,
                );
                tracing::warn!(
                    frames,
                    "a reader kept the WAL from starting over; trying again later"
                );
            }
            Ok(Rewind::Busy) => tracing::trace!("WAL busy; rewinding after a later transaction"),
            Err(e) => {
                self.rewind.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, "rewinding the WAL failed");
            }
        }
    }

    /// SQLite's busy handler waits for readers and writers but not for
    /// another connection's running checkpoint (that answers "busy" at
    /// once), so this tries again until the busy timeout is spent.
    fn rewind_waiting(&self, conn: &Connection) -> rusqlite::Result<Rewind> {
        let deadline = Instant::now() + self.busy_timeout;
        loop {
            match try_rewind(conn)? {
                Rewind::Busy if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                outcome => return Ok(outcome),
            }
        }
    }
}

fn try_rewind(conn: &Connection) -> rusqlite::Result<Rewind> {
    match checkpoint(conn, "RESTART") {
        Ok((0, frames, copied)) => Ok(Rewind::Done { frames, copied }),
        Ok(_) => Ok(Rewind::Busy),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Ok(Rewind::Busy)
        }
        Err(e) => Err(e),
    }
}

/// `(busy, frames in the WAL, frames copied back)`.
pub fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
}

/// Turns off `writer`'s own checkpoints, hooks its commits, and starts the
/// checkpoint thread on a second connection to `path`.
pub fn start(
    writer: &mut Connection,
    path: &Path,
    policy: Policy,
) -> Result<(Checkpointer, WalWriter), StartError> {
    writer.busy_timeout(policy.busy_timeout)?;
    // The pragma replaces any WAL hook, so it goes first.
    writer.pragma_update(None, "wal_autocheckpoint", 0)?;
    let (signals, received) = mpsc::channel();
    let nudged = Arc::new(AtomicBool::new(false));
    let hook_signals = signals.clone();
    let hook_nudged = nudged.clone();
    // One nudge per `nudge_at_frames` new frames: a checkpoint that could
    // not copy everything back (the writer kept going) is not retried after
    // every commit, each time with two fsyncs.
    let step = policy.nudge_at_frames.max(1);
    let mut next_nudge = step;
    let wal_frames = Arc::new(AtomicI64::new(0));
    let hook_frames = wal_frames.clone();
    writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: i32| {
        hook_frames.store(i64::from(frames), Ordering::Relaxed);
        if frames < next_nudge - step {
            next_nudge = step; // the WAL started over
        }
        if frames >= next_nudge {
            next_nudge = frames.saturating_add(step);
            if !hook_nudged.swap(true, Ordering::Relaxed) {
                let _ = hook_signals.send(Signal::Nudge);
            }
        }
        Ok(())
    }))?;
    let rewind = Arc::new(AtomicBool::new(false));
    let hard_limit_frames = policy.rewind_at_frames.saturating_mul(HARD_LIMIT_FACTOR);
    let thread_rewind = rewind.clone();
    let path: PathBuf = path.to_path_buf();
    let thread = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(&path, policy, &received, &nudged, &thread_rewind))?;
    Ok((
        Checkpointer {
            signals,
            thread: Some(thread),
        },
        WalWriter {
            rewind,
            frames: wal_frames,
            hard_limit_frames,
            next_forced_at: AtomicI64::new(hard_limit_frames),
            busy_timeout: policy.busy_timeout,
        },
    ))
}

fn run(
    path: &Path,
    policy: Policy,
    signals: &mpsc::Receiver<Signal>,
    nudged: &AtomicBool,
    rewind: &AtomicBool,
) {
    let conn = match Connection::open(path) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "checkpointer cannot open the database");
            return;
        }
    };
    let _ = conn.busy_timeout(Duration::from_secs(1));
    loop {
        let signal = match policy.interval {
            Some(interval) => match signals.recv_timeout(interval) {
                Ok(signal) => signal,
                Err(mpsc::RecvTimeoutError::Timeout) => Signal::Nudge,
                Err(mpsc::RecvTimeoutError::Disconnected) => Signal::Stop,
            },
            None => signals.recv().unwrap_or(Signal::Stop),
        };
        if let Signal::Stop = signal {
            break;
        }
        nudged.store(false, Ordering::Relaxed);
        let started = Instant::now();
        let outcome = checkpoint(&conn, "PASSIVE");
        if let Ok((_, frames, copied)) = &outcome {
            let micros = started.elapsed().as_micros() as u64;
            if started.elapsed() > SLOW_COMMIT {
                tracing::debug!(frames, copied, micros, "slow checkpoint");
            } else {
                tracing::trace!(frames, copied, micros, "checkpoint");
            }
        }
        match outcome {
            Ok((_, frames, copied)) if frames >= policy.rewind_at_frames => {
                tracing::debug!(frames, copied, "asking the writer to rewind the WAL");
                rewind.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
    }
    let _ = checkpoint(&conn, "TRUNCATE");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join("t.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn open(dir: &Path) -> Connection {
        let conn = open_writer(&dir.join("t.db")).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (x BLOB)")
            .expect("schema");
        conn
    }

    /// A writer on a fresh file with a checkpointer that only nudges wake.
    fn started(
        nudge_at_frames: i32,
        rewind_at_frames: i64,
    ) -> (tempfile::TempDir, Connection, Checkpointer, WalWriter) {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = open(dir.path());
        let policy = Policy {
            interval: None,
            nudge_at_frames,
            rewind_at_frames,
            busy_timeout: Duration::from_secs(5),
        };
        let (checkpointer, writer) =
            start(&mut conn, &dir.path().join("t.db"), policy).expect("start");
        (dir, conn, checkpointer, writer)
    }

    fn insert(conn: &Connection, rows: usize) {
        conn.execute_batch("BEGIN").expect("begin");
        for _ in 0..rows {
            conn.execute("INSERT INTO t VALUES (randomblob(3000))", [])
                .expect("insert");
        }
        conn.execute_batch("COMMIT").expect("commit");
    }

    fn db_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join("t.db"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    #[test]
    fn commits_never_checkpoint() {
        let (dir, conn, checkpointer, _writer) = started(1_000_000, 1_000_000);
        // 20 commits over SQLite's own threshold of 1,000 frames.
        for _ in 0..20 {
            insert(&conn, 100);
        }
        assert!(
            db_len(dir.path()) < 64 * 1024,
            "pages were copied into the database: {} bytes",
            db_len(dir.path())
        );
        let (_, frames, _) = checkpoint(&conn, "PASSIVE").expect("look");
        assert!(frames >= 2000, "{frames} frames");
        drop(checkpointer);
        assert_eq!(wal_len(dir.path()), 0, "a clean stop truncates the WAL");
    }

    #[test]
    fn commits_past_the_threshold_wake_the_checkpointer() {
        let (dir, conn, _checkpointer, _writer) = started(500, 1_000_000);
        for _ in 0..20 {
            insert(&conn, 100);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while db_len(dir.path()) < 1024 * 1024 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            db_len(dir.path()) >= 1024 * 1024,
            "no checkpoint copied the WAL back: {} bytes",
            db_len(dir.path())
        );
    }

    /// 200 transactions of 40 rows of 3 KB (over 24 MB through the WAL)
    /// with no pause in which a passive checkpoint could catch up; the
    /// WAL file's largest size and how many times it started over.
    fn steady_load(dir: &Path, conn: &Connection, writer: &WalWriter) -> (u64, usize) {
        let (mut largest, mut rewinds) = (0, 0);
        for _ in 0..200 {
            writer.rewind_if_due(conn);
            rewinds += usize::from(writer.frames.load(Ordering::Relaxed) == 0);
            insert(conn, 40);
            largest = largest.max(wal_len(dir));
        }
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 8000);
        (largest, rewinds)
    }

    #[test]
    fn the_checkpointer_has_the_wal_start_over_under_steady_load() {
        let (dir, conn, _checkpointer, writer) = started(64, 256);
        // Only the checkpointer's requests here, no forced rewinds. How soon
        // it asks depends on when its thread gets the CPU, so this counts
        // rewinds instead of bounding the size (the hard limit does that).
        let writer = WalWriter {
            next_forced_at: AtomicI64::new(i64::MAX),
            ..writer
        };
        let (_, rewinds) = steady_load(dir.path(), &conn, &writer);
        // The first call sees the empty WAL of a new file.
        assert!(rewinds > 1, "the WAL never started over");
    }

    #[test]
    fn past_the_hard_limit_the_writer_rewinds_without_the_checkpointer() {
        // The checkpointer is never woken: it stands for one that gets no CPU.
        let (dir, conn, _checkpointer, writer) = started(1_000_000, 256);
        let (largest, _) = steady_load(dir.path(), &conn, &writer);
        // The hard limit (1,024 frames of 4 KiB) plus one transaction.
        let bound = (256 * HARD_LIMIT_FACTOR as u64 + 100) * (4096 + 24);
        assert!(largest < bound, "the WAL grew to {largest} bytes");
    }

    #[test]
    fn a_reader_past_the_hard_limit_costs_one_wait_per_limit_of_growth() {
        let (dir, conn, _checkpointer, writer) = started(1_000_000, 64);
        conn.busy_timeout(Duration::from_millis(100))
            .expect("timeout");
        let writer = WalWriter {
            busy_timeout: Duration::from_millis(100),
            ..writer
        };
        let reader = Connection::open(dir.path().join("t.db")).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let _: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("read");
        // 60 transactions of about 40 frames: the hard limit (256 frames)
        // is crossed about 9 times, each costing one wait of 100 ms (one
        // wait per transaction past the limit would be over 5 s). The bound
        // leaves room for a CI machine three times slower than this one.
        let started = Instant::now();
        for _ in 0..60 {
            writer.rewind_if_due(&conn);
            insert(&conn, 40);
        }
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_millis(4000),
            "the writer waited {waited:?}: once per transaction past the limit"
        );
        assert!(
            writer.frames.load(Ordering::Relaxed) > 2000,
            "never rewound"
        );
        // Once the reader is gone, the next forced rewind goes through.
        reader.execute_batch("COMMIT").expect("end read");
        let mut rewound = false;
        for _ in 0..20 {
            writer.rewind_if_due(&conn);
            rewound |= writer.frames.load(Ordering::Relaxed) == 0;
            insert(&conn, 40);
        }
        assert!(rewound, "the WAL never started over");
    }

    #[test]
    fn a_rewind_never_waits_for_a_reader_and_happens_once_it_can() {
        let (dir, conn, _checkpointer, writer) = started(1_000_000, 1_000_000);
        insert(&conn, 100);
        // A reader holding an old snapshot keeps the WAL from starting over.
        let reader = Connection::open(dir.path().join("t.db")).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let _: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("read");
        insert(&conn, 100);
        writer.rewind.store(true, Ordering::Relaxed);
        let started = Instant::now();
        writer.rewind_if_due(&conn);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the writer waited {:?} for the reader",
            started.elapsed()
        );
        assert!(writer.rewind.load(Ordering::Relaxed), "still to do");
        reader.execute_batch("COMMIT").expect("end read");
        writer.rewind_if_due(&conn);
        assert!(!writer.rewind.load(Ordering::Relaxed), "done once it could");
        // The next write starts at the front of the WAL.
        insert(&conn, 1);
        let (_, frames, _) = checkpoint(&conn, "PASSIVE").expect("look");
        assert!(frames < 10, "{frames} frames: the WAL did not start over");
        // The writer's own timeout is back.
        let timeout: i64 = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .expect("timeout");
        assert_eq!(timeout, 5000);
    }
}

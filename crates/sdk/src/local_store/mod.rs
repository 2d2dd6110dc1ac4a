//! The account's local database: messages, recent sessions with unread
//! counts, per-conversation sync cursors, and per area what the account
//! event log keeps current (`users.rs`: profiles; `events.rs`: its cursor). One connection in WAL mode,
//! owned by one thread; queued operations share a transaction.

mod db;
pub mod events;
mod hot;
pub mod notifications;
mod open_files;
pub mod ops;
pub mod relations;
mod rows;
#[cfg(test)]
mod tests;
pub mod users;

use std::path::Path;
use std::sync::Arc;

use hot::Hot;
use rusqlite::Connection;
use tidings_sqlite_wal::borrowed::PreparedConnection;
use tidings_sqlite_wal::{Policy, WalWriter};
use tokio::sync::{mpsc, oneshot};

pub use db::Db;

use crate::types::*;
use crate::SdkError;

/// A change to the recent-session list.
#[derive(Debug, Clone)]
pub enum SessionChange {
    Added(RecentSession),
    Updated(RecentSession),
    Removed(RecentSession),
}

/// The server's answer to one of my sends.
pub struct Ack {
    pub message_id: String,
    pub result: Result<(u64, i64, u64), SdkError>,
}

/// What one applied network batch changed.
#[derive(Default)]
pub struct Applied {
    pub completed: Vec<(LocalMessage, Option<SdkError>)>,
    pub received: Vec<LocalMessage>,
    pub sessions: Vec<SessionChange>,
    /// Conversations with a hole below what is held, and the cursor to sync from.
    pub gaps: Vec<(SessionId, u64)>,
    /// What the account's events changed.
    pub events: events::AppliedEvents,
}

/// Checkpoints run on their own thread, so no send, ack or delivery waits
/// for one (an SQLite auto-checkpoint inside a `COMMIT` held up everything
/// queued behind it: p99 ack latency 19-33 ms at 10k msgs/s offered, against
/// 8-13 ms without). Only commits wake that thread: an idle app never does.
/// After every 1,000 new frames (1 MiB, SQLite's own default): each
/// checkpoint costs two fsyncs, and a hot page rewritten by many commits is
/// copied once. Ten SDK clients beside the server, side by side with every
/// 200 frames (benchmarks, fifteenth round): closed loop 38.1k against 32.7k
/// msgs/s (eight pairs), the checkpointers 6.7 % of the CPU against 10.6 %;
/// at 10k msgs/s offered a median ack p99 of 24.8 against 41.3 ms (22 pairs),
/// though worse while the shared disk stalls. With the schema of the time,
/// every 200 frames had beaten every 2,000 (ack p99 8-18 ms against 51-97).
const CHECKPOINTS: Policy = Policy {
    interval: None,
    nudge_at_frames: 1000,
    // 8,192 pages of 1 KiB: the WAL stays near 8 MiB under steady load.
    rewind_at_frames: 8192,
    busy_timeout: std::time::Duration::from_secs(5),
};

/// Most queued jobs one transaction takes.
const MAX_BATCH: usize = 256;

/// Called after the transaction: `None` when it committed, else why not.
type Finish = Box<dyn FnOnce(Option<String>) + Send>;
/// Runs inside the transaction; tells its error (if any) and how to answer.
type Job = Box<dyn FnOnce(&mut Db) -> (Result<(), SdkError>, Finish) + Send>;

/// A handle on a file's database thread. Every operation is a job on the
/// one thread that owns the connection (one per file in this process);
/// queued jobs share a transaction and learn their outcome after the commit.
#[derive(Clone)]
pub struct LocalStore {
    jobs: Arc<mpsc::UnboundedSender<Job>>,
}

static OPEN_FILES: open_files::OpenFiles<mpsc::UnboundedSender<Job>> = open_files::OpenFiles::new();

impl LocalStore {
    /// The file's database thread: the one already running in this
    /// process, or a new one.
    pub fn open(path: &Path, me: &str) -> Result<LocalStore, SdkError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| SdkError::LocalStore(e.to_string()))?;
        }
        let jobs = OPEN_FILES.get_or_open(path, || Self::start(path, me))?;
        Ok(LocalStore { jobs })
    }

    fn start(
        path: &Path,
        me: &str,
    ) -> Result<(Arc<mpsc::UnboundedSender<Job>>, std::thread::JoinHandle<()>), SdkError> {
        let mut conn = tidings_sqlite_wal::open_migrated_writer(path, configure, rows::migrate)?;
        let (checkpointer, wal) = tidings_sqlite_wal::start(&mut conn, path, CHECKPOINTS)
            .map_err(|e| SdkError::LocalStore(e.to_string()))?;
        // Room for every statement the hot path and the readers use.
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::unbounded_channel();
        let me = me.to_owned();
        let db = Db::new(conn, me)?;
        let thread = std::thread::Builder::new()
            .name("tidings-local-db".into())
            .spawn(move || {
                run_jobs(db, &wal, queue);
                // After the database thread's connection closed.
                drop(checkpointer);
            })
            .map_err(|e| SdkError::LocalStore(e.to_string()))?;
        Ok((Arc::new(jobs), thread))
    }

    /// Queues `f` for the database thread now; the returned future answers
    /// after its transaction committed. Jobs run in the order they are queued.
    pub fn run<T, F>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = Result<T, SdkError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, SdkError> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel::<Result<T, SdkError>>();
        let job: Job = Box::new(move |db| {
            let result = f(db);
            let outcome = match &result {
                Ok(_) => Ok(()),
                Err(e) => Err(e.clone()),
            };
            let finish: Finish = Box::new(move |commit_error| {
                let outcome = match commit_error {
                    None => result,
                    Some(e) => Err(SdkError::LocalStore(e)),
                };
                let _ = reply.send(outcome);
            });
            (outcome, finish)
        });
        let queued = self.jobs.send(job).is_ok();
        async move {
            if !queued {
                return Err(SdkError::Stopped);
            }
            outcome.await.map_err(|_| SdkError::Stopped)?
        }
    }
}

/// The settings of a local file, before its schema.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(CHECKPOINTS.busy_timeout)?;
    // A new file gets 1 KiB pages (an existing one keeps its own): most
    // commits here carry a few small rows, and each dirty page goes to the
    // WAL and later to disk whole. Side by side at 10k msgs/s offered, p99
    // ack latency 7-10 ms against 15-85 ms with 4 KiB.
    conn.pragma_update(None, "page_size", 1024)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // 512 pages, not SQLite's 2,000: when a b-tree split renumbers pages,
    // SQLite parks one under a page number past the end of the file, and
    // the next commit then sweeps the cache's whole hash table (about 2 %
    // of all CPU in the closed-loop benchmark with 2,000).
    conn.pragma_update(None, "cache_size", -512)?;
    // The cursor scan's range would otherwise be parsed again on every run.
    tidings_sqlite_wal::stable_plans(conn)
}

/// Runs one of the transaction's bounds ([`Hot::Begin`], [`Hot::Commit`],
/// [`Hot::Rollback`]).
fn exec(conn: &PreparedConnection, bound: Hot) -> rusqlite::Result<()> {
    hot::run(conn, bound, &[]).map(|_| ())
}

/// The database thread: drains queued jobs into one transaction.
fn run_jobs(mut db: Db, wal: &WalWriter, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        let started = std::time::Instant::now();
        wal.rewind_if_due(db.between_transactions());
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Takes the write lock first: a transaction that read before it
        // wrote gets "database is locked" at once, without the busy
        // timeout, if another process holds that lock.
        if let Err(e) = exec(db.between_transactions(), Hot::Begin) {
            // Dropping the jobs answers their callers with an error.
            tracing::error!(error = %e, "local database unavailable");
            batch.clear();
            continue;
        }
        // No savepoint per job (they cost a copy of every page touched): a
        // job that fails having written anything, whatever its error, fails
        // the whole batch, which is rolled back; one that refuses before it
        // writes (bad input) leaves the others be.
        let mut finishes = Vec::with_capacity(batch.len());
        let mut storage_error = None;
        for job in batch.drain(..) {
            let written_before = db.total_changes();
            let (outcome, finish) = job(&mut db);
            match outcome {
                Err(SdkError::LocalStore(e)) => storage_error = Some(e),
                Err(e) if db.total_changes() != written_before => {
                    storage_error = Some(format!("a local change failed part way: {e}"));
                }
                _ => {}
            }
            finishes.push(finish);
        }
        let commit_error = match storage_error {
            Some(e) => {
                db.forget();
                let _ = exec(db.between_transactions(), Hot::Rollback);
                Some(e)
            }
            None => match db
                .flush()
                .and_then(|()| exec(db.between_transactions(), Hot::Commit))
            {
                Ok(()) => None,
                Err(e) => {
                    tracing::error!(error = %e, "local commit failed");
                    db.forget();
                    let _ = exec(db.between_transactions(), Hot::Rollback);
                    Some(e.to_string())
                }
            },
        };
        tidings_sqlite_wal::log_if_slow("local database", finishes.len(), started);
        for finish in finishes {
            finish(commit_error.clone());
        }
    }
}

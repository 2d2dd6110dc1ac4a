//! The single writer thread and its group commit.

use std::any::Any;
use std::sync::Arc;

use rusqlite::Connection;
use tidings_sqlite_wal::WalWriter;
use tidings_store::{Appended, CommitCounters, NewMessage, StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

use crate::log::MessageLog;
use crate::{backend, MAX_BATCH};

type Output = Box<dyn Any + Send>;
type Run = Box<dyn FnOnce(&mut WriteContext<'_, '_>) -> rusqlite::Result<Output> + Send>;

struct Job {
    run: Run,
    reply: oneshot::Sender<StoreResult<Output>>,
}

/// What a write job sees: the connection inside the open transaction and
/// the message log's writer side.
pub struct WriteContext<'a, 'c> {
    pub conn: &'a Connection,
    log: &'a mut MessageLog<'c>,
    counters: &'a CommitCounters,
}

impl WriteContext<'_, '_> {
    /// Appends messages inside the open group, in order (see
    /// [`MessageLog::append_all`]).
    pub fn append_all(&mut self, messages: Vec<NewMessage>) -> rusqlite::Result<Vec<Appended>> {
        let appended = self.log.append_all(self.conn, messages)?;
        let stored = appended.iter().filter(|a| !a.duplicate).count();
        self.counters.add_messages(stored);
        Ok(appended)
    }
}

pub struct Writer {
    jobs: mpsc::Sender<Job>,
    stats: Arc<CommitCounters>,
}

impl Writer {
    /// `wal`: rewinds the WAL between groups when the checkpointer asks.
    /// The log (and its statements, which borrow the connection) opens
    /// on the writer's thread; `start` returns once it has.
    pub fn start(conn: Connection, wal: WalWriter) -> StoreResult<Writer> {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        let stats = Arc::new(CommitCounters::default());
        let counters = stats.clone();
        let (opened, open_result) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let log = match MessageLog::open(&conn) {
                    Ok(log) => log,
                    Err(e) => {
                        let _ = opened.send(Err(backend(e)));
                        return;
                    }
                };
                let _ = opened.send(Ok(()));
                run_writer(&conn, rx, log, &counters, &wal);
            })
            .map_err(backend)?;
        open_result.recv().map_err(|_| StoreError::Closed)??;
        Ok(Writer { jobs, stats })
    }

    pub fn stats(&self) -> tidings_store::CommitStats {
        self.stats.snapshot()
    }

    /// Runs `f` inside the next group transaction; returns after the commit.
    /// A SQL error in any job of the group fails the whole group.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteContext<'_, '_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let run: Run = Box::new(move |ctx| f(ctx).map(|v| Box::new(v) as Output));
        self.jobs
            .send(Job { run, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        let output = answer.await.map_err(|_| StoreError::Closed)??;
        output
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Backend("writer returned the wrong type".into()))
    }
}

fn run_writer(
    conn: &Connection,
    mut rx: mpsc::Receiver<Job>,
    mut log: MessageLog<'_>,
    counters: &CommitCounters,
    wal: &WalWriter,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = next_job(&mut rx) {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A WAL rewind holds this group up: its time counts as the group's.
        let started = std::time::Instant::now();
        wal.rewind_if_due(conn);
        let jobs = batch.len();
        commit_batch(conn, &mut batch, &mut log, counters);
        counters.record_group(jobs, started.elapsed());
        tidings_sqlite_wal::log_if_slow("server store", jobs, started);
    }
    tracing::debug!("sqlite writer stopped");
}

/// How long the writer looks for its next job before it sleeps.
const LOOK_BEFORE_SLEEP: std::time::Duration = std::time::Duration::from_micros(100);

/// The next job: a group that just committed is usually followed by
/// more within microseconds (its acks bring new sends), so the writer
/// looks for [`LOOK_BEFORE_SLEEP`] before it sleeps, which costs a wake-up.
fn next_job(rx: &mut mpsc::Receiver<Job>) -> Option<Job> {
    let started = std::time::Instant::now();
    loop {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        if started.elapsed() >= LOOK_BEFORE_SLEEP {
            return rx.blocking_recv();
        }
        std::thread::yield_now();
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<Job>,
    log: &mut MessageLog<'_>,
    counters: &CommitCounters,
) {
    let size = batch.len();
    let mut done: Vec<(oneshot::Sender<StoreResult<Output>>, Output)> = Vec::with_capacity(size);
    let mut failure: Option<String> = exec(conn, "BEGIN IMMEDIATE").err().map(|e| e.to_string());
    for job in batch.drain(..) {
        if let Some(reason) = &failure {
            let _ = job.reply.send(Err(StoreError::Backend(reason.clone())));
            continue;
        }
        let mut ctx = WriteContext {
            conn,
            log,
            counters,
        };
        match (job.run)(&mut ctx) {
            Ok(output) => done.push((job.reply, output)),
            Err(e) => {
                failure = Some(e.to_string());
                let _ = job.reply.send(Err(backend(e)));
            }
        }
    }
    if failure.is_none() {
        failure = log
            .write_group(conn)
            .and_then(|()| exec(conn, "COMMIT"))
            .err()
            .map(|e| e.to_string());
    }
    match failure {
        None => {
            for (reply, output) in done {
                let _ = reply.send(Ok(output));
            }
        }
        Some(reason) => {
            tracing::error!(size, %reason, "group commit failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
            log.forget();
            for (reply, _) in done {
                let _ = reply.send(Err(StoreError::Backend(reason.clone())));
            }
        }
    }
}

//! The single writer thread and its group commit.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::Connection;
use tidings_sqlite_wal::WalWriter;
use tidings_store::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

use crate::{backend, MAX_BATCH};

type Output = Box<dyn Any + Send>;
type Run = Box<dyn FnOnce(&mut WriteContext<'_>) -> rusqlite::Result<Output> + Send>;

struct Job {
    run: Run,
    reply: oneshot::Sender<StoreResult<Output>>,
}

/// What a write job sees: the connection inside the open transaction and
/// the writer's id generator.
pub struct WriteContext<'a> {
    pub conn: &'a Connection,
    state: &'a mut WriterState,
    messages: &'a AtomicU64,
}

/// What the writer remembers between groups. Valid only for committed data:
/// a failed group clears it.
#[derive(Default)]
struct WriterState {
    last_server_id: u64,
    /// Last sequence per conversation, keyed "app\0conversation".
    last_seqs: HashMap<String, i64>,
    /// Conversations whose counter row the open group has not written yet:
    /// one write per conversation per group, not one per message.
    unsaved_seqs: HashSet<String>,
}

/// Past this many conversations the sequence cache starts over (between groups).
const MAX_CACHED_SEQS: usize = 100_000;

/// A conversation's key in the writer's sequence cache: "app\0conversation".
pub fn seq_key(app_key: &str, conversation: &str) -> String {
    let mut key = String::with_capacity(app_key.len() + conversation.len() + 1);
    key.push_str(app_key);
    key.push('\0');
    key.push_str(conversation);
    key
}

impl WriteContext<'_> {
    /// Counts one stored message (for the commit statistics).
    pub fn count_message(&self) {
        self.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Time-ordered u64 ids: milliseconds in the high bits, a counter below.
    pub fn next_server_id(&mut self, now_ms: i64) -> u64 {
        let from_clock = (now_ms.max(0) as u64) << 20;
        let id = from_clock.max(self.state.last_server_id + 1);
        self.state.last_server_id = id;
        id
    }

    /// The conversation's last sequence, if the writer knows it (including
    /// what this group took and has not written yet). `key`: [`seq_key`].
    pub fn cached_seq(&self, key: &str) -> Option<i64> {
        self.state.last_seqs.get(key).copied()
    }

    /// Takes `seq` for the conversation; its counter row is written once,
    /// before this group commits.
    pub fn remember_seq(&mut self, key: String, seq: i64) {
        if !self.state.unsaved_seqs.contains(&key) {
            self.state.unsaved_seqs.insert(key.clone());
        }
        self.state.last_seqs.insert(key, seq);
    }
}

/// Writes the counter row of every conversation the group appended to.
fn save_seqs(conn: &Connection, state: &mut WriterState) -> rusqlite::Result<()> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO conversations (app_key, conversation, last_seq) VALUES (?1, ?2, ?3) \
         ON CONFLICT (app_key, conversation) DO UPDATE SET last_seq = excluded.last_seq",
    )?;
    for key in state.unsaved_seqs.drain() {
        let (Some(seq), Some((app_key, conversation))) =
            (state.last_seqs.get(&key), key.split_once('\0'))
        else {
            continue;
        };
        upsert.execute(rusqlite::params![app_key, conversation, seq])?;
    }
    Ok(())
}

pub struct Writer {
    jobs: mpsc::Sender<Job>,
    stats: Arc<Counters>,
}

#[derive(Default)]
pub struct Counters {
    pub transactions: AtomicU64,
    pub writes: AtomicU64,
    pub messages: AtomicU64,
}

impl Writer {
    /// `wal`: rewinds the WAL between groups when the checkpointer asks.
    pub fn start(conn: Connection, wal: WalWriter) -> StoreResult<Writer> {
        let last_server_id: i64 = conn
            .query_row(
                "SELECT coalesce(max(server_id), 0) FROM messages",
                [],
                |row| row.get(0),
            )
            .map_err(backend)?;
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        let stats = Arc::new(Counters::default());
        let counters = stats.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(conn, rx, last_server_id as u64, &counters, &wal))
            .map_err(backend)?;
        Ok(Writer { jobs, stats })
    }

    pub fn stats(&self) -> tidings_store::CommitStats {
        tidings_store::CommitStats {
            transactions: self.stats.transactions.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
            messages: self.stats.messages.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` inside the next group transaction; returns after the commit.
    /// A SQL error in any job of the group fails the whole group.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteContext<'_>) -> rusqlite::Result<T> + Send + 'static,
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
    conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    last_server_id: u64,
    counters: &Counters,
    wal: &WalWriter,
) {
    let mut state = WriterState {
        last_server_id,
        ..WriterState::default()
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        wal.rewind_if_due(&conn);
        commit_batch(&conn, &mut batch, &mut state, &counters.messages);
    }
    tracing::debug!("sqlite writer stopped");
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<Job>,
    state: &mut WriterState,
    messages: &AtomicU64,
) {
    let size = batch.len();
    if state.last_seqs.len() >= MAX_CACHED_SEQS {
        state.last_seqs.clear();
    }
    let mut done: Vec<(oneshot::Sender<StoreResult<Output>>, Output)> = Vec::with_capacity(size);
    let mut failure: Option<String> = exec(conn, "BEGIN IMMEDIATE").err().map(|e| e.to_string());
    for job in batch.drain(..) {
        if let Some(reason) = &failure {
            let _ = job.reply.send(Err(StoreError::Backend(reason.clone())));
            continue;
        }
        let mut ctx = WriteContext {
            conn,
            state,
            messages,
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
        failure = save_seqs(conn, state)
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
            // Server ids stay monotonic; cached sequences may name rolled-back rows.
            state.last_seqs.clear();
            state.unsaved_seqs.clear();
            for (reply, _) in done {
                let _ = reply.send(Err(StoreError::Backend(reason.clone())));
            }
        }
    }
}

//! The account's local database: messages, recent sessions with unread
//! counts, and per-conversation sync cursors. One connection in WAL mode,
//! used from blocking threads; every network batch is one transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};
use tokio::sync::{mpsc, oneshot};

use crate::types::*;
use crate::SdkError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    local_id     INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL,
    server_id    INTEGER NOT NULL DEFAULT 0,
    session_type INTEGER NOT NULL,
    session_id   TEXT NOT NULL,
    from_accid   TEXT NOT NULL,
    from_nick    TEXT NOT NULL,
    message_type INTEGER NOT NULL,
    body         TEXT NOT NULL,
    attachment   TEXT NOT NULL,
    remote_ext   TEXT NOT NULL,
    local_ext    TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    seq          INTEGER NOT NULL DEFAULT 0,
    delivery     INTEGER NOT NULL,
    outgoing     INTEGER NOT NULL,
    settings     TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id ON messages (from_accid, message_id);
CREATE INDEX IF NOT EXISTS messages_by_seq ON messages (session_type, session_id, seq);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (session_type, session_id, timestamp, local_id);
CREATE TABLE IF NOT EXISTS recent_sessions (
    session_type   INTEGER NOT NULL,
    session_id     TEXT NOT NULL,
    unread         INTEGER NOT NULL,
    last_local_id  INTEGER NOT NULL,
    last_timestamp INTEGER NOT NULL,
    PRIMARY KEY (session_type, session_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors (
    session_type INTEGER NOT NULL,
    session_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (session_type, session_id)
) WITHOUT ROWID;
";

const COLUMNS: &str = "message_id, server_id, session_type, session_id, from_accid, from_nick, \
    message_type, body, attachment, remote_ext, local_ext, timestamp, seq, delivery, outgoing, settings";

/// A change to the recent-session list.
#[derive(Debug, Clone)]
pub enum SessionChange {
    Added(RecentSession),
    Updated(RecentSession),
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
}

/// Most queued jobs one transaction takes.
const MAX_BATCH: usize = 256;

/// Called after the transaction: `None` when it committed, else why not.
type Finish = Box<dyn FnOnce(Option<String>) + Send>;
/// Runs inside the transaction; tells its error (if any) and how to answer.
type Job = Box<dyn FnOnce(&Connection, &str) -> (Result<(), SdkError>, Finish) + Send>;

/// The database thread's handle. Every operation is a job on one thread
/// that owns the connection; queued jobs share a transaction, and learn their outcome after the commit.
#[derive(Clone)]
pub struct LocalStore {
    jobs: mpsc::UnboundedSender<Job>,
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<LocalMessage> {
    let settings: String = row.get(15)?;
    Ok(LocalMessage {
        message_id: row.get(0)?,
        server_id: row.get::<_, i64>(1)? as u64,
        session: SessionId {
            kind: SessionType::from_u32(row.get(2)?).unwrap_or(SessionType::P2P),
            id: row.get(3)?,
        },
        from: row.get(4)?,
        from_nick: row.get(5)?,
        message_type: row.get(6)?,
        text: row.get(7)?,
        attachment: row.get(8)?,
        remote_ext: row.get(9)?,
        local_ext: row.get(10)?,
        timestamp: row.get(11)?,
        seq: row.get::<_, i64>(12)? as u64,
        delivery: DeliveryState::from_u32(row.get(13)?),
        is_outgoing: row.get(14)?,
        settings: serde_json::from_str(&settings).unwrap_or_default(),
    })
}

fn insert_message(tx: &Connection, m: &LocalMessage) -> rusqlite::Result<bool> {
    let settings = serde_json::to_string(&m.settings).unwrap_or_default();
    let n = tx
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO messages ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ))?
        .execute(params![
            m.message_id,
            m.server_id as i64,
            m.session.kind.as_u32(),
            m.session.id,
            m.from,
            m.from_nick,
            m.message_type,
            m.text,
            m.attachment,
            m.remote_ext,
            m.local_ext,
            m.timestamp,
            m.seq as i64,
            m.delivery as u32,
            m.is_outgoing,
            settings,
        ])?;
    Ok(n == 1)
}

impl LocalStore {
    pub fn open(path: &Path, me: &str) -> Result<LocalStore, SdkError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| SdkError::LocalStore(e.to_string()))?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let (jobs, queue) = mpsc::unbounded_channel();
        let me = me.to_owned();
        std::thread::Builder::new()
            .name("tidings-local-db".into())
            .spawn(move || run_jobs(conn, &me, queue))
            .map_err(|e| SdkError::LocalStore(e.to_string()))?;
        Ok(LocalStore { jobs })
    }

    /// Queues `f` for the database thread now; the returned future answers
    /// after its transaction committed. Jobs run in the order they are queued.
    pub fn run<T, F>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = Result<T, SdkError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &str) -> Result<T, SdkError> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel::<Result<T, SdkError>>();
        let job: Job = Box::new(move |conn, me| {
            let result = f(conn, me);
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

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The database thread: drains queued jobs into one transaction.
fn run_jobs(conn: Connection, me: &str, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = exec(&conn, "BEGIN") {
            // Dropping the jobs answers their callers with an error.
            tracing::error!(error = %e, "local database unavailable");
            batch.clear();
            continue;
        }
        // No savepoint per job (they cost a copy of every page touched): a
        // job refusing bad input checks before it writes, so only a storage
        // error can leave partial writes, and that fails the whole batch.
        let mut finishes = Vec::with_capacity(batch.len());
        let mut storage_error = None;
        for job in batch.drain(..) {
            let (outcome, finish) = job(&conn, me);
            if let Err(SdkError::LocalStore(e)) = outcome {
                storage_error = Some(e);
            }
            finishes.push(finish);
        }
        let commit_error = match storage_error {
            Some(e) => {
                let _ = exec(&conn, "ROLLBACK");
                Some(e)
            }
            None => match exec(&conn, "COMMIT") {
                Ok(()) => None,
                Err(e) => {
                    tracing::error!(error = %e, "local commit failed");
                    let _ = exec(&conn, "ROLLBACK");
                    Some(e.to_string())
                }
            },
        };
        for finish in finishes {
            finish(commit_error.clone());
        }
    }
}

fn recent_session(tx: &Connection, session: &SessionId) -> rusqlite::Result<Option<RecentSession>> {
    let row: Option<(u32, i64)> = tx
        .prepare_cached(
            "SELECT unread, last_local_id FROM recent_sessions WHERE session_type = ?1 AND session_id = ?2",
        )?
        .query_row(params![session.kind.as_u32(), session.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((unread_count, last_local_id)) = row else {
        return Ok(None);
    };
    let last_message = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE local_id = ?1"
        ))?
        .query_row([last_local_id], message_from_row)
        .optional()?;
    Ok(Some(RecentSession {
        session: session.clone(),
        unread_count,
        last_message,
    }))
}

/// Makes `local_id` the session's last message if it is the newest, adds
/// `unread`; returns whether the session is new to the list.
fn bump_recent(
    tx: &Connection,
    session: &SessionId,
    local_id: i64,
    timestamp: i64,
    unread: u32,
) -> rusqlite::Result<bool> {
    let existed = tx
        .prepare_cached(
            "SELECT 1 FROM recent_sessions WHERE session_type = ?1 AND session_id = ?2",
        )?
        .exists(params![session.kind.as_u32(), session.id])?;
    tx.prepare_cached(
        "INSERT INTO recent_sessions (session_type, session_id, unread, last_local_id, last_timestamp) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (session_type, session_id) DO UPDATE SET \
           unread = unread + excluded.unread, \
           last_local_id = CASE WHEN excluded.last_timestamp >= last_timestamp THEN excluded.last_local_id ELSE last_local_id END, \
           last_timestamp = max(last_timestamp, excluded.last_timestamp)",
    )?
    .execute(params![session.kind.as_u32(), session.id, unread, local_id, timestamp])?;
    Ok(!existed)
}

/// Moves the cursor over every contiguous held sequence; returns the cursor
/// and whether something above it is held (a gap).
fn advance_cursor(tx: &Connection, session: &SessionId) -> rusqlite::Result<(u64, bool)> {
    let mut cursor: i64 = tx
        .prepare_cached("SELECT seq FROM cursors WHERE session_type = ?1 AND session_id = ?2")?
        .query_row(params![session.kind.as_u32(), session.id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let start = cursor;
    let mut gap = false;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT seq FROM messages WHERE session_type = ?1 AND session_id = ?2 AND seq > ?3 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![session.kind.as_u32(), session.id, cursor])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            if seq == cursor + 1 {
                cursor = seq;
            } else if seq > cursor + 1 {
                gap = true;
                break;
            }
        }
    }
    if cursor != start {
        tx.prepare_cached(
            "INSERT INTO cursors (session_type, session_id, seq) VALUES (?1, ?2, ?3) \
             ON CONFLICT (session_type, session_id) DO UPDATE SET seq = excluded.seq",
        )?
        .execute(params![session.kind.as_u32(), session.id, cursor])?;
    }
    Ok((cursor as u64, gap))
}

fn local_id_of(
    tx: &Connection,
    from: &str,
    message_id: &str,
) -> rusqlite::Result<Option<(i64, LocalMessage)>> {
    tx.prepare_cached(&format!(
        "SELECT {COLUMNS}, local_id FROM messages WHERE from_accid = ?1 AND message_id = ?2"
    ))?
    .query_row(params![from, message_id], |row| {
        Ok((row.get(16)?, message_from_row(row)?))
    })
    .optional()
}

fn session_changes(
    tx: &Connection,
    touched: &BTreeSet<(u32, String)>,
    added: &BTreeSet<(u32, String)>,
) -> rusqlite::Result<Vec<SessionChange>> {
    let mut changes = Vec::new();
    for (kind, id) in touched {
        let session = SessionId {
            kind: SessionType::from_u32(*kind).unwrap_or(SessionType::P2P),
            id: id.clone(),
        };
        if let Some(recent) = recent_session(tx, &session)? {
            if added.contains(&(*kind, id.clone())) {
                changes.push(SessionChange::Added(recent));
            } else {
                changes.push(SessionChange::Updated(recent));
            }
        }
    }
    Ok(changes)
}

/// Synchronous operations, run through [`LocalStore::run`].
pub mod ops {
    use super::*;

    /// Stores a message the app is sending and puts it on top of its session.
    pub fn insert_outgoing(
        conn: &Connection,
        m: &LocalMessage,
    ) -> Result<Vec<SessionChange>, SdkError> {
        let tx = conn;
        if !insert_message(tx, m)? {
            return Err(SdkError::InvalidParameter(format!(
                "messageId '{}' is already used",
                m.message_id
            )));
        }
        let local_id = tx.last_insert_rowid();
        let added = bump_recent(tx, &m.session, local_id, m.timestamp, 0)?;
        let key = BTreeSet::from([(m.session.kind.as_u32(), m.session.id.clone())]);
        let changes =
            session_changes(tx, &key, &if added { key.clone() } else { BTreeSet::new() })?;
        Ok(changes)
    }

    /// My messages not yet acked, oldest first (the outbox after a restart).
    pub fn pending_outgoing(conn: &Connection, me: &str) -> Result<Vec<LocalMessage>, SdkError> {
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM messages WHERE from_accid = ?1 AND outgoing = 1 AND delivery = 0 ORDER BY local_id"
        ))?;
        let rows = stmt.query_map([me], message_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A failed message goes back to "sending" for a resend with the same id.
    pub fn mark_resending(
        conn: &Connection,
        me: &str,
        message_id: &str,
    ) -> Result<LocalMessage, SdkError> {
        let n = conn.execute(
            "UPDATE messages SET delivery = 0 WHERE from_accid = ?1 AND message_id = ?2 AND outgoing = 1 AND delivery = 1",
            params![me, message_id],
        )?;
        if n == 0 {
            return Err(SdkError::InvalidParameter(format!(
                "no failed message with id '{message_id}'"
            )));
        }
        local_id_of(conn, me, message_id)?
            .map(|(_, m)| m)
            .ok_or_else(|| SdkError::InvalidParameter(format!("no message with id '{message_id}'")))
    }

    /// Applies one batch from the network in one transaction.
    pub fn apply(
        conn: &Connection,
        me: &str,
        acks: Vec<Ack>,
        received: Vec<LocalMessage>,
    ) -> Result<Applied, SdkError> {
        let tx = conn;
        let mut applied = Applied::default();
        // Each touched session's newest message and new unread, applied once.
        let mut bumps: BTreeMap<(u32, String), (i64, i64, u32)> = BTreeMap::new();
        let mut note = |key: (u32, String), local_id: i64, timestamp: i64, unread: u32| {
            let entry = bumps.entry(key).or_insert((local_id, timestamp, 0));
            if timestamp >= entry.1 {
                (entry.0, entry.1) = (local_id, timestamp);
            }
            entry.2 += unread;
        };
        let mut touched = BTreeSet::new();
        for ack in acks {
            // UPDATE then SELECT: an UPDATE ... RETURNING costs far more here.
            match &ack.result {
                Ok((server_id, timestamp, seq)) => tx
                    .prepare_cached(
                        "UPDATE messages SET server_id = ?3, timestamp = ?4, seq = ?5, delivery = 2 \
                         WHERE from_accid = ?1 AND message_id = ?2",
                    )?
                    .execute(params![me, ack.message_id, *server_id as i64, timestamp, *seq as i64])?,
                Err(_) => tx
                    .prepare_cached(
                        "UPDATE messages SET delivery = 1 WHERE from_accid = ?1 AND message_id = ?2 AND delivery = 0",
                    )?
                    .execute(params![me, ack.message_id])?,
            };
            let row = local_id_of(tx, me, &ack.message_id)?;
            let Some((local_id, message)) = row else {
                continue;
            };
            let error = ack.result.err();
            if error.is_none() {
                let key = (message.session.kind.as_u32(), message.session.id.clone());
                note(key, local_id, message.timestamp, 0);
            }
            applied.completed.push((message, error));
        }
        for m in received {
            let key = (m.session.kind.as_u32(), m.session.id.clone());
            if insert_message(tx, &m)? {
                let unread = u32::from(m.from != me && m.settings.should_be_counted);
                note(key, tx.last_insert_rowid(), m.timestamp, unread);
                applied.received.push(m);
            } else if m.from == me {
                // My own message synced back before its ack reached this
                // device (a resend after a restart, say): take the server's view.
                let n = tx
                    .prepare_cached(
                        "UPDATE messages SET server_id = ?3, timestamp = ?4, seq = ?5, delivery = 2 \
                         WHERE from_accid = ?1 AND message_id = ?2 AND seq = 0",
                    )?
                    .execute(params![me, m.message_id, m.server_id as i64, m.timestamp, m.seq as i64])?;
                if n == 1 {
                    touched.insert(key);
                }
            }
        }
        let mut added = BTreeSet::new();
        for (key, (local_id, timestamp, unread)) in bumps {
            let session = SessionId {
                kind: SessionType::from_u32(key.0).unwrap_or(SessionType::P2P),
                id: key.1.clone(),
            };
            if bump_recent(tx, &session, local_id, timestamp, unread)? {
                added.insert(key.clone());
            }
            touched.insert(key);
        }
        for (kind, id) in &touched {
            let session = SessionId {
                kind: SessionType::from_u32(*kind).unwrap_or(SessionType::P2P),
                id: id.clone(),
            };
            let (cursor, gap) = advance_cursor(tx, &session)?;
            if gap {
                applied.gaps.push((session, cursor));
            }
        }
        applied.sessions = session_changes(tx, &touched, &added)?;
        Ok(applied)
    }

    pub fn cursors(conn: &Connection) -> Result<Vec<(SessionId, u64)>, SdkError> {
        let mut stmt = conn.prepare("SELECT session_type, session_id, seq FROM cursors")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                SessionId {
                    kind: SessionType::from_u32(r.get(0)?).unwrap_or(SessionType::P2P),
                    id: r.get(1)?,
                },
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Recent sessions, newest first.
    pub fn recent_sessions(conn: &Connection) -> Result<Vec<RecentSession>, SdkError> {
        let keys: Vec<SessionId> = {
            let mut stmt = conn.prepare(
                "SELECT session_type, session_id FROM recent_sessions ORDER BY last_timestamp DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(SessionId {
                    kind: SessionType::from_u32(r.get(0)?).unwrap_or(SessionType::P2P),
                    id: r.get(1)?,
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(recent) = recent_session(conn, &key)? {
                out.push(recent);
            }
        }
        Ok(out)
    }

    pub fn recent_session_of(
        conn: &Connection,
        session: &SessionId,
    ) -> Result<Option<RecentSession>, SdkError> {
        Ok(recent_session(conn, session)?)
    }

    /// Removes a session from the recent list; its messages stay.
    pub fn delete_recent_session(
        conn: &Connection,
        session: &SessionId,
    ) -> Result<Option<RecentSession>, SdkError> {
        let Some(recent) = recent_session(conn, session)? else {
            return Ok(None);
        };
        conn.execute(
            "DELETE FROM recent_sessions WHERE session_type = ?1 AND session_id = ?2",
            params![session.kind.as_u32(), session.id],
        )?;
        Ok(Some(recent))
    }

    pub fn mark_all_read(
        conn: &Connection,
        session: &SessionId,
    ) -> Result<Option<RecentSession>, SdkError> {
        let n = conn.execute(
            "UPDATE recent_sessions SET unread = 0 WHERE session_type = ?1 AND session_id = ?2 AND unread > 0",
            params![session.kind.as_u32(), session.id],
        )?;
        if n == 0 {
            return Ok(None);
        }
        Ok(recent_session(conn, session)?)
    }

    pub fn total_unread(conn: &Connection) -> Result<u32, SdkError> {
        Ok(conn.query_row(
            "SELECT coalesce(sum(unread), 0) FROM recent_sessions",
            [],
            |r| r.get(0),
        )?)
    }

    /// Up to `limit` messages of a session older than `before` (a message id),
    /// or the newest ones; oldest first.
    /// `types`: only these message types (all when `None`).
    pub fn history(
        conn: &Connection,
        session: &SessionId,
        before: Option<&str>,
        limit: u32,
        types: Option<&[u32]>,
    ) -> Result<Vec<LocalMessage>, SdkError> {
        let anchor: Option<(i64, i64)> = match before {
            None => None,
            Some(id) => Some(
                conn.query_row(
                    "SELECT timestamp, local_id FROM messages WHERE message_id = ?1 AND session_type = ?2 AND session_id = ?3",
                    params![id, session.kind.as_u32(), session.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| SdkError::InvalidParameter(format!("no message '{id}' in this session")))?,
            ),
        };
        let (ts, local_id) = anchor.unwrap_or((i64::MAX, i64::MAX));
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE session_type = ?1 AND session_id = ?2 \
             AND (timestamp < ?3 OR (timestamp = ?3 AND local_id < ?4)) \
             AND (?6 IS NULL OR message_type IN (SELECT value FROM json_each(?6))) \
             ORDER BY timestamp DESC, local_id DESC LIMIT ?5"
        ))?;
        let types = types.map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
        let rows = stmt.query_map(
            params![
                session.kind.as_u32(),
                session.id,
                ts,
                local_id,
                limit,
                types
            ],
            message_from_row,
        )?;
        let mut out: Vec<LocalMessage> = rows.collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }

    pub fn message(conn: &Connection, message_id: &str) -> Result<Option<LocalMessage>, SdkError> {
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM messages WHERE message_id = ?1 LIMIT 1"),
                [message_id],
                message_from_row,
            )
            .optional()?)
    }

    pub fn update_local_ext(
        conn: &Connection,
        message_id: &str,
        local_ext: &str,
    ) -> Result<(), SdkError> {
        let n = conn.execute(
            "UPDATE messages SET local_ext = ?2 WHERE message_id = ?1",
            params![message_id, local_ext],
        )?;
        if n == 0 {
            return Err(SdkError::InvalidParameter(format!(
                "no message with id '{message_id}'"
            )));
        }
        Ok(())
    }
}

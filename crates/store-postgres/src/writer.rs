//! The node's writer task: group commit of appends.

use std::sync::Arc;

use futures_util::future::try_join_all;
use tidings_store::{
    Appended, CommitCounters, CommitStats, NewMessage, StoreError, StoreResult, StoredMessage,
};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use crate::{backend, message_from_row, MESSAGE_COLUMNS};

/// Most messages one transaction takes.
const MAX_BATCH: usize = 2048;
/// A batch that lost a race with another node is tried again this often.
const MAX_ATTEMPTS: usize = 5;

/// One statement per message: skip if its (client id, from, app,
/// conversation) is stored;
/// otherwise bump the conversation's counter (locking its row until commit),
/// insert the message with the next sequence, and on a conversation's first
/// message record its members as the message service named them ($16 the
/// accounts, $17 the session id each sees). The message is stamped with the
/// clock, or with the conversation's latest time if the clock is behind
/// it (`last_at`, on the locked row: the newest committed, whichever node
/// wrote it).
const APPEND: &str = "
WITH fresh AS (
    SELECT 1 WHERE NOT EXISTS (
        SELECT 1 FROM messages
        WHERE client_id = $3 AND from_accid = $4 AND app_key = $1 AND conversation = $2)
), clock AS (
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms
), bump AS (
    INSERT INTO conversations (app_key, conversation, last_seq, last_at)
    SELECT $1, $2, 1, clock.ms FROM fresh, clock
    ON CONFLICT (app_key, conversation) DO UPDATE SET last_seq = conversations.last_seq + 1,
        last_at = greatest(conversations.last_at, excluded.last_at)
    RETURNING last_seq, last_at
), inserted AS (
    INSERT INTO messages (app_key, conversation, seq, server_id, client_id, from_accid, from_nick,
        from_client_type, to_id, session_type, message_type, body, attachment, remote_ext, flags,
        apns_content, apns_payload, created_at)
    SELECT $1, $2, bump.last_seq, (clock.ms << 20) + (nextval('message_id_counter') % 1048576),
        $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, bump.last_at
    FROM bump, clock
    RETURNING seq, server_id, created_at
), joined AS (
    INSERT INTO user_conversations (app_key, accid, conversation, session_type, session_id)
    SELECT $1, member.accid, $2, $8, member.session_id
    FROM bump, unnest($16::text[], $17::text[]) AS member(accid, session_id)
    WHERE bump.last_seq = 1
    ON CONFLICT DO NOTHING
)
SELECT seq, server_id, created_at FROM inserted";

struct Job {
    messages: Vec<NewMessage>,
    reply: oneshot::Sender<StoreResult<Vec<Appended>>>,
}

pub struct Writer {
    jobs: mpsc::Sender<Job>,
    stats: Arc<CommitCounters>,
}

impl Writer {
    pub fn start(client: Client) -> Writer {
        let (jobs, queue) = mpsc::channel(MAX_BATCH * 4);
        let stats = Arc::new(CommitCounters::default());
        tokio::spawn(run(client, queue, stats.clone()));
        Writer { jobs, stats }
    }

    pub async fn append(&self, messages: Vec<NewMessage>) -> StoreResult<Vec<Appended>> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { messages, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub fn stats(&self) -> CommitStats {
        self.stats.snapshot()
    }
}

async fn run(mut client: Client, mut queue: mpsc::Receiver<Job>, stats: Arc<CommitCounters>) {
    let mut batch: Vec<Job> = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut size = first.messages.len();
        batch.push(first);
        while size < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => {
                    size += job.messages.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let messages: Vec<&NewMessage> = batch.iter().flat_map(|j| j.messages.iter()).collect();
        // Every node takes conversation locks in the same order (a stable
        // sort keeps each conversation's own order), so batches of different
        // nodes wait for each other but never deadlock.
        let mut order: Vec<usize> = (0..messages.len()).collect();
        order.sort_by(|&a, &b| {
            (&messages[a].app_key, &messages[a].conversation)
                .cmp(&(&messages[b].app_key, &messages[b].conversation))
        });
        let sorted: Vec<&NewMessage> = order.iter().map(|&i| messages[i]).collect();
        let started = std::time::Instant::now();
        let mut attempt = 1;
        let outcome = loop {
            match commit(&mut client, &sorted)
                .await
                .map(|appended| unsort(appended, &order))
            {
                Err(e) if attempt < MAX_ATTEMPTS && lost_a_race(&e) => {
                    tracing::debug!(attempt, error = %e, "batch lost a race with another node; retrying");
                    attempt += 1;
                }
                other => break other,
            }
        };
        stats.record_group(batch.len(), started.elapsed());
        match outcome {
            Ok(appended) => {
                let fresh = appended.iter().filter(|a| !a.duplicate).count();
                stats.add_messages(fresh);
                let mut appended = appended.into_iter();
                for job in batch.drain(..) {
                    let mine: Vec<Appended> = appended.by_ref().take(job.messages.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, size, "group commit failed");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(backend(&e)));
                }
            }
        }
    }
}

#[derive(Debug)]
enum CommitError {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for CommitError {
    fn from(e: tokio_postgres::Error) -> CommitError {
        CommitError::Pg(e)
    }
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::Pg(e) => write!(f, "{e}"),
            CommitError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CommitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CommitError::Pg(e) => e.source(),
            CommitError::Store(_) => None,
        }
    }
}

/// Puts results computed in `order` back into input order.
fn unsort(appended: Vec<Appended>, order: &[usize]) -> Vec<Appended> {
    let mut slots: Vec<Option<Appended>> = (0..order.len()).map(|_| None).collect();
    for (result, &index) in appended.into_iter().zip(order) {
        slots[index] = Some(result);
    }
    slots.into_iter().flatten().collect()
}

/// Errors another node's concurrent work can cause; a retry resolves them.
fn lost_a_race(e: &CommitError) -> bool {
    let CommitError::Pg(e) = e else { return false };
    matches!(
        e.code(),
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// Appends every message in one transaction; statements are pipelined.
async fn commit(
    client: &mut Client,
    messages: &[&NewMessage],
) -> Result<Vec<Appended>, CommitError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let tx = client.transaction().await?;
    let append = tx.prepare(APPEND).await?;
    let original = tx
        .prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE client_id = $3 AND from_accid = $2 AND app_key = $1 AND conversation = $4"
        ))
        .await?;
    let params: Vec<_> = messages
        .iter()
        .map(|m| {
            (
                m.from_client_type as i32,
                m.session_type as i32,
                m.message_type as i32,
                m.flags as i32,
                m.member_rows()
                    .iter()
                    .map(|(accid, _)| *accid)
                    .collect::<Vec<_>>(),
                m.member_rows()
                    .iter()
                    .map(|(_, session_id)| *session_id)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let param_sets: Vec<[&(dyn ToSql + Sync); 17]> = messages
        .iter()
        .zip(&params)
        .map(
            |(m, (client_type, session_type, message_type, flags, accids, sessions))| {
                [
                    &m.app_key as &(dyn ToSql + Sync),
                    &m.conversation,
                    &m.client_id,
                    &m.from,
                    &m.from_nick,
                    client_type,
                    &m.to,
                    session_type,
                    message_type,
                    &m.text,
                    &m.attachment,
                    &m.remote_ext,
                    flags,
                    &m.apns_content,
                    &m.apns_payload,
                    accids,
                    sessions,
                ]
            },
        )
        .collect();
    // All statements are sent before the first answer is awaited (pipelining).
    let rows = try_join_all(param_sets.iter().map(|p| tx.query_opt(&append, p))).await?;
    let mut appended = Vec::with_capacity(messages.len());
    for (m, row) in messages.iter().zip(rows) {
        match row {
            Some(row) => appended.push(Appended {
                stored: Arc::new(StoredMessage {
                    seq: row.try_get::<_, i64>(0)? as u64,
                    server_id: row.try_get::<_, i64>(1)? as u64,
                    timestamp: row.try_get(2)?,
                    message: NewMessage {
                        members: tidings_store::Members::Recorded,
                        ..(*m).clone()
                    },
                }),
                duplicate: false,
            }),
            None => {
                let row = tx
                    .query_one(
                        &original,
                        &[&m.app_key, &m.from, &m.client_id, &m.conversation],
                    )
                    .await?;
                let stored = message_from_row(&row).map_err(CommitError::Store)?;
                appended.push(Appended {
                    stored: Arc::new(stored),
                    duplicate: true,
                });
            }
        }
    }
    tx.commit().await?;
    Ok(appended)
}

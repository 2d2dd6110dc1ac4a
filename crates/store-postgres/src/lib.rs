//! The scale-out store: PostgreSQL, shared by any number of stateless nodes.
//!
//! Appends go through one writer task per node that sends every queued
//! message of a batch in one transaction, pipelined (group commit); callers
//! are answered after the commit. Each message is one statement that bumps
//! its conversation's counter row (whose lock orders writers of the same
//! conversation across nodes, so sequences stay gapless) and inserts the
//! message. A unique violation or deadlock between nodes retries the batch.
//!
//! May depend on: `tidings-store`. Knows nothing of the gateway or services.

mod accounts;
mod events;
mod messages;
mod notifications;
mod receipts;
mod relations;
mod schema;
pub mod testing;
mod users;
mod writer;

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tidings_store::*;
use tokio_postgres::{Client, NoTls, Row};

use writer::Writer;

/// Read connections per node (tokio-postgres pipelines queries on each).
const READERS: usize = 4;
/// Connections for the areas' transactions per node.
const CHANGE_CONNECTIONS: usize = 8;

pub struct PostgresStore {
    readers: Vec<Client>,
    next_reader: AtomicUsize,
    writer: Writer,
    /// Connections for the areas' transactions (a change and its events),
    /// each taken by one transaction at a time; messages have their own
    /// writer. Several, so that concurrent changes commit together.
    changes: Vec<tokio::sync::Mutex<Client>>,
    next_change: AtomicUsize,
}

/// A backend error with its causes: tokio-postgres says only "db error"
/// and keeps the server's message in the source.
pub(crate) fn backend(e: impl std::error::Error) -> StoreError {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    StoreError::Backend(text)
}

pub(crate) async fn connect_client(url: &str) -> StoreResult<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(backend)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "server_id, seq, created_at, app_key, conversation, client_id, \
     from_accid, from_nick, from_client_type, to_id, session_type, message_type, body, \
     attachment, remote_ext, flags, apns_content, apns_payload";

pub(crate) fn message_from_row(row: &Row) -> StoreResult<StoredMessage> {
    let get_u32 = |i: usize| row.try_get::<_, i32>(i).map(|v| v as u32).map_err(backend);
    Ok(StoredMessage {
        server_id: row.try_get::<_, i64>(0).map_err(backend)? as u64,
        seq: row.try_get::<_, i64>(1).map_err(backend)? as u64,
        timestamp: row.try_get(2).map_err(backend)?,
        message: NewMessage {
            app_key: row.try_get(3).map_err(backend)?,
            conversation: row.try_get(4).map_err(backend)?,
            client_id: row.try_get(5).map_err(backend)?,
            from: row.try_get(6).map_err(backend)?,
            from_nick: row.try_get(7).map_err(backend)?,
            from_client_type: get_u32(8)?,
            to: row.try_get(9).map_err(backend)?,
            session_type: get_u32(10)?,
            message_type: get_u32(11)?,
            text: row.try_get(12).map_err(backend)?,
            attachment: row.try_get(13).map_err(backend)?,
            remote_ext: row.try_get(14).map_err(backend)?,
            flags: get_u32(15)?,
            apns_content: row.try_get(16).map_err(backend)?,
            apns_payload: row.try_get(17).map_err(backend)?,
            members: tidings_store::Members::Recorded,
        },
    })
}

impl PostgresStore {
    /// Connects, applies migrations (one node at a time) and starts the writer.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let mut admin = connect_client(url).await?;
        schema::migrate(&mut admin).await?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(connect_client(url).await?);
        }
        let writer = Writer::start(connect_client(url).await?);
        let mut changes = Vec::with_capacity(CHANGE_CONNECTIONS);
        for _ in 0..CHANGE_CONNECTIONS {
            changes.push(tokio::sync::Mutex::new(connect_client(url).await?));
        }
        Ok(PostgresStore {
            readers,
            next_reader: AtomicUsize::new(0),
            writer,
            changes,
            next_change: AtomicUsize::new(0),
        })
    }

    /// A connection for one transaction: a free one if any, else the next
    /// in turn, once free.
    pub(crate) async fn change_connection(&self) -> tokio::sync::MutexGuard<'_, Client> {
        for connection in &self.changes {
            if let Ok(guard) = connection.try_lock() {
                return guard;
            }
        }
        let i = self.next_change.fetch_add(1, Ordering::Relaxed) % self.changes.len();
        self.changes[i].lock().await
    }

    fn reader(&self) -> &Client {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        &self.readers[i]
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn flush(&self) -> StoreResult<()> {
        self.writer.append(Vec::new()).await.map(|_| ())
    }

    fn commit_stats(&self) -> CommitStats {
        self.writer.stats()
    }
}

#[cfg(test)]
mod conformance {
    use super::PostgresStore;
    use crate::testing::TestDatabase;

    async fn fresh() -> Option<(PostgresStore, TestDatabase)> {
        let db = TestDatabase::from_env("store conformance").await?;
        let store = PostgresStore::connect(&db.url)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        Some((store, db))
    }

    tidings_store::store_conformance_tests!(fresh());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod clock {
    use super::PostgresStore;
    use crate::testing::TestDatabase;
    use tidings_store::__conformance::text;
    use tidings_store::MessageStore;

    /// A clock that stepped back (here: the conversation's newest message
    /// says the database's clock was an hour ahead when it stamped it)
    /// never stamps a later message of that conversation earlier.
    #[tokio::test]
    async fn times_never_go_back_when_the_clock_does() {
        let Some(db) = TestDatabase::from_env("store clock").await else {
            return;
        };
        let store = PostgresStore::connect(&db.url).await.unwrap();
        let first = store
            .append_messages(vec![text("app", "a", "b", "c1")])
            .await
            .unwrap()
            .remove(0)
            .stored;
        let ahead = first.timestamp + 3_600_000;
        let admin = crate::connect_client(&db.url).await.unwrap();
        admin
            .execute("UPDATE messages SET created_at = $1", &[&ahead])
            .await
            .unwrap();
        admin
            .execute("UPDATE conversations SET last_at = $1", &[&ahead])
            .await
            .unwrap();

        let later = store
            .append_messages(vec![
                text("app", "a", "b", "c2"),
                text("app", "b", "a", "c3"),
            ])
            .await
            .unwrap();
        let stamped: Vec<(u64, i64)> = later
            .iter()
            .map(|a| (a.stored.seq, a.stored.timestamp))
            .collect();
        assert_eq!(stamped, [(2, ahead), (3, ahead)]);
        // Another conversation goes by the clock.
        let other = store
            .append_messages(vec![text("app", "a", "c", "c4")])
            .await
            .unwrap();
        assert!(other[0].stored.timestamp < ahead);
    }
}

//! The embedded default store: one SQLite file in WAL mode.
//!
//! All writes go through one writer thread that groups whatever is queued
//! into one transaction and answers each caller only after the commit
//! (group commit, `synchronous=FULL`): an ack never precedes durability and
//! there is never one fsync per message. Reads use a small pool of
//! read-only connections and never wait for the writer.
//!
//! May depend on: `tidings-store`, `tidings-sqlite-wal`. Knows nothing of the gateway or services.

mod accounts;
mod checkpoint;
mod events;
mod log;
mod messages;
mod notifications;
mod reader;
mod receipts;
mod relations;
mod schema;
mod users;

pub use schema::configure_writer;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use tidings_store::*;

use reader::ReaderPool;
use writer::Writer;

/// How many queued writes one transaction takes at most.
pub const MAX_BATCH: usize = 2048;

pub struct SqliteStore {
    writer: Writer,
    readers: ReaderPool,
    _checkpointer: tidings_sqlite_wal::Checkpointer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let mut conn = tidings_sqlite_wal::open_migrated_writer(
            path,
            schema::configure_writer,
            schema::migrate,
        )
        .map_err(backend)?;
        let (checkpointer, wal) =
            tidings_sqlite_wal::start(&mut conn, path, checkpoint::POLICY).map_err(backend)?;
        let writer = Writer::start(conn, wal)?;
        let readers = ReaderPool::new(path.to_path_buf());
        Ok(SqliteStore {
            writer,
            readers,
            _checkpointer: checkpointer,
        })
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[async_trait]
impl Store for SqliteStore {
    async fn flush(&self) -> StoreResult<()> {
        self.writer.write(|_| Ok(())).await
    }

    fn commit_stats(&self) -> CommitStats {
        self.writer.stats()
    }
}

#[cfg(test)]
mod test_support {
    use tidings_store::NewMessage;

    /// Message `i` of seven senders, each talking to "b", with a text of `len` bytes.
    pub fn message(i: usize, len: usize) -> NewMessage {
        NewMessage {
            app_key: "app".into(),
            conversation: format!("p2p:a{}|b", i % 7),
            client_id: format!("{i:012}"),
            from: format!("a{}", i % 7),
            from_nick: String::new(),
            from_client_type: 0,
            to: "b".into(),
            session_type: 0,
            message_type: 0,
            text: "x".repeat(len),
            attachment: String::new(),
            remote_ext: String::new(),
            flags: 0,
            apns_content: String::new(),
            apns_payload: String::new(),
            members: tidings_store::Members::Pair,
        }
    }
}

#[cfg(test)]
mod conformance {
    use super::SqliteStore;

    async fn fresh() -> Option<(SqliteStore, tempfile::TempDir)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("tidings.db")).expect("open store");
        Some((store, dir))
    }

    tidings_store::store_conformance_tests!(fresh());
}

//! The embedded default store: one SQLite file in WAL mode.
//!
//! All writes go through one writer thread that groups whatever is queued
//! into one transaction and answers each caller only after the commit
//! (group commit, `synchronous=FULL`): an ack never precedes durability and
//! there is never one fsync per message. Reads use a small pool of
//! read-only connections and never wait for the writer.
//!
//! May depend on: `tidings-store`, `tidings-sqlite-wal`. Knows nothing of the gateway or services.

mod checkpoint;
mod log;
mod reader;
mod schema;

pub use schema::configure_writer;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};
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

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        app_key: row.get(0)?,
        accid: row.get(1)?,
        name: row.get(2)?,
        token: row.get(3)?,
        blocked: row.get(4)?,
        created_at: row.get(5)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_app(&self, app: App) -> StoreResult<App> {
        self.writer
            .write(move |ctx| {
                let inserted = ctx.conn.execute(
                    "INSERT OR IGNORE INTO apps (app_key, app_secret, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![app.app_key, app.app_secret, app.name, app.created_at],
                )?;
                Ok(if inserted == 1 {
                    Ok(app)
                } else {
                    Err(StoreError::Conflict { what: format!("app {}", app.app_key) })
                })
            })
            .await?
    }

    async fn app(&self, app_key: &str) -> StoreResult<Option<App>> {
        let app_key = app_key.to_owned();
        self.readers
            .read(move |conn| {
                conn.query_row(
                    "SELECT app_key, app_secret, name, created_at FROM apps WHERE app_key = ?1",
                    [app_key],
                    |row| {
                        Ok(App {
                            app_key: row.get(0)?,
                            app_secret: row.get(1)?,
                            name: row.get(2)?,
                            created_at: row.get(3)?,
                        })
                    },
                )
                .optional()
            })
            .await
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        self.writer
            .write(move |ctx| {
                let inserted = ctx.conn.execute(
                    "INSERT OR IGNORE INTO accounts (app_key, accid, name, token, blocked, created_at) \
                     VALUES (?1, ?2, ?3, ?4, 0, ?5)",
                    params![account.app_key, account.accid, account.name, account.token, account.created_at],
                )?;
                Ok(if inserted == 1 {
                    Ok(Account {
                        app_key: account.app_key,
                        accid: account.accid,
                        name: account.name,
                        token: account.token,
                        blocked: false,
                        created_at: account.created_at,
                    })
                } else {
                    Err(StoreError::Conflict { what: format!("account {}", account.accid) })
                })
            })
            .await?
    }

    async fn account(&self, app_key: &str, accid: &str) -> StoreResult<Option<Account>> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.readers
            .read(move |conn| {
                conn.query_row(
                    "SELECT app_key, accid, name, token, blocked, created_at FROM accounts \
                     WHERE app_key = ?1 AND accid = ?2",
                    [app_key, accid],
                    account_from_row,
                )
                .optional()
            })
            .await
    }

    async fn update_token(&self, app_key: &str, accid: &str, token: &str) -> StoreResult<()> {
        let (app_key, accid, token) = (app_key.to_owned(), accid.to_owned(), token.to_owned());
        self.writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "UPDATE accounts SET token = ?3 WHERE app_key = ?1 AND accid = ?2",
                    params![app_key, accid, token],
                )?;
                Ok(StoreError::unless_account_changed(n as u64, &accid))
            })
            .await?
    }

    async fn set_blocked(&self, app_key: &str, accid: &str, blocked: bool) -> StoreResult<()> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "UPDATE accounts SET blocked = ?3 WHERE app_key = ?1 AND accid = ?2",
                    params![app_key, accid, blocked],
                )?;
                Ok(StoreError::unless_account_changed(n as u64, &accid))
            })
            .await?
    }

    async fn last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
    ) -> StoreResult<Option<String>> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.readers
            .read(move |conn| {
                conn.query_row(
                    "SELECT device_id FROM last_devices \
                     WHERE app_key = ?1 AND accid = ?2 AND kick_group = ?3",
                    params![app_key, accid, kick_group],
                    |row| row.get(0),
                )
                .optional()
            })
            .await
    }

    async fn set_last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
        device_id: &str,
    ) -> StoreResult<()> {
        let (app_key, accid, device_id) =
            (app_key.to_owned(), accid.to_owned(), device_id.to_owned());
        self.writer
            .write(move |ctx| {
                ctx.conn.execute(
                    "INSERT INTO last_devices (app_key, accid, kick_group, device_id) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (app_key, accid, kick_group) DO UPDATE SET device_id = excluded.device_id",
                    params![app_key, accid, kick_group, device_id],
                )?;
                Ok(())
            })
            .await
    }

    async fn record_nonce(
        &self,
        app_key: &str,
        nonce: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool> {
        let (app_key, nonce) = (app_key.to_owned(), nonce.to_owned());
        self.writer
            .write(move |ctx| {
                let oldest = now_ms - window_ms;
                ctx.conn.execute(
                    "DELETE FROM api_nonces WHERE app_key = ?1 AND seen_at < ?2",
                    params![app_key, oldest],
                )?;
                let inserted = ctx.conn.execute(
                    "INSERT OR IGNORE INTO api_nonces (app_key, nonce, seen_at) VALUES (?1, ?2, ?3)",
                    params![app_key, nonce, now_ms],
                )?;
                Ok(inserted == 1)
            })
            .await
    }

    async fn append_messages(&self, messages: Vec<NewMessage>) -> StoreResult<Vec<Appended>> {
        self.writer.write(move |ctx| ctx.append_all(messages)).await
    }

    async fn flush(&self) -> StoreResult<()> {
        self.writer.write(|_| Ok(())).await
    }

    async fn messages_after(
        &self,
        app_key: &str,
        conversation: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        let (app_key, conversation) = (app_key.to_owned(), conversation.to_owned());
        self.readers
            .read(move |conn| log::messages_after(conn, &app_key, &conversation, after_seq, limit))
            .await
    }

    async fn conversations_of(
        &self,
        app_key: &str,
        accid: &str,
        range: &SessionRange,
    ) -> StoreResult<Vec<UserConversation>> {
        let ((from_type, from_id), (until_type, until_id)) = range.sql_bounds();
        let args = (
            app_key.to_owned(),
            accid.to_owned(),
            from_type,
            from_id.to_owned(),
            until_type,
            until_id.to_owned(),
        );
        self.readers
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT u.conversation, u.session_type, u.session_id, c.last_seq \
                     FROM user_conversations u JOIN conversations c \
                       ON c.app_key = u.app_key AND c.conversation = u.conversation \
                     WHERE u.app_key = ?1 AND u.accid = ?2 \
                       AND (u.session_type, u.session_id) >= (?3, ?4) \
                       AND (u.session_type, u.session_id) < (?5, ?6) \
                     ORDER BY u.session_type, u.session_id",
                )?;
                let rows = stmt.query_map(args, |row| {
                    Ok(UserConversation {
                        conversation: row.get(0)?,
                        session_type: row.get(1)?,
                        session_id: row.get(2)?,
                        last_seq: row.get::<_, i64>(3)? as u64,
                    })
                })?;
                rows.collect()
            })
            .await
    }

    fn commit_stats(&self) -> CommitStats {
        self.writer.stats()
    }

    async fn message_count(&self, app_key: &str) -> StoreResult<u64> {
        let app_key = app_key.to_owned();
        self.readers
            .read(move |conn| log::message_count(conn, &app_key))
            .await
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

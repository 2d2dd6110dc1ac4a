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

mod schema;
pub mod testing;
mod writer;

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tidings_store::*;
use tokio_postgres::{Client, NoTls, Row};

use writer::Writer;

/// Read connections per node (tokio-postgres pipelines queries on each).
const READERS: usize = 4;

pub struct PostgresStore {
    readers: Vec<Client>,
    next_reader: AtomicUsize,
    writer: Writer,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
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
        Ok(PostgresStore {
            readers,
            next_reader: AtomicUsize::new(0),
            writer,
        })
    }

    fn reader(&self) -> &Client {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        &self.readers[i]
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_app(&self, app: App) -> StoreResult<App> {
        let inserted = self
            .reader()
            .execute(
                "INSERT INTO apps (app_key, app_secret, name, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                &[&app.app_key, &app.app_secret, &app.name, &app.created_at],
            )
            .await
            .map_err(backend)?;
        if inserted == 1 {
            Ok(app)
        } else {
            Err(StoreError::Conflict {
                what: format!("app {}", app.app_key),
            })
        }
    }

    async fn app(&self, app_key: &str) -> StoreResult<Option<App>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT app_key, app_secret, name, created_at FROM apps WHERE app_key = $1",
                &[&app_key],
            )
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(App {
                app_key: r.try_get(0).map_err(backend)?,
                app_secret: r.try_get(1).map_err(backend)?,
                name: r.try_get(2).map_err(backend)?,
                created_at: r.try_get(3).map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        let inserted = self
            .reader()
            .execute(
                "INSERT INTO accounts (app_key, accid, name, token, blocked, created_at) \
                 VALUES ($1, $2, $3, $4, FALSE, $5) ON CONFLICT DO NOTHING",
                &[
                    &account.app_key,
                    &account.accid,
                    &account.name,
                    &account.token,
                    &account.created_at,
                ],
            )
            .await
            .map_err(backend)?;
        if inserted != 1 {
            return Err(StoreError::Conflict {
                what: format!("account {}", account.accid),
            });
        }
        Ok(Account {
            app_key: account.app_key,
            accid: account.accid,
            name: account.name,
            token: account.token,
            blocked: false,
            created_at: account.created_at,
        })
    }

    async fn account(&self, app_key: &str, accid: &str) -> StoreResult<Option<Account>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT app_key, accid, name, token, blocked, created_at FROM accounts \
                 WHERE app_key = $1 AND accid = $2",
                &[&app_key, &accid],
            )
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(Account {
                app_key: r.try_get(0).map_err(backend)?,
                accid: r.try_get(1).map_err(backend)?,
                name: r.try_get(2).map_err(backend)?,
                token: r.try_get(3).map_err(backend)?,
                blocked: r.try_get(4).map_err(backend)?,
                created_at: r.try_get(5).map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn update_token(&self, app_key: &str, accid: &str, token: &str) -> StoreResult<()> {
        let n = self
            .reader()
            .execute(
                "UPDATE accounts SET token = $3 WHERE app_key = $1 AND accid = $2",
                &[&app_key, &accid, &token],
            )
            .await
            .map_err(backend)?;
        StoreError::unless_account_changed(n, accid)
    }

    async fn set_blocked(&self, app_key: &str, accid: &str, blocked: bool) -> StoreResult<()> {
        let n = self
            .reader()
            .execute(
                "UPDATE accounts SET blocked = $3 WHERE app_key = $1 AND accid = $2",
                &[&app_key, &accid, &blocked],
            )
            .await
            .map_err(backend)?;
        StoreError::unless_account_changed(n, accid)
    }

    async fn last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
    ) -> StoreResult<Option<String>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT device_id FROM last_devices \
                 WHERE app_key = $1 AND accid = $2 AND kick_group = $3",
                &[&app_key, &accid, &(kick_group as i32)],
            )
            .await
            .map_err(backend)?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    async fn set_last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
        device_id: &str,
    ) -> StoreResult<()> {
        self.reader()
            .execute(
                "INSERT INTO last_devices (app_key, accid, kick_group, device_id) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (app_key, accid, kick_group) DO UPDATE SET device_id = excluded.device_id",
                &[&app_key, &accid, &(kick_group as i32), &device_id],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn record_nonce(
        &self,
        app_key: &str,
        nonce: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool> {
        let oldest = now_ms - window_ms;
        let client = self.reader();
        client
            .execute(
                "DELETE FROM api_nonces WHERE app_key = $1 AND seen_at < $2",
                &[&app_key, &oldest],
            )
            .await
            .map_err(backend)?;
        let n = client
            .execute(
                "INSERT INTO api_nonces (app_key, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&app_key, &nonce, &now_ms],
            )
            .await
            .map_err(backend)?;
        Ok(n == 1)
    }

    async fn append_messages(&self, messages: Vec<NewMessage>) -> StoreResult<Vec<Appended>> {
        self.writer.append(messages).await
    }

    async fn flush(&self) -> StoreResult<()> {
        self.writer.append(Vec::new()).await.map(|_| ())
    }

    async fn messages_after(
        &self,
        app_key: &str,
        conversation: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        let rows = self
            .reader()
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE app_key = $1 AND conversation = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&app_key, &conversation, &(after_seq as i64), &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(message_from_row).collect()
    }

    async fn conversations_of(
        &self,
        app_key: &str,
        accid: &str,
        range: &SessionRange,
    ) -> StoreResult<Vec<UserConversation>> {
        let mut sql = String::from(
            "SELECT u.conversation, u.session_type, u.session_id, c.last_seq \
             FROM user_conversations u JOIN conversations c \
               ON c.app_key = u.app_key AND c.conversation = u.conversation \
             WHERE u.app_key = $1 AND u.accid = $2",
        );
        let bounds: Vec<(&str, i32, &str)> = [(">=", &range.from), ("<", &range.until)]
            .into_iter()
            .filter_map(|(op, bound)| bound.as_ref().map(|(t, id)| (op, *t as i32, id.as_str())))
            .collect();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&app_key, &accid];
        for (op, session_type, session_id) in &bounds {
            let n = params.len();
            // Bytewise, as the protocol orders ids (and as the index is built).
            sql += &format!(
                " AND (u.session_type, u.session_id COLLATE \"C\") {op} (${}, ${})",
                n + 1,
                n + 2
            );
            params.push(session_type);
            params.push(session_id);
        }
        sql += " ORDER BY u.session_type, u.session_id COLLATE \"C\"";
        let rows = self.reader().query(&sql, &params).await.map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(UserConversation {
                    conversation: r.try_get(0).map_err(backend)?,
                    session_type: r.try_get::<_, i32>(1).map_err(backend)? as u32,
                    session_id: r.try_get(2).map_err(backend)?,
                    last_seq: r.try_get::<_, i64>(3).map_err(backend)? as u64,
                })
            })
            .collect()
    }

    async fn message_count(&self, app_key: &str) -> StoreResult<u64> {
        let row = self
            .reader()
            .query_one(
                "SELECT count(*) FROM messages WHERE app_key = $1",
                &[&app_key],
            )
            .await
            .map_err(backend)?;
        Ok(row.try_get::<_, i64>(0).map_err(backend)? as u64)
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
    use tidings_store::Store;

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

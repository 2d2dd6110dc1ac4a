//! Conversations and their messages (the log itself is `log.rs`).

use async_trait::async_trait;
use tidings_store::*;

use rusqlite::params;

use crate::{log, SqliteStore};

#[async_trait]
impl MessageStore for SqliteStore {
    async fn append_messages(&self, messages: Vec<NewMessage>) -> StoreResult<Vec<Appended>> {
        self.writer.write(move |ctx| ctx.append_all(messages)).await
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

    async fn messages_before(
        &self,
        app_key: &str,
        conversation: &str,
        before_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        let (app_key, conversation) = (app_key.to_owned(), conversation.to_owned());
        self.readers
            .read(move |conn| {
                log::messages_before(conn, &app_key, &conversation, before_seq, limit)
            })
            .await
    }

    async fn seq_at_time(&self, app_key: &str, conversation: &str, time: i64) -> StoreResult<u64> {
        let (app_key, conversation) = (app_key.to_owned(), conversation.to_owned());
        self.readers
            .read(move |conn| log::seq_at_time(conn, &app_key, &conversation, time))
            .await
    }

    async fn revoke_message(
        &self,
        app_key: &str,
        conversation: &str,
        seq: u64,
        attachment: String,
        at: i64,
        events: Vec<NewEvent>,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        let (app_key, conversation) = (app_key.to_owned(), conversation.to_owned());
        self.writer
            .write(move |ctx| {
                let changed = ctx.conn.prepare_cached(log::REVOKE)?.execute(params![
                    app_key,
                    conversation,
                    seq as i64,
                    attachment,
                    flags::REVOKED,
                    message_type::NOTIFICATION
                ])?;
                if changed == 0 {
                    return Ok(None);
                }
                Ok(Some(crate::events::append_events(
                    ctx.conn, &app_key, at, events,
                )?))
            })
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

    async fn message_count(&self, app_key: &str) -> StoreResult<u64> {
        let app_key = app_key.to_owned();
        self.readers
            .read(move |conn| log::message_count(conn, &app_key))
            .await
    }
}

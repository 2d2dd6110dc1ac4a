//! Conversations and their messages (appends go through `writer.rs`).

use async_trait::async_trait;
use tidings_store::*;

use crate::{backend, message_from_row, PostgresStore, MESSAGE_COLUMNS};

#[async_trait]
impl MessageStore for PostgresStore {
    async fn append_messages(&self, messages: Vec<NewMessage>) -> StoreResult<Vec<Appended>> {
        self.writer.append(messages).await
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

    async fn messages_before(
        &self,
        app_key: &str,
        conversation: &str,
        before_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>> {
        let before = before_seq.min(i64::MAX as u64) as i64;
        let rows = self
            .reader()
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE app_key = $1 AND conversation = $2 \
                     AND seq < $3 ORDER BY seq DESC LIMIT $4"
                ),
                &[&app_key, &conversation, &before, &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(message_from_row).collect()
    }

    /// The trait's binary search, run by the server in one statement; each
    /// probe a scalar subquery on the primary key (a join there would be
    /// planned as a hash join over the whole conversation).
    async fn seq_at_time(&self, app_key: &str, conversation: &str, time: i64) -> StoreResult<u64> {
        let row = self
            .reader()
            .query_opt(
                "WITH RECURSIVE search(lo, hi) AS ( \
                     SELECT 1::bigint, c.last_seq + 1 FROM conversations c \
                     WHERE c.app_key = $1 AND c.conversation = $2 \
                   UNION ALL \
                     SELECT CASE WHEN y.at < $3 THEN x.mid + 1 ELSE s.lo END, \
                            CASE WHEN y.at < $3 THEN s.hi ELSE x.mid END \
                     FROM search s \
                     CROSS JOIN LATERAL (SELECT s.lo + (s.hi - s.lo) / 2 AS mid) x \
                     CROSS JOIN LATERAL (SELECT (SELECT m.created_at FROM messages m \
                       WHERE m.app_key = $1 AND m.conversation = $2 AND m.seq = x.mid) AS at) y \
                     WHERE s.lo < s.hi) \
                 SELECT lo FROM search WHERE lo >= hi",
                &[&app_key, &conversation, &time],
            )
            .await
            .map_err(backend)?;
        match row {
            Some(row) => Ok(row.try_get::<_, i64>(0).map_err(backend)? as u64),
            None => Ok(1),
        }
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
        let mut client = self.change_connection().await;
        let tx = client.transaction().await.map_err(backend)?;
        let revoked = flags::REVOKED as i32;
        let changed = tx
            .execute(
                "UPDATE messages SET message_type = $6, body = '', attachment = $4, \
                   remote_ext = '', flags = flags | $5 \
                 WHERE app_key = $1 AND conversation = $2 AND seq = $3 AND flags & $5 = 0",
                &[
                    &app_key,
                    &conversation,
                    &(seq as i64),
                    &attachment,
                    &revoked,
                    &(message_type::NOTIFICATION as i32),
                ],
            )
            .await
            .map_err(backend)?;
        if changed == 0 {
            return Ok(None);
        }
        let stored = crate::events::append_events(&tx, app_key, at, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(stored))
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
}

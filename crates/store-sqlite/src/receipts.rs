//! Read marks.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use tidings_store::*;

use crate::events::append_events;
use crate::SqliteStore;

#[async_trait]
impl ReceiptStore for SqliteStore {
    async fn mark_read(
        &self,
        app_key: &str,
        conversation: &str,
        reader: &str,
        mark: ReadMark,
        at: i64,
        events: EventsOf<ReadMark>,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        let (app_key, conversation, reader) = (
            app_key.to_owned(),
            conversation.to_owned(),
            reader.to_owned(),
        );
        self.writer
            .write(move |ctx| {
                let moved = ctx
                    .conn
                    .prepare_cached(
                        "INSERT INTO read_marks (app_key, conversation, reader, seq, timestamp, client_id) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                         ON CONFLICT (app_key, conversation, reader) DO UPDATE SET \
                           seq = excluded.seq, timestamp = excluded.timestamp, \
                           client_id = excluded.client_id \
                         WHERE excluded.seq > read_marks.seq",
                    )?
                    .execute(params![
                        app_key,
                        conversation,
                        reader,
                        mark.seq as i64,
                        mark.timestamp,
                        mark.client_id
                    ])?;
                if moved == 0 {
                    return Ok(None);
                }
                let stored = append_events(ctx.conn, &app_key, at, events(&mark))?;
                Ok(Some(stored))
            })
            .await
    }

    async fn read_mark(
        &self,
        app_key: &str,
        conversation: &str,
        reader: &str,
    ) -> StoreResult<Option<ReadMark>> {
        let (app_key, conversation, reader) = (
            app_key.to_owned(),
            conversation.to_owned(),
            reader.to_owned(),
        );
        self.readers
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT seq, timestamp, client_id FROM read_marks \
                     WHERE app_key = ?1 AND conversation = ?2 AND reader = ?3",
                )?
                .query_row(params![app_key, conversation, reader], |row| {
                    Ok(ReadMark {
                        seq: row.get::<_, i64>(0)? as u64,
                        timestamp: row.get(1)?,
                        client_id: row.get(2)?,
                    })
                })
                .optional()
            })
            .await
    }
}

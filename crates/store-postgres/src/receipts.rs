//! Read marks.

use async_trait::async_trait;
use tidings_store::*;

use crate::events::append_events;
use crate::{backend, PostgresStore};

#[async_trait]
impl ReceiptStore for PostgresStore {
    async fn mark_read(
        &self,
        app_key: &str,
        conversation: &str,
        reader: &str,
        mark: ReadMark,
        at: i64,
        events: EventsOf<ReadMark>,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        let mut client = self.change_connection().await;
        let tx = client.transaction().await.map_err(backend)?;
        let moved = tx
            .execute(
                "INSERT INTO read_marks (app_key, conversation, reader, seq, timestamp, client_id) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (app_key, conversation, reader) DO UPDATE SET \
                   seq = excluded.seq, timestamp = excluded.timestamp, \
                   client_id = excluded.client_id \
                 WHERE excluded.seq > read_marks.seq",
                &[
                    &app_key,
                    &conversation,
                    &reader,
                    &(mark.seq as i64),
                    &mark.timestamp,
                    &mark.client_id,
                ],
            )
            .await
            .map_err(backend)?;
        if moved == 0 {
            return Ok(None);
        }
        let stored = append_events(&tx, app_key, at, events(&mark)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(stored))
    }

    async fn read_mark(
        &self,
        app_key: &str,
        conversation: &str,
        reader: &str,
    ) -> StoreResult<Option<ReadMark>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT seq, timestamp, client_id FROM read_marks \
                 WHERE app_key = $1 AND conversation = $2 AND reader = $3",
                &[&app_key, &conversation, &reader],
            )
            .await
            .map_err(backend)?;
        row.map(|row| {
            Ok(ReadMark {
                seq: row.try_get::<_, i64>(0).map_err(backend)? as u64,
                timestamp: row.try_get(1).map_err(backend)?,
                client_id: row.try_get(2).map_err(backend)?,
            })
        })
        .transpose()
    }
}

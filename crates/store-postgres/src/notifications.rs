//! System notifications and kept custom notifications.

use async_trait::async_trait;
use tidings_store::*;
use tokio_postgres::{Row, Transaction};

use crate::events::append_events;
use crate::{backend, PostgresStore};

/// Appends each notification's event and keeps the notification under
/// that position; returns each owner with the stored event.
pub(crate) async fn add_notifications(
    tx: &Transaction<'_>,
    app_key: &str,
    at: i64,
    notifications: Vec<NewNotification>,
) -> StoreResult<Vec<(String, StoredEvent)>> {
    let mut added = Vec::with_capacity(notifications.len());
    for n in notifications {
        let Some(event) = append_events(tx, app_key, at, vec![n.event]).await?.pop() else {
            continue;
        };
        tx.execute(
            "INSERT INTO system_notifications (app_key, owner, id, kind, from_accid, target, \
               postscript, attach, status, read, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10)",
            &[
                &app_key,
                &n.owner,
                &(event.pos as i64),
                &(n.kind as i32),
                &n.from,
                &n.target,
                &n.postscript,
                &n.attach,
                &(n.status as i32),
                &at,
            ],
        )
        .await
        .map_err(backend)?;
        added.push((n.owner, event));
    }
    Ok(added)
}

fn notification_from_row(row: &Row) -> StoreResult<Notification> {
    Ok(Notification {
        id: row.try_get::<_, i64>(0).map_err(backend)? as u64,
        kind: row.try_get::<_, i32>(1).map_err(backend)? as u32,
        from: row.try_get(2).map_err(backend)?,
        target: row.try_get(3).map_err(backend)?,
        postscript: row.try_get(4).map_err(backend)?,
        attach: row.try_get(5).map_err(backend)?,
        status: row.try_get::<_, i32>(6).map_err(backend)? as u32,
        read: row.try_get(7).map_err(backend)?,
        time: row.try_get(8).map_err(backend)?,
    })
}

#[async_trait]
impl NotificationStore for PostgresStore {
    async fn notifications(
        &self,
        app_key: &str,
        owner: &str,
        before: u64,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let before = if before == 0 { i64::MAX } else { before as i64 };
        let rows = self
            .reader()
            .query(
                "SELECT id, kind, from_accid, target, postscript, attach, status, read, created_at \
                 FROM system_notifications WHERE app_key = $1 AND owner = $2 AND id < $3 \
                 ORDER BY id DESC LIMIT $4",
                &[&app_key, &owner, &before, &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(notification_from_row).collect()
    }

    async fn mark_notifications(
        &self,
        app_key: &str,
        owner: &str,
        mark: NotificationMark,
        at: i64,
        events: EventsOf<Vec<u64>>,
    ) -> StoreResult<(Vec<u64>, Vec<StoredEvent>)> {
        let mut client = self.change_connection().await;
        let tx = client.transaction().await.map_err(backend)?;
        let wanted: Vec<i64> = mark.ids.iter().map(|id| *id as i64).collect();
        let rows = tx
            .query(
                "SELECT id FROM system_notifications WHERE app_key = $1 AND owner = $2 \
                 AND (cardinality($3::bigint[]) = 0 OR id = ANY($3)) ORDER BY id FOR UPDATE",
                &[&app_key, &owner, &wanted],
            )
            .await
            .map_err(backend)?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get(0).map_err(backend))
            .collect::<StoreResult<_>>()?;
        if ids.is_empty() && !wanted.is_empty() {
            return Err(StoreError::NotFound {
                what: format!("notification {} of {owner}", wanted[0]),
            });
        }
        if mark.delete {
            tx.execute(
                "DELETE FROM system_notifications WHERE app_key = $1 AND owner = $2 AND id = ANY($3)",
                &[&app_key, &owner, &ids],
            )
            .await
            .map_err(backend)?;
        } else {
            let status = mark.status.map(|s| s as i32);
            tx.execute(
                "UPDATE system_notifications SET read = coalesce($4, read), status = coalesce($5, status) \
                 WHERE app_key = $1 AND owner = $2 AND id = ANY($3)",
                &[&app_key, &owner, &ids, &mark.read, &status],
            )
            .await
            .map_err(backend)?;
        }
        let ids: Vec<u64> = ids.into_iter().map(|id| id as u64).collect();
        let stored = append_events(&tx, app_key, at, events(&ids)).await?;
        tx.commit().await.map_err(backend)?;
        Ok((ids, stored))
    }

    async fn keep_custom(&self, app_key: &str, row: CustomRow, cap: u32) -> StoreResult<u64> {
        let mut client = self.change_connection().await;
        let tx = client.transaction().await.map_err(backend)?;
        let seq: i64 = tx
            .query_one(
                "INSERT INTO custom_notifications (app_key, to_accid, seq, from_accid, content, \
                   push_content, created_at) \
                 SELECT $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6 \
                 FROM custom_notifications WHERE app_key = $1 AND to_accid = $2 \
                 RETURNING seq",
                &[
                    &app_key,
                    &row.to,
                    &row.from,
                    &row.content,
                    &row.push_content,
                    &row.time,
                ],
            )
            .await
            .map_err(backend)?
            .try_get(0)
            .map_err(backend)?;
        tx.execute(
            "DELETE FROM custom_notifications WHERE app_key = $1 AND to_accid = $2 AND seq <= $3",
            &[&app_key, &row.to, &(seq - i64::from(cap))],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(seq as u64)
    }

    async fn forget_custom(&self, app_key: &str, to: &str, seq: u64) -> StoreResult<()> {
        self.reader()
            .execute(
                "DELETE FROM custom_notifications WHERE app_key = $1 AND to_accid = $2 AND seq = $3",
                &[&app_key, &to, &(seq as i64)],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn take_custom(&self, app_key: &str, to: &str) -> StoreResult<Vec<CustomRow>> {
        let rows = self
            .reader()
            .query(
                "DELETE FROM custom_notifications WHERE app_key = $1 AND to_accid = $2 \
                 RETURNING from_accid, to_accid, content, push_content, created_at, seq",
                &[&app_key, &to],
            )
            .await
            .map_err(backend)?;
        let mut taken = rows
            .iter()
            .map(|r| {
                let seq = r.try_get::<_, i64>(5).map_err(backend)?;
                Ok((
                    seq,
                    CustomRow {
                        seq: seq as u64,
                        from: r.try_get(0).map_err(backend)?,
                        to: r.try_get(1).map_err(backend)?,
                        content: r.try_get(2).map_err(backend)?,
                        push_content: r.try_get(3).map_err(backend)?,
                        time: r.try_get(4).map_err(backend)?,
                    },
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        taken.sort_by_key(|(seq, _)| *seq);
        Ok(taken.into_iter().map(|(_, row)| row).collect())
    }
}

//! System notifications and kept custom notifications.

use async_trait::async_trait;
use rusqlite::{params, Connection, Row};
use tidings_store::*;

use crate::events::append_events;
use crate::SqliteStore;

/// Appends each notification's event and keeps the notification under
/// that position; returns each owner with the stored event.
pub(crate) fn add_notifications(
    conn: &Connection,
    app_key: &str,
    at: i64,
    notifications: Vec<NewNotification>,
) -> rusqlite::Result<Vec<(String, StoredEvent)>> {
    let mut added = Vec::with_capacity(notifications.len());
    for n in notifications {
        let Some(event) = append_events(conn, app_key, at, vec![n.event])?.pop() else {
            continue;
        };
        conn.prepare_cached(
            "INSERT INTO system_notifications (app_key, owner, id, kind, from_accid, target, \
               postscript, attach, status, read, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10)",
        )?
        .execute(params![
            app_key,
            n.owner,
            event.pos as i64,
            n.kind,
            n.from,
            n.target,
            n.postscript,
            n.attach,
            n.status,
            at
        ])?;
        added.push((n.owner, event));
    }
    Ok(added)
}

fn notification_from_row(row: &Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: row.get::<_, i64>(0)? as u64,
        kind: row.get(1)?,
        from: row.get(2)?,
        target: row.get(3)?,
        postscript: row.get(4)?,
        attach: row.get(5)?,
        status: row.get(6)?,
        read: row.get(7)?,
        time: row.get(8)?,
    })
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn notifications(
        &self,
        app_key: &str,
        owner: &str,
        before: u64,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let (app_key, owner) = (app_key.to_owned(), owner.to_owned());
        let before = if before == 0 { i64::MAX } else { before as i64 };
        self.readers
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT id, kind, from_accid, target, postscript, attach, status, read, created_at \
                     FROM system_notifications WHERE app_key = ?1 AND owner = ?2 AND id < ?3 \
                     ORDER BY id DESC LIMIT ?4",
                )?
                .query_map(params![app_key, owner, before, limit], notification_from_row)?
                .collect()
            })
            .await
    }

    async fn mark_notifications(
        &self,
        app_key: &str,
        owner: &str,
        mark: NotificationMark,
        at: i64,
        events: EventsOf<Vec<u64>>,
    ) -> StoreResult<(Vec<u64>, Vec<StoredEvent>)> {
        let (app_key, owner) = (app_key.to_owned(), owner.to_owned());
        self.writer
            .write(move |ctx| {
                let conn = ctx.conn;
                let ids: Vec<u64> = if mark.ids.is_empty() {
                    conn.prepare_cached(
                        "SELECT id FROM system_notifications WHERE app_key = ?1 AND owner = ?2 ORDER BY id",
                    )?
                    .query_map(params![app_key, owner], |row| row.get::<_, i64>(0))?
                    .map(|id| id.map(|id| id as u64))
                    .collect::<rusqlite::Result<_>>()?
                } else {
                    let mut exists = conn.prepare_cached(
                        "SELECT 1 FROM system_notifications WHERE app_key = ?1 AND owner = ?2 AND id = ?3",
                    )?;
                    let mut mine = Vec::new();
                    for id in &mark.ids {
                        if exists.exists(params![app_key, owner, *id as i64])? && !mine.contains(id) {
                            mine.push(*id);
                        }
                    }
                    if mine.is_empty() {
                        return Ok(Err(StoreError::NotFound {
                            what: format!("notification {} of {owner}", mark.ids[0]),
                        }));
                    }
                    mine
                };
                for id in &ids {
                    let key = params![app_key, owner, *id as i64];
                    if mark.delete {
                        conn.prepare_cached(
                            "DELETE FROM system_notifications WHERE app_key = ?1 AND owner = ?2 AND id = ?3",
                        )?
                        .execute(key)?;
                        continue;
                    }
                    if let Some(read) = mark.read {
                        conn.prepare_cached(
                            "UPDATE system_notifications SET read = ?4 WHERE app_key = ?1 AND owner = ?2 AND id = ?3",
                        )?
                        .execute(params![app_key, owner, *id as i64, read])?;
                    }
                    if let Some(status) = mark.status {
                        conn.prepare_cached(
                            "UPDATE system_notifications SET status = ?4 WHERE app_key = ?1 AND owner = ?2 AND id = ?3",
                        )?
                        .execute(params![app_key, owner, *id as i64, status])?;
                    }
                }
                let stored = append_events(conn, &app_key, at, events(&ids))?;
                Ok(Ok((ids, stored)))
            })
            .await?
    }

    async fn keep_custom(&self, app_key: &str, row: CustomRow, cap: u32) -> StoreResult<u64> {
        let app_key = app_key.to_owned();
        self.writer
            .write(move |ctx| {
                let conn = ctx.conn;
                let seq: i64 = conn
                    .prepare_cached(
                        "SELECT coalesce(max(seq), 0) + 1 FROM custom_notifications \
                         WHERE app_key = ?1 AND to_accid = ?2",
                    )?
                    .query_row(params![app_key, row.to], |r| r.get(0))?;
                conn.prepare_cached(
                    "INSERT INTO custom_notifications (app_key, to_accid, seq, from_accid, content, \
                       push_content, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    app_key,
                    row.to,
                    seq,
                    row.from,
                    row.content,
                    row.push_content,
                    row.time
                ])?;
                conn.prepare_cached(
                    "DELETE FROM custom_notifications WHERE app_key = ?1 AND to_accid = ?2 AND seq <= ?3",
                )?
                .execute(params![app_key, row.to, seq - i64::from(cap)])?;
                Ok(seq as u64)
            })
            .await
    }

    async fn forget_custom(&self, app_key: &str, to: &str, seq: u64) -> StoreResult<()> {
        let (app_key, to) = (app_key.to_owned(), to.to_owned());
        self.writer
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached(
                        "DELETE FROM custom_notifications WHERE app_key = ?1 AND to_accid = ?2 AND seq = ?3",
                    )?
                    .execute(params![app_key, to, seq as i64])?;
                Ok(())
            })
            .await
    }

    async fn take_custom(&self, app_key: &str, to: &str) -> StoreResult<Vec<CustomRow>> {
        let (app_key, to) = (app_key.to_owned(), to.to_owned());
        self.writer
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached(
                        "DELETE FROM custom_notifications WHERE app_key = ?1 AND to_accid = ?2 \
                         RETURNING from_accid, to_accid, content, push_content, created_at, seq",
                    )?
                    .query_map(params![app_key, to], |row| {
                        Ok((
                            row.get::<_, i64>(5)?,
                            CustomRow {
                                seq: row.get::<_, i64>(5)? as u64,
                                from: row.get(0)?,
                                to: row.get(1)?,
                                content: row.get(2)?,
                                push_content: row.get(3)?,
                                time: row.get(4)?,
                            },
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map(|mut rows| {
                        rows.sort_by_key(|(seq, _)| *seq);
                        rows.into_iter().map(|(_, row)| row).collect()
                    })
            })
            .await
    }
}

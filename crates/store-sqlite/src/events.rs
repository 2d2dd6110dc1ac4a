//! The per-account event log. Other areas' writes call [`append_events`]
//! inside their transaction; this file reads and trims the log.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use tidings_store::*;

use crate::SqliteStore;

/// Appends `events` at `at`, each at its account's next position, in the
/// caller's open transaction.
pub(crate) fn append_events(
    conn: &Connection,
    app_key: &str,
    at: i64,
    events: Vec<NewEvent>,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut bump = conn.prepare_cached(
        "INSERT INTO account_event_heads (app_key, accid, last_pos) VALUES (?1, ?2, 1) \
         ON CONFLICT (app_key, accid) DO UPDATE SET last_pos = last_pos + 1 \
         RETURNING last_pos",
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO account_events (app_key, accid, pos, created_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut stored = Vec::with_capacity(events.len());
    for event in events {
        let pos: i64 = bump.query_row(params![app_key, event.accid], |row| row.get(0))?;
        insert.execute(params![app_key, event.accid, pos, at, event.body])?;
        stored.push(StoredEvent {
            accid: event.accid,
            pos: pos as u64,
            time: at,
            body: event.body,
        });
    }
    Ok(stored)
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn events_after(
        &self,
        app_key: &str,
        accid: &str,
        after: u64,
        limit: u32,
    ) -> StoreResult<EventPage> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.readers
            .read(move |conn| {
                let head: i64 = conn
                    .prepare_cached(
                        "SELECT last_pos FROM account_event_heads WHERE app_key = ?1 AND accid = ?2",
                    )?
                    .query_row(params![app_key, accid], |row| row.get(0))
                    .optional()?
                    .unwrap_or(0);
                let first_kept: Option<i64> = conn
                    .prepare_cached(
                        "SELECT min(pos) FROM account_events WHERE app_key = ?1 AND accid = ?2",
                    )?
                    .query_row(params![app_key, accid], |row| row.get(0))?;
                let mut select = conn.prepare_cached(
                    "SELECT pos, created_at, body FROM account_events \
                     WHERE app_key = ?1 AND accid = ?2 AND pos > ?3 ORDER BY pos LIMIT ?4",
                )?;
                let events = select
                    .query_map(params![app_key, accid, after as i64, limit], |row| {
                        Ok(StoredEvent {
                            accid: accid.clone(),
                            pos: row.get::<_, i64>(0)? as u64,
                            time: row.get(1)?,
                            body: row.get(2)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(EventPage {
                    events,
                    head: head as u64,
                    trimmed_through: first_kept.map_or(head, |first| first - 1) as u64,
                })
            })
            .await
    }

    async fn trim_events(&self, before_ms: i64, keep: u64) -> StoreResult<u64> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.writer
            .write(move |ctx| {
                let old = ctx.conn.execute(
                    "DELETE FROM account_events WHERE created_at < ?1",
                    params![before_ms],
                )?;
                let over = ctx.conn.execute(
                    "DELETE FROM account_events WHERE EXISTS ( \
                       SELECT 1 FROM account_event_heads h \
                       WHERE h.app_key = account_events.app_key AND h.accid = account_events.accid \
                         AND account_events.pos <= h.last_pos - ?1)",
                    params![keep],
                )?;
                Ok((old + over) as u64)
            })
            .await
    }
}

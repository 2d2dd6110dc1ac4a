//! The per-account event log. Other areas' changes call [`append_events`]
//! in their transaction; this file reads and trims the log.

use async_trait::async_trait;
use tidings_store::*;
use tokio_postgres::Transaction;

use crate::{backend, PostgresStore};

/// Appends `events` at `at`, each at its account's next position, in the
/// caller's transaction. The head row's lock orders concurrent appends to
/// an account, on any node; heads are taken in account order, so two
/// transactions that append to the same accounts cannot deadlock.
pub(crate) async fn append_events(
    tx: &Transaction<'_>,
    app_key: &str,
    at: i64,
    mut events: Vec<NewEvent>,
) -> StoreResult<Vec<StoredEvent>> {
    // Stable: an account's events keep their order.
    events.sort_by(|a, b| a.accid.cmp(&b.accid));
    let bump = tx
        .prepare(
            "INSERT INTO account_event_heads (app_key, accid, last_pos) VALUES ($1, $2, 1) \
             ON CONFLICT (app_key, accid) DO UPDATE \
               SET last_pos = account_event_heads.last_pos + 1 \
             RETURNING last_pos",
        )
        .await
        .map_err(backend)?;
    let insert = tx
        .prepare(
            "INSERT INTO account_events (app_key, accid, pos, created_at, body) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(backend)?;
    let mut stored = Vec::with_capacity(events.len());
    for event in events {
        let pos: i64 = tx
            .query_one(&bump, &[&app_key, &event.accid])
            .await
            .map_err(backend)?
            .try_get(0)
            .map_err(backend)?;
        tx.execute(&insert, &[&app_key, &event.accid, &pos, &at, &event.body])
            .await
            .map_err(backend)?;
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
impl EventStore for PostgresStore {
    async fn events_after(
        &self,
        app_key: &str,
        accid: &str,
        after: u64,
        limit: u32,
    ) -> StoreResult<EventPage> {
        let bounds = self
            .reader()
            .query_one(
                "SELECT (SELECT last_pos FROM account_event_heads WHERE app_key = $1 AND accid = $2), \
                        (SELECT min(pos) FROM account_events WHERE app_key = $1 AND accid = $2)",
                &[&app_key, &accid],
            )
            .await
            .map_err(backend)?;
        let head: i64 = bounds
            .try_get::<_, Option<i64>>(0)
            .map_err(backend)?
            .unwrap_or(0);
        let first_kept: Option<i64> = bounds.try_get(1).map_err(backend)?;
        let rows = self
            .reader()
            .query(
                "SELECT pos, created_at, body FROM account_events \
                 WHERE app_key = $1 AND accid = $2 AND pos > $3 ORDER BY pos LIMIT $4",
                &[&app_key, &accid, &(after as i64), &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        let events = rows
            .iter()
            .map(|row| {
                Ok(StoredEvent {
                    accid: accid.to_owned(),
                    pos: row.try_get::<_, i64>(0).map_err(backend)? as u64,
                    time: row.try_get(1).map_err(backend)?,
                    body: row.try_get(2).map_err(backend)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(EventPage {
            events,
            head: head as u64,
            trimmed_through: first_kept.map_or(head, |first| first - 1) as u64,
        })
    }

    async fn trim_events(&self, before_ms: i64, keep: u64) -> StoreResult<u64> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let client = self.reader();
        let old = client
            .execute(
                "DELETE FROM account_events WHERE created_at < $1",
                &[&before_ms],
            )
            .await
            .map_err(backend)?;
        let over = client
            .execute(
                "DELETE FROM account_events e USING account_event_heads h \
                 WHERE h.app_key = e.app_key AND h.accid = e.accid AND e.pos <= h.last_pos - $1",
                &[&keep],
            )
            .await
            .map_err(backend)?;
        Ok(old + over)
    }
}

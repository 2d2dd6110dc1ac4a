//! Friends, friend requests, the blacklist and the mute list.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};
use tidings_store::*;

use crate::events::append_events;
use crate::notifications::add_notifications;
use crate::SqliteStore;

fn friend_from_row(row: &Row<'_>) -> rusqlite::Result<FriendRow> {
    Ok(FriendRow {
        accid: row.get(0)?,
        alias: row.get(1)?,
        ext: row.get(2)?,
        created_at: row.get(3)?,
    })
}

fn friend_row(
    conn: &Connection,
    app_key: &str,
    owner: &str,
    other: &str,
) -> rusqlite::Result<Option<FriendRow>> {
    conn.prepare_cached(
        "SELECT friend, alias, ext, created_at FROM friends \
         WHERE app_key = ?1 AND owner = ?2 AND friend = ?3",
    )?
    .query_row(params![app_key, owner, other], friend_from_row)
    .optional()
}

/// Closes `from`'s pending request to `to` with `status`; its notification.
fn answer_request(
    conn: &Connection,
    app_key: &str,
    from: &str,
    to: &str,
    status: u32,
) -> rusqlite::Result<Option<u64>> {
    let id: Option<i64> = conn
        .prepare_cached(
            "DELETE FROM friend_requests WHERE app_key = ?1 AND from_accid = ?2 AND to_accid = ?3 \
             RETURNING notification_id",
        )?
        .query_row(params![app_key, from, to], |row| row.get(0))
        .optional()?;
    if let Some(id) = id {
        conn.prepare_cached(
            "UPDATE system_notifications SET status = ?4 WHERE app_key = ?1 AND owner = ?2 AND id = ?3",
        )?
        .execute(params![app_key, to, id, status])?;
    }
    Ok(id.map(|id| id as u64))
}

fn not_found(what: String) -> StoreResult<Vec<StoredEvent>> {
    Err(StoreError::NotFound { what })
}

#[async_trait]
impl RelationStore for SqliteStore {
    async fn change_relation(
        &self,
        app_key: &str,
        change: RelationChange,
        at: i64,
        record: RecordChange,
    ) -> StoreResult<Vec<StoredEvent>> {
        let app_key = app_key.to_owned();
        self.writer
            .write(move |ctx| {
                let conn = ctx.conn;
                let app = app_key.as_str();
                let mut facts = ChangeFacts::default();
                let mut request = None;
                match &change {
                    RelationChange::Request { from, to } => {
                        conn.prepare_cached(
                            "INSERT INTO friend_requests (app_key, from_accid, to_accid, notification_id, created_at) \
                             VALUES (?1, ?2, ?3, 0, ?4) \
                             ON CONFLICT DO UPDATE SET created_at = excluded.created_at",
                        )?
                        .execute(params![app, from, to, at])?;
                        request = Some((from.clone(), to.clone()));
                    }
                    RelationChange::Befriend { a, b, answering } => {
                        if *answering {
                            facts.answered_notification = answer_request(conn, app, a, b, 1)?;
                            if facts.answered_notification.is_none() {
                                return Ok(not_found(format!("friend request from {a} to {b}")));
                            }
                        }
                        let mut insert = conn.prepare_cached(
                            "INSERT INTO friends (app_key, owner, friend, alias, ext, created_at) \
                             VALUES (?1, ?2, ?3, '', '', ?4) ON CONFLICT DO NOTHING",
                        )?;
                        insert.execute(params![app, a, b, at])?;
                        insert.execute(params![app, b, a, at])?;
                        facts.friend = friend_row(conn, app, a, b)?;
                        facts.reverse = friend_row(conn, app, b, a)?;
                    }
                    RelationChange::Reject { a, b } => {
                        facts.answered_notification = answer_request(conn, app, a, b, 2)?;
                        if facts.answered_notification.is_none() {
                            return Ok(not_found(format!("friend request from {a} to {b}")));
                        }
                    }
                    RelationChange::Unfriend { a, b } => {
                        let gone = conn
                            .prepare_cached(
                                "DELETE FROM friends WHERE app_key = ?1 \
                                 AND ((owner = ?2 AND friend = ?3) OR (owner = ?3 AND friend = ?2))",
                            )?
                            .execute(params![app, a, b])?;
                        if gone == 0 {
                            return Ok(not_found(format!("friendship of {a} and {b}")));
                        }
                    }
                    RelationChange::UpdateFriend { owner, friend, alias, ext } => {
                        let changed = conn
                            .prepare_cached(
                                "UPDATE friends SET alias = ?4, ext = ?5 \
                                 WHERE app_key = ?1 AND owner = ?2 AND friend = ?3",
                            )?
                            .execute(params![app, owner, friend, alias, ext])?;
                        if changed == 0 {
                            return Ok(not_found(format!("friendship of {owner} and {friend}")));
                        }
                        facts.friend = friend_row(conn, app, owner, friend)?;
                    }
                    RelationChange::Special { owner, target, relation, on } => {
                        if *on {
                            conn.prepare_cached(
                                "INSERT INTO special_relations (app_key, owner, relation, target, created_at) \
                                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                            )?
                            .execute(params![app, owner, relation, target, at])?;
                        } else {
                            conn.prepare_cached(
                                "DELETE FROM special_relations \
                                 WHERE app_key = ?1 AND owner = ?2 AND relation = ?3 AND target = ?4",
                            )?
                            .execute(params![app, owner, relation, target])?;
                        }
                    }
                }
                let recorded = record(&facts);
                let mut stored = append_events(conn, app, at, recorded.events)?;
                let added = add_notifications(conn, app, at, recorded.notifications)?;
                if let Some((from, to)) = request {
                    if let Some((_, event)) = added.iter().find(|(owner, _)| *owner == to) {
                        conn.prepare_cached(
                            "UPDATE friend_requests SET notification_id = ?4 \
                             WHERE app_key = ?1 AND from_accid = ?2 AND to_accid = ?3",
                        )?
                        .execute(params![app, from, to, event.pos as i64])?;
                    }
                }
                stored.extend(added.into_iter().map(|(_, event)| event));
                Ok(Ok(stored))
            })
            .await?
    }

    async fn relations(&self, app_key: &str, owner: &str) -> StoreResult<RelationSet> {
        let (app_key, owner) = (app_key.to_owned(), owner.to_owned());
        self.readers
            .read(move |conn| {
                let friends = conn
                    .prepare_cached(
                        "SELECT friend, alias, ext, created_at FROM friends \
                         WHERE app_key = ?1 AND owner = ?2 ORDER BY friend",
                    )?
                    .query_map(params![app_key, owner], friend_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let list = |relation: u32| -> rusqlite::Result<Vec<String>> {
                    conn.prepare_cached(
                        "SELECT target FROM special_relations \
                         WHERE app_key = ?1 AND owner = ?2 AND relation = ?3 ORDER BY target",
                    )?
                    .query_map(params![app_key, owner, relation], |row| row.get(0))?
                    .collect()
                };
                Ok(RelationSet {
                    friends,
                    blacklist: list(BLACKLIST)?,
                    muted: list(MUTE)?,
                })
            })
            .await
    }

    async fn friend(
        &self,
        app_key: &str,
        owner: &str,
        other: &str,
    ) -> StoreResult<Option<FriendRow>> {
        let (app_key, owner, other) = (app_key.to_owned(), owner.to_owned(), other.to_owned());
        self.readers
            .read(move |conn| friend_row(conn, &app_key, &owner, &other))
            .await
    }

    async fn listed(&self, app_key: &str, owner: &str, relation: u32) -> StoreResult<Vec<String>> {
        let (app_key, owner) = (app_key.to_owned(), owner.to_owned());
        self.readers
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT target FROM special_relations \
                     WHERE app_key = ?1 AND owner = ?2 AND relation = ?3 ORDER BY target",
                )?
                .query_map(params![app_key, owner, relation], |row| row.get(0))?
                .collect()
            })
            .await
    }
}

//! Friends, friend requests, the blacklist and the mute list.

use async_trait::async_trait;
use tidings_store::*;
use tokio_postgres::{GenericClient, Row, Transaction};

use crate::events::append_events;
use crate::notifications::add_notifications;
use crate::{backend, PostgresStore};

fn friend_from_row(row: &Row) -> StoreResult<FriendRow> {
    Ok(FriendRow {
        accid: row.try_get(0).map_err(backend)?,
        alias: row.try_get(1).map_err(backend)?,
        ext: row.try_get(2).map_err(backend)?,
        created_at: row.try_get(3).map_err(backend)?,
    })
}

async fn friend_row(
    client: &impl GenericClient,
    app_key: &str,
    owner: &str,
    other: &str,
) -> StoreResult<Option<FriendRow>> {
    let row = client
        .query_opt(
            "SELECT friend, alias, ext, created_at FROM friends \
             WHERE app_key = $1 AND owner = $2 AND friend = $3",
            &[&app_key, &owner, &other],
        )
        .await
        .map_err(backend)?;
    row.as_ref().map(friend_from_row).transpose()
}

/// Closes `from`'s pending request to `to` with `status`; its notification.
async fn answer_request(
    tx: &Transaction<'_>,
    app_key: &str,
    from: &str,
    to: &str,
    status: i32,
) -> StoreResult<Option<u64>> {
    let row = tx
        .query_opt(
            "DELETE FROM friend_requests WHERE app_key = $1 AND from_accid = $2 AND to_accid = $3 \
             RETURNING notification_id",
            &[&app_key, &from, &to],
        )
        .await
        .map_err(backend)?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.try_get(0).map_err(backend)?;
    tx.execute(
        "UPDATE system_notifications SET status = $4 WHERE app_key = $1 AND owner = $2 AND id = $3",
        &[&app_key, &to, &id, &status],
    )
    .await
    .map_err(backend)?;
    Ok(Some(id as u64))
}

/// The two accounts a change is between.
fn pair_of(change: &RelationChange) -> (&str, &str) {
    match change {
        RelationChange::Request { from, to } => (from, to),
        RelationChange::Befriend { a, b, .. }
        | RelationChange::Reject { a, b }
        | RelationChange::Unfriend { a, b } => (a, b),
        RelationChange::UpdateFriend { owner, friend, .. } => (owner, friend),
        RelationChange::Special { owner, target, .. } => (owner, target),
    }
}

#[async_trait]
impl RelationStore for PostgresStore {
    async fn change_relation(
        &self,
        app_key: &str,
        change: RelationChange,
        at: i64,
        record: RecordChange,
    ) -> StoreResult<Vec<StoredEvent>> {
        let mut client = self.change_connection().await;
        let tx = client.transaction().await.map_err(backend)?;
        let app = app_key;
        // Two changes between the same two accounts (both accepting each
        // other's request at once) take their rows in different orders;
        // one lock per pair, taken first, puts them one after the other.
        let (first, second) = pair_of(&change);
        let (low, high) = if first <= second {
            (first, second)
        } else {
            (second, first)
        };
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2 || chr(31) || $3, 0))",
            &[&app, &low, &high],
        )
        .await
        .map_err(backend)?;
        let mut facts = ChangeFacts::default();
        let mut request = None;
        let missing = |what: String| Err(StoreError::NotFound { what });
        match &change {
            RelationChange::Request { from, to } => {
                tx.execute(
                    "INSERT INTO friend_requests (app_key, from_accid, to_accid, notification_id, created_at) \
                     VALUES ($1, $2, $3, 0, $4) \
                     ON CONFLICT (app_key, from_accid, to_accid) DO UPDATE SET created_at = excluded.created_at",
                    &[&app, from, to, &at],
                )
                .await
                .map_err(backend)?;
                request = Some((from.clone(), to.clone()));
            }
            RelationChange::Befriend { a, b, answering } => {
                if *answering {
                    facts.answered_notification = answer_request(&tx, app, a, b, 1).await?;
                    if facts.answered_notification.is_none() {
                        return missing(format!("friend request from {a} to {b}"));
                    }
                }
                // In one order whoever befriends whom: no deadlock between
                // two befriending each other at once.
                let mut rows = [(a, b), (b, a)];
                rows.sort();
                for (owner, friend) in rows {
                    tx.execute(
                        "INSERT INTO friends (app_key, owner, friend, alias, ext, created_at) \
                         VALUES ($1, $2, $3, '', '', $4) ON CONFLICT DO NOTHING",
                        &[&app, owner, friend, &at],
                    )
                    .await
                    .map_err(backend)?;
                }
                facts.friend = friend_row(&tx, app, a, b).await?;
                facts.reverse = friend_row(&tx, app, b, a).await?;
            }
            RelationChange::Reject { a, b } => {
                facts.answered_notification = answer_request(&tx, app, a, b, 2).await?;
                if facts.answered_notification.is_none() {
                    return missing(format!("friend request from {a} to {b}"));
                }
            }
            RelationChange::Unfriend { a, b } => {
                let gone = tx
                    .execute(
                        "DELETE FROM friends WHERE app_key = $1 \
                         AND ((owner = $2 AND friend = $3) OR (owner = $3 AND friend = $2))",
                        &[&app, a, b],
                    )
                    .await
                    .map_err(backend)?;
                if gone == 0 {
                    return missing(format!("friendship of {a} and {b}"));
                }
            }
            RelationChange::UpdateFriend {
                owner,
                friend,
                alias,
                ext,
            } => {
                let changed = tx
                    .execute(
                        "UPDATE friends SET alias = $4, ext = $5 \
                         WHERE app_key = $1 AND owner = $2 AND friend = $3",
                        &[&app, owner, friend, alias, ext],
                    )
                    .await
                    .map_err(backend)?;
                if changed == 0 {
                    return missing(format!("friendship of {owner} and {friend}"));
                }
                facts.friend = friend_row(&tx, app, owner, friend).await?;
            }
            RelationChange::Special {
                owner,
                target,
                relation,
                on,
            } => {
                let relation = *relation as i32;
                if *on {
                    tx.execute(
                        "INSERT INTO special_relations (app_key, owner, relation, target, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        &[&app, owner, &relation, target, &at],
                    )
                    .await
                    .map_err(backend)?;
                } else {
                    tx.execute(
                        "DELETE FROM special_relations \
                         WHERE app_key = $1 AND owner = $2 AND relation = $3 AND target = $4",
                        &[&app, owner, &relation, target],
                    )
                    .await
                    .map_err(backend)?;
                }
            }
        }
        let recorded = record(&facts);
        let mut stored = append_events(&tx, app, at, recorded.events).await?;
        let added = add_notifications(&tx, app, at, recorded.notifications).await?;
        if let Some((from, to)) = request {
            if let Some((_, event)) = added.iter().find(|(owner, _)| *owner == to) {
                tx.execute(
                    "UPDATE friend_requests SET notification_id = $4 \
                     WHERE app_key = $1 AND from_accid = $2 AND to_accid = $3",
                    &[&app, &from, &to, &(event.pos as i64)],
                )
                .await
                .map_err(backend)?;
            }
        }
        stored.extend(added.into_iter().map(|(_, event)| event));
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn relations(&self, app_key: &str, owner: &str) -> StoreResult<RelationSet> {
        let rows = self
            .reader()
            .query(
                "SELECT friend, alias, ext, created_at FROM friends \
                 WHERE app_key = $1 AND owner = $2 ORDER BY friend COLLATE \"C\"",
                &[&app_key, &owner],
            )
            .await
            .map_err(backend)?;
        let friends = rows
            .iter()
            .map(friend_from_row)
            .collect::<StoreResult<_>>()?;
        Ok(RelationSet {
            friends,
            blacklist: self.listed(app_key, owner, BLACKLIST).await?,
            muted: self.listed(app_key, owner, MUTE).await?,
        })
    }

    async fn friend(
        &self,
        app_key: &str,
        owner: &str,
        other: &str,
    ) -> StoreResult<Option<FriendRow>> {
        friend_row(self.reader(), app_key, owner, other).await
    }

    async fn listed(&self, app_key: &str, owner: &str, relation: u32) -> StoreResult<Vec<String>> {
        let rows = self
            .reader()
            .query(
                "SELECT target FROM special_relations \
                 WHERE app_key = $1 AND owner = $2 AND relation = $3 ORDER BY target COLLATE \"C\"",
                &[&app_key, &owner, &(relation as i32)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(|r| r.try_get(0).map_err(backend)).collect()
    }
}

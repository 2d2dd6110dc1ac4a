//! Profiles.

use async_trait::async_trait;
use tidings_store::*;
use tokio_postgres::Row;

use crate::events::append_events;
use crate::{backend, PostgresStore};

fn profile_from_row(row: &Row) -> StoreResult<Profile> {
    Ok(Profile {
        accid: row.try_get(0).map_err(backend)?,
        nick: row.try_get(1).map_err(backend)?,
        avatar: row.try_get(2).map_err(backend)?,
        sign: row.try_get(3).map_err(backend)?,
        gender: row.try_get::<_, i32>(4).map_err(backend)? as u32,
        email: row.try_get(5).map_err(backend)?,
        birth: row.try_get(6).map_err(backend)?,
        mobile: row.try_get(7).map_err(backend)?,
        ext: row.try_get(8).map_err(backend)?,
        updated_at: row.try_get(9).map_err(backend)?,
    })
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn profiles(&self, app_key: &str, accids: &[String]) -> StoreResult<Vec<Profile>> {
        let rows = self
            .reader()
            .query(
                "SELECT a.accid, coalesce(p.nick, a.name), coalesce(p.avatar, ''), \
                   coalesce(p.sign, ''), coalesce(p.gender, 0), coalesce(p.email, ''), \
                   coalesce(p.birth, ''), coalesce(p.mobile, ''), coalesce(p.ext, ''), \
                   coalesce(p.updated_at, 0) \
                 FROM accounts a LEFT JOIN user_profiles p \
                   ON p.app_key = a.app_key AND p.accid = a.accid \
                 WHERE a.app_key = $1 AND a.accid = ANY($2)",
                &[&app_key, &accids],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(profile_from_row).collect()
    }

    async fn update_profile(
        &self,
        app_key: &str,
        accid: &str,
        changes: ProfileChanges,
        at: i64,
        events: EventsOf<Profile>,
    ) -> StoreResult<(Profile, Vec<StoredEvent>)> {
        let c = changes;
        let gender = c.gender.map(|g| g as i32);
        let mut client = self.change_connection().await;
        let tx = client.transaction().await.map_err(backend)?;
        let row = tx
            .query_opt(
                "INSERT INTO user_profiles (app_key, accid, nick, avatar, sign, gender, email, \
                   birth, mobile, ext, updated_at) \
                 SELECT a.app_key, a.accid, coalesce($3, a.name), coalesce($4, ''), \
                   coalesce($5, ''), coalesce($6, 0), coalesce($7, ''), coalesce($8, ''), \
                   coalesce($9, ''), coalesce($10, ''), $11 \
                 FROM accounts a WHERE a.app_key = $1 AND a.accid = $2 \
                 ON CONFLICT (app_key, accid) DO UPDATE SET \
                   nick = coalesce($3, user_profiles.nick), \
                   avatar = coalesce($4, user_profiles.avatar), \
                   sign = coalesce($5, user_profiles.sign), \
                   gender = coalesce($6, user_profiles.gender), \
                   email = coalesce($7, user_profiles.email), \
                   birth = coalesce($8, user_profiles.birth), \
                   mobile = coalesce($9, user_profiles.mobile), \
                   ext = coalesce($10, user_profiles.ext), \
                   updated_at = greatest(user_profiles.updated_at + 1, $11) \
                 RETURNING accid, nick, avatar, sign, gender, email, birth, mobile, ext, updated_at",
                &[
                    &app_key, &accid, &c.nick, &c.avatar, &c.sign, &gender, &c.email, &c.birth,
                    &c.mobile, &c.ext, &at,
                ],
            )
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound {
                what: format!("account {accid}"),
            });
        };
        let profile = profile_from_row(&row)?;
        let stored = append_events(&tx, app_key, at, events(&profile)).await?;
        tx.commit().await.map_err(backend)?;
        Ok((profile, stored))
    }
}

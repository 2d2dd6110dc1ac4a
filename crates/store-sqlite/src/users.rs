//! Profiles.

use async_trait::async_trait;
use rusqlite::{params, Row};
use tidings_store::*;

use crate::events::append_events;
use crate::SqliteStore;

/// An account's profile, or its defaults when it has none.
const PROFILE_COLUMNS: &str = "a.accid, coalesce(p.nick, a.name), coalesce(p.avatar, ''), \
     coalesce(p.sign, ''), coalesce(p.gender, 0), coalesce(p.email, ''), coalesce(p.birth, ''), \
     coalesce(p.mobile, ''), coalesce(p.ext, ''), coalesce(p.updated_at, 0)";

fn profile_from_row(row: &Row<'_>) -> rusqlite::Result<Profile> {
    Ok(Profile {
        accid: row.get(0)?,
        nick: row.get(1)?,
        avatar: row.get(2)?,
        sign: row.get(3)?,
        gender: row.get(4)?,
        email: row.get(5)?,
        birth: row.get(6)?,
        mobile: row.get(7)?,
        ext: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn profiles(&self, app_key: &str, accids: &[String]) -> StoreResult<Vec<Profile>> {
        let (app_key, accids) = (app_key.to_owned(), accids.to_vec());
        self.readers
            .read(move |conn| {
                let mut select = conn.prepare_cached(&format!(
                    "SELECT {PROFILE_COLUMNS} FROM accounts a LEFT JOIN user_profiles p \
                       ON p.app_key = a.app_key AND p.accid = a.accid \
                     WHERE a.app_key = ?1 AND a.accid = ?2"
                ))?;
                let mut found = Vec::with_capacity(accids.len());
                for accid in &accids {
                    let mut rows = select.query_map(params![app_key, accid], profile_from_row)?;
                    if let Some(profile) = rows.next() {
                        found.push(profile?);
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn update_profile(
        &self,
        app_key: &str,
        accid: &str,
        changes: ProfileChanges,
        at: i64,
        events: EventsOf<Profile>,
    ) -> StoreResult<(Profile, Vec<StoredEvent>)> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.writer
            .write(move |ctx| {
                let c = changes;
                let updated = ctx
                    .conn
                    .prepare_cached(
                        "INSERT INTO user_profiles (app_key, accid, nick, avatar, sign, gender, email, \
                           birth, mobile, ext, updated_at) \
                         SELECT a.app_key, a.accid, coalesce(?3, a.name), coalesce(?4, ''), \
                           coalesce(?5, ''), coalesce(?6, 0), coalesce(?7, ''), coalesce(?8, ''), \
                           coalesce(?9, ''), coalesce(?10, ''), ?11 \
                         FROM accounts a WHERE a.app_key = ?1 AND a.accid = ?2 \
                         ON CONFLICT (app_key, accid) DO UPDATE SET \
                           nick = coalesce(?3, nick), avatar = coalesce(?4, avatar), \
                           sign = coalesce(?5, sign), gender = coalesce(?6, gender), \
                           email = coalesce(?7, email), birth = coalesce(?8, birth), \
                           mobile = coalesce(?9, mobile), ext = coalesce(?10, ext), \
                           updated_at = max(updated_at + 1, ?11) \
                         RETURNING accid, nick, avatar, sign, gender, email, birth, mobile, ext, updated_at",
                    )?
                    .query_map(
                        params![
                            app_key, accid, c.nick, c.avatar, c.sign, c.gender, c.email, c.birth,
                            c.mobile, c.ext, at
                        ],
                        profile_from_row,
                    )?
                    .next()
                    .transpose()?;
                let Some(profile) = updated else {
                    return Ok(Err(StoreError::NotFound {
                        what: format!("account {accid}"),
                    }));
                };
                let stored = append_events(ctx.conn, &app_key, at, events(&profile))?;
                Ok(Ok((profile, stored)))
            })
            .await?
    }
}

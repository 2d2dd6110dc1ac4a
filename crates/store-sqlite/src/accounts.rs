//! Apps, accounts, their last devices and the server API's nonces.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};
use tidings_store::*;

use crate::SqliteStore;

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        app_key: row.get(0)?,
        accid: row.get(1)?,
        name: row.get(2)?,
        token: row.get(3)?,
        blocked: row.get(4)?,
        created_at: row.get(5)?,
    })
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_app(&self, app: App) -> StoreResult<App> {
        self.writer
            .write(move |ctx| {
                let inserted = ctx.conn.execute(
                    "INSERT OR IGNORE INTO apps (app_key, app_secret, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![app.app_key, app.app_secret, app.name, app.created_at],
                )?;
                Ok(if inserted == 1 {
                    Ok(app)
                } else {
                    Err(StoreError::Conflict { what: format!("app {}", app.app_key) })
                })
            })
            .await?
    }

    async fn app(&self, app_key: &str) -> StoreResult<Option<App>> {
        let app_key = app_key.to_owned();
        self.readers
            .read(move |conn| {
                conn.query_row(
                    "SELECT app_key, app_secret, name, created_at FROM apps WHERE app_key = ?1",
                    [app_key],
                    |row| {
                        Ok(App {
                            app_key: row.get(0)?,
                            app_secret: row.get(1)?,
                            name: row.get(2)?,
                            created_at: row.get(3)?,
                        })
                    },
                )
                .optional()
            })
            .await
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        self.writer
            .write(move |ctx| {
                let inserted = ctx.conn.execute(
                    "INSERT OR IGNORE INTO accounts (app_key, accid, name, token, blocked, created_at) \
                     VALUES (?1, ?2, ?3, ?4, 0, ?5)",
                    params![account.app_key, account.accid, account.name, account.token, account.created_at],
                )?;
                Ok(if inserted == 1 {
                    Ok(Account {
                        app_key: account.app_key,
                        accid: account.accid,
                        name: account.name,
                        token: account.token,
                        blocked: false,
                        created_at: account.created_at,
                    })
                } else {
                    Err(StoreError::Conflict { what: format!("account {}", account.accid) })
                })
            })
            .await?
    }

    async fn account(&self, app_key: &str, accid: &str) -> StoreResult<Option<Account>> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.readers
            .read(move |conn| {
                conn.query_row(
                    "SELECT app_key, accid, name, token, blocked, created_at FROM accounts \
                     WHERE app_key = ?1 AND accid = ?2",
                    [app_key, accid],
                    account_from_row,
                )
                .optional()
            })
            .await
    }

    async fn update_token(&self, app_key: &str, accid: &str, token: &str) -> StoreResult<()> {
        let (app_key, accid, token) = (app_key.to_owned(), accid.to_owned(), token.to_owned());
        self.writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "UPDATE accounts SET token = ?3 WHERE app_key = ?1 AND accid = ?2",
                    params![app_key, accid, token],
                )?;
                Ok(StoreError::unless_account_changed(n as u64, &accid))
            })
            .await?
    }

    async fn set_blocked(&self, app_key: &str, accid: &str, blocked: bool) -> StoreResult<()> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "UPDATE accounts SET blocked = ?3 WHERE app_key = ?1 AND accid = ?2",
                    params![app_key, accid, blocked],
                )?;
                Ok(StoreError::unless_account_changed(n as u64, &accid))
            })
            .await?
    }

    async fn last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
    ) -> StoreResult<Option<String>> {
        let (app_key, accid) = (app_key.to_owned(), accid.to_owned());
        self.readers
            .read(move |conn| {
                conn.query_row(
                    "SELECT device_id FROM last_devices \
                     WHERE app_key = ?1 AND accid = ?2 AND kick_group = ?3",
                    params![app_key, accid, kick_group],
                    |row| row.get(0),
                )
                .optional()
            })
            .await
    }

    async fn set_last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
        device_id: &str,
    ) -> StoreResult<()> {
        let (app_key, accid, device_id) =
            (app_key.to_owned(), accid.to_owned(), device_id.to_owned());
        self.writer
            .write(move |ctx| {
                ctx.conn.execute(
                    "INSERT INTO last_devices (app_key, accid, kick_group, device_id) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (app_key, accid, kick_group) DO UPDATE SET device_id = excluded.device_id",
                    params![app_key, accid, kick_group, device_id],
                )?;
                Ok(())
            })
            .await
    }

    async fn record_nonce(
        &self,
        app_key: &str,
        nonce: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool> {
        let (app_key, nonce) = (app_key.to_owned(), nonce.to_owned());
        self.writer
            .write(move |ctx| {
                let oldest = now_ms - window_ms;
                ctx.conn.execute(
                    "DELETE FROM api_nonces WHERE app_key = ?1 AND seen_at < ?2",
                    params![app_key, oldest],
                )?;
                let inserted = ctx.conn.execute(
                    "INSERT OR IGNORE INTO api_nonces (app_key, nonce, seen_at) VALUES (?1, ?2, ?3)",
                    params![app_key, nonce, now_ms],
                )?;
                Ok(inserted == 1)
            })
            .await
    }
}

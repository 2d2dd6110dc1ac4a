//! Apps, accounts, their last devices and the server API's nonces.

use async_trait::async_trait;
use tidings_store::*;

use crate::{backend, PostgresStore};

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_app(&self, app: App) -> StoreResult<App> {
        let inserted = self
            .reader()
            .execute(
                "INSERT INTO apps (app_key, app_secret, name, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                &[&app.app_key, &app.app_secret, &app.name, &app.created_at],
            )
            .await
            .map_err(backend)?;
        if inserted == 1 {
            Ok(app)
        } else {
            Err(StoreError::Conflict {
                what: format!("app {}", app.app_key),
            })
        }
    }

    async fn app(&self, app_key: &str) -> StoreResult<Option<App>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT app_key, app_secret, name, created_at FROM apps WHERE app_key = $1",
                &[&app_key],
            )
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(App {
                app_key: r.try_get(0).map_err(backend)?,
                app_secret: r.try_get(1).map_err(backend)?,
                name: r.try_get(2).map_err(backend)?,
                created_at: r.try_get(3).map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        let inserted = self
            .reader()
            .execute(
                "INSERT INTO accounts (app_key, accid, name, token, blocked, created_at) \
                 VALUES ($1, $2, $3, $4, FALSE, $5) ON CONFLICT DO NOTHING",
                &[
                    &account.app_key,
                    &account.accid,
                    &account.name,
                    &account.token,
                    &account.created_at,
                ],
            )
            .await
            .map_err(backend)?;
        if inserted != 1 {
            return Err(StoreError::Conflict {
                what: format!("account {}", account.accid),
            });
        }
        Ok(Account {
            app_key: account.app_key,
            accid: account.accid,
            name: account.name,
            token: account.token,
            blocked: false,
            created_at: account.created_at,
        })
    }

    async fn account(&self, app_key: &str, accid: &str) -> StoreResult<Option<Account>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT app_key, accid, name, token, blocked, created_at FROM accounts \
                 WHERE app_key = $1 AND accid = $2",
                &[&app_key, &accid],
            )
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(Account {
                app_key: r.try_get(0).map_err(backend)?,
                accid: r.try_get(1).map_err(backend)?,
                name: r.try_get(2).map_err(backend)?,
                token: r.try_get(3).map_err(backend)?,
                blocked: r.try_get(4).map_err(backend)?,
                created_at: r.try_get(5).map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn update_token(&self, app_key: &str, accid: &str, token: &str) -> StoreResult<()> {
        let n = self
            .reader()
            .execute(
                "UPDATE accounts SET token = $3 WHERE app_key = $1 AND accid = $2",
                &[&app_key, &accid, &token],
            )
            .await
            .map_err(backend)?;
        StoreError::unless_account_changed(n, accid)
    }

    async fn set_blocked(&self, app_key: &str, accid: &str, blocked: bool) -> StoreResult<()> {
        let n = self
            .reader()
            .execute(
                "UPDATE accounts SET blocked = $3 WHERE app_key = $1 AND accid = $2",
                &[&app_key, &accid, &blocked],
            )
            .await
            .map_err(backend)?;
        StoreError::unless_account_changed(n, accid)
    }

    async fn last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
    ) -> StoreResult<Option<String>> {
        let row = self
            .reader()
            .query_opt(
                "SELECT device_id FROM last_devices \
                 WHERE app_key = $1 AND accid = $2 AND kick_group = $3",
                &[&app_key, &accid, &(kick_group as i32)],
            )
            .await
            .map_err(backend)?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    async fn set_last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
        device_id: &str,
    ) -> StoreResult<()> {
        self.reader()
            .execute(
                "INSERT INTO last_devices (app_key, accid, kick_group, device_id) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (app_key, accid, kick_group) DO UPDATE SET device_id = excluded.device_id",
                &[&app_key, &accid, &(kick_group as i32), &device_id],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn record_nonce(
        &self,
        app_key: &str,
        nonce: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool> {
        let oldest = now_ms - window_ms;
        let client = self.reader();
        client
            .execute(
                "DELETE FROM api_nonces WHERE app_key = $1 AND seen_at < $2",
                &[&app_key, &oldest],
            )
            .await
            .map_err(backend)?;
        let n = client
            .execute(
                "INSERT INTO api_nonces (app_key, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&app_key, &nonce, &now_ms],
            )
            .await
            .map_err(backend)?;
        Ok(n == 1)
    }
}

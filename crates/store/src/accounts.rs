//! Apps, accounts, their devices and the server API's nonces.

use async_trait::async_trait;

use crate::{Account, App, NewAccount, StoreResult};

#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    async fn create_app(&self, app: App) -> StoreResult<App>;
    async fn app(&self, app_key: &str) -> StoreResult<Option<App>>;

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account>;
    async fn account(&self, app_key: &str, accid: &str) -> StoreResult<Option<Account>>;
    /// Sets a new token; `NotFound` when the account does not exist.
    async fn update_token(&self, app_key: &str, accid: &str, token: &str) -> StoreResult<()>;
    async fn set_blocked(&self, app_key: &str, accid: &str, blocked: bool) -> StoreResult<()>;
    /// The device that last logged in to the account with a client type of
    /// `kick_group` (the group's client types as a bit mask), if any.
    async fn last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
    ) -> StoreResult<Option<String>>;
    /// Records `device_id` as the account's last device of `kick_group`.
    async fn set_last_device(
        &self,
        app_key: &str,
        accid: &str,
        kick_group: u32,
        device_id: &str,
    ) -> StoreResult<()>;

    /// Records a server-API nonce. Returns false when the same nonce was seen
    /// for this app at or after `now_ms - window_ms` (a replay).
    async fn record_nonce(
        &self,
        app_key: &str,
        nonce: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreResult<bool>;
}

use tokio::sync::oneshot;

use crate::connection::Command;
use crate::{Client, LoginClient, SdkError};

pub struct LoginManager<'a> {
    pub(crate) client: &'a Client,
}

impl LoginManager<'_> {
    /// Logs in and returns once the server accepted (or refused) the login.
    /// Data sync continues in the background; `LoginStep::Synced` tells when
    /// it is done. After a success the SDK reconnects and logs in again by
    /// itself whenever the connection drops.
    pub async fn login(&self, account: &str, token: &str) -> Result<(), SdkError> {
        let (tx, rx) = oneshot::channel();
        self.client.start(account, token, Some(tx), false).await?;
        let outcome = rx.await.unwrap_or(Err(SdkError::Stopped));
        if outcome.is_err() {
            if let Some(active) = self.client.take_active() {
                active.task.abort();
            }
        }
        outcome
    }

    /// Opens the account's local data at once (readable offline) and logs in
    /// in the background, retrying until it gets in or is refused for good.
    /// Refused with 417 (`Event::LoginFailed`) if another device of this
    /// client type's kick group has logged in to the account since this
    /// one did: the app should then ask its user to log in by hand.
    pub async fn auto_login(&self, account: &str, token: &str) -> Result<(), SdkError> {
        self.client.start(account, token, None, false).await
    }

    /// [`LoginManager::auto_login`] in forced mode: logs in even if another
    /// device has logged in since this one did (and kicks it, as a manual
    /// login does). Less safe, more convenient (seed 000's `forcedMode`).
    pub async fn auto_login_forced(&self, account: &str, token: &str) -> Result<(), SdkError> {
        self.client.start(account, token, None, true).await
    }

    /// Logs out and stops the connection. Unsent messages stay in the local
    /// database and are sent after the next login.
    pub async fn logout(&self) -> Result<(), SdkError> {
        let (tx, rx) = oneshot::channel();
        // After a kick or a final refusal the task has already stopped;
        // logging out then only closes the account.
        if self.client.command(Command::Logout(tx)).is_ok() {
            let _ = tokio::time::timeout(self.client.config().request_timeout, rx).await;
        }
        if let Some(active) = self.client.take_active() {
            active.task.abort();
            active.shared.fail_all_waiters();
        }
        Ok(())
    }

    /// My other devices online beside this one, as last told by the
    /// server (empty while this device has no connection). Changes come as
    /// `Event::LoginClientsChanged`.
    pub fn current_login_clients(&self) -> Vec<LoginClient> {
        self.client
            .shared()
            .ok()
            .and_then(|s| s.other_clients.lock().ok().map(|l| l.clone()))
            .unwrap_or_default()
    }

    /// Logs out other devices of my account (NIM's `kickOtherClient`):
    /// they get `Event::Kicked` with reason 3 and do not reconnect. Needs a
    /// connection (`Connection` error otherwise); a device already gone is
    /// no error.
    pub async fn kick_other_clients(&self, clients: &[LoginClient]) -> Result<(), SdkError> {
        let connection_ids = clients.iter().map(|c| c.connection_id).collect();
        let kick = tidings_proto::KickClientsRequest { connection_ids };
        self.client.call(kick).await.map(|_| ())
    }

    pub fn is_logged_in(&self) -> bool {
        self.client.is_logged_in()
    }

    /// The account of the current login, if any.
    pub fn current_account(&self) -> Option<String> {
        self.client.shared().ok().map(|s| s.account.clone())
    }
}

//! Custom notifications: opaque JSON from an account or the app's backend
//! to an account, rate-limited per sender.

use std::sync::Arc;
use std::time::Duration;

use tidings_bus::{Bus, Subject};
use tidings_proto::{bus_event, BusEvent, Code, CustomNotification, SendCustomNotification};
use tidings_store::{CustomRow, Store};

use crate::error::echo;
use crate::services::accounts::AccountService;
use crate::services::throttle::WindowCounts;
use crate::services::Session;
use crate::ServiceError;

/// Longest content, in characters.
pub const MAX_CONTENT: usize = 4096;
/// Longest push text, in characters.
pub const MAX_PUSH_CONTENT: usize = 500;

/// The configured limits.
#[derive(Debug, Clone, Copy)]
pub struct CustomRules {
    /// Most a sender may send per window (416 past it); 0: no limit.
    pub per_window: u32,
    pub window: Duration,
    /// Most kept per account for its next login; the oldest go first.
    pub kept_per_account: u32,
}

pub struct CustomNotifications {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    accounts: Arc<AccountService>,
    rules: CustomRules,
    /// Sent per sender (a keyed hash of app and account) in the window.
    sent: WindowCounts<u64>,
}

/// The content's checks: JSON, and not too long.
pub fn check(content: &str, push_content: &str) -> Result<(), ServiceError> {
    if content.is_empty() {
        return Err(ServiceError::bad_parameter("content is required"));
    }
    if content.chars().count() > MAX_CONTENT {
        return Err(ServiceError::bad_parameter(format!(
            "content is longer than {MAX_CONTENT} characters"
        )));
    }
    if serde_json::from_str::<serde_json::Value>(content).is_err() {
        return Err(ServiceError::bad_parameter(format!(
            "content {} is not JSON",
            echo(content)
        )));
    }
    if push_content.chars().count() > MAX_PUSH_CONTENT {
        return Err(ServiceError::bad_parameter(format!(
            "pushContent is longer than {MAX_PUSH_CONTENT} characters"
        )));
    }
    Ok(())
}

impl CustomNotifications {
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        accounts: Arc<AccountService>,
        rules: CustomRules,
    ) -> CustomNotifications {
        CustomNotifications {
            store,
            bus,
            accounts,
            sent: WindowCounts::new(rules.window),
            rules,
        }
    }

    /// From a device: counted against its account's rate.
    pub async fn send(
        &self,
        session: &Session,
        send: SendCustomNotification,
    ) -> Result<(), ServiceError> {
        check(&send.content, &send.push_content)?;
        self.count(&session.app_key, &session.accid)?;
        self.deliver(&session.app_key, &session.accid, send).await
    }

    /// From the app's backend (the server API).
    pub async fn send_from_backend(
        &self,
        app_key: &str,
        from: &str,
        send: SendCustomNotification,
    ) -> Result<(), ServiceError> {
        check(&send.content, &send.push_content)?;
        if !from.is_empty() {
            self.accounts.must_exist(app_key, from).await?;
        }
        self.deliver(app_key, from, send).await
    }

    fn count(&self, app_key: &str, from: &str) -> Result<(), ServiceError> {
        if self.rules.per_window == 0 {
            return Ok(());
        }
        let sender = self.sent.hash((app_key, from));
        if self.sent.add(sender) > self.rules.per_window {
            return Err(ServiceError::new(
                Code::TooFrequent,
                format!(
                    "more than {} custom notifications in {} s",
                    self.rules.per_window,
                    self.rules.window.as_secs_f64()
                ),
            ));
        }
        Ok(())
    }

    async fn deliver(
        &self,
        app_key: &str,
        from: &str,
        send: SendCustomNotification,
    ) -> Result<(), ServiceError> {
        if send.to.is_empty() {
            return Err(ServiceError::bad_parameter("to is required"));
        }
        self.accounts.must_exist(app_key, &send.to).await?;
        let mut notification = CustomNotification {
            from: from.to_owned(),
            to: send.to,
            content: send.content,
            push_content: send.push_content,
            time: crate::now_ms(),
            kept: 0,
        };
        if !send.online_only {
            let row = CustomRow {
                seq: 0,
                from: notification.from.clone(),
                to: notification.to.clone(),
                content: notification.content.clone(),
                push_content: notification.push_content.clone(),
                time: notification.time,
            };
            notification.kept = self
                .store
                .keep_custom(app_key, row, self.rules.kept_per_account)
                .await?;
        }
        let subject = Subject::account(app_key, &notification.to);
        let event = BusEvent {
            origin_connection: 0,
            kind: Some(bus_event::Kind::Custom(notification)),
        };
        self.bus.publish(&subject, Arc::new(event)).await?;
        Ok(())
    }

    /// A device got a kept notification: it is not kept any longer.
    pub async fn delivered(&self, app_key: &str, to: &str, kept: u64) {
        if let Err(e) = self.store.forget_custom(app_key, to, kept).await {
            tracing::warn!(error = %e, "could not forget a delivered custom notification");
        }
    }

    /// What was kept for `to` while no device of it was online, oldest
    /// first; taken, so the next login does not get it again.
    pub async fn take_kept(
        &self,
        app_key: &str,
        to: &str,
    ) -> Result<Vec<CustomNotification>, ServiceError> {
        let rows = self.store.take_custom(app_key, to).await?;
        Ok(rows
            .into_iter()
            .map(|row| CustomNotification {
                from: row.from,
                to: row.to,
                content: row.content,
                push_content: row.push_content,
                time: row.time,
                kept: 0,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn content_is_json_of_bounded_size() {
        assert!(check(r#"{"typing":true}"#, "").is_ok());
        assert!(check("", "").is_err());
        assert!(check("{oops", "").is_err());
        assert!(check(&format!("\"{}\"", "x".repeat(5000)), "").is_err());
        assert!(check("{}", &"p".repeat(501)).is_err());
    }
}

//! NIM's system notification manager, and custom notifications. The list
//! is the local copy the account event log keeps current; a change goes to
//! the server, then to the local copy (every device gets it by the log).

use tidings_proto::{DeleteNotifications, MarkNotifications, SendCustomNotification};

use crate::local_store::notifications;
use crate::types::SystemNotification;
use crate::{Client, SdkError};

pub struct NotificationManager<'a> {
    pub(crate) client: &'a Client,
}

impl NotificationManager<'_> {
    /// The newest `limit` notifications held, newest first, of the `kinds`
    /// given (all when `None`).
    pub async fn fetch(
        &self,
        limit: u32,
        kinds: Option<Vec<u32>>,
    ) -> Result<Vec<SystemNotification>, SdkError> {
        self.read(move |conn| notifications::list(conn, limit, kinds.as_deref()))
            .await
    }

    pub async fn unread_count(&self) -> Result<u32, SdkError> {
        self.read(notifications::unread_count).await
    }

    pub async fn mark_all_read(&self) -> Result<(), SdkError> {
        self.mark(Vec::new(), Some(true), None).await
    }

    pub async fn set_read(&self, id: u64) -> Result<(), SdkError> {
        self.mark(vec![id], Some(true), None).await
    }

    /// 0 untreated, 1 passed, 2 rejected, 3 ignored, 4 expired, 5-9 mine.
    pub async fn set_status(&self, id: u64, status: u32) -> Result<(), SdkError> {
        self.mark(vec![id], None, Some(status)).await
    }

    pub async fn delete(&self, id: u64) -> Result<(), SdkError> {
        self.remove(vec![id]).await
    }

    pub async fn delete_all(&self) -> Result<(), SdkError> {
        self.remove(Vec::new()).await
    }

    /// Sends `content` (JSON) to `to`. `online_only`: dropped unless a
    /// device of `to` is online (typing indicators); otherwise kept for its
    /// next login. Rate-limited per account (416).
    pub async fn send_custom(
        &self,
        to: &str,
        content: &str,
        online_only: bool,
        push_content: &str,
    ) -> Result<(), SdkError> {
        let send = SendCustomNotification {
            to: to.to_owned(),
            content: content.to_owned(),
            online_only,
            push_content: push_content.to_owned(),
        };
        self.client.call(send).await.map(|_| ())
    }

    async fn mark(
        &self,
        ids: Vec<u64>,
        read: Option<bool>,
        status: Option<u32>,
    ) -> Result<(), SdkError> {
        let mark = MarkNotifications {
            ids: ids.clone(),
            read,
            status,
        };
        self.client.call(mark).await?;
        self.read(move |conn| notifications::change(conn, &ids, read, status, false))
            .await
    }

    async fn remove(&self, ids: Vec<u64>) -> Result<(), SdkError> {
        self.client
            .call(DeleteNotifications { ids: ids.clone() })
            .await?;
        self.read(move |conn| notifications::change(conn, &ids, None, None, true))
            .await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, SdkError> {
        self.client
            .shared()?
            .db
            .run(move |db| Ok(f(db.sql()?)?))
            .await
    }
}

use crate::local_store::ops;
use crate::types::{RecentSession, SessionId};
use crate::{Client, Event, SdkError};

/// Recent sessions, from the local database.
pub struct ConversationManager<'a> {
    pub(crate) client: &'a Client,
}

impl ConversationManager<'_> {
    /// Every recent session, newest first.
    pub async fn all_recent_sessions(&self) -> Result<Vec<RecentSession>, SdkError> {
        self.client.shared()?.db.run(ops::recent_sessions).await
    }

    pub async fn recent_session(
        &self,
        session: &SessionId,
    ) -> Result<Option<RecentSession>, SdkError> {
        let session = session.clone();
        self.client
            .shared()?
            .db
            .run(move |db| ops::recent_session_of(db, &session))
            .await
    }

    /// Removes a session from the list (its messages stay). Returns whether
    /// it was there.
    pub async fn delete_recent_session(&self, session: &SessionId) -> Result<bool, SdkError> {
        let shared = self.client.shared()?;
        let session = session.clone();
        let removed = shared
            .db
            .run(move |db| ops::delete_recent_session(db, &session))
            .await?;
        let found = removed.is_some();
        if let Some(recent) = removed {
            shared.emit(Event::RecentSessionRemoved(recent.into()));
        }
        Ok(found)
    }

    /// Sets the session's unread count to zero.
    pub async fn mark_all_messages_read(&self, session: &SessionId) -> Result<(), SdkError> {
        let shared = self.client.shared()?;
        let session = session.clone();
        if let Some(recent) = shared
            .db
            .run(move |db| ops::mark_all_read(db, &session))
            .await?
        {
            shared.emit(Event::RecentSessionUpdated(recent.into()));
        }
        Ok(())
    }

    pub async fn total_unread_count(&self) -> Result<u32, SdkError> {
        self.client
            .shared()?
            .db
            .run(|db| ops::total_unread(db.sql()?))
            .await
    }
}

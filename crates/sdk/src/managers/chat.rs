use std::sync::Arc;

use tidings_proto::limits::SizedFields;
use tokio::sync::oneshot;

use super::now_ms;
use crate::connection::{new_message_id, Command};
use crate::local_store::ops;
use crate::types::*;
use crate::{Client, Event, SdkError};

/// Sending messages and reading local history.
pub struct ChatManager<'a> {
    pub(crate) client: &'a Client,
}

fn check_json(field: &str, value: &str) -> Result<(), SdkError> {
    if value.is_empty()
        || serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(value).is_ok()
    {
        Ok(())
    } else {
        Err(SdkError::InvalidParameter(format!(
            "{field} must be a JSON object"
        )))
    }
}

impl ChatManager<'_> {
    /// Stores the message locally as "sending", emits `WillSend`, queues it,
    /// and returns it at once. The outcome arrives as `SendComplete`; an
    /// unacked message is resent after every reconnect and SDK restart.
    pub async fn enqueue(&self, outgoing: OutgoingMessage) -> Result<LocalMessage, SdkError> {
        self.enqueue_with(outgoing, None).await
    }

    /// Sends and waits until the server acked (durably stored) or refused it.
    pub async fn send(&self, outgoing: OutgoingMessage) -> Result<LocalMessage, SdkError> {
        let (tx, rx) = oneshot::channel();
        self.enqueue_with(outgoing, Some(tx)).await?;
        rx.await.unwrap_or(Err(SdkError::Stopped))
    }

    pub async fn send_text(
        &self,
        session: SessionId,
        text: &str,
    ) -> Result<LocalMessage, SdkError> {
        self.send(OutgoingMessage::text(session, text)).await
    }

    pub async fn send_tip(&self, session: SessionId, text: &str) -> Result<LocalMessage, SdkError> {
        self.send(OutgoingMessage::tip(session, text)).await
    }

    pub async fn send_custom(
        &self,
        session: SessionId,
        attachment_json: &str,
    ) -> Result<LocalMessage, SdkError> {
        self.send(OutgoingMessage::custom(session, attachment_json))
            .await
    }

    async fn enqueue_with(
        &self,
        outgoing: OutgoingMessage,
        waiter: Option<oneshot::Sender<Result<LocalMessage, SdkError>>>,
    ) -> Result<LocalMessage, SdkError> {
        let shared = self.client.shared()?;
        if outgoing.session.id.is_empty() {
            return Err(SdkError::InvalidParameter("sessionId is required".into()));
        }
        match outgoing.message_type {
            message_type::TEXT | message_type::TIP if outgoing.text.is_empty() => {
                return Err(SdkError::InvalidParameter("content is empty".into()))
            }
            message_type::TEXT | message_type::TIP | message_type::CUSTOM => {}
            other => {
                return Err(SdkError::InvalidParameter(format!(
                    "messageType {other} is not supported yet"
                )))
            }
        }
        check_json("remoteExt", &outgoing.remote_ext)?;
        check_json("localExt", &outgoing.local_ext)?;
        check_json("attachment", &outgoing.attachment)?;
        let message = LocalMessage {
            message_id: new_message_id(),
            server_id: 0,
            session: outgoing.session,
            from: shared.account.clone(),
            from_nick: String::new(),
            message_type: outgoing.message_type,
            text: outgoing.text,
            attachment: outgoing.attachment,
            remote_ext: outgoing.remote_ext,
            local_ext: outgoing.local_ext,
            timestamp: now_ms(),
            seq: 0,
            delivery: DeliveryState::Sending,
            is_outgoing: true,
            settings: outgoing.settings,
            muted: false,
            is_remote_read: false,
            is_deleted: false,
            is_played: false,
        };
        // Refused here, a message the server would refuse for its size never
        // waits in the outbox (and none is large enough to outgrow a frame).
        let sized = SizedFields {
            client_id: &message.message_id,
            text: &message.text,
            attachment: &message.attachment,
            remote_ext: &message.remote_ext,
            apns_content: &message.settings.apns_content,
            apns_payload: &message.settings.apns_payload,
        };
        if let Some(error) = sized.oversized() {
            return Err(SdkError::InvalidParameter(error));
        }
        // The local insert is queued before the send, and the database runs
        // jobs in order, so the ack's update always finds the row. The send
        // does not wait for the local commit: if the app dies in between,
        // the server's copy comes back to this device by sync.
        let stored = message.clone();
        let inserted = shared.db.run(move |db| ops::insert_outgoing(db, &stored));
        if let Some(waiter) = waiter {
            if let Ok(mut waiters) = shared.waiters.lock() {
                waiters.insert(message.message_id.clone(), waiter);
            }
        }
        shared.emit(Event::WillSend(Arc::new(message.clone())));
        self.client
            .command(Command::Send(Box::new(message.clone())))?;
        for change in inserted.await? {
            shared.emit_session_change(change);
        }
        Ok(message)
    }

    /// Sends a failed message again, with the same id.
    pub async fn resend(&self, message_id: &str) -> Result<LocalMessage, SdkError> {
        let shared = self.client.shared()?;
        let id = message_id.to_owned();
        let message = shared
            .db
            .run(move |db| ops::mark_resending(db, &id))
            .await?;
        let (tx, rx) = oneshot::channel();
        if let Ok(mut waiters) = shared.waiters.lock() {
            waiters.insert(message.message_id.clone(), tx);
        }
        self.client.command(Command::Send(Box::new(message)))?;
        rx.await.unwrap_or(Err(SdkError::Stopped))
    }

    /// Up to `limit` messages of a session before `before` (a message id),
    /// or the newest; oldest first. Local only: never waits for the network.
    pub async fn history(
        &self,
        session: &SessionId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LocalMessage>, SdkError> {
        self.history_of_types(session, before, limit, None).await
    }

    /// [`ChatManager::history`] limited to some message types.
    pub async fn history_of_types(
        &self,
        session: &SessionId,
        before: Option<&str>,
        limit: u32,
        types: Option<Vec<u32>>,
    ) -> Result<Vec<LocalMessage>, SdkError> {
        if limit == 0 || limit > 100 {
            return Err(SdkError::InvalidParameter("limit must be 1 to 100".into()));
        }
        let (session, before) = (session.clone(), before.map(str::to_owned));
        self.client
            .shared()?
            .db
            .run(move |db| {
                ops::history(
                    db.sql()?,
                    &session,
                    before.as_deref(),
                    limit,
                    types.as_deref(),
                )
            })
            .await
    }

    /// A page of the session's cloud history, read from the server (every
    /// message of the conversation but those sent with historyEnabled off).
    /// With `save`, they are kept in the local database too, without events.
    pub async fn fetch_history(
        &self,
        query: CloudHistoryQuery,
    ) -> Result<CloudHistoryPage, SdkError> {
        if query.limit == 0 || query.limit > 100 {
            return Err(SdkError::InvalidParameter("limit must be 1 to 100".into()));
        }
        let request = tidings_proto::HistoryRequest {
            session_type: query.session.kind.as_u32(),
            session_id: query.session.id.clone(),
            start_time: query.start_time,
            end_time: query.end_time,
            limit: query.limit,
            ascending: query.ascending,
            message_types: query.message_types.clone(),
            anchor_seq: query.anchor_seq,
        };
        let answer = self.client.call(request).await?;
        use tidings_proto::{message_response, response, MessageResponse};
        let Some(response::Area::Messages(MessageResponse {
            kind: Some(message_response::Kind::History(page)),
        })) = answer
        else {
            return Err(SdkError::server(
                tidings_proto::Code::ServerError.as_u32(),
                "unexpected answer to a history request",
            ));
        };
        let shared = self.client.shared()?;
        let me = shared.account.clone();
        let messages: Vec<LocalMessage> = page
            .messages
            .into_iter()
            .map(|m| crate::connection::convert::from_wire(m, &me))
            .collect();
        if query.save && !messages.is_empty() {
            let kept = messages.clone();
            shared
                .db
                .run(move |db| ops::save_history(db, &kept))
                .await?;
        }
        Ok(CloudHistoryPage {
            messages,
            has_more: page.has_more,
        })
    }

    /// A read receipt: I read the session of `message_id` (a P2P message
    /// I received) up to that message. The peer's devices get
    /// `Event::MessageReceipt` and mark their messages up to its time
    /// `is_remote_read`; my devices' unread counts follow. A receipt at or
    /// behind the last one changes nothing.
    pub async fn send_receipt(&self, message_id: &str) -> Result<(), SdkError> {
        let Some(message) = self.message(message_id).await? else {
            return Err(SdkError::InvalidParameter(format!(
                "no message {message_id} on this device"
            )));
        };
        if message.is_outgoing || message.session.kind != SessionType::P2P || message.seq == 0 {
            return Err(SdkError::InvalidParameter(
                "a read receipt names a P2P message I received".into(),
            ));
        }
        let request = tidings_proto::SendReceipt {
            session_type: message.session.kind.as_u32(),
            session_id: message.session.id,
            seq: message.seq,
            client_id: message.message_id,
        };
        self.client.call(request).await?;
        Ok(())
    }

    /// Revokes a message I sent, within the server's revoke window (509
    /// after it). Every device of both accounts then replaces its copy by
    /// a revoke notification and gets `Event::MessageRevoked`.
    pub async fn revoke(&self, message_id: &str, postscript: &str) -> Result<(), SdkError> {
        let Some(message) = self.message(message_id).await? else {
            return Err(SdkError::InvalidParameter(format!(
                "no message {message_id} on this device"
            )));
        };
        if !message.is_outgoing || message.seq == 0 {
            return Err(SdkError::InvalidParameter(
                "only a message I sent, once the server has it, can be revoked".into(),
            ));
        }
        let request = tidings_proto::RevokeRequest {
            session_type: message.session.kind.as_u32(),
            session_id: message.session.id,
            seq: message.seq,
            client_id: message.message_id,
            postscript: postscript.to_owned(),
        };
        self.client.call(request).await?;
        Ok(())
    }

    /// Deletes a message on this device only (as NIM's guide has it). It
    /// stays deleted whatever a sync or a saved history page brings; a
    /// read by id still finds it (`is_deleted`). When it was its session's
    /// last, the previous one takes its place (`RecentSessionUpdated`).
    pub async fn delete_message(&self, message_id: &str) -> Result<(), SdkError> {
        let shared = self.client.shared()?;
        let id = message_id.to_owned();
        let changed = shared
            .db
            .run(move |db| ops::delete_message(db, &id))
            .await?;
        if let Some(recent) = changed {
            shared.emit(Event::RecentSessionUpdated(recent.into()));
        }
        Ok(())
    }

    /// Deletes every message of a session on this device (NIM's
    /// `clearChattingHistory`); its recent session stays, read and empty,
    /// or goes (`keep_recent_session` false).
    pub async fn clear_history(
        &self,
        session: &SessionId,
        keep_recent_session: bool,
    ) -> Result<(), SdkError> {
        let shared = self.client.shared()?;
        let session = session.clone();
        let changed = shared
            .db
            .run(move |db| ops::clear_session(db, &session, keep_recent_session))
            .await?;
        if let Some(change) = changed {
            shared.emit_session_change(change);
        }
        Ok(())
    }

    /// Deletes every message of every session on this device; the recent
    /// sessions stay, read and empty.
    pub async fn clear_all_history(&self) -> Result<(), SdkError> {
        let shared = self.client.shared()?;
        for recent in shared.db.run(ops::clear_all).await? {
            shared.emit(Event::RecentSessionUpdated(recent.into()));
        }
        Ok(())
    }

    pub async fn message(&self, message_id: &str) -> Result<Option<LocalMessage>, SdkError> {
        let id = message_id.to_owned();
        self.client
            .shared()?
            .db
            .run(move |db| ops::message(db.sql()?, &id))
            .await
    }

    /// Sets a message's local extension (JSON that never leaves the device).
    /// Marks a message played (NIM's isPlayed), on this device only; kept
    /// in the local database. An unknown id: 414.
    pub async fn set_played(&self, message_id: &str, played: bool) -> Result<(), SdkError> {
        let id = message_id.to_owned();
        self.client
            .shared()?
            .db
            .run(move |db| ops::set_played(db, &id, played))
            .await
    }

    pub async fn update_local_ext(
        &self,
        message_id: &str,
        local_ext: &str,
    ) -> Result<(), SdkError> {
        check_json("localExt", local_ext)?;
        let (id, ext) = (message_id.to_owned(), local_ext.to_owned());
        self.client
            .shared()?
            .db
            .run(move |db| ops::update_local_ext(db, &id, &ext))
            .await
    }
}

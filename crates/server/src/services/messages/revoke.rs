//! Revoking a message: its sender within the revoke window, or the app's
//! backend at any time. The message becomes a revoke notification in the
//! store (history and later syncs answer that), and an event on both
//! accounts' logs tells every device to replace its copy.

use std::time::Duration;

use serde_json::json;
use tidings_proto::{account_event, session_type, Code, MessageRevoked, RevokeRequest};
use tidings_store::{p2p_conversation, StoredMessage};

use super::MessageService;
use crate::services::events::new_event;
use crate::ServiceError;

pub const MAX_POSTSCRIPT_CHARS: usize = 500;

/// Who asks to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoker<'a> {
    /// A device of this account: only its own messages, within the window.
    Account(&'a str),
    /// The app's backend: any message, any time.
    Backend,
}

/// The request's own checks, before any lookup.
fn check(req: &RevokeRequest) -> Result<(), ServiceError> {
    if req.session_type != session_type::P2P {
        return Err(ServiceError::bad_parameter(format!(
            "sessionType {} is not supported yet",
            req.session_type
        )));
    }
    if req.session_id.is_empty() {
        return Err(ServiceError::bad_parameter("sessionId is required"));
    }
    if req.seq == 0 || req.client_id.is_empty() {
        return Err(ServiceError::bad_parameter(
            "the message is named by its seq and messageId",
        ));
    }
    if req.postscript.chars().count() > MAX_POSTSCRIPT_CHARS {
        return Err(ServiceError::bad_parameter(format!(
            "postscript is longer than {MAX_POSTSCRIPT_CHARS} characters"
        )));
    }
    Ok(())
}

/// Whether `revoker` may revoke `message` at `now`.
pub fn may_revoke(
    revoker: Revoker<'_>,
    message: &StoredMessage,
    now: i64,
    window: Duration,
) -> Result<(), ServiceError> {
    let Revoker::Account(me) = revoker else {
        return Ok(());
    };
    if message.message.from != me {
        return Err(ServiceError::new(
            Code::Forbidden,
            "only its sender may revoke a message",
        ));
    }
    let age = now.saturating_sub(message.timestamp);
    if age > window.as_millis() as i64 {
        return Err(ServiceError::new(
            Code::Expired,
            format!("the revoke window of {} s has passed", window.as_secs_f64()),
        ));
    }
    Ok(())
}

/// Messages read around a time when looking for one by its server id: a
/// group commit stamps many messages with one millisecond.
const SAME_TIME_SCAN: u32 = 500;

impl MessageService {
    /// The message of `owner`'s session with `peer` whose server id is
    /// `server_id`, sent at `time` (NIM names messages to revoke so):
    /// its request, ready for [`MessageService::revoke`].
    pub async fn named_by_server_id(
        &self,
        app_key: &str,
        owner: &str,
        peer: &str,
        server_id: u64,
        time: i64,
    ) -> Result<RevokeRequest, ServiceError> {
        let conversation = p2p_conversation(owner, peer);
        let first = self.store.seq_at_time(app_key, &conversation, time).await?;
        let around = self
            .store
            .messages_after(
                app_key,
                &conversation,
                first.saturating_sub(1),
                SAME_TIME_SCAN,
            )
            .await?;
        around
            .iter()
            .take_while(|m| m.timestamp <= time)
            .find(|m| m.server_id == server_id)
            .map(|m| RevokeRequest {
                session_type: session_type::P2P,
                session_id: peer.to_owned(),
                seq: m.seq,
                client_id: m.message.client_id.clone(),
                postscript: String::new(),
            })
            .ok_or_else(|| {
                ServiceError::new(
                    Code::NotFound,
                    format!(
                        "no message {server_id} at {time} between {} and {}",
                        crate::echo(owner),
                        crate::echo(peer)
                    ),
                )
            })
    }

    /// Revokes the message `req` names in `owner`'s session with
    /// `req.session_id`. A message revoked before answers 404, like one
    /// that does not exist.
    pub async fn revoke(
        &self,
        app_key: &str,
        owner: &str,
        revoker: Revoker<'_>,
        req: &RevokeRequest,
    ) -> Result<(), ServiceError> {
        check(req)?;
        let conversation = p2p_conversation(owner, &req.session_id);
        let missing = || {
            ServiceError::new(
                Code::NotFound,
                format!(
                    "no message {} at seq {} in this session",
                    crate::echo(&req.client_id),
                    req.seq
                ),
            )
        };
        let Some(message) = self
            .store
            .message_at(app_key, &conversation, req.seq)
            .await?
            .filter(|m| m.message.client_id == req.client_id)
            .filter(|m| m.message.flags & tidings_store::flags::REVOKED == 0)
        else {
            return Err(missing());
        };
        may_revoke(revoker, &message, crate::now_ms(), self.revoke_window)?;
        let revoked_by = match revoker {
            Revoker::Account(me) => me.to_owned(),
            Revoker::Backend => String::new(),
        };
        let m = &message.message;
        let attachment = json!({
            "revoked": {
                "from": m.from,
                "by": revoked_by,
                "messageId": m.client_id,
                "postscript": req.postscript,
            }
        })
        .to_string();
        let event = |owner: &str, peer: &str| {
            new_event(
                owner,
                account_event::Kind::Revoked(MessageRevoked {
                    session_type: session_type::P2P,
                    session_id: peer.to_owned(),
                    from: m.from.clone(),
                    client_id: m.client_id.clone(),
                    seq: message.seq,
                    timestamp: message.timestamp,
                    revoked_by: revoked_by.clone(),
                    postscript: req.postscript.clone(),
                    attachment: attachment.clone(),
                }),
            )
        };
        let mut events = vec![event(&m.from, &m.to)];
        if m.to != m.from {
            events.push(event(&m.to, &m.from));
        }
        let stored = self
            .store
            .revoke_message(
                app_key,
                &conversation,
                message.seq,
                attachment.clone(),
                crate::now_ms(),
                events,
            )
            .await?
            .ok_or_else(missing)?;
        if let Err(e) = self.events.publish(app_key, &stored).await {
            tracing::warn!(error = %e, "could not push a revoke");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings_store::NewMessage;

    fn sent_by(from: &str, at: i64) -> StoredMessage {
        StoredMessage {
            server_id: 1,
            seq: 1,
            timestamp: at,
            message: NewMessage {
                app_key: "a".into(),
                conversation: "p2p:ann|bob".into(),
                client_id: "m".into(),
                from: from.into(),
                from_nick: String::new(),
                from_client_type: 0,
                to: "bob".into(),
                session_type: 0,
                message_type: 0,
                text: "hi".into(),
                attachment: String::new(),
                remote_ext: String::new(),
                flags: 0,
                apns_content: String::new(),
                apns_payload: String::new(),
                members: tidings_store::Members::Recorded,
            },
        }
    }

    const WINDOW: Duration = Duration::from_secs(120);

    #[test]
    fn the_sender_within_the_window_and_the_backend_always() {
        let m = sent_by("ann", 1_000_000);
        let ok = |revoker, now| may_revoke(revoker, &m, now, WINDOW).map_err(|e| e.code);
        assert_eq!(ok(Revoker::Account("ann"), 1_000_000), Ok(()));
        assert_eq!(ok(Revoker::Account("ann"), 1_120_000), Ok(()));
        assert_eq!(ok(Revoker::Account("ann"), 1_120_001), Err(Code::Expired));
        assert_eq!(ok(Revoker::Account("bob"), 1_000_000), Err(Code::Forbidden));
        assert_eq!(ok(Revoker::Backend, 9_000_000_000), Ok(()));
    }

    #[test]
    fn a_request_names_a_p2p_message() {
        let good = RevokeRequest {
            session_type: 0,
            session_id: "bob".into(),
            seq: 1,
            client_id: "m".into(),
            postscript: String::new(),
        };
        assert!(check(&good).is_ok());
        for bad in [
            RevokeRequest {
                session_type: 2,
                ..good.clone()
            },
            RevokeRequest {
                seq: 0,
                ..good.clone()
            },
            RevokeRequest {
                client_id: String::new(),
                ..good.clone()
            },
            RevokeRequest {
                session_id: String::new(),
                ..good.clone()
            },
            RevokeRequest {
                postscript: "x".repeat(501),
                ..good.clone()
            },
        ] {
            let err = check(&bad).expect_err("refused");
            assert_eq!(err.code, Code::BadParameter, "{bad:?}");
        }
    }
}

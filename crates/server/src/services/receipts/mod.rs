//! P2P read receipts: "I read this session up to the peer's message M".
//! The mark moves only forward; each move is an event on both accounts'
//! logs, in the mark's transaction, so the peer's devices learn their
//! messages were read and my other devices that I read them (their unread
//! counts follow).

use std::sync::Arc;

use tidings_proto::{account_event, session_type, Code, MessageRead, SendReceipt};
use tidings_store::{p2p_conversation, ReadMark, Store};

use crate::services::events::{new_event, EventService};
use crate::services::Session;
use crate::ServiceError;

pub struct ReceiptService {
    store: Arc<dyn Store>,
    events: Arc<EventService>,
}

/// The request's own checks, before any lookup.
fn check(req: &SendReceipt) -> Result<(), ServiceError> {
    if req.session_type != session_type::P2P {
        return Err(ServiceError::bad_parameter(
            "read receipts are for P2P sessions (sessionType 0)",
        ));
    }
    if req.session_id.is_empty() {
        return Err(ServiceError::bad_parameter("sessionId is required"));
    }
    if req.seq == 0 || req.client_id.is_empty() {
        return Err(ServiceError::bad_parameter(
            "the message read is named by its seq and messageId",
        ));
    }
    Ok(())
}

impl ReceiptService {
    pub fn new(store: Arc<dyn Store>, events: Arc<EventService>) -> ReceiptService {
        ReceiptService { store, events }
    }

    /// `session`'s account read its session with `req.session_id` up to
    /// the peer's message `req`. A mark at or behind the last one changes
    /// nothing (and answers success).
    pub async fn send(&self, session: &Session, req: &SendReceipt) -> Result<(), ServiceError> {
        check(req)?;
        let (app_key, me, peer) = (&session.app_key, &session.accid, &req.session_id);
        let conversation = p2p_conversation(me, peer);
        let message = self
            .store
            .message_at(app_key, &conversation, req.seq)
            .await?
            .filter(|m| m.message.client_id == req.client_id)
            .filter(|m| m.message.from == *peer && m.message.from != *me);
        let Some(message) = message else {
            return Err(ServiceError::new(
                Code::NotFound,
                format!(
                    "no message {} from {} at seq {} in this session",
                    crate::echo(&req.client_id),
                    crate::echo(peer),
                    req.seq
                ),
            ));
        };
        let mark = ReadMark {
            seq: message.seq,
            timestamp: message.timestamp,
            client_id: message.message.client_id.clone(),
        };
        let (reader, sender) = (me.clone(), peer.clone());
        let events = Box::new(move |mark: &ReadMark| {
            let read = |session_id: &str, by_me: bool| {
                account_event::Kind::Read(MessageRead {
                    session_type: session_type::P2P,
                    session_id: session_id.to_owned(),
                    by_me,
                    client_id: mark.client_id.clone(),
                    seq: mark.seq,
                    timestamp: mark.timestamp,
                })
            };
            vec![
                new_event(&sender, read(&reader, false)),
                new_event(&reader, read(&sender, true)),
            ]
        });
        let stored = self
            .store
            .mark_read(app_key, &conversation, me, mark, crate::now_ms(), events)
            .await?;
        if let Some(stored) = stored {
            if let Err(e) = self.events.publish(app_key, &stored).await {
                tracing::warn!(error = %e, "could not push a read receipt");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> SendReceipt {
        SendReceipt {
            session_type: 0,
            session_id: "bob".into(),
            seq: 3,
            client_id: "m3".into(),
        }
    }

    #[test]
    fn a_receipt_names_a_p2p_message() {
        assert!(check(&receipt()).is_ok());
        for bad in [
            SendReceipt {
                session_type: 1,
                ..receipt()
            },
            SendReceipt {
                session_id: String::new(),
                ..receipt()
            },
            SendReceipt {
                seq: 0,
                ..receipt()
            },
            SendReceipt {
                client_id: String::new(),
                ..receipt()
            },
        ] {
            let err = check(&bad).expect_err("refused");
            assert_eq!(err.code, Code::BadParameter, "{bad:?}");
        }
    }
}

//! SDK events to seed-002 listeners.

use std::sync::Arc;

use serde_json::{json, Value};
use tidings_sdk::{Client, Event};
use tokio::sync::broadcast::error::RecvError;

use crate::{json as shapes, Listener, State};

/// The listener an event goes to, and the `ret` of each call of it.
fn translate(event: &Event) -> Option<(&'static str, Vec<Value>)> {
    let one = |name, ret| Some((name, vec![ret]));
    match event {
        Event::LoginStep(step) => one("onIMLogin", json!({ "step": *step as u32 })),
        Event::Kicked { reason, .. } => one("onKick", json!({ "code": reason })),
        Event::WillSend(m) => one("willSendIMMessage", shapes::will_send(m)),
        Event::Received(ms) => one(
            "onRecvIMMessages",
            json!({ "messages": shapes::messages(ms) }),
        ),
        // One call per user, as the seed's ret is one User.
        Event::UserInfoUpdated(users) => {
            Some(("onUserInfoUpdate", users.iter().map(shapes::user).collect()))
        }
        Event::ListChanged {
            account,
            relation: tidings_sdk::special_relation::BLACKLIST,
            on,
        } => one(
            "onBlackListChanged",
            json!({ "status": true, "userId": account, "isInBlackList": on }),
        ),
        Event::SystemNotification(n) => {
            one("onIMSystemMessageRecieved", shapes::system_notification(n))
        }
        Event::CustomNotification(n) => one("onCustomNotification", shapes::custom_notification(n)),
        Event::MessageRevoked(r) => one(
            "onIMRecvRevokeMessageNotification",
            json!({
                "status": true,
                "message": r.original.as_ref().map_or_else(|| json!({
                    "messageId": r.message_id,
                    "from": r.from,
                    "timestamp": r.timestamp,
                    "sessionId": r.session.id,
                    "sessionType": r.session.kind.as_u32(),
                }), shapes::message),
                "fromUserId": r.revoked_by,
                "postscript": r.postscript,
            }),
        ),
        Event::MessageReceipt {
            session,
            message_id,
            timestamp,
        } => one(
            "onIMRecvMessageReceipt",
            json!({ "timestamp": timestamp, "messageId": message_id, "sessionId": session.id }),
        ),
        // Progress is for attachments; text, tip and custom messages have none.
        _ => None,
    }
}

/// Forwards the client's events to registered listeners until the client
/// is replaced or dropped.
///
/// Listeners run on a thread of their own, one event after another in
/// order, fed by a queue without bound: a host whose listener is slow
/// (a C callback that waits for its UI thread, say) holds up neither the
/// bridge's runtime, which also runs the SDK, nor the SDK's event channel,
/// which would drop the events behind a reader that falls 16,384 behind.
pub fn forward(state: Arc<State>, client: &Client, handle: &tokio::runtime::Handle) {
    let mut events = client.events();
    let weak = Arc::downgrade(&state);
    drop(state);
    let (calls, queued) = std::sync::mpsc::channel::<(Vec<Listener>, String)>();
    let dispatcher = std::thread::Builder::new()
        .name("nim-listeners".into())
        .spawn(move || {
            for (targets, ret) in queued {
                for listener in targets {
                    listener(ret.clone());
                }
            }
        });
    if let Err(e) = dispatcher {
        tracing::error!(error = %e, "no thread for the listeners; events will not reach them");
        return;
    }
    handle.spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(n, "listeners fell behind; events dropped");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let Some(state) = weak.upgrade() else { return };
            let Some((name, rets)) = translate(&event) else {
                continue;
            };
            let targets = state
                .listeners
                .lock()
                .map(|l| l.get(name).cloned().unwrap_or_default())
                .unwrap_or_default();
            if targets.is_empty() {
                continue;
            }
            for ret in rets {
                // Gone only with the dispatcher thread.
                if calls.send((targets.clone(), ret.to_string())).is_err() {
                    return;
                }
            }
        }
    });
}

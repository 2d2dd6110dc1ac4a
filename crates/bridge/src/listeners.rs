//! SDK events to seed-002 listeners.

use std::sync::Arc;

use serde_json::{json, Value};
use tidings_sdk::{Client, Event};
use tokio::sync::broadcast::error::RecvError;

use crate::{json as shapes, State};

/// The listener an event goes to, and its `ret`.
fn translate(event: &Event) -> Option<(&'static str, Value)> {
    match event {
        Event::LoginStep(step) => Some(("onIMLogin", json!({ "step": *step as u32 }))),
        Event::Kicked { reason, .. } => Some(("onKick", json!({ "code": reason }))),
        Event::WillSend(m) => Some(("willSendIMMessage", shapes::will_send(m))),
        Event::Received(ms) => Some((
            "onRecvIMMessages",
            json!({ "messages": shapes::messages(ms) }),
        )),
        // Progress is for attachments; text, tip and custom messages have none.
        _ => None,
    }
}

/// Forwards the client's events to registered listeners until the client
/// is replaced or dropped.
pub fn forward(state: Arc<State>, client: &Client, handle: &tokio::runtime::Handle) {
    let mut events = client.events();
    let weak = Arc::downgrade(&state);
    drop(state);
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
            let Some((name, ret)) = translate(&event) else {
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
            let text = ret.to_string();
            for listener in targets {
                listener(text.clone());
            }
        }
    });
}

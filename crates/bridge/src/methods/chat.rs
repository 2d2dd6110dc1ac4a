//! Chat area: sending, the local and cloud history of a session; willSendIMMessage,
//! onSendMessageWithProgress, onRecvIMMessages.

use serde_json::{json, Value};
use tidings_sdk::{Client, CloudHistoryQuery, OutgoingMessage};

use super::{Answer, Handler};
use crate::json as shapes;
use crate::params::Params;
use crate::NimError;

pub const CALLS: &[(&str, Handler)] = &[
    ("sendText", send_text),
    ("sendTips", send_tips),
    ("sendCustomMessage", send_custom),
    ("queryMessageHistory", history),
    ("queryMessageHistoryByTyps", history_of_types),
    ("fetchMessageHistory", fetch_history),
    ("sendMessageReceipt", send_receipt),
    ("revokeMessage", revoke),
    ("clearChattingHistory", clear_history),
];
pub const LISTENERS: &[&str] = &[
    "willSendIMMessage",
    "onSendMessageWithProgress",
    "onRecvIMMessages",
    "onIMRecvMessageReceipt",
    "onIMRecvRevokeMessageNotification",
];

fn send_text(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let outgoing = OutgoingMessage::text(p.session()?, p.string("content")?);
        send(&client, with_ext(outgoing, &p)?).await
    })
}

fn send_tips(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let outgoing = OutgoingMessage::tip(p.session()?, p.string("content")?);
        send(&client, with_ext(outgoing, &p)?).await
    })
}

fn send_custom(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let session = p.session()?;
        let attachment = p
            .object_text("attachment")?
            .ok_or_else(|| NimError::bad_parameter("attachment is required"))?;
        let mut outgoing = OutgoingMessage::custom(session, attachment);
        if let Some(text) = p.opt_string("content")? {
            outgoing.text = text.to_owned();
        }
        send(&client, with_ext(outgoing, &p)?).await
    })
}

fn history(client: Client, params: Value) -> Answer {
    Box::pin(async move { query_history(&client, &params, false).await })
}

fn history_of_types(client: Client, params: Value) -> Answer {
    Box::pin(async move { query_history(&client, &params, true).await })
}

async fn query_history(client: &Client, params: &Value, typed: bool) -> Result<Value, NimError> {
    let p = Params::of(params);
    let session = p.session()?;
    let limit = p.limit()?;
    let anchor = p.opt_string("messageId")?.filter(|s| !s.is_empty());
    let types = if typed { p.types()? } else { None };
    let list = client
        .chat()
        .history_of_types(&session, anchor, limit, types)
        .await?;
    Ok(json!({ "status": true, "messages": shapes::messages(&list) }))
}

/// Cloud history: the seed's sessionId, sessionType, limit, sync and
/// startTime; Tidings adds endTime, ascending, types and anchorSeq (the
/// `seq` of the previous page's last message) and answers `hasMore`.
fn fetch_history(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let time = |name: &str| -> Result<i64, NimError> {
            let t = p.opt_u64(name)?.unwrap_or(0);
            i64::try_from(t).map_err(|_| NimError::bad_parameter(format!("{name} is too large")))
        };
        let query = CloudHistoryQuery {
            session: p.session()?,
            start_time: time("startTime")?,
            end_time: time("endTime")?,
            limit: p.limit()?,
            ascending: p.opt_bool("ascending")?.unwrap_or(false),
            message_types: p.types()?.unwrap_or_default(),
            anchor_seq: p.opt_u64("anchorSeq")?.unwrap_or(0),
            save: p.opt_bool("sync")?.unwrap_or(false),
        };
        let page = client.chat().fetch_history(query).await?;
        Ok(json!({
            "status": true,
            "messages": shapes::messages(&page.messages),
            "hasMore": page.has_more,
        }))
    })
}

/// A read receipt for `messageId`, a P2P message received (the seed's
/// sessionId and sessionType, iOS-only there, are not needed).
fn send_receipt(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        client.chat().send_receipt(p.string("messageId")?).await?;
        Ok(json!({ "status": true }))
    })
}

/// Revokes `messageId`, a message I sent (the seed's iOS-only sessionId
/// and sessionType are not needed); Tidings adds `postscript`.
fn revoke(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let postscript = p.opt_string("postscript")?.unwrap_or("");
        client
            .chat()
            .revoke(p.string("messageId")?, postscript)
            .await?;
        Ok(json!({ "status": true }))
    })
}

/// Deletes every message of a session on this device; its recent session
/// stays unless `removeRecentSession` (a Tidings extension) is true.
fn clear_history(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let keep = !p.opt_bool("removeRecentSession")?.unwrap_or(false);
        client.chat().clear_history(&p.session()?, keep).await?;
        Ok(json!({ "status": true }))
    })
}

fn with_ext(outgoing: OutgoingMessage, p: &Params<'_>) -> Result<OutgoingMessage, NimError> {
    let mut outgoing = outgoing;
    if let Some(ext) = p.object_text("ext")? {
        outgoing = outgoing.with_remote_ext(ext);
    }
    if let Some(local) = p.object_text("localExt")? {
        outgoing = outgoing.with_local_ext(local);
    }
    Ok(outgoing)
}

/// Sends and answers once the server acked (or refused) it.
async fn send(client: &Client, outgoing: OutgoingMessage) -> Result<Value, NimError> {
    let message = client.chat().send(outgoing).await?;
    Ok(json!({ "status": true, "message": shapes::message(&message) }))
}

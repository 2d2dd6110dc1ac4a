//! Chat area: sending and the history of a session; willSendIMMessage,
//! onSendMessageWithProgress, onRecvIMMessages.

use serde_json::{json, Value};
use tidings_sdk::{Client, OutgoingMessage};

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
];
pub const LISTENERS: &[&str] = &[
    "willSendIMMessage",
    "onSendMessageWithProgress",
    "onRecvIMMessages",
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

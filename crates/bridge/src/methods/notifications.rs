//! System notifications: fetch, counts, read, status, delete;
//! onIMSystemMessageRecieved. Tidings' own: sendCustomNotification and
//! onCustomNotification.

use serde_json::{json, Value};
use tidings_sdk::Client;

use super::{Answer, Handler};
use crate::json as shapes;
use crate::params::Params;
use crate::NimError;

pub const CALLS: &[(&str, Handler)] = &[
    ("fetchSystemNotifications", fetch),
    ("allNotificationsUnreadCount", unread_count),
    ("deleteAllNotifications", delete_all),
    ("markAllNotificationsAsRead", mark_all_read),
    ("setSystemMessageStatus", set_status),
    ("deleteSystemMessage", delete_one),
    ("setSystemMessageRead", set_read),
    ("sendCustomNotification", send_custom),
];
pub const LISTENERS: &[&str] = &["onIMSystemMessageRecieved", "onCustomNotification"];

/// `limit` (default 100, at most 1,000); Tidings' `types` keeps only those
/// notification types.
fn fetch(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let limit = match params.get("limit") {
            None | Some(Value::Null) => 100,
            Some(v) => v
                .as_u64()
                .filter(|l| (1..=1000).contains(l))
                .ok_or_else(|| NimError::bad_parameter("limit must be 1 to 1000"))?
                as u32,
        };
        let types = Params::of(&params).types()?;
        let list = client.system_notification().fetch(limit, types).await?;
        let notifications: Vec<Value> = list.iter().map(shapes::system_notification).collect();
        Ok(json!({ "status": true, "notifications": notifications }))
    })
}

fn unread_count(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        let count = client.system_notification().unread_count().await?;
        Ok(json!({ "status": true, "count": count }))
    })
}

fn delete_all(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        client.system_notification().delete_all().await?;
        Ok(json!({ "status": true }))
    })
}

fn mark_all_read(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        client.system_notification().mark_all_read().await?;
        Ok(json!({ "status": true }))
    })
}

/// `messageId`: a notification's id, as a string (or a number).
fn message_id(params: &Value) -> Result<u64, NimError> {
    match params.get("messageId") {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| NimError::bad_parameter("messageId must be a notification's id"))
}

fn set_status(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let id = message_id(&params)?;
        let status = match params.get("messageStatus") {
            Some(Value::String(s)) => s.parse().ok(),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => None,
        }
        .ok_or_else(|| NimError::bad_parameter("messageStatus must be 0 to 9"))?;
        client.system_notification().set_status(id, status).await?;
        Ok(json!({ "status": true }))
    })
}

fn delete_one(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let id = message_id(&params)?;
        client.system_notification().delete(id).await?;
        Ok(json!({ "status": true }))
    })
}

fn set_read(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let id = message_id(&params)?;
        client.system_notification().set_read(id).await?;
        Ok(json!({ "status": true }))
    })
}

/// `{to, content (object), onlineOnly?, pushContent?}`.
fn send_custom(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let to = p.string("to")?;
        let content = p
            .object_text("content")?
            .ok_or_else(|| NimError::bad_parameter("content is required"))?;
        let online_only = match params.get("onlineOnly") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(NimError::bad_parameter("onlineOnly must be a boolean")),
        };
        let push = p.opt_string("pushContent")?.unwrap_or("");
        client
            .system_notification()
            .send_custom(to, &content, online_only, push)
            .await?;
        Ok(json!({ "status": true }))
    })
}

//! SDK values in the shapes of seed 002.

use serde_json::{json, Value};
use tidings_sdk::{CustomNotification, LocalMessage, RecentSession, SystemNotification, UserInfo};

fn object_or_null(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The seed's Message: messageId, messageType, from, text, timestamp,
/// sessionId, sessionType, ext; plus Tidings' own fields (serverId as a
/// string so JavaScript loses no digits, seq, deliveryState 0 sending /
/// 1 failed / 2 delivered, isOutgoing (and NIM's isOutgoingMsg and
/// isReceivedMsg), isRemoteRead, isDeleted, isPlayed, senderName, localExt,
/// attachment).
pub fn message(m: &LocalMessage) -> Value {
    let mut v = json!({
        "messageId": m.message_id,
        "messageType": m.message_type,
        "from": m.from,
        "text": m.text,
        "timestamp": m.timestamp,
        "sessionId": m.session.id,
        "sessionType": m.session.kind.as_u32(),
        "serverId": m.server_id.to_string(),
        "seq": m.seq,
        "deliveryState": m.delivery as u32,
        "isOutgoing": m.is_outgoing,
        "isOutgoingMsg": m.is_outgoing,
        "isReceivedMsg": !m.is_outgoing,
        "isRemoteRead": m.is_remote_read,
        "isDeleted": m.is_deleted,
        "isPlayed": m.is_played,
        "senderName": m.from_nick,
    });
    let ext = object_or_null(&m.remote_ext);
    if !ext.is_null() {
        v["ext"] = ext;
    }
    let local_ext = object_or_null(&m.local_ext);
    if !local_ext.is_null() {
        v["localExt"] = local_ext;
    }
    let attachment = object_or_null(&m.attachment);
    if !attachment.is_null() {
        v["attachment"] = attachment;
    }
    v
}

pub fn messages(list: &[LocalMessage]) -> Value {
    Value::Array(list.iter().map(message).collect())
}

/// allRecentSession's entries: sessionType, unreadCount, lastMessage (and sessionId).
pub fn recent_session(s: &RecentSession) -> Value {
    json!({
        "sessionId": s.session.id,
        "sessionType": s.session.kind.as_u32(),
        "unreadCount": s.unread_count,
        "lastMessage": s.last_message.as_ref().map(message).unwrap_or(Value::Null),
    })
}

/// willSendIMMessage's ret.
pub fn will_send(m: &LocalMessage) -> Value {
    json!({
        "messageId": m.message_id,
        "messageType": m.message_type,
        "sessionId": m.session.id,
        "sessionType": m.session.kind.as_u32(),
        "content": m.text,
    })
}

/// Seed 002's User.
pub fn user(u: &UserInfo) -> Value {
    json!({
        "account": u.account,
        "nickName": u.nick,
        "avatarUrl": u.avatar,
        "sign": u.sign,
        "gender": u.gender,
        "email": u.email,
        "birth": u.birth,
        "mobile": u.mobile,
        "ext": u.ext,
    })
}

/// Seed 002's SysNotification, with Tidings' `messageId` (the id the
/// status, read and delete calls take) and `attach`.
pub fn system_notification(n: &SystemNotification) -> Value {
    json!({
        "messageId": n.id.to_string(),
        "type": n.kind,
        "timestamp": n.time,
        "sourceID": n.from,
        "targetID": n.target,
        "postscript": n.postscript,
        "read": n.read,
        "status": n.status,
        "attach": n.attach,
    })
}

/// Tidings' onCustomNotification.
pub fn custom_notification(n: &CustomNotification) -> Value {
    json!({
        "from": n.from,
        "content": n.content,
        "pushContent": n.push_content,
        "timestamp": n.time,
    })
}

//! Between the wire's messages and the device's.

use tidings_proto::{Message, MessageSetting};

use crate::types::*;

/// 32 hex digits: 48 bits of milliseconds, then 80 random bits. Ids sort by
/// time, so the server's and the local idempotency indexes grow at their
/// right edge instead of touching a random page per message.
pub fn new_message_id() -> String {
    use std::fmt::Write;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let random: u128 = rand::random();
    let mut id = String::with_capacity(32);
    let _ = write!(
        id,
        "{:012x}{:020x}",
        millis & 0xffff_ffff_ffff,
        random >> 48
    );
    id
}

pub fn to_wire(m: &LocalMessage) -> Message {
    let s = &m.settings;
    Message {
        client_id: m.message_id.clone(),
        server_id: 0,
        from: m.from.clone(),
        to: m.session.id.clone(),
        session_type: m.session.kind.as_u32(),
        message_type: m.message_type,
        text: m.text.clone(),
        attachment: m.attachment.clone(),
        remote_ext: m.remote_ext.clone(),
        timestamp: 0,
        seq: 0,
        setting: Some(MessageSetting {
            history_enabled: Some(s.history_enabled),
            roaming_enabled: Some(s.roaming_enabled),
            sync_enabled: Some(s.sync_enabled),
            should_be_counted: Some(s.should_be_counted),
            apns_enabled: Some(s.apns_enabled),
            apns_with_prefix: Some(s.apns_with_prefix),
            apns_content: s.apns_content.clone(),
            apns_payload: s.apns_payload.clone(),
        }),
        from_nick: String::new(),
        from_client_type: 0,
        withheld: false,
        muted: false,
    }
}

/// The session a message belongs to, as this account sees it.
fn session_of(m: &Message, me: &str) -> SessionId {
    let peer = if m.from == me { &m.to } else { &m.from };
    SessionId {
        kind: SessionType::from_u32(m.session_type).unwrap_or(SessionType::P2P),
        id: peer.clone(),
    }
}

/// A withheld stub's place: its session and sequence.
pub fn withheld_place(m: &Message, me: &str) -> (SessionId, u64) {
    (session_of(m, me), m.seq)
}

/// A message from the server as this account sees it.
pub fn from_wire(m: Message, me: &str) -> LocalMessage {
    let outgoing = m.from == me;
    let session = session_of(&m, me);
    let defaults = MessageSettings::default();
    let settings = match m.setting {
        None => defaults,
        Some(s) => MessageSettings {
            history_enabled: s.history_enabled.unwrap_or(true),
            roaming_enabled: s.roaming_enabled.unwrap_or(true),
            sync_enabled: s.sync_enabled.unwrap_or(true),
            should_be_counted: s.should_be_counted.unwrap_or(true),
            apns_enabled: s.apns_enabled.unwrap_or(true),
            apns_with_prefix: s.apns_with_prefix.unwrap_or(true),
            apns_content: s.apns_content,
            apns_payload: s.apns_payload,
        },
    };
    LocalMessage {
        message_id: m.client_id,
        server_id: m.server_id,
        session,
        from: m.from,
        from_nick: m.from_nick,
        message_type: m.message_type,
        text: m.text,
        attachment: m.attachment,
        remote_ext: m.remote_ext,
        local_ext: String::new(),
        timestamp: m.timestamp,
        seq: m.seq,
        delivery: DeliveryState::Delivered,
        is_outgoing: outgoing,
        settings,
        muted: m.muted && !outgoing,
        is_remote_read: false,
        is_deleted: false,
        is_played: false,
    }
}

pub fn user_info(p: tidings_proto::UserProfile) -> UserInfo {
    UserInfo {
        account: p.accid,
        nick: p.nick,
        avatar: p.avatar,
        sign: p.sign,
        gender: p.gender,
        email: p.email,
        birth: p.birth,
        mobile: p.mobile,
        ext: p.ext,
        updated_at: p.updated_at,
    }
}

pub fn profile_update(u: UserInfoUpdate) -> tidings_proto::ProfileUpdate {
    tidings_proto::ProfileUpdate {
        nick: u.nick,
        avatar: u.avatar,
        sign: u.sign,
        gender: u.gender,
        email: u.email,
        birth: u.birth,
        mobile: u.mobile,
        ext: u.ext,
    }
}

pub fn friend_info(f: tidings_proto::Friend) -> FriendInfo {
    FriendInfo {
        account: f.accid,
        alias: f.alias,
        ext: f.ext,
        created_at: f.created_at,
    }
}

pub fn system_notification(n: tidings_proto::SystemNotification) -> SystemNotification {
    SystemNotification {
        id: n.id,
        kind: n.r#type,
        from: n.from,
        target: n.target,
        postscript: n.postscript,
        attach: n.attach,
        status: n.status,
        read: n.read,
        time: n.time,
    }
}

/// An event of the account log as the local database applies it.
pub fn logged_event(e: tidings_proto::AccountEvent) -> crate::local_store::events::LoggedEvent {
    use crate::local_store::events::{AccountChange, LoggedEvent, NotificationsChange, ReadChange};
    use tidings_proto::account_event::Kind;
    let change = match e.kind {
        Some(Kind::Profile(profile)) => AccountChange::Profile(Box::new(user_info(profile))),
        Some(Kind::Friend(changed)) => AccountChange::Friend {
            friend: friend_info(changed.friend.unwrap_or_default()),
            is_friend: changed.is_friend,
        },
        Some(Kind::Special(changed)) => AccountChange::Listed {
            account: changed.accid,
            relation: changed.relation,
            on: changed.on,
        },
        Some(Kind::NotificationAdded(added)) => {
            let mut notification = system_notification(added.notification.unwrap_or_default());
            notification.time = e.time;
            AccountChange::NotificationAdded(Box::new(notification))
        }
        Some(Kind::NotificationsChanged(changed)) => {
            AccountChange::NotificationsChanged(NotificationsChange {
                ids: changed.ids,
                read: changed.read,
                status: changed.status,
                deleted: changed.deleted,
            })
        }
        Some(Kind::Read(read)) => AccountChange::Read(ReadChange {
            session: SessionId {
                kind: SessionType::from_u32(read.session_type).unwrap_or(SessionType::P2P),
                id: read.session_id,
            },
            by_me: read.by_me,
            message_id: read.client_id,
            timestamp: read.timestamp,
        }),
        Some(Kind::Revoked(revoked)) => AccountChange::Revoked(Box::new(MessageRevoke {
            session: SessionId {
                kind: SessionType::from_u32(revoked.session_type).unwrap_or(SessionType::P2P),
                id: revoked.session_id,
            },
            from: revoked.from,
            message_id: revoked.client_id,
            seq: revoked.seq,
            timestamp: revoked.timestamp,
            revoked_by: revoked.revoked_by,
            postscript: revoked.postscript,
            attachment: revoked.attachment,
            original: None,
        })),
        None => AccountChange::Unknown,
    };
    LoggedEvent { pos: e.pos, change }
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_ids_are_hex_unique_and_ordered_by_time() {
        let first = super::new_message_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = super::new_message_id();
        for id in [&first, &second] {
            assert_eq!(id.len(), 32);
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert!(first < second, "{first} then {second}");
        assert_ne!(super::new_message_id(), super::new_message_id());
    }
}

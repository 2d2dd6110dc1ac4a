//! Records the conformance checks share.

use crate::*;

pub fn app(key: &str) -> App {
    App {
        app_key: key.into(),
        app_secret: format!("secret-{key}"),
        name: key.into(),
        created_at: 1,
    }
}

pub fn account(app_key: &str, accid: &str) -> NewAccount {
    NewAccount {
        app_key: app_key.into(),
        accid: accid.into(),
        name: accid.into(),
        token: format!("tok-{accid}"),
        created_at: 1,
    }
}

pub fn text(app_key: &str, from: &str, to: &str, client_id: &str) -> NewMessage {
    NewMessage {
        app_key: app_key.into(),
        conversation: p2p_conversation(from, to),
        client_id: client_id.into(),
        from: from.into(),
        from_nick: String::new(),
        from_client_type: 4,
        to: to.into(),
        session_type: 0,
        message_type: 0,
        text: format!("hello {client_id}"),
        attachment: String::new(),
        remote_ext: String::new(),
        flags: flags::ALL,
        apns_content: String::new(),
        apns_payload: String::new(),
        members: Members::Pair,
    }
}

/// `m` as a store gives it back: the members go with the conversation.
pub fn as_stored(m: &NewMessage) -> NewMessage {
    NewMessage {
        members: Members::Recorded,
        ..m.clone()
    }
}

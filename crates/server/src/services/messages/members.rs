//! Who takes part in a conversation. The message service decides it and
//! hands it to the store with the conversation's first message; stores
//! only record it.

use tidings_store::Members;

/// A P2P conversation has both accounts, each seeing the other as the
/// session (a note to myself has me once).
pub fn p2p_members() -> Members {
    Members::Pair
}

#[cfg(test)]
mod tests {
    use tidings_store::NewMessage;

    fn p2p(from: &str, to: &str) -> NewMessage {
        NewMessage {
            app_key: "a".into(),
            conversation: tidings_store::p2p_conversation(from, to),
            client_id: "m".into(),
            from: from.into(),
            from_nick: String::new(),
            from_client_type: 0,
            to: to.into(),
            session_type: 0,
            message_type: 0,
            text: String::new(),
            attachment: String::new(),
            remote_ext: String::new(),
            flags: 0,
            apns_content: String::new(),
            apns_payload: String::new(),
            members: super::p2p_members(),
        }
    }

    #[test]
    fn a_pair_sees_each_other() {
        assert_eq!(
            p2p("ann", "bob").member_rows(),
            [("ann", "bob"), ("bob", "ann")]
        );
    }

    #[test]
    fn a_note_to_myself_has_me_once() {
        assert_eq!(p2p("ann", "ann").member_rows(), [("ann", "ann")]);
    }
}

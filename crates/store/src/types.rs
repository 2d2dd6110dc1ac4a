use serde::{Deserialize, Serialize};

/// A tenant. Every account, conversation and message lives inside one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub app_key: String,
    pub app_secret: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub app_key: String,
    pub accid: String,
    pub name: String,
    pub token: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub app_key: String,
    pub accid: String,
    pub name: String,
    pub token: String,
    pub blocked: bool,
    pub created_at: i64,
}

/// Bit flags of per-message settings, stored as one integer.
pub use tidings_proto::message_flags as flags;
/// Message types (a revoked message becomes a notification).
pub use tidings_proto::message_type;

/// A message accepted by the message service, not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub app_key: String,
    /// Conversation key, see [`p2p_conversation`].
    pub conversation: String,
    pub client_id: String,
    pub from: String,
    pub from_nick: String,
    pub from_client_type: u32,
    pub to: String,
    pub session_type: u32,
    pub message_type: u32,
    pub text: String,
    pub attachment: String,
    pub remote_ext: String,
    pub flags: u32,
    pub apns_content: String,
    pub apns_payload: String,
    /// Who takes part in the conversation, as the message service decided:
    /// recorded when this message opens the conversation, so each member
    /// finds it in its offline sync.
    pub members: Members,
}

/// The members a message names for its conversation. A store records
/// exactly [`NewMessage::member_rows`] and decides nothing itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Members {
    /// None to record: another area records them (a team's members join
    /// its conversation with the team). Every stored message (acked or
    /// read back) says this.
    #[default]
    Recorded,
    /// The sender and the recipient (`to`), each seeing the other as the
    /// session; once when they are the same account. Costs no allocation:
    /// it is what every P2P send names.
    Pair,
    /// These accounts, each with the session id it sees.
    Listed(Vec<Member>),
}

/// An account taking part in a conversation, and the session id it sees
/// the conversation under (the peer of a P2P pair, a team's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub accid: String,
    pub session_id: String,
}

impl NewMessage {
    /// The (account, session id) rows its `members` stand for.
    pub fn member_rows(&self) -> Vec<(&str, &str)> {
        match &self.members {
            Members::Recorded => Vec::new(),
            Members::Pair if self.from == self.to => vec![(&self.from, &self.to)],
            Members::Pair => vec![(&self.from, &self.to), (&self.to, &self.from)],
            Members::Listed(list) => list
                .iter()
                .map(|m| (m.accid.as_str(), m.session_id.as_str()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub server_id: u64,
    pub seq: u64,
    pub timestamp: i64,
    pub message: NewMessage,
}

/// The outcome of one append. The message is shared (an `Arc`) because a
/// store's writer may hold it until the group commits, and a deep copy of
/// a message's strings per send was a tenth of the SQLite writer's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub stored: std::sync::Arc<StoredMessage>,
    pub duplicate: bool,
}

/// Part of an account's conversations (the order the sync is cut by).
pub use tidings_proto::SessionRange;

/// One account's view of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConversation {
    pub conversation: String,
    pub session_type: u32,
    /// The session id as this account sees it (the peer for P2P).
    pub session_id: String,
    pub last_seq: u64,
}

/// The conversation key of a P2P pair: the same for both directions.
pub fn p2p_conversation(a: &str, b: &str) -> String {
    // Pushed, not `format!`ed: this runs for every message sent.
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut key = String::with_capacity("p2p:|".len() + first.len() + second.len());
    key.push_str("p2p:");
    key.push_str(first);
    key.push('|');
    key.push_str(second);
    key
}

//! Sending, storing and fanning out messages; offline sync.

use std::sync::Arc;
use std::task::Poll;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tidings_bus::{Bus, Subject};
use tidings_proto::{
    bus_event, BusEvent, Code, ConversationCursor, Message, MessageSetting, SendMessageResponse,
    SyncRequest, SyncResponse,
};
use tidings_store::{
    flags, p2p_conversation, Appended, NewMessage, SessionRange, Store, StoreResult, StoredMessage,
};

pub use tidings_proto::{message_type, session_type};

mod history;
mod members;
mod revoke;
pub use history::MAX_HISTORY_LIMIT;
pub use members::p2p_members;
pub use revoke::{may_revoke, Revoker};

use crate::services::accounts::AccountService;
use crate::services::auth::Session;
use crate::ServiceError;

use tidings_proto::limits::{oversized_field, MAX_CLIENT_ID_LEN};
pub const MAX_SYNC_LIMIT: u32 = 1000;
/// The most bytes of messages one sync answer carries, whatever its count
/// limit: half a frame ([`tidings_proto::MAX_FRAME_LEN`]), and the largest
/// message (text, extensions and attachment at their limits) is well under
/// that, so an answer always holds at least one and never outgrows a frame.
pub const SYNC_PAGE_BYTES: usize = tidings_proto::MAX_FRAME_LEN / 2;
pub const DEFAULT_SYNC_LIMIT: u32 = 500;

/// A batch whose valid messages wait for their commit.
pub struct PendingBatch {
    /// One per message: its refusal, or `None` for one sent to the store.
    answers: Vec<Option<Result<SendMessageResponse, ServiceError>>>,
    appending: Appending,
}

/// A batch after its commit (or the store's failure).
pub struct StoredBatch {
    answers: Vec<Option<Result<SendMessageResponse, ServiceError>>>,
    appended: StoreResult<Vec<Appended>>,
}

impl PendingBatch {
    /// Waits for the commit.
    pub async fn stored(self) -> StoredBatch {
        let appended = match self.appending {
            Appending::Done(result) => result,
            Appending::Waiting(append) => append.await,
        };
        StoredBatch {
            answers: self.answers,
            appended,
        }
    }
}

enum Appending {
    Done(StoreResult<Vec<Appended>>),
    Waiting(BoxFuture<'static, StoreResult<Vec<Appended>>>),
}

impl Appending {
    /// Polls the append once: a store takes a call's place in its commit
    /// order at the first poll (see [`Store::append_messages`]).
    async fn start(mut append: BoxFuture<'static, StoreResult<Vec<Appended>>>) -> Appending {
        let first = std::future::poll_fn(|cx| Poll::Ready(append.as_mut().poll(cx))).await;
        match first {
            Poll::Ready(result) => Appending::Done(result),
            Poll::Pending => Appending::Waiting(append),
        }
    }
}

pub struct MessageService {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    accounts: Arc<AccountService>,
    relations: Arc<super::RelationService>,
    events: Arc<super::EventService>,
    revoke_window: std::time::Duration,
    roaming: Roaming,
}

/// What a new device gets of each conversation.
#[derive(Debug, Clone, Copy)]
pub struct Roaming {
    /// The messages of this last stretch of time (`None`: all) ...
    pub window: Option<std::time::Duration>,
    /// ... and at most this many (0: no limit).
    pub per_conversation: u32,
}

pub fn flags_from_setting(setting: Option<&MessageSetting>) -> u32 {
    let Some(s) = setting else { return flags::ALL };
    let bit = |on: Option<bool>, flag: u32| if on.unwrap_or(true) { flag } else { 0 };
    bit(s.history_enabled, flags::HISTORY)
        | bit(s.roaming_enabled, flags::ROAMING)
        | bit(s.sync_enabled, flags::SYNC)
        | bit(s.should_be_counted, flags::COUNTED)
        | bit(s.apns_enabled, flags::APNS)
        | bit(s.apns_with_prefix, flags::APNS_PREFIX)
}

/// The wire form of a stored message.
pub fn to_wire(stored: &StoredMessage) -> Message {
    into_wire(stored.clone())
}

/// The wire form of a stored message no one else holds, without copies.
pub fn into_wire(stored: StoredMessage) -> Message {
    let StoredMessage {
        server_id,
        seq,
        timestamp,
        message: m,
    } = stored;
    let flags = m.flags;
    let on = |flag: u32| Some(flags & flag != 0);
    Message {
        client_id: m.client_id,
        server_id,
        from: m.from,
        to: m.to,
        session_type: m.session_type,
        timestamp,
        seq,
        message_type: m.message_type,
        text: m.text,
        attachment: m.attachment,
        remote_ext: m.remote_ext,
        setting: Some(MessageSetting {
            history_enabled: on(flags::HISTORY),
            roaming_enabled: on(flags::ROAMING),
            sync_enabled: on(flags::SYNC),
            should_be_counted: on(flags::COUNTED),
            apns_enabled: on(flags::APNS),
            apns_with_prefix: on(flags::APNS_PREFIX),
            apns_content: m.apns_content,
            apns_payload: m.apns_payload,
        }),
        from_nick: m.from_nick,
        from_client_type: m.from_client_type,
        ..Message::default()
    }
}

/// The pushes of a stored message: to the recipient's devices and the
/// sender's other devices.
/// The recipient's devices get the message (marked `muted` when the
/// recipient muted the sender), and so do the sender's other devices unless
/// it was sent with syncEnabled off.
fn fan_out(
    session: &Session,
    stored: Arc<StoredMessage>,
    muted: bool,
    events: &mut Vec<(Subject, Arc<BusEvent>)>,
) {
    let m = &stored.message;
    let to = Subject::account(&m.app_key, &m.to);
    let from = (m.flags & flags::SYNC != 0 && m.to != m.from)
        .then(|| Subject::account(&m.app_key, &m.from));
    // The store has let go of it once the commit answered: moved, not copied.
    let message = Arc::try_unwrap(stored).map_or_else(|shared| to_wire(&shared), into_wire);
    let event = |message: Message| {
        Arc::new(BusEvent {
            origin_connection: session.connection_id,
            kind: Some(bus_event::Kind::Message(message)),
        })
    };
    match (from, muted) {
        (Some(from), false) => {
            let shared = event(message);
            events.push((to, shared.clone()));
            events.push((from, shared));
        }
        (Some(from), true) => {
            events.push((from, event(message.clone())));
            events.push((
                to,
                event(Message {
                    muted: true,
                    ..message
                }),
            ));
        }
        (None, muted) => events.push((to, event(Message { muted, ..message }))),
    }
}

/// Only where a message stands: its ids, session, time and sequence.
fn place_of(stored: &StoredMessage) -> Message {
    let m = &stored.message;
    Message {
        client_id: m.client_id.clone(),
        server_id: stored.server_id,
        from: m.from.clone(),
        to: m.to.clone(),
        session_type: m.session_type,
        timestamp: stored.timestamp,
        seq: stored.seq,
        ..Message::default()
    }
}

/// What a device of `accid` repairing a hole while online gets of `stored`:
/// the message, or a stub when it is one of mine sent with syncEnabled off
/// (it was not for my other devices; only its place in the sequence is).
fn for_live_repair(stored: &StoredMessage, accid: &str) -> Message {
    let m = &stored.message;
    if m.from != accid || m.flags & flags::SYNC != 0 {
        return to_wire(stored);
    }
    Message {
        withheld: true,
        ..place_of(stored)
    }
}

/// Sizes are checked before, by [`oversized_field`].
fn check_json(field: &str, value: &str) -> Result<(), ServiceError> {
    if value.is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(ServiceError::bad_parameter(format!(
            "{field} must be a JSON object"
        ))),
    }
}

impl MessageService {
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        accounts: Arc<AccountService>,
        relations: Arc<super::RelationService>,
        events: Arc<super::EventService>,
        revoke_window: std::time::Duration,
        roaming: Roaming,
    ) -> MessageService {
        MessageService {
            store,
            bus,
            accounts,
            relations,
            events,
            revoke_window,
            roaming,
        }
    }

    /// The last sequence of a conversation a new device does not get: the
    /// messages before the roaming window, and past its count.
    async fn roaming_floor(
        &self,
        app_key: &str,
        conversation: &str,
        last_seq: u64,
    ) -> Result<u64, ServiceError> {
        let by_count = match self.roaming.per_conversation {
            0 => 0,
            n => last_seq.saturating_sub(n.into()),
        };
        let by_time = match self.roaming.window {
            None => 0,
            Some(window) => {
                let since = crate::now_ms().saturating_sub(window.as_millis() as i64);
                self.store
                    .seq_at_time(app_key, conversation, since)
                    .await?
                    .saturating_sub(1)
            }
        };
        Ok(by_count.max(by_time).min(last_seq))
    }

    /// Checks one outgoing message and turns it into what the store keeps.
    /// `found`: the last recipient this batch found (a connection's sends
    /// mostly go to one peer; an account, once it exists, stays).
    async fn prepare(
        &self,
        session: &Session,
        m: Message,
        found: &mut Option<String>,
    ) -> Result<NewMessage, ServiceError> {
        if m.client_id.is_empty() {
            return Err(ServiceError::bad_parameter(format!(
                "messageId must be 1 to {MAX_CLIENT_ID_LEN} characters"
            )));
        }
        if let Some(error) = oversized_field(&m) {
            return Err(ServiceError::bad_parameter(error));
        }
        match m.session_type {
            session_type::P2P => {}
            session_type::TEAM | session_type::CHATROOM => {
                return Err(ServiceError::bad_parameter(format!(
                    "sessionType {} is not supported yet",
                    m.session_type
                )))
            }
            other => {
                return Err(ServiceError::bad_parameter(format!(
                    "unknown sessionType {other}"
                )))
            }
        }
        match m.message_type {
            message_type::TEXT | message_type::TIP => {
                if m.text.is_empty() {
                    return Err(ServiceError::bad_parameter("text is empty"));
                }
            }
            message_type::CUSTOM => check_json("attachment", &m.attachment)?,
            message_type::NOTIFICATION => {
                return Err(ServiceError::bad_parameter(
                    "notification messages are made by the server only",
                ))
            }
            message_type::IMAGE
            | message_type::AUDIO
            | message_type::VIDEO
            | message_type::LOCATION
            | message_type::FILE => {
                return Err(ServiceError::bad_parameter(format!(
                    "messageType {} is not supported yet",
                    m.message_type
                )))
            }
            other => {
                return Err(ServiceError::bad_parameter(format!(
                    "unknown messageType {other}"
                )))
            }
        }
        check_json("remoteExt", &m.remote_ext)?;
        let flags = flags_from_setting(m.setting.as_ref());
        let (apns_content, apns_payload) = m
            .setting
            .map(|s| (s.apns_content, s.apns_payload))
            .unwrap_or_default();
        check_json("apnsPayload", &apns_payload)?;
        if m.to.is_empty() {
            return Err(ServiceError::bad_parameter("sessionId is required"));
        }
        if found.as_deref() != Some(m.to.as_str()) {
            self.accounts.must_exist(&session.app_key, &m.to).await?;
            *found = Some(m.to.clone());
        }
        if self
            .relations
            .blocks(&session.app_key, &m.to, &session.accid)
            .await?
        {
            return Err(ServiceError::new(
                Code::BlockedByRecipient,
                format!("blocked by the recipient {}", crate::echo(&m.to)),
            ));
        }
        Ok(NewMessage {
            app_key: session.app_key.clone(),
            conversation: p2p_conversation(&session.accid, &m.to),
            members: p2p_members(),
            client_id: m.client_id,
            from: session.accid.clone(),
            from_nick: session.name.clone(),
            from_client_type: session.client_type,
            to: m.to,
            session_type: m.session_type,
            message_type: m.message_type,
            text: m.text,
            attachment: m.attachment,
            remote_ext: m.remote_ext,
            flags,
            apns_content,
            apns_payload,
        })
    }

    /// Checks a connection's queued messages and starts storing the valid
    /// ones in one durable append. When this returns, the append has its
    /// place in the store's commit order: a batch started after it commits
    /// after it, even while both wait. [`PendingBatch::stored`] waits for
    /// the commit; [`MessageService::finish_batch`] fans out and answers.
    pub async fn start_batch(&self, session: &Session, messages: Vec<Message>) -> PendingBatch {
        let mut answers = Vec::with_capacity(messages.len());
        let mut valid = Vec::new();
        let mut found = None;
        for m in messages {
            match self.prepare(session, m, &mut found).await {
                Ok(new) => {
                    valid.push(new);
                    answers.push(None);
                }
                Err(e) => answers.push(Some(Err(e))),
            }
        }
        let appending = if valid.is_empty() {
            Appending::Done(Ok(Vec::new()))
        } else {
            let store = self.store.clone();
            Appending::start(async move { store.append_messages(valid).await }.boxed()).await
        };
        PendingBatch { answers, appending }
    }

    /// Fans out what a batch stored and answers every message of it, in
    /// input order. Batches are finished in the order they were started.
    pub async fn finish_batch(
        &self,
        session: &Session,
        batch: StoredBatch,
    ) -> Vec<Result<SendMessageResponse, ServiceError>> {
        let StoredBatch { answers, appended } = batch;
        let mut appended = match appended {
            Ok(list) => list.into_iter(),
            Err(e) => {
                let e = ServiceError::from(e);
                return answers
                    .into_iter()
                    .map(|a| a.unwrap_or_else(|| Err(e.clone())))
                    .collect();
            }
        };
        let mut out = Vec::with_capacity(answers.len());
        let mut events = Vec::with_capacity(2 * answers.len());
        // A connection's batch mostly goes to one peer: asked once.
        let mut muted_by: Option<(String, bool)> = None;
        for answer in answers {
            if let Some(refused) = answer {
                out.push(refused);
                continue;
            }
            let Some(result) = appended.next() else {
                out.push(Err(ServiceError::new(
                    Code::ServerError,
                    "store answered too few results",
                )));
                continue;
            };
            out.push(Ok(SendMessageResponse {
                server_id: result.stored.server_id,
                timestamp: result.stored.timestamp,
                seq: result.stored.seq,
                duplicate: result.duplicate,
            }));
            if !result.duplicate {
                let to = &result.stored.message.to;
                let muted = match &muted_by {
                    Some((peer, muted)) if peer == to => *muted,
                    _ => {
                        let muted = self.mutes(&result.stored.message).await;
                        muted_by = Some((to.clone(), muted));
                        muted
                    }
                };
                fan_out(session, result.stored, muted, &mut events);
            }
        }
        // Pushed once all are answered, in one call: a failed publish
        // loses nothing, since devices sync by sequence.
        let pushes = events.len();
        if let Err(e) = self.bus.publish_all(events).await {
            tracing::warn!(error = %e, pushes, "push failed; devices will sync");
        }
        out
    }

    /// Whether the recipient of `m` muted its sender. Not knowing (the
    /// store failed) delivers it as usual: a notification too many, never a
    /// message lost.
    async fn mutes(&self, m: &NewMessage) -> bool {
        if m.from == m.to {
            return false;
        }
        self.relations
            .mutes(&m.app_key, &m.to, &m.from)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, app = %m.app_key, to = %m.to, "mute list unread; delivered as not muted");
                false
            })
    }

    /// Messages the device lacks: for each conversation of the account, those
    /// after the device's cursor, up to the limit.
    pub async fn sync(
        &self,
        session: &Session,
        req: &SyncRequest,
    ) -> Result<SyncResponse, ServiceError> {
        let limit = match req.limit {
            0 => DEFAULT_SYNC_LIMIT,
            n => n.min(MAX_SYNC_LIMIT),
        };
        // Looked up once per conversation of the account: a device with
        // thousands of sessions sends thousands of cursors.
        let cursors: std::collections::HashMap<(u32, &str), u64> = req
            .cursors
            .iter()
            .map(|c| ((c.session_type, c.session_id.as_str()), c.seq))
            .collect();
        let cursor_of = |session_type: u32, session_id: &str| {
            cursors
                .get(&(session_type, session_id))
                .copied()
                .unwrap_or(0)
        };
        let range = sync_range(req)?;
        // conversation, after seq, the peer as this account sees it
        let mut wanted: Vec<(String, u64, String)> = Vec::new();
        let mut floors = Vec::new();
        if req.only_listed {
            for c in &req.cursors {
                if c.session_type != session_type::P2P {
                    return Err(ServiceError::bad_parameter(format!(
                        "sessionType {} is not supported yet",
                        c.session_type
                    )));
                }
                wanted.push((
                    p2p_conversation(&session.accid, &c.session_id),
                    c.seq,
                    c.session_id.clone(),
                ));
            }
        } else {
            for conv in self
                .store
                .conversations_of(&session.app_key, &session.accid, &range)
                .await?
            {
                let mut from = cursor_of(conv.session_type, &conv.session_id);
                if req.roaming && from == 0 {
                    from = self
                        .roaming_floor(&session.app_key, &conv.conversation, conv.last_seq)
                        .await?;
                    if from > 0 {
                        floors.push(ConversationCursor {
                            session_type: conv.session_type,
                            session_id: conv.session_id.clone(),
                            seq: from,
                        });
                    }
                }
                if conv.last_seq > from {
                    wanted.push((conv.conversation, from, conv.session_id));
                }
            }
        }
        let mut messages = Vec::new();
        let mut bytes = 0;
        let mut has_more = false;
        'conversations: for (conversation, from, peer) in wanted {
            let room = limit as usize - messages.len();
            if room == 0 {
                has_more = true;
                break;
            }
            let page = self
                .store
                .messages_after(&session.app_key, &conversation, from, room as u32 + 1)
                .await?;
            if page.len() > room {
                has_more = true;
            }
            let muted = match page.first() {
                Some(first)
                    if first.message.session_type == session_type::P2P && peer != session.accid =>
                {
                    self.relations
                        .mutes(&session.app_key, &session.accid, &peer)
                        .await?
                }
                _ => false,
            };
            for stored in page.iter().take(room) {
                let mut wire = if req.roaming && stored.message.flags & flags::ROAMING == 0 {
                    // Not for devices that log in later.
                    Message {
                        withheld: true,
                        ..place_of(stored)
                    }
                } else if req.live {
                    for_live_repair(stored, &session.accid)
                } else {
                    to_wire(stored)
                };
                wire.muted = muted && wire.from != session.accid;
                let size = prost::Message::encoded_len(&wire) + 8; // field tag and length
                if !messages.is_empty() && bytes + size > SYNC_PAGE_BYTES {
                    has_more = true;
                    break 'conversations;
                }
                bytes += size;
                messages.push(wire);
            }
        }
        Ok(SyncResponse {
            messages,
            has_more,
            floors,
        })
    }
}

/// The request's range, checked: only the sync of everything has one, it
/// is not empty, and every cursor lies in it.
fn sync_range(req: &SyncRequest) -> Result<SessionRange, ServiceError> {
    let range = SessionRange::of(req);
    if req.only_listed && !range.is_all() {
        return Err(ServiceError::bad_parameter(
            "from and until apply only to the sync of every conversation",
        ));
    }
    if range.is_empty() {
        return Err(ServiceError::bad_parameter(
            "the sync range is empty: from must come before until",
        ));
    }
    if let Some(outside) = req
        .cursors
        .iter()
        .find(|c| !range.holds(c.session_type, &c.session_id))
    {
        return Err(ServiceError::bad_parameter(format!(
            "cursor of session {} lies outside the sync range",
            crate::echo(&outside.session_id)
        )));
    }
    Ok(range)
}

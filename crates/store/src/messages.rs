//! Conversations and their messages.

use async_trait::async_trait;

use crate::{
    Appended, NewEvent, NewMessage, SessionRange, StoreError, StoreResult, StoredEvent,
    StoredMessage, UserConversation,
};

#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Appends a message to its conversation, durably, before returning.
    /// Assigns the server id, timestamp and next sequence. A message whose
    /// (app, conversation, from, client_id) is already stored is not stored
    /// again: the original is returned with `duplicate = true`. A client id
    /// reused by the same sender in another conversation is another message.
    async fn append_message(&self, message: NewMessage) -> StoreResult<Appended> {
        let mut appended = self.append_messages(vec![message]).await?;
        appended
            .pop()
            .ok_or_else(|| StoreError::Backend("append returned nothing".into()))
    }

    /// Appends several messages in the given order, in one transaction: the
    /// way one connection's pipelined sends keep their order. The answer has
    /// one entry per input, in the same order.
    ///
    /// A call takes its place in the commit order at its future's first
    /// poll: of two calls, the one polled first commits first (in the same
    /// group or an earlier one), however the two are awaited after that.
    /// A connection keeps several batches in flight this way, in order.
    async fn append_messages(&self, messages: Vec<NewMessage>) -> StoreResult<Vec<Appended>>;

    /// Messages of one conversation with `seq > after_seq`, in order.
    async fn messages_after(
        &self,
        app_key: &str,
        conversation: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;

    /// The message at `seq` of one conversation, if it is stored.
    async fn message_at(
        &self,
        app_key: &str,
        conversation: &str,
        seq: u64,
    ) -> StoreResult<Option<StoredMessage>> {
        if seq == 0 {
            return Ok(None);
        }
        let found = self
            .messages_after(app_key, conversation, seq - 1, 1)
            .await?;
        Ok(found.into_iter().next().filter(|m| m.seq == seq))
    }

    /// Messages of one conversation with `seq < before_seq`, newest first:
    /// a page of history read backwards.
    async fn messages_before(
        &self,
        app_key: &str,
        conversation: &str,
        before_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;

    /// The first sequence of the conversation whose message is stamped at
    /// or after `time`: one past the last when none is, 1 for an unknown
    /// conversation. A conversation's times follow its sequence (a store
    /// never stamps a message earlier than the one before it), so this is
    /// a binary search over sequences, each probe one index lookup.
    async fn seq_at_time(&self, app_key: &str, conversation: &str, time: i64) -> StoreResult<u64> {
        let Some(last) = self
            .messages_before(app_key, conversation, u64::MAX, 1)
            .await?
            .pop()
        else {
            return Ok(1);
        };
        if last.timestamp < time {
            return Ok(last.seq + 1);
        }
        // The answer lies in lo..=hi; the message at hi is stamped >= time.
        let (mut lo, mut hi) = (1, last.seq);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let probe = self
                .messages_after(app_key, conversation, mid - 1, 1)
                .await?;
            match probe.first() {
                Some(m) if m.timestamp < time => lo = m.seq + 1,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    /// Replaces message `seq` of `conversation` by a revoke notification
    /// (message type 5, no text or extension, `attachment`, the `REVOKED`
    /// flag) unless it was revoked before, and appends `events`, in one
    /// transaction. `None` when there is no such message or it was revoked
    /// already (nothing appended).
    async fn revoke_message(
        &self,
        app_key: &str,
        conversation: &str,
        seq: u64,
        attachment: String,
        at: i64,
        events: Vec<NewEvent>,
    ) -> StoreResult<Option<Vec<StoredEvent>>>;

    /// The conversations an account takes part in within `range`, with
    /// their last sequence, in the range's order.
    async fn conversations_of(
        &self,
        app_key: &str,
        accid: &str,
        range: &SessionRange,
    ) -> StoreResult<Vec<UserConversation>>;

    /// Counts for operators and migration checks.
    async fn message_count(&self, app_key: &str) -> StoreResult<u64>;
}

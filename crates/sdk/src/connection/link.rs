//! One live connection: the sink, the inbound frames, and the requests in
//! flight on it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use tidings_proto::{
    request, ConversationCursor, EventSyncRequest, Frame, SessionRange, SyncRequest,
};
use tokio::task::JoinHandle;

use super::transport::{Inbound, Sink};
use crate::types::SessionId;
use crate::SdkError;

/// Most messages asked for per sync round trip.
pub const SYNC_PAGE: u32 = 500;
/// Most cursors one sync request carries. A cursor of the longest session
/// id (32 bytes) takes about 50 bytes, so a request stays far under a frame
/// however many sessions the account has.
pub const CURSORS_PER_SYNC: usize = 1000;

/// Most account events asked for per sync round trip.
pub const EVENT_PAGE: u32 = 500;

pub enum Pending {
    Login,
    Send(String),
    Sync(SyncScope),
    /// A page of the account event log.
    EventSync,
    /// A part of a reload (see [`Link::reload`]).
    Reload(ReloadPart),
    Ping,
    Logout,
    /// A manager's request: the answer goes back to it.
    Call(super::CallReply),
}

/// What a reload asks for, each area the event log keeps current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadPart {
    Profiles,
    /// Friends (0), the blacklist (1) or the mute list (2), page by page.
    Relations(u32),
    /// Notifications, page by page.
    Notifications,
}

/// A reload under way: the log's head when it started, the lists still
/// coming, and what came so far.
#[derive(Debug, Default)]
pub struct Reload {
    pub head: u64,
    pub waiting: usize,
    pub got: crate::local_store::events::Reloaded,
    pub blacklist: Vec<String>,
    pub muted: Vec<String>,
}

/// What one sync request covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncScope {
    /// A part of the sync of every conversation after login.
    All(SessionRange),
    /// A gap repair of one conversation.
    Repair(SessionId),
}

pub struct Link {
    pub sink: Sink,
    pub inbound: Inbound,
    reader: JoinHandle<()>,
    next_seq: u64,
    pub pending: HashMap<u64, (Pending, Instant)>,
    pub last_sent: Instant,
    /// The sync of every conversation after login is still running.
    pub syncing_all: bool,
    /// Its ranges not asked for yet.
    pub ranges_left: VecDeque<SessionRange>,
    /// Gap repairs in flight.
    pub repairing: HashSet<SessionId>,
    /// Gaps noticed and not yet repaired: since when, and the cursor.
    pub gaps: HashMap<SessionId, (Instant, u64)>,
    /// An event sync (or reload) is on the wire: no other is started.
    pub syncing_events: bool,
    /// The sync after login still runs (messages or events); "synced" is
    /// told once both are in.
    pub first_sync: bool,
    /// A hole in the event log noticed and not yet repaired: since when.
    pub event_gap: Option<Instant>,
    /// A reload under way.
    pub reload: Option<Reload>,
    /// This device held nothing of the account at login: its sync of every
    /// conversation asks for the roaming window only.
    pub roaming: bool,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Link {
    pub fn new(sink: Sink, inbound: Inbound, reader: JoinHandle<()>) -> Link {
        Link {
            sink,
            inbound,
            reader,
            next_seq: 1,
            pending: HashMap::new(),
            last_sent: Instant::now(),
            syncing_all: false,
            ranges_left: VecDeque::new(),
            repairing: HashSet::new(),
            gaps: HashMap::new(),
            syncing_events: false,
            first_sync: false,
            event_gap: None,
            reload: None,
            roaming: false,
        }
    }

    /// Queues a request (call [`Link::flush`] to send).
    pub async fn request(
        &mut self,
        pending: Pending,
        kind: impl Into<request::Area>,
    ) -> Result<u64, SdkError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = Frame::request(seq, kind);
        self.sink.feed(&frame).await?;
        self.pending.insert(seq, (pending, Instant::now()));
        self.last_sent = Instant::now();
        Ok(seq)
    }

    pub async fn flush(&mut self) -> Result<(), SdkError> {
        self.sink.flush().await
    }

    /// Starts the sync of every conversation: its first range now, the
    /// others as each one ends.
    pub async fn sync_all(&mut self, cursors: Vec<(SessionId, u64)>) -> Result<(), SdkError> {
        let keys = cursors
            .iter()
            .map(|(s, _)| (s.kind.as_u32(), s.id.as_str()));
        self.ranges_left = SessionRange::plan(keys, CURSORS_PER_SYNC).into();
        let first = self.ranges_left.pop_front().unwrap_or_default();
        self.sync(cursors, SyncScope::All(first)).await
    }

    /// Asks for one page of `scope`, with the cursors it covers. A part of
    /// the sync of everything that has come to hold more cursors than one
    /// request carries (a new device learns sessions as it syncs) is cut
    /// again: its first piece now, the others next.
    pub async fn sync(
        &mut self,
        cursors: Vec<(SessionId, u64)>,
        mut scope: SyncScope,
    ) -> Result<(), SdkError> {
        if let SyncScope::All(range) = &scope {
            let keys = || {
                cursors
                    .iter()
                    .map(|(s, _)| (s.kind.as_u32(), s.id.as_str()))
            };
            if keys().filter(|(t, id)| range.holds(*t, id)).count() > CURSORS_PER_SYNC {
                let mut parts = range.split(keys(), CURSORS_PER_SYNC).into_iter();
                let first = parts.next().unwrap_or_default();
                for part in parts.rev() {
                    self.ranges_left.push_front(part);
                }
                scope = SyncScope::All(first);
            }
        }
        let covered = |s: &SessionId| match &scope {
            SyncScope::All(range) => range.holds(s.kind.as_u32(), &s.id),
            SyncScope::Repair(only) => only == s,
        };
        let cursors = cursors
            .into_iter()
            .filter(|(s, _)| covered(s))
            .map(|(s, seq)| ConversationCursor {
                session_type: s.kind.as_u32(),
                session_id: s.id,
                seq,
            })
            .collect();
        let repair = matches!(scope, SyncScope::Repair(_));
        let (from, until) = match &scope {
            SyncScope::All(range) => range.to_wire(),
            SyncScope::Repair(_) => (None, None),
        };
        let request = SyncRequest {
            cursors,
            limit: SYNC_PAGE,
            only_listed: repair,
            // A gap repair runs while online: my no-sync messages stay stubs.
            live: repair,
            from,
            until,
            roaming: self.roaming && !repair,
        };
        match &scope {
            SyncScope::All(_) => self.syncing_all = true,
            SyncScope::Repair(s) => {
                self.repairing.insert(s.clone());
            }
        }
        self.request(Pending::Sync(scope), request).await?;
        Ok(())
    }

    /// Asks for the account events after `after`.
    pub async fn sync_events(&mut self, after: u64) -> Result<(), SdkError> {
        self.syncing_events = true;
        let request = EventSyncRequest {
            after,
            limit: EVENT_PAGE,
        };
        self.request(Pending::EventSync, request).await?;
        Ok(())
    }

    /// The oldest request still unanswered.
    pub fn oldest_pending(&self) -> Option<Instant> {
        self.pending.values().map(|(_, at)| *at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn a_full_range_of_the_longest_ids_fits_in_a_frame() {
        let longest = |c: char| Some((u32::MAX, c.to_string().repeat(32)));
        let (from, until) = SessionRange {
            from: longest('x'),
            until: longest('y'),
        }
        .to_wire();
        let request = SyncRequest {
            cursors: (0..CURSORS_PER_SYNC)
                .map(|i| ConversationCursor {
                    session_type: u32::MAX,
                    session_id: format!("{i:032}"),
                    seq: u64::MAX,
                })
                .collect(),
            limit: SYNC_PAGE,
            from,
            until,
            ..Default::default()
        };
        assert!(request.encoded_len() < tidings_proto::MAX_FRAME_LEN / 2);
    }
}

//! One live connection: the sink, the inbound frames, and the requests in
//! flight on it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use tidings_proto::{frame, request, ConversationCursor, Frame, Request, SessionKey, SyncRequest};
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

pub enum Pending {
    Login,
    Send(String),
    Sync(SyncScope),
    Ping,
    Logout,
}

/// What one sync request covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncScope {
    /// A part of the sync of every conversation after login.
    All(SyncRange),
    /// A gap repair of one conversation.
    Repair(SessionId),
}

/// Conversations from `from` (inclusive) to `until` (exclusive), ordered as
/// the server orders them: session type, then session id bytewise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncRange {
    from: Option<(u32, String)>,
    until: Option<(u32, String)>,
}

fn key_of(session: &SessionId) -> (u32, &str) {
    (session.kind.as_u32(), session.id.as_str())
}

impl SyncRange {
    /// Splits the sync of everything into ranges of at most `per_range`
    /// known cursors each; conversations the device does not know yet fall
    /// into one of them.
    pub fn plan(cursors: &[(SessionId, u64)], per_range: usize) -> VecDeque<SyncRange> {
        let mut keys: Vec<(u32, &str)> = cursors.iter().map(|(s, _)| key_of(s)).collect();
        keys.sort_unstable();
        let bounds: Vec<(u32, String)> = keys
            .chunks(per_range.max(1))
            .skip(1)
            .map(|chunk| (chunk[0].0, chunk[0].1.to_owned()))
            .collect();
        let mut ranges = VecDeque::with_capacity(bounds.len() + 1);
        let mut from = None;
        for bound in bounds {
            ranges.push_back(SyncRange {
                from: from.take(),
                until: Some(bound.clone()),
            });
            from = Some(bound);
        }
        ranges.push_back(SyncRange { from, until: None });
        ranges
    }

    fn holds(&self, session: &SessionId) -> bool {
        let key = key_of(session);
        self.from
            .as_ref()
            .is_none_or(|(t, id)| (*t, id.as_str()) <= key)
            && self
                .until
                .as_ref()
                .is_none_or(|(t, id)| key < (*t, id.as_str()))
    }
}

fn wire_key(key: &Option<(u32, String)>) -> Option<SessionKey> {
    key.as_ref().map(|(session_type, session_id)| SessionKey {
        session_type: *session_type,
        session_id: session_id.clone(),
    })
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
    pub ranges_left: VecDeque<SyncRange>,
    /// Gap repairs in flight.
    pub repairing: HashSet<SessionId>,
    /// Gaps noticed and not yet repaired: since when, and the cursor.
    pub gaps: HashMap<SessionId, (Instant, u64)>,
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
        }
    }

    /// Queues a request (call [`Link::flush`] to send).
    pub async fn request(
        &mut self,
        pending: Pending,
        kind: request::Kind,
    ) -> Result<u64, SdkError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = Frame {
            body: Some(frame::Body::Request(Request {
                seq,
                kind: Some(kind),
            })),
        };
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
        self.ranges_left = SyncRange::plan(&cursors, CURSORS_PER_SYNC);
        let first = self.ranges_left.pop_front().unwrap_or_default();
        self.sync(cursors, SyncScope::All(first)).await
    }

    /// Asks for one page of `scope`, with the cursors it covers.
    pub async fn sync(
        &mut self,
        cursors: Vec<(SessionId, u64)>,
        scope: SyncScope,
    ) -> Result<(), SdkError> {
        let covered = |s: &SessionId| match &scope {
            SyncScope::All(range) => range.holds(s),
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
            SyncScope::All(range) => (wire_key(&range.from), wire_key(&range.until)),
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
        };
        match &scope {
            SyncScope::All(_) => self.syncing_all = true,
            SyncScope::Repair(s) => {
                self.repairing.insert(s.clone());
            }
        }
        self.request(Pending::Sync(scope), request::Kind::Sync(request))
            .await?;
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

    fn cursors(n: usize) -> Vec<(SessionId, u64)> {
        // Longest ids, in no particular order.
        (0..n)
            .map(|i| (SessionId::p2p(format!("{:032}", (i * 7919) % n)), 1))
            .collect()
    }

    #[test]
    fn a_device_without_cursors_syncs_everything_in_one_range() {
        let ranges = SyncRange::plan(&[], CURSORS_PER_SYNC);
        assert_eq!(ranges, VecDeque::from([SyncRange::default()]));
    }

    #[test]
    fn every_session_falls_in_exactly_one_range() {
        let known = cursors(2500);
        let ranges = SyncRange::plan(&known, 1000);
        assert_eq!(ranges.len(), 3);
        for (session, _) in &known {
            assert_eq!(ranges.iter().filter(|r| r.holds(session)).count(), 1);
        }
        for r in &ranges {
            assert!(known.iter().filter(|(s, _)| r.holds(s)).count() <= 1000);
        }
        // Sessions the device has not heard of yet: before, between, after.
        for unknown in ["", "00000000000000000000000000000005x", "zzz"] {
            let session = SessionId::p2p(unknown);
            assert_eq!(ranges.iter().filter(|r| r.holds(&session)).count(), 1);
        }
    }

    #[test]
    fn a_full_range_of_the_longest_ids_fits_in_a_frame() {
        let request = SyncRequest {
            cursors: cursors(CURSORS_PER_SYNC)
                .into_iter()
                .map(|(s, _)| ConversationCursor {
                    session_type: u32::MAX,
                    session_id: s.id,
                    seq: u64::MAX,
                })
                .collect(),
            limit: SYNC_PAGE,
            from: wire_key(&Some((u32::MAX, "x".repeat(32)))),
            until: wire_key(&Some((u32::MAX, "y".repeat(32)))),
            ..Default::default()
        };
        assert!(request.encoded_len() < tidings_proto::MAX_FRAME_LEN / 2);
    }
}

//! One live connection: the sink, the inbound frames, and the requests in
//! flight on it.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use tidings_proto::{frame, request, ConversationCursor, Frame, Request, SyncRequest};
use tokio::task::JoinHandle;

use super::transport::{Inbound, Sink};
use crate::types::SessionId;
use crate::SdkError;

/// Most messages asked for per sync round trip.
pub const SYNC_PAGE: u32 = 500;

pub enum Pending {
    Login,
    Send(String),
    /// A sync of every conversation (`None`) or a gap repair of one.
    Sync(Option<SessionId>),
    Ping,
    Logout,
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

    pub async fn sync(
        &mut self,
        cursors: Vec<(SessionId, u64)>,
        only: Option<SessionId>,
    ) -> Result<(), SdkError> {
        let cursors = cursors
            .into_iter()
            .filter(|(s, _)| only.as_ref().is_none_or(|o| o == s))
            .map(|(s, seq)| ConversationCursor {
                session_type: s.kind.as_u32(),
                session_id: s.id,
                seq,
            })
            .collect();
        let request = SyncRequest {
            cursors,
            limit: SYNC_PAGE,
            only_listed: only.is_some(),
            // A gap repair runs while online: my no-sync messages stay stubs.
            live: only.is_some(),
        };
        match &only {
            None => self.syncing_all = true,
            Some(s) => {
                self.repairing.insert(s.clone());
            }
        }
        self.request(Pending::Sync(only), request::Kind::Sync(request))
            .await?;
        Ok(())
    }

    /// The oldest request still unanswered.
    pub fn oldest_pending(&self) -> Option<Instant> {
        self.pending.values().map(|(_, at)| *at).min()
    }
}

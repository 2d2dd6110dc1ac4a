//! The account event log: what every device of an account must get that is
//! not a conversation message. Other services append events in the
//! transaction of the change they record (the store's area methods take
//! them), then call [`EventService::publish`] after the commit; devices get
//! them pushed and sync from their cursor with [`EventService::sync`].

mod trim;

use std::sync::Arc;

use prost::Message as _;
use tidings_bus::{Bus, Subject};
use tidings_proto::{
    account_event, bus_event, event_request, AccountEvent, BusEvent, Code, EventRequest,
    EventSyncRequest, EventSyncResponse,
};
use tidings_store::{NewEvent, Store, StoredEvent};

pub use trim::spawn_trimmer;

use super::Session;
use crate::ServiceError;

/// Most events one sync answer carries.
pub const MAX_EVENTS_PER_SYNC: u32 = 500;

pub struct EventService {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
}

/// The event for `accid`'s log that records `kind`: what a store appends
/// (its position and time are the store's).
pub fn new_event(accid: &str, kind: account_event::Kind) -> NewEvent {
    let body = AccountEvent {
        pos: 0,
        time: 0,
        kind: Some(kind),
    };
    NewEvent {
        accid: accid.to_owned(),
        body: body.encode_to_vec(),
    }
}

/// A stored event as devices see it. A body this server cannot read (it
/// was written by a newer one) becomes an event of no kind, which devices
/// pass over, so positions stay gapless.
pub fn to_wire(stored: &StoredEvent) -> AccountEvent {
    let mut event = AccountEvent::decode(stored.body.as_slice()).unwrap_or_else(|e| {
        tracing::warn!(error = %e, accid = %stored.accid, pos = stored.pos, "unreadable event");
        AccountEvent::default()
    });
    event.pos = stored.pos;
    event.time = stored.time;
    event
}

impl EventService {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>) -> EventService {
        EventService { store, bus }
    }

    pub async fn handle(
        &self,
        session: &Session,
        request: EventRequest,
    ) -> Result<tidings_proto::response::Area, ServiceError> {
        match request.kind {
            Some(event_request::Kind::Sync(sync)) => Ok(self.sync(session, &sync).await?.into()),
            None => Err(ServiceError::bad_parameter("event request has no kind")),
        }
    }

    /// The events of my log after my cursor; a cursor behind what was
    /// trimmed (or a new device's, to a long log) is told to reload, one
    /// ahead of the log is refused.
    pub async fn sync(
        &self,
        session: &Session,
        request: &EventSyncRequest,
    ) -> Result<EventSyncResponse, ServiceError> {
        let limit = request.limit.clamp(1, MAX_EVENTS_PER_SYNC);
        let page = self
            .store
            .events_after(&session.app_key, &session.accid, request.after, limit)
            .await?;
        if request.after > page.head {
            return Err(ServiceError::new(
                Code::BadParameter,
                format!(
                    "event cursor {} is ahead of the log, whose last position is {}",
                    request.after, page.head
                ),
            ));
        }
        // Behind the trimmed part; or new (cursor 0) to a log longer than a
        // page, where fetching the state is cheaper than replaying it.
        let new_to_a_long_log = request.after == 0 && page.head > u64::from(MAX_EVENTS_PER_SYNC);
        if request.after < page.trimmed_through || new_to_a_long_log {
            return Ok(EventSyncResponse {
                events: Vec::new(),
                has_more: false,
                head: page.head,
                reload: true,
            });
        }
        let last = page.events.last().map_or(request.after, |e| e.pos);
        Ok(EventSyncResponse {
            events: page.events.iter().map(to_wire).collect(),
            has_more: last < page.head,
            head: page.head,
            reload: false,
        })
    }

    /// Sends committed events to their accounts' online devices (on every
    /// node), the device that caused them included: each device moves its
    /// cursor over every event of its log.
    pub async fn publish(&self, app_key: &str, events: &[StoredEvent]) -> Result<(), ServiceError> {
        let batch = events
            .iter()
            .map(|stored| {
                let event = BusEvent {
                    origin_connection: 0,
                    kind: Some(bus_event::Kind::Event(to_wire(stored))),
                };
                (Subject::account(app_key, &stored.accid), Arc::new(event))
            })
            .collect();
        self.bus.publish_all(batch).await?;
        Ok(())
    }
}

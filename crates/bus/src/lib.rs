//! Routing between the place an event is produced and the connections that
//! must see it: the [`Bus`] trait and the in-process bus of a single node.
//!
//! Subjects are per account (later per room). A subscription whose consumer
//! falls too far behind is closed rather than silently dropping events: the
//! connection then closes, and the client's reconnect and sync repair it.
//!
//! May depend on: `tidings-proto`. Knows nothing of stores or the gateway.

mod local;

pub use local::LocalBus;

use std::sync::Arc;

use async_trait::async_trait;
use tidings_proto::BusEvent;
use tokio::sync::mpsc;

/// How many events a subscription may have queued before it is closed.
pub const SUBSCRIPTION_CAPACITY: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Account { app_key: String, accid: String },
}

impl Subject {
    pub fn account(app_key: &str, accid: &str) -> Subject {
        Subject::Account {
            app_key: app_key.to_owned(),
            accid: accid.to_owned(),
        }
    }

    /// A flat name, usable as a broker subject.
    pub fn name(&self) -> String {
        match self {
            Subject::Account { app_key, accid } => {
                format!("acct.{}.{}", hex_token(app_key), hex_token(accid))
            }
        }
    }
}

/// Account ids may hold any character; brokers reserve some. Hex is safe.
fn hex_token(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A stream of events on one subject. Dropping it unsubscribes.
pub struct Subscription {
    pub(crate) events: mpsc::Receiver<Arc<BusEvent>>,
    pub(crate) _guard: Box<dyn Send + Sync>,
}

impl Subscription {
    /// A subscription fed by `events`; `guard` is dropped (and so
    /// unsubscribes) with it.
    pub fn new(events: mpsc::Receiver<Arc<BusEvent>>, guard: Box<dyn Send + Sync>) -> Subscription {
        Subscription {
            events,
            _guard: guard,
        }
    }

    /// The next event; `None` when the subscription was closed (bus shut
    /// down or the consumer lagged).
    pub async fn next(&mut self) -> Option<Arc<BusEvent>> {
        self.events.recv().await
    }

    /// The next event if one is queued now; `None` when none is (or the
    /// subscription was closed, which the next [`Subscription::next`] tells).
    pub fn try_next(&mut self) -> Option<Arc<BusEvent>> {
        self.events.try_recv().ok()
    }
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Shared (`Arc`): one event goes to several subjects and subscribers,
    /// and most of them only look at it.
    async fn publish(&self, subject: &Subject, event: Arc<BusEvent>) -> Result<(), BusError>;
    /// Publishes each event to its subject, in order; tries every one,
    /// and answers an error if any failed.
    async fn publish_all(&self, events: Vec<(Subject, Arc<BusEvent>)>) -> Result<(), BusError> {
        let mut failed = None;
        for (subject, event) in events {
            if let Err(e) = self.publish(&subject, event).await {
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }
    async fn subscribe(&self, subject: &Subject) -> Result<Subscription, BusError>;
}

/// Checks every bus implementation runs.
#[allow(clippy::unwrap_used)]
pub mod conformance {
    use super::*;
    use tidings_proto::{bus_event::Kind, Message};

    fn event(text: &str) -> Arc<BusEvent> {
        Arc::new(BusEvent {
            origin_connection: 0,
            kind: Some(Kind::Message(Message {
                text: text.into(),
                ..Default::default()
            })),
        })
    }

    /// The next event, or a failed test (never a hung one).
    async fn next(sub: &mut Subscription) -> BusEvent {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
            .await
            .expect("no event within 10 s")
            .expect("subscription closed");
        BusEvent::clone(&event)
    }

    fn text_of(event: &BusEvent) -> &str {
        match &event.kind {
            Some(Kind::Message(m)) => &m.text,
            _ => "",
        }
    }

    /// Two buses standing for two nodes: what one publishes, the other's
    /// subscribers get. (For the in-process bus, pass the same bus twice.)
    pub async fn crosses_nodes(node_a: &dyn Bus, node_b: &dyn Bus) {
        let subject = Subject::account("app", "roamer");
        let mut on_b = node_b.subscribe(&subject).await.unwrap();
        node_a.publish(&subject, event("from a")).await.unwrap();
        assert_eq!(text_of(&next(&mut on_b).await), "from a");
    }

    pub async fn delivers_to_every_subscriber_of_a_subject(bus: &dyn Bus) {
        let alice = Subject::account("app", "alice");
        let bob = Subject::account("app", "bob");
        let mut a1 = bus.subscribe(&alice).await.unwrap();
        let mut a2 = bus.subscribe(&alice).await.unwrap();
        let mut b = bus.subscribe(&bob).await.unwrap();
        bus.publish(&alice, event("one")).await.unwrap();
        bus.publish(&alice, event("two")).await.unwrap();
        for sub in [&mut a1, &mut a2] {
            assert_eq!(text_of(&next(sub).await), "one");
            assert_eq!(text_of(&next(sub).await), "two");
        }
        bus.publish(&bob, event("three")).await.unwrap();
        assert_eq!(text_of(&next(&mut b).await), "three");
    }

    pub async fn subjects_of_other_apps_are_separate(bus: &dyn Bus) {
        let mut mine = bus.subscribe(&Subject::account("app1", "u")).await.unwrap();
        bus.publish(&Subject::account("app2", "u"), event("theirs"))
            .await
            .unwrap();
        bus.publish(&Subject::account("app1", "u"), event("mine"))
            .await
            .unwrap();
        assert_eq!(text_of(&next(&mut mine).await), "mine");
    }

    pub async fn dropped_subscription_stops_receiving(bus: &dyn Bus) {
        let subject = Subject::account("app", "gone");
        let sub = bus.subscribe(&subject).await.unwrap();
        drop(sub);
        // Publishing to nobody is not an error.
        bus.publish(&subject, event("into the void")).await.unwrap();
    }
}

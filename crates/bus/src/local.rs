//! The in-process bus: subjects map to the channels of local subscribers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tidings_proto::BusEvent;
use tokio::sync::mpsc;

use crate::{Bus, BusError, Subject, Subscription, SUBSCRIPTION_CAPACITY};

/// Hashed with foldhash (seeded per table), not SipHash: every push looks
/// a subject up, and subjects name accounts the app's backend created.
type Subscribers =
    HashMap<Subject, Vec<(u64, mpsc::Sender<Arc<BusEvent>>)>, foldhash::fast::RandomState>;

#[derive(Default, Clone)]
pub struct LocalBus {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: std::sync::atomic::AtomicU64,
    subscribers: Mutex<Subscribers>,
}

impl LocalBus {
    pub fn new() -> LocalBus {
        LocalBus::default()
    }
}

struct Unsubscribe {
    inner: Arc<Inner>,
    subject: Subject,
    id: u64,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        if let Ok(mut subs) = self.inner.subscribers.lock() {
            if let Some(list) = subs.get_mut(&self.subject) {
                list.retain(|(id, _)| *id != self.id);
                if list.is_empty() {
                    subs.remove(&self.subject);
                }
            }
        }
    }
}

/// Queues `event` for every local subscriber of `subject`; one that
/// lagged or went away is dropped from the table.
fn deliver(subs: &mut Subscribers, subject: &Subject, event: &Arc<BusEvent>) {
    if let Some(list) = subs.get_mut(subject) {
        list.retain(|(id, tx)| match tx.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    subscription = id,
                    "subscriber lagged; closing its subscription"
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }
}

fn poisoned<T>(_: T) -> BusError {
    BusError::Unavailable("subscriber table poisoned".into())
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, subject: &Subject, event: Arc<BusEvent>) -> Result<(), BusError> {
        let mut subs = self.inner.subscribers.lock().map_err(poisoned)?;
        deliver(&mut subs, subject, &event);
        Ok(())
    }

    /// Under one lock of the subscriber table.
    async fn publish_all(&self, events: Vec<(Subject, Arc<BusEvent>)>) -> Result<(), BusError> {
        let mut subs = self.inner.subscribers.lock().map_err(poisoned)?;
        for (subject, event) in &events {
            deliver(&mut subs, subject, event);
        }
        Ok(())
    }

    async fn subscribe(&self, subject: &Subject) -> Result<Subscription, BusError> {
        let id = self
            .inner
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_CAPACITY);
        self.inner
            .subscribers
            .lock()
            .map_err(poisoned)?
            .entry(subject.clone())
            .or_default()
            .push((id, tx));
        let guard = Unsubscribe {
            inner: self.inner.clone(),
            subject: subject.clone(),
            id,
        };
        Ok(Subscription {
            events: rx,
            _guard: Box::new(guard),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;

    #[tokio::test]
    async fn conformance_suite() {
        let bus = LocalBus::new();
        conformance::delivers_to_every_subscriber_of_a_subject(&bus).await;
        conformance::subjects_of_other_apps_are_separate(&bus).await;
        conformance::dropped_subscription_stops_receiving(&bus).await;
        conformance::crosses_nodes(&bus, &bus).await;
    }

    #[tokio::test]
    async fn unsubscribing_cleans_the_table() {
        let bus = LocalBus::new();
        let sub = bus
            .subscribe(&Subject::account("a", "b"))
            .await
            .unwrap_or_else(|_| panic!());
        drop(sub);
        assert!(bus
            .inner
            .subscribers
            .lock()
            .map(|s| s.is_empty())
            .unwrap_or(false));
    }
}

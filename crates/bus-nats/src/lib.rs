//! The bus over NATS, for several nodes: an event published on any node
//! reaches the subscribers of its subject on every node.
//!
//! Subjects are `<prefix>.acct.<hex app>.<hex account>`; the prefix keeps
//! deployments (and test runs) sharing one NATS apart. Events are the
//! protobuf `BusEvent`. Like the in-process bus, a subscription whose
//! consumer falls too far behind is closed rather than losing events
//! silently; the connection then closes and the client syncs.
//!
//! Core NATS delivers at most once: whatever is published while this
//! node's NATS connection is down never reaches the node, even after the
//! client has reconnected and subscribed again. So when the connection
//! breaks (or the client drops messages of a slow subscription), every
//! subscription made before the break is closed too, and its devices
//! reconnect and sync what they missed instead of waiting, online and
//! behind, for their next message.
//!
//! May depend on: `tidings-bus`, `tidings-proto`.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use prost::Message as _;
use tidings_bus::{Bus, BusError, Subject, Subscription, SUBSCRIPTION_CAPACITY};
use tidings_proto::BusEvent;
use tokio::sync::{mpsc, watch};

pub struct NatsBus {
    client: async_nats::Client,
    prefix: String,
    /// How many times the connection lost events; a subscription ends at
    /// the first break after it was made.
    breaks: Arc<watch::Sender<u64>>,
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

/// How long a subscription waits for the server to confirm it.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Aborts the forwarding task (and so unsubscribes) when dropped.
struct Forwarder(tokio::task::JoinHandle<()>);

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl NatsBus {
    pub async fn connect(url: &str, prefix: &str) -> Result<NatsBus, BusError> {
        let breaks = Arc::new(watch::channel(0u64).0);
        let on_event = breaks.clone();
        let client = async_nats::ConnectOptions::new()
            .event_callback(move |event| {
                let breaks = on_event.clone();
                async move {
                    if loses_events(&event) {
                        tracing::warn!(
                            %event,
                            subscriptions = breaks.receiver_count(),
                            "NATS connection lost events; closing the subscriptions made before, so that their devices sync"
                        );
                        breaks.send_modify(|count| *count += 1);
                    }
                }
            })
            .connect(url)
            .await
            .map_err(unavailable)?;
        Ok(NatsBus {
            client,
            prefix: prefix.to_owned(),
            breaks,
        })
    }

    /// How many times the connection has lost events since it was made.
    pub fn breaks(&self) -> u64 {
        *self.breaks.borrow()
    }

    /// Returns once the server has processed everything this connection
    /// sent before. `flush` only empties the socket buffer; the server
    /// handles one connection's commands in order, so a probe that comes
    /// back proves the earlier ones (a subscription, say) took effect.
    async fn confirm_processed(&self) -> Result<(), BusError> {
        let inbox = self.client.new_inbox();
        let mut probe = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(unavailable)?;
        self.client
            .publish(inbox, Vec::new().into())
            .await
            .map_err(unavailable)?;
        self.client.flush().await.map_err(unavailable)?;
        match tokio::time::timeout(PROBE_TIMEOUT, probe.next()).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(unavailable("the NATS connection closed")),
            Err(_) => Err(unavailable("NATS did not answer a probe in time")),
        }
    }

    fn subject(&self, subject: &Subject) -> String {
        format!("{}.{}", self.prefix, subject.name())
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, subject: &Subject, event: Arc<BusEvent>) -> Result<(), BusError> {
        self.client
            .publish(self.subject(subject), event.encode_to_vec().into())
            .await
            .map_err(unavailable)
    }

    async fn subscribe(&self, subject: &Subject) -> Result<Subscription, BusError> {
        // Watched before subscribing: a break from here on may have cost
        // this subscription an event.
        let mut breaks = self.breaks.subscribe();
        let mut incoming = self
            .client
            .subscribe(self.subject(subject))
            .await
            .map_err(unavailable)?;
        // The subscription is on the server before anything published after
        // this call returns, on any connection.
        self.confirm_processed().await?;
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_CAPACITY);
        let task = tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    biased;
                    // Also when the bus is dropped: nothing more will come.
                    _ = breaks.changed() => return,
                    message = incoming.next() => match message {
                        Some(message) => message,
                        None => return,
                    },
                };
                let event = match BusEvent::decode(message.payload.as_ref()) {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::warn!(error = %e, "undecodable bus event dropped");
                        continue;
                    }
                };
                match tx.try_send(Arc::new(event)) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!("subscriber lagged; closing its subscription");
                        return;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
        });
        Ok(Subscription::new(rx, Box::new(Forwarder(task))))
    }
}

/// Whether NATS may have dropped events for this node's subscriptions:
/// the connection broke (nothing published meanwhile reaches a
/// subscription resumed after the reconnect), or the client dropped
/// messages of a subscription that fell behind (its sid is not ours to
/// map, so every subscription ends). A closed client ends its
/// subscriptions' streams by itself.
fn loses_events(event: &async_nats::Event) -> bool {
    matches!(
        event,
        async_nats::Event::Disconnected | async_nats::Event::SlowConsumer(_)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tidings_bus::conformance;
    use tidings_store_postgres::testing::service_url;

    async fn node(prefix: &str) -> Option<NatsBus> {
        let url = service_url("TIDINGS_TEST_NATS_URL", "NATS bus")?;
        Some(
            NatsBus::connect(&url, prefix)
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}")),
        )
    }

    #[tokio::test]
    async fn conformance_suite() {
        let prefix = format!("test{}", rand_suffix());
        let (Some(a), Some(b)) = (node(&prefix).await, node(&prefix).await) else {
            return;
        };
        conformance::delivers_to_every_subscriber_of_a_subject(&a).await;
        conformance::subjects_of_other_apps_are_separate(&a).await;
        conformance::dropped_subscription_stops_receiving(&a).await;
        conformance::crosses_nodes(&a, &b).await;
    }

    /// A TCP link to NATS whose connections can all be cut at once, as a
    /// network blip or a NATS restart cuts a node's connection.
    struct CuttableLink {
        addr: std::net::SocketAddr,
        links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
        accept: tokio::task::JoinHandle<()>,
    }

    impl CuttableLink {
        async fn start(target: String) -> CuttableLink {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
            let accepted = links.clone();
            let accept = tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let target = target.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    accepted.lock().unwrap().push(link);
                }
            });
            CuttableLink {
                addr,
                links,
                accept,
            }
        }

        /// Closes every connection through the link; new ones get through.
        fn cut(&self) {
            for link in self.links.lock().unwrap().drain(..) {
                link.abort();
            }
        }
    }

    impl Drop for CuttableLink {
        fn drop(&mut self) {
            self.cut();
            self.accept.abort();
        }
    }

    fn message(text: &str) -> Arc<BusEvent> {
        Arc::new(BusEvent {
            origin_connection: 0,
            kind: Some(tidings_proto::bus_event::Kind::Message(
                tidings_proto::Message {
                    text: text.into(),
                    ..Default::default()
                },
            )),
        })
    }

    #[tokio::test]
    async fn a_broken_connection_ends_the_subscriptions_made_before_it() {
        let Some(url) = service_url("TIDINGS_TEST_NATS_URL", "NATS bus break") else {
            return;
        };
        let target = url.trim_start_matches("nats://").to_owned();
        let link = CuttableLink::start(target).await;
        let prefix = format!("test{}", rand_suffix());
        let behind = NatsBus::connect(&format!("nats://{}", link.addr), &prefix)
            .await
            .unwrap();
        let direct = node(&prefix).await.unwrap();
        let subject = Subject::account("app", "bob");
        let wait = std::time::Duration::from_secs(10);

        let mut before = behind.subscribe(&subject).await.unwrap();
        direct.publish(&subject, message("one")).await.unwrap();
        let first = tokio::time::timeout(wait, before.next()).await.unwrap();
        assert!(first.is_some(), "delivered while the link holds");
        assert_eq!(behind.breaks(), 0);

        // What NATS gets while the link is down never reaches `before`, even
        // once the client has reconnected: so `before` ends, and its device
        // syncs, rather than staying open and silently behind.
        link.cut();
        let after_cut = tokio::time::timeout(wait, before.next())
            .await
            .expect("the subscription made before the break did not end");
        assert!(after_cut.is_none(), "ended, not delivered: {after_cut:?}");
        assert!(behind.breaks() >= 1);

        // Subscriptions made after the reconnect work as before.
        let mut again = behind.subscribe(&subject).await.unwrap();
        direct.publish(&subject, message("two")).await.unwrap();
        let second = tokio::time::timeout(wait, again.next())
            .await
            .expect("nothing reached a subscription made after the reconnect");
        assert!(second.is_some());
    }

    fn rand_suffix() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id())
    }
}

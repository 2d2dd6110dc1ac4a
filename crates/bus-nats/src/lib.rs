//! The bus over NATS, for several nodes: an event published on any node
//! reaches the subscribers of its subject on every node.
//!
//! Subjects are `<prefix>.acct.<hex app>.<hex account>`; the prefix keeps
//! deployments (and test runs) sharing one NATS apart. Events are the
//! protobuf `BusEvent`. Like the in-process bus, a subscription whose
//! consumer falls too far behind is closed rather than losing events
//! silently; the connection then closes and the client syncs.
//!
//! May depend on: `tidings-bus`, `tidings-proto`.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use prost::Message as _;
use tidings_bus::{Bus, BusError, Subject, Subscription, SUBSCRIPTION_CAPACITY};
use tidings_proto::BusEvent;
use tokio::sync::mpsc;

pub struct NatsBus {
    client: async_nats::Client,
    prefix: String,
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
        let client = async_nats::connect(url).await.map_err(unavailable)?;
        Ok(NatsBus {
            client,
            prefix: prefix.to_owned(),
        })
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
            while let Some(message) = incoming.next().await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tidings_bus::conformance;

    async fn node(prefix: &str) -> Option<NatsBus> {
        let Ok(url) = std::env::var("TIDINGS_TEST_NATS_URL") else {
            eprintln!("skipped (NATS bus): TIDINGS_TEST_NATS_URL is not set");
            return None;
        };
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

    fn rand_suffix() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id())
    }
}

//! The task that owns the socket. It logs in, syncs, sends the outbox,
//! applies pushes to the local database, repairs gaps, and reconnects with
//! back-off. The rest of the SDK talks to it through [`Command`]s.

mod backoff;
pub(crate) mod convert;
mod lbs;
mod link;
mod task;
mod transport;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use tokio::sync::{broadcast, oneshot};

pub(crate) use convert::new_message_id;
pub use link::CURSORS_PER_SYNC;
pub(crate) use task::spawn;

use crate::local_store::{LocalStore, SessionChange};
use crate::types::{ClientsChange, LocalMessage, LoginClient};
use crate::{ClientConfig, Event, SdkError};

/// Where the answer to a [`Command::Call`] goes: the response's area
/// (none for a bare "ok"), or why there is none.
pub(crate) type CallReply =
    oneshot::Sender<Result<Option<tidings_proto::response::Area>, SdkError>>;

pub(crate) enum Command {
    /// A message stored locally as "sending": add it to the outbox.
    Send(Box<LocalMessage>),
    /// Log out and stop.
    Logout(oneshot::Sender<()>),
    /// One request of a manager and its answer: every call but sends.
    Call(Box<tidings_proto::request::Area>, CallReply),
}

/// What the client and its connection task share.
pub(crate) struct Shared {
    pub config: ClientConfig,
    pub account: String,
    pub token: String,
    pub device_id: String,
    pub db: LocalStore,
    pub events: broadcast::Sender<Event>,
    pub logged_in: AtomicBool,
    /// Callers waiting for the outcome of a send, by message id.
    pub waiters: Mutex<HashMap<String, oneshot::Sender<Result<LocalMessage, SdkError>>>>,
    /// My other devices online beside this connection (empty without one).
    pub other_clients: Mutex<Vec<LoginClient>>,
}

impl Shared {
    pub fn emit(&self, event: Event) {
        // No receiver is not an error: events are for whoever listens.
        let _ = self.events.send(event);
    }

    /// The events of what the account's event log changed locally.
    pub fn emit_account_changes(&self, applied: crate::local_store::events::AppliedEvents) {
        if !applied.profiles.is_empty() {
            self.emit(Event::UserInfoUpdated(applied.profiles.into()));
        }
        if !applied.friends.is_empty() || !applied.unfriended.is_empty() {
            self.emit(Event::FriendsChanged {
                changed: applied.friends,
                removed: applied.unfriended,
            });
        }
        for (account, relation, on) in applied.listed {
            self.emit(Event::ListChanged {
                account,
                relation,
                on,
            });
        }
        for notification in applied.notifications {
            self.emit(Event::SystemNotification(notification.into()));
        }
        if !applied.notifications_changed.is_empty() || applied.reloaded {
            self.emit(Event::SystemNotificationsChanged);
        }
        for revoke in applied.revoked {
            self.emit(Event::MessageRevoked(revoke.into()));
        }
        for read in applied.read.into_iter().filter(|r| !r.by_me) {
            self.emit(Event::MessageReceipt {
                session: read.session,
                message_id: read.message_id,
                timestamp: read.timestamp,
            });
        }
    }

    pub fn emit_session_change(&self, change: SessionChange) {
        self.emit(match change {
            SessionChange::Added(s) => Event::RecentSessionAdded(s.into()),
            SessionChange::Updated(s) => Event::RecentSessionUpdated(s.into()),
            SessionChange::Removed(s) => Event::RecentSessionRemoved(s.into()),
        });
    }

    /// Applies a change of my other devices and reports what it changed.
    pub fn clients_changed(&self, change: ClientsChange, clients: Vec<LoginClient>) {
        let changed: Vec<LoginClient> = {
            let Ok(mut list) = self.other_clients.lock() else {
                return;
            };
            match change {
                ClientsChange::Online => clients
                    .into_iter()
                    .filter(|c| {
                        let new = !list.iter().any(|o| o.connection_id == c.connection_id);
                        if new {
                            list.push(c.clone());
                        }
                        new
                    })
                    .collect(),
                // A device kicked by this one's login went before it was
                // ever listed: nothing to report for it.
                ClientsChange::Offline => clients
                    .into_iter()
                    .filter_map(|c| {
                        let at = list
                            .iter()
                            .position(|o| o.connection_id == c.connection_id)?;
                        Some(list.remove(at))
                    })
                    .collect(),
            }
        };
        if !changed.is_empty() {
            self.emit(Event::LoginClientsChanged {
                change,
                clients: changed,
            });
        }
    }

    /// Forgets my other devices: without a connection nothing is known of
    /// them. No event says so (they did not go offline); the next login
    /// reports those still online again.
    pub fn forget_clients(&self) {
        if let Ok(mut list) = self.other_clients.lock() {
            list.clear();
        }
    }

    pub fn resolve(&self, message_id: &str, outcome: Result<LocalMessage, SdkError>) {
        let waiter = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut w| w.remove(message_id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(outcome);
        }
    }

    pub fn fail_all_waiters(&self) {
        let waiters: Vec<_> = match self.waiters.lock() {
            Ok(mut w) => w.drain().collect(),
            Err(_) => return,
        };
        for (_, waiter) in waiters {
            let _ = waiter.send(Err(SdkError::Stopped));
        }
    }
}

//! Notifications. System notifications are kept per account (each added
//! with an event of its owner's log, whose position is its id) and every
//! change to them goes to the log too, so all devices of the account show
//! the same list. Custom notifications are opaque JSON that is delivered,
//! not kept: an online-only one reaches the target's online devices or no
//! one; another is also kept (up to a cap) until a device gets it.

mod custom;

use std::sync::Arc;

use tidings_proto::{
    account_event, notification_request, notification_status, response, MarkNotifications,
    NotificationAdded, NotificationRequest, NotificationsChanged, SystemNotification,
    SystemNotifications,
};
use tidings_store::{EventsOf, NewNotification, Notification, NotificationMark, Store};

pub use custom::{CustomNotifications, CustomRules};

use super::events::{new_event, EventService};
use super::Session;
use crate::ServiceError;

/// Most notifications one list answer carries.
pub const MAX_LIST: u32 = 1000;
/// Most ids one mark or delete may name.
pub const MAX_IDS: usize = 1000;

pub fn to_wire(n: &Notification) -> SystemNotification {
    SystemNotification {
        id: n.id,
        r#type: n.kind,
        from: n.from.clone(),
        target: n.target.clone(),
        postscript: n.postscript.clone(),
        attach: n.attach.clone(),
        read: n.read,
        status: n.status,
        time: n.time,
    }
}

/// A notification for `owner`; its event carries it without an id (the
/// event's position is the id).
pub fn new_notification(
    owner: &str,
    kind: u32,
    from: &str,
    target: &str,
    postscript: &str,
    attach: &str,
) -> NewNotification {
    let notification = SystemNotification {
        id: 0,
        r#type: kind,
        from: from.to_owned(),
        target: target.to_owned(),
        postscript: postscript.to_owned(),
        attach: attach.to_owned(),
        read: false,
        status: notification_status::UNTREATED,
        time: 0,
    };
    let added = account_event::Kind::NotificationAdded(NotificationAdded {
        notification: Some(notification),
    });
    NewNotification {
        owner: owner.to_owned(),
        kind,
        from: from.to_owned(),
        target: target.to_owned(),
        postscript: postscript.to_owned(),
        attach: attach.to_owned(),
        status: notification_status::UNTREATED,
        event: new_event(owner, added),
    }
}

/// The event telling `owner`'s devices that notifications changed.
pub fn changed_event(owner: &str, changed: NotificationsChanged) -> tidings_store::NewEvent {
    new_event(owner, account_event::Kind::NotificationsChanged(changed))
}

/// The ids and values of a mark: checked before the store is asked.
pub fn check_mark(mark: &MarkNotifications) -> Result<(), ServiceError> {
    if mark.ids.len() > MAX_IDS {
        return Err(ServiceError::bad_parameter(format!(
            "at most {MAX_IDS} notifications a call"
        )));
    }
    if mark.read.is_none() && mark.status.is_none() {
        return Err(ServiceError::bad_parameter(
            "nothing to change: give read or status",
        ));
    }
    if let Some(status) = mark.status {
        if status > notification_status::LAST_APP_DEFINED {
            return Err(ServiceError::bad_parameter(format!(
                "status must be 0 to 9, not {status}"
            )));
        }
        if mark.ids.is_empty() {
            return Err(ServiceError::bad_parameter(
                "a status is set on named notifications only",
            ));
        }
    }
    Ok(())
}

pub struct NotificationService {
    store: Arc<dyn Store>,
    events: Arc<EventService>,
    pub custom: CustomNotifications,
}

impl NotificationService {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<EventService>,
        custom: CustomNotifications,
    ) -> NotificationService {
        NotificationService {
            store,
            events,
            custom,
        }
    }

    pub async fn handle(
        &self,
        session: &Session,
        request: NotificationRequest,
    ) -> Result<Option<response::Area>, ServiceError> {
        let (app, me) = (&session.app_key, &session.accid);
        match request.kind {
            Some(notification_request::Kind::List(list)) => {
                let limit = list.limit.clamp(1, MAX_LIST);
                // One more than asked says whether more come.
                let mut found = self
                    .store
                    .notifications(app, me, list.before, limit + 1)
                    .await?;
                let has_more = found.len() > limit as usize;
                found.truncate(limit as usize);
                let notifications = found.iter().map(to_wire).collect();
                Ok(Some(
                    SystemNotifications {
                        notifications,
                        has_more,
                    }
                    .into(),
                ))
            }
            Some(notification_request::Kind::Mark(mark)) => {
                check_mark(&mark)?;
                let change = NotificationMark {
                    ids: mark.ids,
                    read: mark.read,
                    status: mark.status,
                    delete: false,
                };
                self.mark(app, me, change).await.map(|_| None)
            }
            Some(notification_request::Kind::Delete(delete)) => {
                if delete.ids.len() > MAX_IDS {
                    return Err(ServiceError::bad_parameter(format!(
                        "at most {MAX_IDS} notifications a call"
                    )));
                }
                let change = NotificationMark {
                    ids: delete.ids,
                    delete: true,
                    ..NotificationMark::default()
                };
                self.mark(app, me, change).await.map(|_| None)
            }
            Some(notification_request::Kind::SendCustom(send)) => {
                self.custom.send(session, send).await.map(|()| None)
            }
            None => Err(ServiceError::bad_parameter(
                "notification request has no kind",
            )),
        }
    }

    /// Changes `owner`'s notifications (only theirs) and tells all its
    /// devices.
    pub async fn mark(
        &self,
        app_key: &str,
        owner: &str,
        mark: NotificationMark,
    ) -> Result<Vec<u64>, ServiceError> {
        let (read, status, deleted) = (mark.read, mark.status, mark.delete);
        let all = mark.ids.is_empty();
        let whose = owner.to_owned();
        let events: EventsOf<Vec<u64>> = Box::new(move |ids| {
            let changed = NotificationsChanged {
                ids: if all { Vec::new() } else { ids.clone() },
                read,
                status,
                deleted,
            };
            vec![changed_event(&whose, changed)]
        });
        let (ids, stored) = self
            .store
            .mark_notifications(app_key, owner, mark, crate::now_ms(), events)
            .await?;
        if let Err(e) = self.events.publish(app_key, &stored).await {
            tracing::warn!(error = %e, "could not push a notification change");
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &[u8]) -> tidings_proto::AccountEvent {
        prost::Message::decode(body).unwrap_or_default()
    }

    #[test]
    fn marks_are_checked() {
        let ok = MarkNotifications {
            ids: vec![1],
            read: Some(true),
            status: Some(5),
        };
        assert!(check_mark(&ok).is_ok());
        let all_read = MarkNotifications {
            ids: Vec::new(),
            read: Some(true),
            status: None,
        };
        assert!(check_mark(&all_read).is_ok());
        for bad in [
            MarkNotifications::default(),
            MarkNotifications {
                ids: vec![1],
                read: None,
                status: Some(10),
            },
            MarkNotifications {
                ids: Vec::new(),
                read: None,
                status: Some(1),
            },
            MarkNotifications {
                ids: (0..1001).collect(),
                read: Some(true),
                status: None,
            },
        ] {
            assert!(check_mark(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_new_notification_travels_in_its_event() {
        let n = new_notification("b", 5, "a", "b", "hi", r#"{"vt":2}"#);
        let event = decode(&n.event.body);
        let Some(account_event::Kind::NotificationAdded(added)) = event.kind else {
            panic!("not a notification event");
        };
        let carried = added.notification.unwrap_or_default();
        assert_eq!(
            (carried.from.as_str(), carried.postscript.as_str()),
            ("a", "hi")
        );
        assert_eq!(n.event.accid, "b");
    }
}

//! Frames by area: every kind of request, response and push converts into
//! its outer field (`request::Area::from(LoginRequest { .. })`), and
//! responses and pushes have accessors that reach through the area to one
//! kind (`response.sync()`, `push.closing()`). A new area adds its lines
//! here and nowhere else in this crate.

use crate::v1::*;

/// `From<$ty>` for `$outer::Area`, through the area message `$msg`, and
/// accessors `$get(&self)` and `$into(self)` on `$holder` when given.
macro_rules! kinds {
    ($outer:ident, $holder:ident, $variant:ident, $msg:ident, $kmod:ident;
     $($kind:ident($ty:ty) $(=> $get:ident, $into:ident)?;)*) => {
        $(
            impl From<$ty> for $outer::Area {
                fn from(kind: $ty) -> Self {
                    $outer::Area::$variant($msg {
                        kind: Some($kmod::Kind::$kind(kind)),
                    })
                }
            }
            $(
                impl $holder {
                    pub fn $get(&self) -> Option<&$ty> {
                        match &self.area {
                            Some($outer::Area::$variant($msg {
                                kind: Some($kmod::Kind::$kind(kind)),
                            })) => Some(kind),
                            _ => None,
                        }
                    }

                    pub fn $into(self) -> Option<$ty> {
                        match self.area {
                            Some($outer::Area::$variant($msg {
                                kind: Some($kmod::Kind::$kind(kind)),
                            })) => Some(kind),
                            _ => None,
                        }
                    }
                }
            )?
        )*
    };
}

kinds!(request, Request, Session, SessionRequest, session_request;
    Login(LoginRequest);
    Logout(LogoutRequest);
    Ping(Ping);
    KickClients(KickClientsRequest);
);
kinds!(request, Request, Messages, MessageRequest, message_request;
    Send(SendMessageRequest);
    Sync(SyncRequest);
    History(HistoryRequest);
    Receipt(SendReceipt);
    Revoke(RevokeRequest);
);
kinds!(request, Request, Event, EventRequest, event_request;
    Sync(EventSyncRequest);
);
kinds!(request, Request, User, UserRequest, user_request;
    UpdateMine(ProfileUpdate);
    Get(GetProfiles);
);

kinds!(request, Request, Relation, RelationRequest, relation_request;
    Friend(FriendRequest);
    DeleteFriend(DeleteFriend);
    UpdateFriend(UpdateFriend);
    SetSpecial(SetSpecialRelation);
    List(ListRelations);
);
kinds!(request, Request, Notification, NotificationRequest, notification_request;
    List(ListNotifications);
    Mark(MarkNotifications);
    Delete(DeleteNotifications);
    SendCustom(SendCustomNotification);
);

kinds!(response, Response, Session, SessionResponse, session_response;
    Login(LoginResponse) => login, into_login;
    Pong(Pong) => pong, into_pong;
);
kinds!(response, Response, Messages, MessageResponse, message_response;
    Send(SendMessageResponse) => sent, into_sent;
    Sync(SyncResponse) => sync_page, into_sync_page;
    History(HistoryPage) => history_page, into_history_page;
);
kinds!(response, Response, Event, EventResponse, event_response;
    Sync(EventSyncResponse) => event_page, into_event_page;
);
kinds!(response, Response, User, UserResponse, user_response;
    Mine(UserProfile) => my_profile, into_my_profile;
    Profiles(Profiles) => profiles, into_profiles;
);

kinds!(response, Response, Relation, RelationResponse, relation_response;
    Relations(Relations) => relations, into_relations;
);
kinds!(response, Response, Notification, NotificationResponse, notification_response;
    Notifications(SystemNotifications) => notifications, into_notifications;
);

kinds!(push, Push, Session, SessionPush, session_push;
    Kicked(Kicked) => kicked, into_kicked;
    Heartbeat(Ping) => heartbeat, into_heartbeat;
    Closing(Closing) => closing, into_closing;
    ClientsChanged(LoginClientsChanged) => clients_changed, into_clients_changed;
);
kinds!(push, Push, Messages, MessagePush, message_push;
    Message(Message) => message, into_message;
);
kinds!(push, Push, Event, EventPush, event_push;
    Event(AccountEvent) => event, into_event;
);
kinds!(push, Push, Notification, NotificationPush, notification_push;
    Custom(CustomNotification) => custom_notification, into_custom_notification;
);

impl Request {
    pub fn new(seq: u64, kind: impl Into<request::Area>) -> Request {
        Request {
            seq,
            area: Some(kind.into()),
        }
    }
}

impl Push {
    pub fn of(kind: impl Into<push::Area>) -> Push {
        Push {
            area: Some(kind.into()),
        }
    }
}

impl Frame {
    pub fn request(seq: u64, kind: impl Into<request::Area>) -> Frame {
        Frame {
            body: Some(frame::Body::Request(Request::new(seq, kind))),
        }
    }

    pub fn push(kind: impl Into<push::Area>) -> Frame {
        Frame {
            body: Some(frame::Body::Push(Push::of(kind))),
        }
    }
}

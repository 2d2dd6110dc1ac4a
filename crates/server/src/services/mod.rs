//! The rules of the system, one service per area. Gateway and HTTP API call
//! these and nothing below them.

pub mod accounts;
pub mod apps;
pub mod auth;
pub mod events;
pub mod messages;
pub mod notifications;
pub mod receipts;
pub mod relations;
pub mod throttle;
pub mod users;

use std::sync::Arc;

use tidings_bus::Bus;
use tidings_store::Store;

use crate::config::ServerConfig;

pub use accounts::AccountService;
pub use apps::AppService;
pub use auth::{AuthService, Session};
pub use events::EventService;
pub use messages::MessageService;
pub use notifications::NotificationService;
pub use receipts::ReceiptService;
pub use relations::RelationService;
pub use users::UserService;

pub struct Services {
    pub apps: AppService,
    pub accounts: Arc<AccountService>,
    pub auth: AuthService,
    pub messages: MessageService,
    pub events: Arc<EventService>,
    pub users: UserService,
    pub relations: Arc<RelationService>,
    pub notifications: NotificationService,
    pub receipts: ReceiptService,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, config: &ServerConfig) -> Services {
        let accounts = Arc::new(AccountService::new(store.clone(), bus.clone()));
        let events = Arc::new(EventService::new(store.clone(), bus.clone()));
        let relations = Arc::new(RelationService::new(
            store.clone(),
            events.clone(),
            accounts.clone(),
        ));
        let custom = notifications::CustomNotifications::new(
            store.clone(),
            bus.clone(),
            accounts.clone(),
            notifications::CustomRules {
                per_window: config.custom_notifications_per_window,
                window: config.custom_notification_window(),
                kept_per_account: config.custom_notifications_kept_per_account,
            },
        );
        Services {
            users: UserService::new(store.clone(), events.clone(), relations.clone()),
            notifications: NotificationService::new(store.clone(), events.clone(), custom),
            receipts: ReceiptService::new(store.clone(), events.clone()),
            messages: MessageService::new(
                store.clone(),
                bus.clone(),
                accounts.clone(),
                relations.clone(),
                events.clone(),
                config.revoke_window(),
                messages::Roaming {
                    window: config.roaming_window(),
                    per_conversation: config.roaming_messages_per_conversation,
                },
            ),
            relations,
            events,
            apps: AppService::new(store.clone(), config.api_time_window_secs),
            auth: AuthService::new(
                store.clone(),
                bus.clone(),
                throttle::LoginThrottle::new(
                    config.login_failures_per_window,
                    config.login_failure_window(),
                ),
            ),
            accounts,
            store,
            bus,
        }
    }
}

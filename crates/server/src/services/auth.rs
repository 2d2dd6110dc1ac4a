//! Client login and the multi-device policy.

use std::net::IpAddr;
use std::sync::Arc;

use tidings_bus::{Bus, Subject};
use tidings_proto::{
    bus_event, BusEvent, ClientOffline, ClientOnline, Code, KickClientsRequest, KickDevices,
    LoginClient, LoginRequest,
};
use tidings_store::Store;

use crate::services::accounts::{MAX_ACCID_LEN, MAX_TOKEN_LEN};
use crate::services::apps::constant_time_eq;
use crate::services::throttle::LoginThrottle;
use crate::ServiceError;

/// Longest AppKey a login may name (ours are 32 hex digits).
pub const MAX_APP_KEY_LEN: usize = 64;
/// Longest device id a login may carry.
pub const MAX_DEVICE_ID_LEN: usize = 128;

/// Kicked.reason when another client's login replaces this one.
pub const KICKED_BY_OTHER_LOGIN: u32 = 1;

pub use tidings_proto::client_type;

/// The group of client types that kick each other: mobile (Android, iOS,
/// Windows Phone) and desktop (PC, Web, macOS). Mobile and desktop coexist.
pub fn kick_group(client_type: u32) -> Vec<u32> {
    use client_type::*;
    match client_type {
        ANDROID | IOS | WINDOWS_PHONE => vec![ANDROID, IOS, WINDOWS_PHONE],
        PC | WEB | MACOS => vec![PC, WEB, MACOS],
        other => vec![other],
    }
}

/// A kick group as one number: its client types as a bit mask (the key of
/// the account's last device of the group).
pub fn kick_group_mask(client_type: u32) -> u32 {
    kick_group(client_type)
        .into_iter()
        .fold(0, |mask, t| mask | t)
}

/// Kicked.reason when another of the account's devices logged this one out.
pub const KICKED_BY_MY_OTHER_CLIENT: u32 = 3;

/// A logged-in connection's identity.
#[derive(Debug, Clone)]
pub struct Session {
    pub app_key: String,
    pub accid: String,
    pub name: String,
    pub client_type: u32,
    pub connection_id: u64,
    pub device_id: String,
    /// When it logged in, ms since the epoch.
    pub login_time: i64,
}

impl Session {
    fn subject(&self) -> Subject {
        Subject::account(&self.app_key, &self.accid)
    }

    /// An event from this connection (which does not get it back).
    fn event(&self, kind: bus_event::Kind) -> Arc<BusEvent> {
        Arc::new(BusEvent {
            origin_connection: self.connection_id,
            kind: Some(kind),
        })
    }

    /// This connection as the account's other devices see it.
    pub fn as_client(&self) -> LoginClient {
        LoginClient {
            connection_id: self.connection_id,
            client_type: self.client_type,
            device_id: self.device_id.clone(),
            login_time: self.login_time,
        }
    }
}

pub struct AuthService {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    throttle: LoginThrottle,
}

impl AuthService {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, throttle: LoginThrottle) -> AuthService {
        AuthService {
            store,
            bus,
            throttle,
        }
    }

    /// How many (account, address) pairs the wrong-token throttle tracks.
    pub fn throttle_entries(&self) -> usize {
        self.throttle.len()
    }

    /// Checks the credentials of a login. Does not yet announce it: call
    /// [`AuthService::announce`] once the connection listens for its events.
    pub async fn login(
        &self,
        req: &LoginRequest,
        connection_id: u64,
        peer: IpAddr,
    ) -> Result<Session, ServiceError> {
        if req.app_key.is_empty() {
            return Err(ServiceError::bad_parameter("app_key is required"));
        }
        if req.account.is_empty() || req.token.is_empty() {
            return Err(ServiceError::bad_parameter(
                "account and token are required",
            ));
        }
        // Over-long values are refused before anything is kept of them
        // (the wrong-token throttle would hold the name).
        if req.app_key.len() > MAX_APP_KEY_LEN
            || req.account.len() > MAX_ACCID_LEN
            || req.token.len() > MAX_TOKEN_LEN
            || req.device_id.len() > MAX_DEVICE_ID_LEN
        {
            return Err(ServiceError::bad_parameter(format!(
                "app_key, account, token or device_id too long (limits {MAX_APP_KEY_LEN}, \
                 {MAX_ACCID_LEN}, {MAX_TOKEN_LEN} and {MAX_DEVICE_ID_LEN} bytes)"
            )));
        }
        if !client_type::ALL.contains(&req.client_type) {
            return Err(ServiceError::bad_parameter(format!(
                "unknown client type {}",
                req.client_type
            )));
        }
        if self.store.app(&req.app_key).await?.is_none() {
            return Err(ServiceError::new(
                Code::Forbidden,
                format!("unknown AppKey {}", crate::echo(&req.app_key)),
            ));
        }
        if let Some(left) = self.throttle.locked_for(&req.app_key, &req.account, peer) {
            return Err(ServiceError::new(
                Code::TooFrequent,
                format!(
                    "too many wrong tokens for this account from this address; try again in {} s",
                    left.as_secs() + 1
                ),
            ));
        }
        let Some(account) = self
            .store
            .account(&req.app_key, &req.account)
            .await?
            .filter(|a| constant_time_eq(a.token.as_bytes(), req.token.as_bytes()))
        else {
            self.throttle.failed(&req.app_key, &req.account, peer);
            return Err(ServiceError::new(Code::BadToken, "wrong account or token"));
        };
        self.throttle.succeeded(&req.app_key, &req.account, peer);
        if account.blocked {
            return Err(ServiceError::new(Code::Banned, "account is banned"));
        }
        self.check_last_device(req).await?;
        Ok(Session {
            app_key: account.app_key,
            accid: account.accid,
            name: account.name,
            client_type: req.client_type,
            connection_id,
            device_id: req.device_id.clone(),
            login_time: crate::now_ms(),
        })
    }

    /// A device logs in where another of its kick group has logged in
    /// since it last did (a phone left at home, say) only when its user
    /// asks now, or its app forces the auto login (seed 000, 417): an auto
    /// login must not silently kick the device the user moved to. A login
    /// that gets past this makes its device the group's last one.
    async fn check_last_device(&self, req: &LoginRequest) -> Result<(), ServiceError> {
        if req.device_id.is_empty() {
            return if req.auto_login {
                Err(ServiceError::bad_parameter(
                    "an auto login needs the device_id",
                ))
            } else {
                Ok(())
            };
        }
        let group = kick_group_mask(req.client_type);
        let last = self
            .store
            .last_device(&req.app_key, &req.account, group)
            .await?;
        if last.as_deref() == Some(req.device_id.as_str()) {
            return Ok(());
        }
        if req.auto_login && last.is_some() {
            return Err(ServiceError::new(
                Code::Refused,
                "another device has logged in since this one did; log in by hand (or force the auto login)",
            ));
        }
        self.store
            .set_last_device(&req.app_key, &req.account, group, &req.device_id)
            .await?;
        Ok(())
    }

    /// Kicks the account's other devices of the same kick group, wherever
    /// they are connected, and tells the rest that this one is online
    /// (each answers with itself: [`AuthService::answer_online`]).
    pub async fn announce(&self, session: &Session) -> Result<(), ServiceError> {
        let kick = bus_event::Kind::Kick(KickDevices {
            reason: KICKED_BY_OTHER_LOGIN,
            by_client_type: session.client_type,
            client_types: kick_group(session.client_type),
            message: "logged in on another device".into(),
            except_connection: session.connection_id,
            only_connections: Vec::new(),
        });
        let online = bus_event::Kind::Online(ClientOnline {
            client: Some(session.as_client()),
            to_connection: 0,
        });
        self.bus
            .publish_all(vec![
                (session.subject(), session.event(kick)),
                (session.subject(), session.event(online)),
            ])
            .await?;
        Ok(())
    }

    /// Publishes `kind` from this session to its account's devices.
    async fn tell_account(
        &self,
        session: &Session,
        kind: bus_event::Kind,
    ) -> Result<(), ServiceError> {
        self.bus
            .publish(&session.subject(), session.event(kind))
            .await?;
        Ok(())
    }

    /// Tells the connection that just logged in (`to`) that this one is
    /// online too.
    pub async fn answer_online(&self, session: &Session, to: u64) -> Result<(), ServiceError> {
        let online = bus_event::Kind::Online(ClientOnline {
            client: Some(session.as_client()),
            to_connection: to,
        });
        self.tell_account(session, online).await
    }

    /// Tells the account's other devices that this connection has ended.
    pub async fn depart(&self, session: &Session) -> Result<(), ServiceError> {
        let offline = bus_event::Kind::Offline(ClientOffline {
            connection_id: session.connection_id,
        });
        self.tell_account(session, offline).await
    }

    /// Logs out other devices of the session's account, by connection
    /// (NIM's kickOtherClient): they get Kicked reason 3. Only the
    /// account's own connections hear the event, so no other account's
    /// device can be named.
    pub async fn kick_clients(
        &self,
        session: &Session,
        req: &KickClientsRequest,
    ) -> Result<(), ServiceError> {
        if req.connection_ids.is_empty() {
            return Err(ServiceError::bad_parameter("name the clients to kick"));
        }
        if req.connection_ids.contains(&session.connection_id) {
            return Err(ServiceError::bad_parameter(
                "a client cannot kick itself; log out instead",
            ));
        }
        let kick = bus_event::Kind::Kick(KickDevices {
            reason: KICKED_BY_MY_OTHER_CLIENT,
            by_client_type: session.client_type,
            client_types: Vec::new(),
            message: "logged out by another of your devices".into(),
            except_connection: session.connection_id,
            only_connections: req.connection_ids.clone(),
        });
        self.tell_account(session, kick).await
    }
}

/// Whether a kick event applies to this connection.
pub fn kick_applies(kick: &KickDevices, connection_id: u64, client_type: u32) -> bool {
    if kick.except_connection == connection_id {
        return false;
    }
    if !kick.only_connections.is_empty() {
        return kick.only_connections.contains(&connection_id);
    }
    kick.client_types.is_empty() || kick.client_types.contains(&client_type)
}

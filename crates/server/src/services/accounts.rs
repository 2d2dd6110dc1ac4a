//! Accounts of an app: creation, tokens, bans.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tidings_bus::{Bus, Subject};
use tidings_proto::{bus_event, BusEvent, Code, KickDevices};
use tidings_store::{Account, NewAccount, Store};

use crate::services::apps::random_hex;
use crate::{now_ms, ServiceError};

pub const MAX_ACCID_LEN: usize = 32;
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_TOKEN_LEN: usize = 128;

/// Kicked.reason when the server (a ban) disconnects a device.
pub const KICKED_BY_SERVER: u32 = 2;

pub struct AccountService {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    /// Accounts known to exist. Accounts are never deleted, so a positive
    /// answer stays true.
    known: Mutex<HashMap<String, HashSet<String>>>,
}

pub fn validate_accid(accid: &str) -> Result<(), ServiceError> {
    if accid.is_empty() || accid.len() > MAX_ACCID_LEN {
        return Err(ServiceError::bad_parameter(format!(
            "accid must be 1 to {MAX_ACCID_LEN} characters"
        )));
    }
    if !accid
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c))
    {
        return Err(ServiceError::bad_parameter(
            "accid may hold only letters, digits and _ - . @",
        ));
    }
    if accid.chars().all(|c| c == '.') {
        return Err(ServiceError::bad_parameter("accid cannot be only dots"));
    }
    Ok(())
}

fn validate_token(token: &str) -> Result<(), ServiceError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(ServiceError::bad_parameter(format!(
            "token must be 1 to {MAX_TOKEN_LEN} characters"
        )));
    }
    Ok(())
}

impl AccountService {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>) -> AccountService {
        AccountService {
            store,
            bus,
            known: Mutex::new(HashMap::new()),
        }
    }

    pub async fn create(
        &self,
        app_key: &str,
        accid: &str,
        name: &str,
        token: Option<&str>,
    ) -> Result<Account, ServiceError> {
        validate_accid(accid)?;
        if name.chars().count() > MAX_NAME_LEN {
            return Err(ServiceError::bad_parameter(format!(
                "name is longer than {MAX_NAME_LEN} characters"
            )));
        }
        let token = match token {
            Some(t) => {
                validate_token(t)?;
                t.to_owned()
            }
            None => random_hex(16),
        };
        let account =
            self.store
                .create_account(NewAccount {
                    app_key: app_key.into(),
                    accid: accid.into(),
                    name: name.into(),
                    token,
                    created_at: now_ms(),
                })
                .await
                .map_err(|e| match e {
                    tidings_store::StoreError::Conflict { .. } => ServiceError::bad_parameter(
                        format!("accid {} is already registered", crate::echo(accid)),
                    ),
                    other => other.into(),
                })?;
        Ok(account)
    }

    pub async fn get(&self, app_key: &str, accid: &str) -> Result<Account, ServiceError> {
        self.store.account(app_key, accid).await?.ok_or_else(|| {
            ServiceError::new(
                Code::NotFound,
                format!("account {} not found", crate::echo(accid)),
            )
        })
    }

    /// Whether the account exists in this app (cached once it does).
    /// Ok when `accid` is an account of the app; 404 naming it otherwise.
    pub async fn must_exist(&self, app_key: &str, accid: &str) -> Result<(), ServiceError> {
        if self.exists(app_key, accid).await? {
            Ok(())
        } else {
            Err(ServiceError::new(
                Code::NotFound,
                format!("account {} not found", crate::echo(accid)),
            ))
        }
    }

    pub async fn exists(&self, app_key: &str, accid: &str) -> Result<bool, ServiceError> {
        let cached = self
            .known
            .lock()
            .map(|known| {
                known
                    .get(app_key)
                    .is_some_and(|accounts| accounts.contains(accid))
            })
            .unwrap_or(false);
        if cached {
            return Ok(true);
        }
        let found = self.store.account(app_key, accid).await?.is_some();
        if found {
            if let Ok(mut known) = self.known.lock() {
                known
                    .entry(app_key.to_owned())
                    .or_default()
                    .insert(accid.to_owned());
            }
        }
        Ok(found)
    }

    pub async fn update_token(
        &self,
        app_key: &str,
        accid: &str,
        token: &str,
    ) -> Result<(), ServiceError> {
        validate_token(token)?;
        Ok(self.store.update_token(app_key, accid, token).await?)
    }

    pub async fn refresh_token(&self, app_key: &str, accid: &str) -> Result<String, ServiceError> {
        let token = random_hex(16);
        self.store.update_token(app_key, accid, &token).await?;
        Ok(token)
    }

    /// Bans an account: later logins answer 422; online devices are kicked
    /// unless `kick` is false.
    pub async fn block(&self, app_key: &str, accid: &str, kick: bool) -> Result<(), ServiceError> {
        self.store.set_blocked(app_key, accid, true).await?;
        if kick {
            let event = BusEvent {
                origin_connection: 0,
                kind: Some(bus_event::Kind::Kick(KickDevices {
                    reason: KICKED_BY_SERVER,
                    by_client_type: 0,
                    client_types: Vec::new(),
                    message: "account banned".into(),
                    except_connection: 0,
                    only_connections: Vec::new(),
                })),
            };
            self.bus
                .publish(&Subject::account(app_key, accid), Arc::new(event))
                .await?;
        }
        Ok(())
    }

    pub async fn unblock(&self, app_key: &str, accid: &str) -> Result<(), ServiceError> {
        Ok(self.store.set_blocked(app_key, accid, false).await?)
    }
}

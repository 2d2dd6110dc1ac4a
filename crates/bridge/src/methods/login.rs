//! Login area: init, login, logout, isLogined; onIMLogin, onKick.

use std::sync::Arc;

use serde_json::{json, Value};
use tidings_sdk::{client_type, Client, ClientConfig, ServerAddress};

use super::{Answer, Handler, SyncHandler};
use crate::params::Params;
use crate::{listeners, NimError, State};

pub const CALLS: &[(&str, Handler)] = &[("login", login), ("logout", logout)];
pub const SYNC: &[(&str, SyncHandler)] = &[("init", init), ("isLogined", is_logined)];
pub const LISTENERS: &[&str] = &["onIMLogin", "onKick"];

/// NIM client type names accepted by `init`.
fn client_type_of(name: &str) -> Option<u32> {
    match name.to_ascii_lowercase().as_str() {
        "android" => Some(client_type::ANDROID),
        "ios" => Some(client_type::IOS),
        "pc" | "windows" => Some(client_type::PC),
        "web" => Some(client_type::WEB),
        "mac" | "macos" => Some(client_type::MACOS),
        _ => None,
    }
}

/// `init({appKey, server, dataDir, clientType})`: stands in for config.xml.
pub fn init(
    state: &Arc<State>,
    handle: &tokio::runtime::Handle,
    params: &Value,
) -> Result<Value, NimError> {
    let p = Params::of(params);
    let app_key = p.string("appKey")?;
    let server = ServerAddress::parse(p.string("server")?).map_err(|_| {
        NimError::bad_parameter("server must be host:port, http://host:port or ws://host:port/ws")
    })?;
    let data_dir = p.string("dataDir")?;
    let kind = match p.opt_string("clientType")? {
        None => client_type::PC,
        Some(name) => client_type_of(name).ok_or_else(|| {
            NimError::bad_parameter(format!(
                "clientType '{name}' is not one of android, ios, pc, web, mac"
            ))
        })?,
    };
    let mut guard = state
        .client
        .lock()
        .map_err(|_| NimError::new(500, "bridge state poisoned"))?;
    if guard
        .as_ref()
        .is_some_and(|c| c.login().current_account().is_some())
    {
        return Err(NimError::new(417, "log out before init again"));
    }
    let mut config = ClientConfig::new(app_key, server, data_dir);
    config.client_type = kind;
    let client = Client::new(config)?;
    listeners::forward(state.clone(), &client, handle);
    *guard = Some(client);
    Ok(json!({ "status": true }))
}

fn is_logined(
    state: &Arc<State>,
    _: &tokio::runtime::Handle,
    _: &Value,
) -> Result<Value, NimError> {
    Ok(Value::Bool(
        state
            .client()
            .map(|c| c.login().is_logged_in())
            .unwrap_or(false),
    ))
}

fn login(client: Client, params: Value) -> Answer {
    Box::pin(async move {
        let p = Params::of(&params);
        let user = p.string("userId")?;
        let password = p.string("password")?;
        client.login().login(user, password).await?;
        Ok(json!({ "status": true, "userId": user }))
    })
}

fn logout(client: Client, _: Value) -> Answer {
    Box::pin(async move {
        client.login().logout().await?;
        Ok(json!({ "status": true }))
    })
}

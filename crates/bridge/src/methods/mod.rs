//! The supported methods, by area: each file holds a table of seed name
//! and handler. A name is supported when a table has it; everything else
//! in the catalogue answers 501.

mod chat;
mod login;
mod notifications;
mod relations;
mod session;
mod users;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use tidings_sdk::Client;

use crate::{NimError, State};

/// What a call method's handler returns.
pub type Answer = Pin<Box<dyn Future<Output = Result<Value, NimError>> + Send>>;

/// A call method: the logged-in (or initialised) client and the params.
pub type Handler = fn(Client, Value) -> Answer;

/// A method that answers at once (`init`, `isLogined`).
pub type SyncHandler = fn(&Arc<State>, &tokio::runtime::Handle, &Value) -> Result<Value, NimError>;

const CALLS: &[&[(&str, Handler)]] = &[
    login::CALLS,
    chat::CALLS,
    session::CALLS,
    users::CALLS,
    relations::CALLS,
    notifications::CALLS,
];
const SYNC: &[&[(&str, SyncHandler)]] = &[login::SYNC, relations::SYNC];
const LISTENERS: &[&[&str]] = &[
    login::LISTENERS,
    chat::LISTENERS,
    session::LISTENERS,
    users::LISTENERS,
    relations::LISTENERS,
    notifications::LISTENERS,
];

pub fn call_handler(name: &str) -> Option<Handler> {
    CALLS
        .iter()
        .flat_map(|table| table.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, handler)| *handler)
}

pub fn sync_handler(name: &str) -> Option<SyncHandler> {
    SYNC.iter()
        .flat_map(|table| table.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, handler)| *handler)
}

/// Every name that has a handler or a listener.
pub fn supported() -> impl Iterator<Item = &'static str> {
    let calls = CALLS.iter().flat_map(|t| t.iter().map(|(n, _)| *n));
    let sync = SYNC.iter().flat_map(|t| t.iter().map(|(n, _)| *n));
    let listeners = LISTENERS.iter().flat_map(|t| t.iter().copied());
    calls.chain(sync).chain(listeners)
}

pub async fn call(state: &Arc<State>, method: &str, params: Value) -> Result<Value, NimError> {
    let handler = call_handler(method).ok_or_else(|| {
        NimError::new(
            crate::NOT_SUPPORTED,
            format!("'{method}' is not supported yet by Tidings"),
        )
    })?;
    let client = state.client()?;
    handler(client, params).await
}

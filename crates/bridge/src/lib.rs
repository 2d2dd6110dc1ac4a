//! The `nim` JSON API of seed 002 over the Tidings SDK. Every rule of the
//! JavaScript and C surfaces lives here: method and listener names,
//! parameter names and checks, `ret` shapes and enumerations. The Node.js
//! addon and the C ABI only move strings in and out.
//!
//! `call(method, params_json, done)` answers `Ok(ret_json)` or
//! `Err({"errorCode", "errorMessage"})`; `listen(name, callback)` registers
//! a listener. The bridge owns a tokio runtime, so hosts need none.
//!
//! May depend on: `tidings-sdk`. Never on the server.

pub mod catalogue;
mod json;
mod listeners;
mod methods;
mod params;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tidings_sdk::Client;

pub use catalogue::Kind;

/// errorCode of a seed method Tidings cannot do yet.
pub const NOT_SUPPORTED: u32 = 501;

/// The `err` of a call: `{"errorCode": N, "errorMessage": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_code}: {error_message}")]
pub struct NimError {
    pub error_code: u32,
    pub error_message: String,
}

impl NimError {
    pub fn new(error_code: u32, error_message: impl Into<String>) -> NimError {
        NimError {
            error_code,
            error_message: error_message.into(),
        }
    }

    pub fn bad_parameter(message: impl Into<String>) -> NimError {
        NimError::new(414, message)
    }

    pub fn to_json(&self) -> Value {
        json!({ "errorCode": self.error_code, "errorMessage": self.error_message })
    }
}

impl From<tidings_sdk::SdkError> for NimError {
    fn from(e: tidings_sdk::SdkError) -> NimError {
        NimError::new(e.code(), e.to_string())
    }
}

/// A listener callback: receives the listener's `ret` as JSON text.
pub type Listener = Arc<dyn Fn(String) + Send + Sync>;

/// The completion of a call: `Ok(ret)` or `Err(err)`, both JSON text.
pub type Completion = Box<dyn FnOnce(Result<String, String>) + Send>;

/// One `nim` module instance: at most one client (one account at a time).
pub struct Bridge {
    runtime: tokio::runtime::Runtime,
    state: Arc<State>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Log out (best effort) so the server sees a clean goodbye.
        if let Ok(client) = self.state.client() {
            if client.login().current_account().is_some() {
                let (tx, rx) = std::sync::mpsc::channel();
                self.runtime.spawn(async move {
                    let _ = client.login().logout().await;
                    let _ = tx.send(());
                });
                let _ = rx.recv_timeout(std::time::Duration::from_secs(2));
            }
        }
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub client: Mutex<Option<Client>>,
    pub listeners: Mutex<HashMap<String, Vec<Listener>>>,
}

impl State {
    pub fn client(&self) -> Result<Client, NimError> {
        self.client
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(|| NimError::bad_parameter("call init({appKey, server, dataDir}) first"))
    }
}

fn parse(params_json: &str) -> Result<Value, NimError> {
    if params_json.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(params_json) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(Value::Null) => Ok(json!({})),
        Ok(_) => Err(NimError::bad_parameter("params must be a JSON object")),
        Err(e) => Err(NimError::bad_parameter(format!("params are not JSON: {e}"))),
    }
}

fn check_name(method: &str, wanted: &[Kind]) -> Result<(), NimError> {
    match catalogue::kind_of(method) {
        None => Err(NimError::new(404, format!("unknown method '{method}'"))),
        Some(_) if !catalogue::is_supported(method) => Err(NimError::new(
            NOT_SUPPORTED,
            format!("'{method}' is not supported yet by Tidings"),
        )),
        Some(kind) if !wanted.contains(&kind) => {
            let how = match kind {
                Kind::Call => "with a callback (call)",
                Kind::Sync => "synchronously (callSync)",
                Kind::Listener => "as a listener (listen)",
            };
            Err(NimError::bad_parameter(format!(
                "'{method}' is called {how}"
            )))
        }
        Some(_) => Ok(()),
    }
}

impl Bridge {
    pub fn new() -> Result<Bridge, NimError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tidings-nim")
            .enable_all()
            .build()
            .map_err(|e| NimError::new(500, format!("cannot start the runtime: {e}")))?;
        Ok(Bridge {
            runtime,
            state: Arc::new(State::default()),
        })
    }

    /// A call with a callback. `done` runs on a bridge thread.
    pub fn call(&self, method: &str, params_json: &str, done: Completion) {
        let method = method.to_owned();
        let params = parse(params_json);
        let state = self.state.clone();
        let handle = self.runtime.handle().clone();
        self.runtime.spawn(async move {
            let result = match params {
                Ok(params) => dispatch(&state, &handle, &method, params).await,
                Err(e) => Err(e),
            };
            done(
                result
                    .map(|v| v.to_string())
                    .map_err(|e| e.to_json().to_string()),
            );
        });
    }

    /// Calls and waits (for Rust callers and tests).
    pub async fn call_async(&self, method: &str, params: Value) -> Result<Value, NimError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.call(
            method,
            &params.to_string(),
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        match rx.await {
            Ok(Ok(ret)) => {
                serde_json::from_str(&ret).map_err(|e| NimError::new(500, e.to_string()))
            }
            Ok(Err(err)) => {
                let v: Value = serde_json::from_str(&err).unwrap_or_default();
                Err(NimError::new(
                    v["errorCode"].as_u64().unwrap_or(500) as u32,
                    v["errorMessage"].as_str().unwrap_or_default(),
                ))
            }
            Err(_) => Err(NimError::new(500, "bridge stopped")),
        }
    }

    /// Methods that answer at once: `init`, `isLogined`.
    pub fn call_sync(&self, method: &str, params_json: &str) -> Result<String, String> {
        let run = || -> Result<Value, NimError> {
            check_name(method, &[Kind::Sync])?;
            let params = parse(params_json)?;
            let handler = methods::sync_handler(method).ok_or_else(|| {
                NimError::new(
                    NOT_SUPPORTED,
                    format!("'{method}' is not supported yet by Tidings"),
                )
            })?;
            let _guard = self.runtime.enter();
            handler(&self.state, self.runtime.handle(), &params)
        };
        run()
            .map(|v| v.to_string())
            .map_err(|e| e.to_json().to_string())
    }

    /// Registers a listener (`onRecvIMMessages`, `onKick`, ...).
    pub fn listen(&self, name: &str, listener: Listener) -> Result<(), String> {
        check_name(name, &[Kind::Listener]).map_err(|e| e.to_json().to_string())?;
        if let Ok(mut listeners) = self.state.listeners.lock() {
            listeners.entry(name.to_owned()).or_default().push(listener);
        }
        Ok(())
    }
}

async fn dispatch(
    state: &Arc<State>,
    handle: &tokio::runtime::Handle,
    method: &str,
    params: Value,
) -> Result<Value, NimError> {
    // Sync methods may be called with a callback too: off the runtime's
    // threads, as they may wait for the local database.
    if let Some(handler) = methods::sync_handler(method) {
        let (state, handle) = (state.clone(), handle.clone());
        return tokio::task::spawn_blocking(move || handler(&state, &handle, &params))
            .await
            .map_err(|e| NimError::new(500, e.to_string()))?;
    }
    check_name(method, &[Kind::Call])?;
    methods::call(state, method, params).await
}

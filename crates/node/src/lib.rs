//! Node.js addon of the `nim` module: a thin napi-rs wrapper that moves JSON
//! text between JavaScript and `tidings-bridge`. All logic is in the bridge;
//! `index.js` turns the text into objects, callbacks and Promises.
//!
//! May depend on: `tidings-bridge` (and napi). Nothing else.

use std::sync::Arc;

use napi::bindgen_prelude::Unknown;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use tidings_bridge::Bridge;

/// Called once with `{"ret": ...}` or `{"err": ...}`; keeps Node alive
/// until then.
type Done = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, false>;
/// Called for every event; does not keep Node alive.
type OnEvent = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>;

fn outcome(result: Result<String, String>) -> String {
    match result {
        Ok(ret) => format!("{{\"ret\":{ret}}}"),
        Err(err) => format!("{{\"err\":{err}}}"),
    }
}

/// Every method and listener name: `[{"name", "kind", "supported"}]` as text.
#[napi]
pub fn catalogue() -> String {
    tidings_bridge::catalogue::to_json()
}

#[napi]
pub struct NativeNim {
    bridge: Arc<Bridge>,
}

#[napi]
impl NativeNim {
    #[napi(constructor)]
    pub fn new() -> napi::Result<NativeNim> {
        let bridge =
            Bridge::new().map_err(|e| napi::Error::from_reason(e.to_json().to_string()))?;
        Ok(NativeNim {
            bridge: Arc::new(bridge),
        })
    }

    /// Calls a method; `done` receives `{"ret": ...}` or `{"err": ...}` as text.
    #[napi(ts_args_type = "method: string, params: string, done: (outcome: string) => void")]
    pub fn call(&self, method: String, params: String, done: Done) {
        self.bridge.call(
            &method,
            &params,
            Box::new(move |result| {
                done.call(outcome(result), ThreadsafeFunctionCallMode::NonBlocking);
            }),
        );
    }

    /// A method that answers at once (`init`, `isLogined`); returns the outcome text.
    #[napi]
    pub fn call_sync(&self, method: String, params: String) -> String {
        outcome(self.bridge.call_sync(&method, &params))
    }

    /// Registers a listener; `callback` receives each `ret` as text.
    /// Returns `{"ret": true}` or `{"err": ...}`.
    #[napi(ts_args_type = "name: string, callback: (ret: string) => void")]
    pub fn listen(&self, name: String, callback: OnEvent) -> String {
        let callback = Arc::new(callback);
        let listener = Arc::new(move |ret: String| {
            callback.call(ret, ThreadsafeFunctionCallMode::NonBlocking);
        });
        outcome(
            self.bridge
                .listen(&name, listener)
                .map(|()| "true".to_owned()),
        )
    }
}

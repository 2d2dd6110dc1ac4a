use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::ServiceError;

/// A server-API answer: `{"code":200, ...}` or `{"code":N,"desc":"..."}`.
/// Like NIM's, the HTTP status is 200 and the outcome is in `code`.
pub struct ApiReply(Value);

impl ApiReply {
    pub fn ok() -> ApiReply {
        ApiReply(json!({ "code": 200 }))
    }

    /// Adds a field beside `code`.
    pub fn and(mut self, key: &str, value: Value) -> ApiReply {
        self.0[key] = value;
        self
    }

    pub fn with(key: &str, value: Value) -> ApiReply {
        ApiReply::ok().and(key, value)
    }
}

impl From<ServiceError> for ApiReply {
    fn from(e: ServiceError) -> ApiReply {
        ApiReply(json!({ "code": e.code.as_u32(), "desc": e.message }))
    }
}

impl IntoResponse for ApiReply {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

pub type ApiResult = Result<ApiReply, ApiReply>;

//! The signed form request of the server API: verified headers plus the
//! form fields, with clear errors for anything missing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;

use super::reply::ApiReply;
use crate::services::apps::SignedRequest;
use crate::state::ServerState;
use crate::ServiceError;

/// Most bytes a server-API form may have.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub struct SignedForm {
    pub app_key: String,
    fields: HashMap<String, String>,
}

impl SignedForm {
    pub fn required(&self, name: &str) -> Result<&str, ApiReply> {
        match self.fields.get(name).map(|v| v.as_str()) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ServiceError::bad_parameter(format!("missing field '{name}'")).into()),
        }
    }

    pub fn optional(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiReply> {
        match self.optional(name) {
            None => Ok(default),
            Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(_) => Err(ServiceError::bad_parameter(format!(
                "field '{name}' must be true or false"
            ))
            .into()),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiReply> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ServiceError::bad_parameter(format!("missing header '{name}'")).into())
}

impl FromRequest<Arc<ServerState>> for SignedForm {
    type Rejection = ApiReply;

    async fn from_request(req: Request, state: &Arc<ServerState>) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let app_key = header(&headers, "AppKey")?;
        let signed = SignedRequest {
            app_key,
            nonce: header(&headers, "Nonce")?,
            cur_time: header(&headers, "CurTime")?,
            checksum: header(&headers, "CheckSum")?,
        };
        let app = state.services.apps.verify(signed).await?;
        let body = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                ServiceError::bad_parameter(format!("body is larger than {MAX_FORM_BYTES} bytes"))
            })?;
        let fields = parse_form(&body)?;
        Ok(SignedForm {
            app_key: app.app_key,
            fields,
        })
    }
}

pub fn parse_form(body: &Bytes) -> Result<HashMap<String, String>, ServiceError> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map(|pairs| pairs.into_iter().collect())
        .map_err(|e| ServiceError::bad_parameter(format!("body is not a form: {e}")))
}

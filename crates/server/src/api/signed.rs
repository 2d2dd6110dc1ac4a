//! The signed form request of the server API: verified headers plus the
//! form fields, with clear errors for anything missing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

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
    let Some(value) = headers.get(name).filter(|v| !v.is_empty()) else {
        return Err(ServiceError::bad_parameter(format!("missing header '{name}'")).into());
    };
    value.to_str().map_err(|_| {
        ServiceError::bad_parameter(format!(
            "malformed header '{name}': only visible ASCII characters are allowed"
        ))
        .into()
    })
}

/// Whether the request says its body is a URL-encoded form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// HTTP 415, in plain text: the body is not a form.
pub fn unsupported_media_type() -> Response {
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "the body must be a form: Content-Type: application/x-www-form-urlencoded\n",
    )
        .into_response()
}

/// Reads a request's body (at most [`MAX_FORM_BYTES`]) as a form.
pub async fn read_form(request: Request) -> Result<HashMap<String, String>, ApiReply> {
    let body = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            ServiceError::bad_parameter(format!("body is larger than {MAX_FORM_BYTES} bytes"))
        })?;
    Ok(parse_form(&body)?)
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
        state.api_called_for(&app.app_key);
        let fields = read_form(req).await?;
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

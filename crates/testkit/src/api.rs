//! A client of the server API that signs requests as an app backend does.

use anyhow::Context;
use sha1::{Digest, Sha1};

#[derive(Clone)]
pub struct ServerApi {
    http: reqwest::Client,
    base: String,
    pub app_key: String,
    app_secret: String,
}

/// The four signature headers, for tests that forge them.
pub struct Signature {
    pub nonce: String,
    pub cur_time: String,
    pub checksum: String,
}

pub fn checksum(app_secret: &str, nonce: &str, cur_time: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(format!("{app_secret}{nonce}{cur_time}").as_bytes());
    hex::encode(sha.finalize())
}

impl ServerApi {
    pub fn new(base: &str, app_key: &str, app_secret: &str) -> ServerApi {
        ServerApi {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            app_key: app_key.to_owned(),
            app_secret: app_secret.to_owned(),
        }
    }

    /// A fresh, correct signature.
    pub fn sign(&self) -> Signature {
        let nonce = hex::encode(rand::random::<[u8; 12]>());
        let cur_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let checksum = checksum(&self.app_secret, &nonce, &cur_time);
        Signature {
            nonce,
            cur_time,
            checksum,
        }
    }

    /// POSTs a signed form and returns the JSON answer (whatever its code).
    /// An answer that is not JSON is an error quoting what the server said.
    pub async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<serde_json::Value> {
        self.post_signed(path, form, &self.sign()).await
    }

    pub async fn post_signed(
        &self,
        path: &str,
        form: &[(&str, &str)],
        signature: &Signature,
    ) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("AppKey", &self.app_key)
            .header("Nonce", &signature.nonce)
            .header("CurTime", &signature.cur_time)
            .header("CheckSum", &signature.checksum)
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(form_body(form))
            .send()
            .await
            .with_context(|| format!("POST {}{path}", self.base))?;
        json_answer(response, &self.base, path).await
    }

    /// The operator API (`/admin/...`) with the data directory's admin token.
    pub async fn admin_post(
        &self,
        admin_token: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .post(format!("{}{}", self.base, path))
            .bearer_auth(admin_token)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
            .await
            .with_context(|| format!("POST {}{path}", self.base))?;
        json_answer(response, &self.base, path).await
    }
}

fn form_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The JSON of an answer; otherwise an error with its status and first
/// line (an HTTP client pointed at the TCP gateway is told so by it).
async fn json_answer(
    response: reqwest::Response,
    base: &str,
    path: &str,
) -> anyhow::Result<serde_json::Value> {
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("answer of {base}{path}"))?;
    serde_json::from_str(&text).map_err(|_| {
        let said = text.lines().take(2).collect::<Vec<_>>().join(" ");
        anyhow::anyhow!("{base}{path} answered {status}: {said}")
    })
}

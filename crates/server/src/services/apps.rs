//! Apps (tenants) and the server API's request signature.

use std::sync::Arc;

use sha1::{Digest, Sha1};
use tidings_proto::Code;
use tidings_store::{App, Store};

use crate::{now_ms, ServiceError};

pub struct AppService {
    store: Arc<dyn Store>,
    window_secs: u64,
}

/// The four signature headers of a server-API request.
pub struct SignedRequest<'a> {
    pub app_key: &'a str,
    pub nonce: &'a str,
    pub cur_time: &'a str,
    pub checksum: &'a str,
}

impl AppService {
    pub fn new(store: Arc<dyn Store>, window_secs: u64) -> AppService {
        AppService { store, window_secs }
    }

    pub async fn create(&self, name: &str) -> Result<App, ServiceError> {
        let name = name.trim();
        if name.chars().count() > 64 {
            return Err(ServiceError::bad_parameter(
                "name is longer than 64 characters",
            ));
        }
        let app = App {
            app_key: random_hex(16),
            app_secret: random_hex(16),
            name: if name.is_empty() {
                "default".into()
            } else {
                name.into()
            },
            created_at: now_ms(),
        };
        Ok(self.store.create_app(app).await?)
    }

    /// Checks AppKey, CurTime, Nonce and CheckSum = hex(SHA1(AppSecret + Nonce + CurTime)).
    pub async fn verify(&self, req: SignedRequest<'_>) -> Result<App, ServiceError> {
        if req.nonce.is_empty() || req.nonce.len() > 128 {
            return Err(ServiceError::bad_parameter(
                "Nonce must be 1 to 128 characters",
            ));
        }
        let app = self.store.app(req.app_key).await?.ok_or_else(|| {
            ServiceError::new(
                Code::Forbidden,
                format!("unknown AppKey {}", crate::echo(req.app_key)),
            )
        })?;
        let expected = checksum(&app.app_secret, req.nonce, req.cur_time);
        if !constant_time_eq(
            expected.as_bytes(),
            req.checksum.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(ServiceError::new(
                Code::Forbidden,
                "CheckSum does not match SHA1(AppSecret + Nonce + CurTime)",
            ));
        }
        let cur_time: i64 = req
            .cur_time
            .parse()
            .map_err(|_| ServiceError::bad_parameter("CurTime must be seconds since the epoch"))?;
        let now = now_ms();
        let skew = (now / 1000 - cur_time).abs();
        if skew > self.window_secs as i64 {
            return Err(ServiceError::new(
                Code::Forbidden,
                format!(
                    "CurTime is {skew} s away from server time (limit {} s)",
                    self.window_secs
                ),
            ));
        }
        let window_ms = self.window_secs as i64 * 1000 * 2;
        if !self
            .store
            .record_nonce(&app.app_key, req.nonce, now, window_ms)
            .await?
        {
            return Err(ServiceError::new(
                Code::Forbidden,
                "Nonce was already used; send a fresh Nonce per request",
            ));
        }
        Ok(app)
    }
}

pub fn checksum(app_secret: &str, nonce: &str, cur_time: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(app_secret.as_bytes());
    sha.update(nonce.as_bytes());
    sha.update(cur_time.as_bytes());
    hex::encode(sha.finalize())
}

pub fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn checksum_is_lowercase_sha1_hex() {
        // sha1("secret" + "nonce" + "1700000000")
        let sum = super::checksum("secret", "nonce", "1700000000");
        assert_eq!(sum.len(), 40);
        assert_eq!(sum, sum.to_lowercase());
        assert_ne!(sum, super::checksum("secret", "nonce", "1700000001"));
    }
}

use std::path::PathBuf;
use std::time::Duration;

use crate::SdkError;

/// Where the server's gateway listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddress {
    /// TCP gateway, `host:port`.
    Tcp(String),
    /// WebSocket gateway, a full `ws://host:port/path` URL.
    WebSocket(String),
    /// The server's HTTP address, `http://host:port`: the SDK asks it for
    /// the gateways (`GET /lbs`, as NIM's SDK asks its LBS) at every
    /// connect and takes the TCP gateway, the WebSocket gateway if TCP
    /// cannot be reached.
    Http(String),
}

impl ServerAddress {
    /// Accepts `host:port` and `tcp://host:port` (TCP gateway),
    /// `ws://host:port/ws` (WebSocket gateway) and `http://host:port` (the
    /// server's HTTP address, where the SDK finds the gateways).
    pub fn parse(text: &str) -> Result<ServerAddress, SdkError> {
        let text = text.trim();
        let bad = || {
            SdkError::InvalidParameter(format!(
                "server address '{text}' is not host:port, tcp://, ws:// or http://"
            ))
        };
        let has_port = |hostport: &str| {
            hostport
                .rsplit_once(':')
                .map(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
                .unwrap_or(false)
        };
        if let Some(rest) = text.strip_prefix("ws://") {
            let hostport = rest.split('/').next().unwrap_or("");
            if !has_port(hostport) {
                return Err(bad());
            }
            let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
            let url = if path.is_empty() {
                format!("ws://{hostport}/ws")
            } else {
                text.to_owned()
            };
            return Ok(ServerAddress::WebSocket(url));
        }
        if let Some(rest) = text.strip_prefix("http://") {
            let hostport = rest.trim_end_matches('/');
            if !has_port(hostport) || hostport.contains('/') {
                return Err(bad());
            }
            return Ok(ServerAddress::Http(format!("http://{hostport}")));
        }
        let hostport = text.strip_prefix("tcp://").unwrap_or(text);
        if has_port(hostport) && !hostport.contains('/') {
            return Ok(ServerAddress::Tcp(hostport.to_owned()));
        }
        Err(bad())
    }
}

pub use tidings_proto::client_type;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub app_key: String,
    pub server: ServerAddress,
    /// Other nodes of the same deployment, tried in turn when the current
    /// one cannot be reached or drops the connection.
    pub alternates: Vec<ServerAddress>,
    /// Each account's local database lives under this directory.
    pub data_dir: PathBuf,
    /// NIM client type of this device (see [`client_type`]).
    pub client_type: u32,
    pub heartbeat_interval: Duration,
    /// Reconnect when the server sent nothing for this long.
    pub idle_timeout: Duration,
    /// Connecting or logging in longer than this fails (408); a request on
    /// a live connection unanswered this long makes the SDK reconnect and resend.
    pub request_timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

impl ClientConfig {
    pub fn new(
        app_key: impl Into<String>,
        server: ServerAddress,
        data_dir: impl Into<PathBuf>,
    ) -> ClientConfig {
        ClientConfig {
            app_key: app_key.into(),
            server,
            alternates: Vec::new(),
            data_dir: data_dir.into(),
            client_type: client_type::PC,
            heartbeat_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            request_timeout: Duration::from_secs(15),
            reconnect_min: Duration::from_millis(200),
            reconnect_max: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ServerAddress::*;
    use super::*;

    #[test]
    fn parses_every_address_form() {
        assert_eq!(
            ServerAddress::parse("127.0.0.1:9431").ok(),
            Some(Tcp("127.0.0.1:9431".into()))
        );
        assert_eq!(
            ServerAddress::parse("tcp://h:1").ok(),
            Some(Tcp("h:1".into()))
        );
        assert_eq!(
            ServerAddress::parse("http://h:9430").ok(),
            Some(Http("http://h:9430".into()))
        );
        assert_eq!(
            ServerAddress::parse("http://h:9430/").ok(),
            Some(Http("http://h:9430".into()))
        );
        assert_eq!(
            ServerAddress::parse("ws://h:9430/ws").ok(),
            Some(WebSocket("ws://h:9430/ws".into()))
        );
        assert_eq!(
            ServerAddress::parse("ws://h:9430").ok(),
            Some(WebSocket("ws://h:9430/ws".into()))
        );
        assert_eq!(
            ServerAddress::parse("ws://h:9430/").ok(),
            Some(WebSocket("ws://h:9430/ws".into()))
        );
        for bad in ["", "nohost", "h:notaport", "ftp://h:1", "http://h"] {
            assert!(ServerAddress::parse(bad).is_err(), "{bad}");
        }
    }
}

//! The gateways of a server, asked of its HTTP address (`GET /lbs`), as
//! NIM's SDK asks its LBS: the one address a user knows gives the TCP and
//! WebSocket gateways of the deployment.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{SdkError, ServerAddress};

/// Most bytes of an answer read.
const MAX_ANSWER: u64 = 64 * 1024;

/// The gateways `base` (`http://host:port`) lists, TCP first. A server
/// without `/lbs` (404) is taken to serve WebSocket at `/ws`.
pub async fn gateways(base: &str) -> Result<Vec<ServerAddress>, SdkError> {
    let hostport = base.trim_start_matches("http://");
    let unreachable =
        |e: &dyn std::fmt::Display| SdkError::Connection(format!("cannot reach {base}: {e}"));
    let mut stream = TcpStream::connect(hostport)
        .await
        .map_err(|e| unreachable(&e))?;
    let request = format!(
        "GET /lbs HTTP/1.1\r\nHost: {hostport}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| unreachable(&e))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| unreachable(&e))?;
    parse_answer(base, &answer)
}

fn parse_answer(base: &str, answer: &[u8]) -> Result<Vec<ServerAddress>, SdkError> {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(not_http(base, &text));
    };
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !head.starts_with("HTTP/1.") {
        return Err(not_http(base, &text));
    }
    match status {
        "200" => {}
        "404" => {
            let hostport = base.trim_start_matches("http://");
            return Ok(vec![ServerAddress::WebSocket(format!(
                "ws://{hostport}/ws"
            ))]);
        }
        _ => {
            let said = body.lines().next().unwrap_or("").trim();
            return Err(SdkError::Connection(format!(
                "{base} answered {status} to GET /lbs: {said}"
            )));
        }
    }
    let listed: serde_json::Value = serde_json::from_str(body.trim()).map_err(|e| {
        SdkError::Connection(format!(
            "{base}/lbs answered something other than JSON: {e}"
        ))
    })?;
    let list = |key: &str| -> Vec<String> {
        listed[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut gateways: Vec<ServerAddress> = list("tcp")
        .into_iter()
        .filter_map(|a| ServerAddress::parse(&a).ok())
        .filter(|a| matches!(a, ServerAddress::Tcp(_)))
        .collect();
    gateways.extend(
        list("ws")
            .into_iter()
            .filter_map(|a| ServerAddress::parse(&a).ok())
            .filter(|a| matches!(a, ServerAddress::WebSocket(_))),
    );
    if gateways.is_empty() {
        return Err(SdkError::Connection(format!("{base}/lbs lists no gateway")));
    }
    Ok(gateways)
}

/// The address answered something other than HTTP: most likely the TCP
/// gateway's port where the HTTP port was meant.
fn not_http(base: &str, answer: &str) -> SdkError {
    let hint = if answer.is_empty() || !answer.is_char_boundary(answer.len().min(4)) {
        String::new()
    } else {
        " (is it the TCP gateway's port? Give the HTTP port, 9430 by default)".to_owned()
    };
    SdkError::Connection(format!("{base} did not answer HTTP{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_gateways_tcp_first() {
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"code\":200,\"ws\":[\"ws://h:9430/ws\"],\"tcp\":[\"h:9431\",\"bad\"]}";
        let gateways = parse_answer("http://h:9430", answer.as_bytes()).unwrap_or_default();
        assert_eq!(
            gateways,
            vec![
                ServerAddress::Tcp("h:9431".into()),
                ServerAddress::WebSocket("ws://h:9430/ws".into())
            ]
        );
    }

    #[test]
    fn an_older_server_without_lbs_is_reached_over_websocket() {
        let answer = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            parse_answer("http://h:9430", answer.as_bytes()).ok(),
            Some(vec![ServerAddress::WebSocket("ws://h:9430/ws".into())])
        );
    }

    #[test]
    fn a_tcp_gateway_or_a_stranger_is_named_as_such() {
        let e = parse_answer("http://h:9431", b"\0\0\0\x10garbage").err();
        assert!(matches!(e, Some(SdkError::Connection(m)) if m.contains("did not answer HTTP")));
        let e = parse_answer(
            "http://h:9431",
            b"HTTP/1.1 400 Bad Request\r\n\r\nThis is the Tidings TCP gateway",
        )
        .err();
        assert!(matches!(e, Some(SdkError::Connection(m)) if m.contains("TCP gateway")));
    }
}

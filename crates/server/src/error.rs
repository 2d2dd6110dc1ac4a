use tidings_proto::Code;
use tidings_store::StoreError;

/// A refusal by a service: the NIM code the peer sees and a readable reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub code: Code,
    pub message: String,
}

impl ServiceError {
    pub fn new(code: Code, message: impl Into<String>) -> ServiceError {
        ServiceError {
            code,
            message: message.into(),
        }
    }

    pub fn bad_parameter(message: impl Into<String>) -> ServiceError {
        ServiceError::new(Code::BadParameter, message)
    }
}

/// Longest part of a peer's value an error message repeats.
const ECHO_CHARS: usize = 64;

/// A value a peer sent, quoted for an error message: whole when short,
/// else its first [`ECHO_CHARS`] characters and how long it was, so an
/// answer never grows with what the peer sent.
pub fn echo(value: &str) -> String {
    match value.char_indices().nth(ECHO_CHARS) {
        None => format!("'{value}'"),
        Some((cut, _)) => format!("'{}…' ({} bytes)", &value[..cut], value.len()),
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        if e.code() == Code::ServerError {
            tracing::error!(error = %e, "store failure");
            ServiceError::new(Code::ServerError, "internal storage error")
        } else {
            ServiceError::new(e.code(), e.to_string())
        }
    }
}

impl From<tidings_bus::BusError> for ServiceError {
    fn from(e: tidings_bus::BusError) -> ServiceError {
        tracing::error!(error = %e, "bus failure");
        ServiceError::new(Code::ServerError, "internal routing error")
    }
}

#[cfg(test)]
mod tests {
    use super::echo;

    #[test]
    fn long_values_are_cut_in_error_messages() {
        assert_eq!(echo("bob"), "'bob'");
        let long = "é".repeat(100_000);
        let quoted = echo(&long);
        assert!(quoted.len() < 200, "{quoted}");
        assert!(quoted.ends_with("(200000 bytes)"), "{quoted}");
    }
}

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

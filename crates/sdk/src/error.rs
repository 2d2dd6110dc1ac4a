use tidings_proto::Code;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SdkError {
    /// The server refused: NIM code and its reason.
    #[error("server refused ({code}): {message}")]
    Server { code: u32, message: String },
    #[error("bad parameter: {0}")]
    InvalidParameter(String),
    #[error("not logged in")]
    NotLoggedIn,
    #[error("cannot reach the server: {0}")]
    Connection(String),
    #[error("no answer in time")]
    Timeout,
    #[error("local database: {0}")]
    LocalStore(String),
    #[error("client stopped")]
    Stopped,
}

impl SdkError {
    /// The NIM error code of this error.
    pub fn code(&self) -> u32 {
        match self {
            SdkError::Server { code, .. } => *code,
            SdkError::InvalidParameter(_) => Code::BadParameter.as_u32(),
            SdkError::NotLoggedIn => Code::Forbidden.as_u32(),
            SdkError::Connection(_) | SdkError::Timeout => Code::Timeout.as_u32(),
            SdkError::LocalStore(_) | SdkError::Stopped => Code::ServerError.as_u32(),
        }
    }

    pub(crate) fn server(code: u32, message: impl Into<String>) -> SdkError {
        SdkError::Server {
            code,
            message: message.into(),
        }
    }
}

impl From<rusqlite::Error> for SdkError {
    fn from(e: rusqlite::Error) -> SdkError {
        SdkError::LocalStore(e.to_string())
    }
}

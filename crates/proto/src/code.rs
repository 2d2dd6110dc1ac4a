//! NIM result codes, shared by server, SDK and bindings.

/// A NIM result code. The numeric values are the protocol's; never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Code {
    Ok = 200,
    BadToken = 302,
    Forbidden = 403,
    NotFound = 404,
    Timeout = 408,
    BadParameter = 414,
    TooFrequent = 416,
    Refused = 417,
    Banned = 422,
    ServerError = 500,
    Expired = 509,
    /// The recipient has the sender on its blacklist.
    BlockedByRecipient = 7101,
    /// Not a NIM code: the server is shutting down or full; reconnect later.
    Unavailable = 503,
}

impl Code {
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// The code for a number received from a peer; unknown numbers map to 500.
    pub fn from_u32(value: u32) -> Code {
        match value {
            200 => Code::Ok,
            302 => Code::BadToken,
            403 => Code::Forbidden,
            404 => Code::NotFound,
            408 => Code::Timeout,
            414 => Code::BadParameter,
            416 => Code::TooFrequent,
            417 => Code::Refused,
            422 => Code::Banned,
            503 => Code::Unavailable,
            509 => Code::Expired,
            7101 => Code::BlockedByRecipient,
            _ => Code::ServerError,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_u32())
    }
}

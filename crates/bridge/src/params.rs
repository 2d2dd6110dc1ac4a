//! Reading seed-002 parameters with clear 414 errors.

use serde_json::{Map, Value};
use tidings_sdk::{SessionId, SessionType};

use crate::NimError;

pub struct Params<'a>(&'a Map<String, Value>);

impl<'a> Params<'a> {
    pub fn of(value: &'a Value) -> Params<'a> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match value {
            Value::Object(map) => Params(map),
            _ => Params(EMPTY.get_or_init(Map::new)),
        }
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A required, non-empty string.
    pub fn string(&self, name: &str) -> Result<&'a str, NimError> {
        match self.present(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) => Err(NimError::bad_parameter(format!("{name} is empty"))),
            Some(_) => Err(NimError::bad_parameter(format!("{name} must be a string"))),
            None => Err(NimError::bad_parameter(format!("{name} is required"))),
        }
    }

    pub fn opt_string(&self, name: &str) -> Result<Option<&'a str>, NimError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(NimError::bad_parameter(format!("{name} must be a string"))),
        }
    }

    /// `sessionId` and `sessionType` (0 P2P, 1 team, 2 chatroom).
    pub fn session(&self) -> Result<SessionId, NimError> {
        let id = self.string("sessionId")?;
        let kind = match self.present("sessionType") {
            None => return Err(NimError::bad_parameter("sessionType is required")),
            Some(v) => v
                .as_u64()
                .and_then(|n| SessionType::from_u32(n as u32))
                .ok_or_else(|| {
                    NimError::bad_parameter("sessionType must be 0 (P2P), 1 (team) or 2 (chatroom)")
                })?,
        };
        Ok(SessionId {
            kind,
            id: id.to_owned(),
        })
    }

    /// `limit`: a number or numeric string, 1 to 100; default 100.
    pub fn limit(&self) -> Result<u32, NimError> {
        let bad = || NimError::bad_parameter("limit must be a number from 1 to 100");
        let n = match self.present("limit") {
            None => return Ok(100),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(bad)?,
            Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
        };
        if (1..=100).contains(&n) {
            Ok(n as u32)
        } else {
            Err(bad())
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, NimError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(NimError::bad_parameter(format!(
                "{name} must be true or false"
            ))),
        }
    }

    /// An optional non-negative whole number (a number or numeric string,
    /// as the seed writes times).
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, NimError> {
        let bad = || NimError::bad_parameter(format!("{name} must be a whole number >= 0"));
        match self.present(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// An optional JSON object, returned as JSON text.
    pub fn object_text(&self, name: &str) -> Result<Option<String>, NimError> {
        match self.present(name) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
            Some(_) => Err(NimError::bad_parameter(format!("{name} must be an object"))),
        }
    }

    /// `types`: an optional array of message type numbers.
    pub fn types(&self) -> Result<Option<Vec<u32>>, NimError> {
        let bad = || {
            NimError::bad_parameter(
                "types must be an array of message types (0,1,2,3,4,5,6,10,100)",
            )
        };
        match self.present("types") {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_u64().map(|n| n as u32).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad()),
        }
    }
}

//! Reading inbound socket payloads the way Spaces clients send them: loosely. A field
//! of the wrong JSON type reads as absent (as `value.get(..).and_then(Value::as_str)`
//! did), so a payload never fails to parse because of one odd field; each handler then
//! decides, as before, what an absent field means.

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `deserialize_with` for an optional field: `T` when the value reads as one, else
/// absent (`null` included).
pub fn field<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(T::deserialize(value).ok())
}

/// `deserialize_with` for a nested object field: `T` only when the value is a JSON
/// object (a struct would also read from an array).
pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(if value.is_object() { T::deserialize(value).ok() } else { None })
}

/// `deserialize_with` for a field whose presence matters even when it is `null` (such
/// as `loopbackMetadata`, echoed as sent): any value, `null` included, is `Some`.
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Reads `T` from any JSON value: its lenient fields make this infallible for an
/// object; anything else (or an odd nested shape) reads as `T::default()`.
pub fn from_value<T: DeserializeOwned + Default>(value: &Value) -> T {
    if value.is_object() { T::deserialize(value).unwrap_or_default() } else { T::default() }
}

/// An inbound payload that must be a JSON object: its typed reading, and the object
/// itself, which is echoed back in `*_FAILED` events and handed on as it was sent.
#[derive(Debug, Clone)]
pub struct Inbound<T> {
    /// The fields this server reads.
    pub fields: T,
    /// The payload exactly as sent.
    pub raw: Map<String, Value>,
}

impl<T: DeserializeOwned + Default> Inbound<T> {
    /// `None` when the payload is not an object (or did not arrive as JSON).
    pub fn parse(value: Option<Value>) -> Option<Self> {
        match value {
            Some(Value::Object(raw)) => {
                let fields = from_value(&Value::Object(raw.clone()));
                Some(Inbound { fields, raw })
            }
            _ => None,
        }
    }
}

/// `{_id}`: a reference to a message, user or space by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IdRef {
    /// The id (24 hexadecimal characters); read only when it is a string.
    #[serde(default, deserialize_with = "field", skip_serializing_if = "Option::is_none")]
    pub _id: Option<String>,
}

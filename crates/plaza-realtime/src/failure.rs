//! The error a socket is told, in `*_FAILED` events and `SESSION_ENDED`.

use plaza_core::CoreError;
use serde_json::{Value, json};

/// The same body a REST answer carries (`code`, `message`, and `fields` or `retryAfter`
/// when set), from the one place that shapes it.
pub(crate) fn error_body(error: &CoreError) -> Value {
    serde_json::to_value(plaza_http::error::ErrorBody::of(error))
        .unwrap_or_else(|_| json!({"code": error.code.as_str(), "message": error.message}))
}

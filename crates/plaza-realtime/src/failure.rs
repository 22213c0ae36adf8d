//! The error a socket is told, in `*_FAILED` events and `SESSION_ENDED`.

use plaza_core::CoreError;
use plaza_wire::ErrorBody;

/// The same body a REST answer carries (`code`, `message`, and `fields` or `retryAfter`
/// when set), from the one place that shapes it.
pub(crate) fn error_body(error: &CoreError) -> ErrorBody {
    ErrorBody::of(error)
}

//! The error body of every REST error answer and of every socket `*_FAILED` and
//! `SESSION_ENDED` event (`docs/errors.md`).

use plaza_core::CoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every error answer (`docs/errors.md`): `{code, message}` plus
/// `fields` or `retryAfter` when set, plus the RFC 6749 `error`/`error_description` pair
/// for OAuth codes. Sockets carry the same body in `error` of their `*_FAILED` events.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The stable, dotted error code (`topic.not_found`, ...): what clients branch on.
    #[schema(example = "topic.not_found")]
    pub code: String,
    /// A human-readable explanation; its wording may change.
    pub message: String,
    /// The fields of the request that were invalid, for `request.invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldErrorBody>>,
    /// Seconds to wait before trying again, for `request.rate_limited`.
    #[serde(rename = "retryAfter", skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The RFC 6749 error code, for OAuth errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The same text as `message`, for OAuth errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// The field's name as the request spelled it.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ErrorBody {
    /// The body of a core error: the one place that shapes it.
    pub fn of(error: &CoreError) -> Self {
        let oauth = error.code.oauth_error();
        ErrorBody {
            code: error.code.as_str().to_owned(),
            message: error.message.to_string(),
            fields: (!error.fields.is_empty()).then(|| {
                error
                    .fields
                    .iter()
                    .map(|f| FieldErrorBody { field: f.field.clone(), message: f.message.clone() })
                    .collect()
            }),
            retry_after: error.retry_after_secs,
            error: oauth.map(str::to_owned),
            error_description: oauth.map(|_| error.message.to_string()),
        }
    }

    /// A bare `{code, message}`, for refusals that are not core errors.
    pub fn bare(code: &str, message: &str) -> Self {
        ErrorBody {
            code: code.to_owned(),
            message: message.to_owned(),
            fields: None,
            retry_after: None,
            error: None,
            error_description: None,
        }
    }
}

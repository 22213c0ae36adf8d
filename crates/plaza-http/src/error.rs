use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plaza_core::{CoreError, ErrorCode};

/// A [`CoreError`] on its way out as an HTTP answer: the one place codes become statuses.
#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        ApiError(error)
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        ApiError(CoreError::new(code, message))
    }
}

/// The HTTP status of each code. Exhaustive on purpose: a new code must be placed here.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::RequestInvalid | ErrorCode::RequestMalformed => StatusCode::BAD_REQUEST,
        ErrorCode::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RequestUnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::RequestRateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RequestTimeout => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::FileNotFound => StatusCode::NOT_FOUND,
        ErrorCode::FileTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::FileQuotaExceeded | ErrorCode::FileUrlInvalid => StatusCode::FORBIDDEN,
        ErrorCode::FileTypeNotAllowed => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::FileUploadMismatch => StatusCode::BAD_REQUEST,
        ErrorCode::FileRangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        ErrorCode::MeetingNotFound
        | ErrorCode::MeetingAttendeeNotFound
        | ErrorCode::MeetingRecordingNotFound => StatusCode::NOT_FOUND,
        ErrorCode::MeetingAlreadyRecording => StatusCode::CONFLICT,
        ErrorCode::MeetingFull => StatusCode::CONFLICT,
        ErrorCode::MediaDisabled => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::MediaSessionNotFound => StatusCode::NOT_FOUND,
        ErrorCode::RouteNotFound => StatusCode::NOT_FOUND,
        ErrorCode::RouteMethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::AuthRequired
        | ErrorCode::AuthInvalidToken
        | ErrorCode::AuthInvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::AuthAccountDisabled
        | ErrorCode::AuthRegistrationClosed
        | ErrorCode::AuthInvitationRequired
        // A feature this server has off, like closed registration.
        | ErrorCode::MailNotConfigured
        | ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorCode::UserNotFound
        | ErrorCode::SettingsNotFound
        | ErrorCode::OAuthClientNotFound
        | ErrorCode::TopicNotFound
        | ErrorCode::TopicMemberNotFound
        | ErrorCode::InvitationNotFound
        | ErrorCode::MessageNotFound => StatusCode::NOT_FOUND,
        // The catalog: a concurrent update of a message is a 400.
        ErrorCode::MessageConflict => StatusCode::BAD_REQUEST,
        ErrorCode::MessageTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::TopicPasswordRequired
        | ErrorCode::TopicPasswordInvalid
        | ErrorCode::TopicArchived
        | ErrorCode::TopicMemberOnly => StatusCode::FORBIDDEN,
        ErrorCode::UserUsernameTaken
        | ErrorCode::TopicLastAdmin
        | ErrorCode::InvitationAccepted => StatusCode::CONFLICT,
        ErrorCode::OAuthInvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::OAuthInvalidRequest
        | ErrorCode::OAuthInvalidGrant
        | ErrorCode::OAuthUnauthorizedClient
        | ErrorCode::OAuthUnsupportedGrantType
        | ErrorCode::OAuthUnsupportedResponseType
        | ErrorCode::OAuthInvalidScope
        | ErrorCode::AuthResetTokenInvalid => StatusCode::BAD_REQUEST,
        ErrorCode::ResourceNotFound => StatusCode::NOT_FOUND,
        ErrorCode::ResourceConflict => StatusCode::CONFLICT,
        ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub use plaza_wire::{ErrorBody, FieldErrorBody};

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.0;
        let status = status_of(error.code);
        if status.is_server_error() {
            // Runs inside the request's span, so the log line carries its request id.
            tracing::error!(code = %error.code, error = %error, "request failed");
        }
        let mut response = (status, axum::Json(ErrorBody::of(&error))).into_response();
        let headers = response.headers_mut();
        if error.code == ErrorCode::OAuthInvalidClient {
            // RFC 6749 §5.2: clients authenticate with HTTP Basic here.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"plaza\""),
            );
        } else if status == StatusCode::UNAUTHORIZED {
            headers
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("jwt realm=\"plaza\""));
        }
        if let Some(seconds) = error.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_error_status_and_only_internal_ones_are_5xx() {
        for &code in ErrorCode::ALL {
            let status = status_of(code);
            assert!(status.is_client_error() || status.is_server_error(), "{code}");
            let server_side = matches!(
                code,
                ErrorCode::Internal | ErrorCode::ServiceUnavailable | ErrorCode::RequestTimeout
            );
            assert_eq!(status.is_server_error(), server_side, "{code}");
        }
    }
}

#[cfg(test)]
mod documentation {
    use super::*;

    /// `docs/errors.md` is what clients read: every code must be there with its status.
    #[test]
    fn every_code_is_documented_with_its_status() {
        let doc = include_str!("../../../docs/errors.md");
        for &code in ErrorCode::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), status_of(code).as_u16());
            assert!(doc.contains(&row), "docs/errors.md lacks the row {row}");
        }
    }
}

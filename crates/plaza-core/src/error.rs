use std::borrow::Cow;
use std::fmt;

use plaza_db::StoreError;

/// Every error Plaza reports, as a stable dotted code.
///
/// Transports map each code to a status exactly once (and exhaustively), so adding a
/// variant here forces a decision there. `docs/errors.md` lists them for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The input was understood but is not acceptable; `fields` says why.
    RequestInvalid,
    /// The body could not be parsed (bad JSON, wrong types, unknown fields).
    RequestMalformed,
    /// The body is larger than the server accepts.
    RequestTooLarge,
    /// The body's content type is not one this endpoint reads.
    RequestUnsupportedMediaType,
    /// Too many requests; `retry_after` says when to try again.
    RequestRateLimited,
    /// The server did not finish the request in `limits.request_timeout_secs`.
    RequestTimeout,
    /// No route has this path.
    RouteNotFound,
    /// The route exists but not with this method.
    RouteMethodNotAllowed,
    /// The endpoint needs an `Authorization` header.
    AuthRequired,
    /// The token is malformed, forged, expired or revoked.
    AuthInvalidToken,
    /// Wrong username or password.
    AuthInvalidCredentials,
    /// The account exists but a server admin disabled it.
    AuthAccountDisabled,
    /// Registration is closed on this server.
    AuthRegistrationClosed,
    /// Registration needs an invitation for this email.
    AuthInvitationRequired,
    /// The password-reset token is unknown, used, superseded or expired.
    AuthResetTokenInvalid,
    /// The caller may not do this.
    PermissionDenied,
    UserNotFound,
    UserUsernameTaken,
    SettingsNotFound,
    /// No such space, or it was deleted.
    TopicNotFound,
    /// The space has a PIN and none was sent (`spaces-x-space-password`).
    TopicPasswordRequired,
    /// The space PIN sent is wrong.
    TopicPasswordInvalid,
    /// The space is archived.
    TopicArchived,
    /// Only invited members may join the space.
    TopicMemberOnly,
    /// The change would leave the space without an admin.
    TopicLastAdmin,
    /// The user is not a member of the space.
    TopicMemberNotFound,
    InvitationNotFound,
    /// The invitation was already used by someone else.
    InvitationAccepted,
    /// No such message, or the caller cannot see it.
    MessageNotFound,
    /// The message changed since the caller read it (`modified` is stale).
    MessageConflict,
    /// The message content is larger than the server accepts.
    MessageTooLarge,
    /// No such file, or the caller may not read it.
    FileNotFound,
    /// The file is larger than the server accepts.
    FileTooLarge,
    /// The upload would take the user past their storage quota.
    FileQuotaExceeded,
    /// The server does not accept files of this type.
    FileTypeNotAllowed,
    /// The uploaded bytes do not match the announced type or length.
    FileUploadMismatch,
    /// The signed file URL is forged, altered or expired.
    FileUrlInvalid,
    /// The requested byte range lies outside the file.
    FileRangeNotSatisfiable,
    /// No such meeting in this space, or it has ended.
    MeetingNotFound,
    /// The person named is not in the meeting.
    MeetingAttendeeNotFound,
    /// No such recording in this meeting, or it is not running.
    MeetingRecordingNotFound,
    /// The meeting is already being recorded.
    MeetingAlreadyRecording,
    /// The meeting's media room holds `media.max_participants` people already.
    MeetingFull,
    /// This server runs no media plane (`media.enabled = false`).
    MediaDisabled,
    /// The media session named is not one of this connection's, or has ended.
    MediaSessionNotFound,
    OAuthInvalidRequest,
    OAuthInvalidClient,
    OAuthInvalidGrant,
    OAuthUnauthorizedClient,
    OAuthUnsupportedGrantType,
    OAuthUnsupportedResponseType,
    OAuthInvalidScope,
    OAuthClientNotFound,
    /// What the request addressed was gone by the time it was written (removed
    /// concurrently).
    ResourceNotFound,
    /// A concurrent write took what this one needed (a unique name, a slot).
    ResourceConflict,
    /// A dependency (the database) is not answering; try again later.
    ServiceUnavailable,
    /// The feature sends email and this server has no mail settings.
    MailNotConfigured,
    /// Something broke inside the server; details are in its log, never in the answer.
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation and exhaustiveness tests.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::RequestInvalid,
        ErrorCode::RequestMalformed,
        ErrorCode::RequestTooLarge,
        ErrorCode::RequestUnsupportedMediaType,
        ErrorCode::RequestRateLimited,
        ErrorCode::RequestTimeout,
        ErrorCode::RouteNotFound,
        ErrorCode::RouteMethodNotAllowed,
        ErrorCode::AuthRequired,
        ErrorCode::AuthInvalidToken,
        ErrorCode::AuthInvalidCredentials,
        ErrorCode::AuthAccountDisabled,
        ErrorCode::AuthRegistrationClosed,
        ErrorCode::AuthInvitationRequired,
        ErrorCode::AuthResetTokenInvalid,
        ErrorCode::PermissionDenied,
        ErrorCode::UserNotFound,
        ErrorCode::UserUsernameTaken,
        ErrorCode::SettingsNotFound,
        ErrorCode::TopicNotFound,
        ErrorCode::TopicPasswordRequired,
        ErrorCode::TopicPasswordInvalid,
        ErrorCode::TopicArchived,
        ErrorCode::TopicMemberOnly,
        ErrorCode::TopicLastAdmin,
        ErrorCode::TopicMemberNotFound,
        ErrorCode::InvitationNotFound,
        ErrorCode::InvitationAccepted,
        ErrorCode::MessageNotFound,
        ErrorCode::MessageConflict,
        ErrorCode::MessageTooLarge,
        ErrorCode::FileNotFound,
        ErrorCode::FileTooLarge,
        ErrorCode::FileQuotaExceeded,
        ErrorCode::FileTypeNotAllowed,
        ErrorCode::FileUploadMismatch,
        ErrorCode::FileUrlInvalid,
        ErrorCode::FileRangeNotSatisfiable,
        ErrorCode::MeetingNotFound,
        ErrorCode::MeetingAttendeeNotFound,
        ErrorCode::MeetingRecordingNotFound,
        ErrorCode::MeetingAlreadyRecording,
        ErrorCode::MeetingFull,
        ErrorCode::MediaDisabled,
        ErrorCode::MediaSessionNotFound,
        ErrorCode::OAuthInvalidRequest,
        ErrorCode::OAuthInvalidClient,
        ErrorCode::OAuthInvalidGrant,
        ErrorCode::OAuthUnauthorizedClient,
        ErrorCode::OAuthUnsupportedGrantType,
        ErrorCode::OAuthUnsupportedResponseType,
        ErrorCode::OAuthInvalidScope,
        ErrorCode::OAuthClientNotFound,
        ErrorCode::ResourceNotFound,
        ErrorCode::ResourceConflict,
        ErrorCode::ServiceUnavailable,
        ErrorCode::MailNotConfigured,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::RequestInvalid => "request.invalid",
            ErrorCode::RequestMalformed => "request.malformed",
            ErrorCode::RequestTooLarge => "request.too_large",
            ErrorCode::RequestUnsupportedMediaType => "request.unsupported_media_type",
            ErrorCode::RequestRateLimited => "request.rate_limited",
            ErrorCode::RequestTimeout => "request.timeout",
            ErrorCode::RouteNotFound => "route.not_found",
            ErrorCode::RouteMethodNotAllowed => "route.method_not_allowed",
            ErrorCode::AuthRequired => "auth.required",
            ErrorCode::AuthInvalidToken => "auth.invalid_token",
            ErrorCode::AuthInvalidCredentials => "auth.invalid_credentials",
            ErrorCode::AuthAccountDisabled => "auth.account_disabled",
            ErrorCode::AuthRegistrationClosed => "auth.registration_closed",
            ErrorCode::AuthInvitationRequired => "auth.invitation_required",
            ErrorCode::AuthResetTokenInvalid => "auth.reset_token_invalid",
            ErrorCode::PermissionDenied => "permission.denied",
            ErrorCode::UserNotFound => "user.not_found",
            ErrorCode::UserUsernameTaken => "user.username_taken",
            ErrorCode::SettingsNotFound => "settings.not_found",
            ErrorCode::TopicNotFound => "topic.not_found",
            ErrorCode::TopicPasswordRequired => "topic.password_required",
            ErrorCode::TopicPasswordInvalid => "topic.password_invalid",
            ErrorCode::TopicArchived => "topic.archived",
            ErrorCode::TopicMemberOnly => "topic.member_only",
            ErrorCode::TopicLastAdmin => "topic.last_admin",
            ErrorCode::TopicMemberNotFound => "topic.member_not_found",
            ErrorCode::InvitationNotFound => "invitation.not_found",
            ErrorCode::InvitationAccepted => "invitation.already_accepted",
            ErrorCode::MessageNotFound => "message.not_found",
            ErrorCode::MessageConflict => "message.modified_concurrently",
            ErrorCode::MessageTooLarge => "message.too_large",
            ErrorCode::FileNotFound => "file.not_found",
            ErrorCode::FileTooLarge => "file.too_large",
            ErrorCode::FileQuotaExceeded => "file.quota_exceeded",
            ErrorCode::FileTypeNotAllowed => "file.type_not_allowed",
            ErrorCode::FileUploadMismatch => "file.upload_mismatch",
            ErrorCode::FileUrlInvalid => "file.url_invalid",
            ErrorCode::FileRangeNotSatisfiable => "file.range_not_satisfiable",
            ErrorCode::MeetingNotFound => "meeting.not_found",
            ErrorCode::MeetingAttendeeNotFound => "meeting.attendee_not_found",
            ErrorCode::MeetingRecordingNotFound => "meeting.recording_not_found",
            ErrorCode::MeetingAlreadyRecording => "meeting.already_recording",
            ErrorCode::MeetingFull => "meeting.full",
            ErrorCode::MediaDisabled => "media.disabled",
            ErrorCode::MediaSessionNotFound => "media.session_not_found",
            ErrorCode::OAuthInvalidRequest => "oauth.invalid_request",
            ErrorCode::OAuthInvalidClient => "oauth.invalid_client",
            ErrorCode::OAuthInvalidGrant => "oauth.invalid_grant",
            ErrorCode::OAuthUnauthorizedClient => "oauth.unauthorized_client",
            ErrorCode::OAuthUnsupportedGrantType => "oauth.unsupported_grant_type",
            ErrorCode::OAuthUnsupportedResponseType => "oauth.unsupported_response_type",
            ErrorCode::OAuthInvalidScope => "oauth.invalid_scope",
            ErrorCode::OAuthClientNotFound => "oauth.client_not_found",
            ErrorCode::ResourceNotFound => "resource.not_found",
            ErrorCode::ResourceConflict => "resource.conflict",
            ErrorCode::ServiceUnavailable => "service.unavailable",
            ErrorCode::MailNotConfigured => "mail.not_configured",
            ErrorCode::Internal => "internal",
        }
    }

    /// The RFC 6749 `error` value for OAuth codes, which OAuth client libraries read.
    pub fn oauth_error(self) -> Option<&'static str> {
        match self {
            ErrorCode::OAuthInvalidRequest => Some("invalid_request"),
            ErrorCode::OAuthInvalidClient => Some("invalid_client"),
            ErrorCode::OAuthInvalidGrant => Some("invalid_grant"),
            ErrorCode::OAuthUnauthorizedClient => Some("unauthorized_client"),
            ErrorCode::OAuthUnsupportedGrantType => Some("unsupported_grant_type"),
            ErrorCode::OAuthUnsupportedResponseType => Some("unsupported_response_type"),
            ErrorCode::OAuthInvalidScope => Some("invalid_scope"),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rejected input field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A failed core operation: a code, a human message, and for internal errors the cause
/// (logged, never shown).
#[derive(Debug)]
pub struct CoreError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    pub fields: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
    pub cause: Option<anyhow::Error>,
}

impl CoreError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        CoreError {
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after_secs: None,
            cause: None,
        }
    }

    /// A validation failure on one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        CoreError {
            fields: vec![FieldError { field: field.clone(), message: message.clone() }],
            ..CoreError::new(ErrorCode::RequestInvalid, format!("{field}: {message}"))
        }
    }

    /// An internal failure; `cause` goes to the log only.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        CoreError {
            cause: Some(cause.into()),
            ..CoreError::new(ErrorCode::Internal, "internal server error")
        }
    }

    pub fn permission_denied(message: impl Into<Cow<'static, str>>) -> Self {
        CoreError::new(ErrorCode::PermissionDenied, message)
    }

    pub fn invalid_token() -> Self {
        CoreError::new(ErrorCode::AuthInvalidToken, "the token is invalid, expired or revoked")
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause:#})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CoreError {}

/// Store failures reaching the core unhandled are internal: the services turn the
/// meaningful ones (`NotFound`, `Conflict`) into domain codes before this applies.
impl From<StoreError> for CoreError {
    fn from(error: StoreError) -> Self {
        match error {
            // Temporary: the client may retry (503), and a load balancer may route around.
            StoreError::Unavailable(_) => CoreError {
                cause: Some(error.into()),
                ..CoreError::new(
                    ErrorCode::ServiceUnavailable,
                    "the database is not answering; try again",
                )
            },
            // A row gone or taken between the service's read and its write: the client's
            // request lost a race, which is no server failure.
            StoreError::NotFound => CoreError::new(
                ErrorCode::ResourceNotFound,
                "what this request addressed no longer exists",
            ),
            StoreError::Conflict { .. } => CoreError::new(
                ErrorCode::ResourceConflict,
                "a concurrent change took what this request needed; read again and retry",
            ),
            other => CoreError::internal(other),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_races_are_client_errors_and_failures_are_internal() {
        let code = |e: StoreError| CoreError::from(e).code;
        assert_eq!(code(StoreError::NotFound), ErrorCode::ResourceNotFound);
        assert_eq!(
            code(StoreError::Conflict { constraint: "x".into() }),
            ErrorCode::ResourceConflict
        );
        assert_eq!(
            code(StoreError::Unavailable(anyhow::anyhow!("down"))),
            ErrorCode::ServiceUnavailable
        );
        assert_eq!(code(StoreError::Other(anyhow::anyhow!("bug"))), ErrorCode::Internal);
    }

    #[test]
    fn codes_are_unique_and_dotted() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert!(code.as_str() == "internal" || code.as_str().contains('.'));
        }
    }
}

//! Extractors that turn requests into core input, with Plaza's error shape on failure.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use plaza_core::identity::{Credential, Principal};
use plaza_core::{CoreError, ErrorCode};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// Reads the whole body within the configured limit, answering 413 in our shape.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        let response = rejection.into_response();
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::RequestTooLarge, "the request body is too large")
        } else {
            ApiError::new(ErrorCode::RequestMalformed, "the request body could not be read")
        }
    })
}

/// NUL cannot be stored as text (PostgreSQL refuses it) and has no place in any field,
/// so it is refused at the edge: raw, JSON-escaped (`\\u0000`) or, in percent-encoded
/// input, `%00`.
fn refuse_nul(bytes: &[u8], percent_encoded: bool) -> Result<(), ApiError> {
    let lower = bytes.to_ascii_lowercase();
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    let escaped = if percent_encoded { contains(b"%00") } else { contains(b"\\u0000") };
    if bytes.contains(&0) || escaped {
        return Err(ApiError(CoreError::invalid("body", "text must not contain NUL characters")));
    }
    Ok(())
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_nul(bytes, false)?;
    serde_json::from_slice(bytes).map_err(|e| {
        // serde's message names the field and the expected type; its position is noise.
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        ApiError::new(ErrorCode::RequestMalformed, format!("invalid JSON body: {message}"))
    })
}

fn looks_like_json(bytes: &[u8]) -> bool {
    matches!(bytes.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
}

/// A JSON body. The declared content type is not trusted: some Spaces clients (and
/// `curl -d`) send JSON labelled as a form, so a body that looks like JSON is read as
/// JSON; a real form body is refused with 415.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = is_form(request.headers());
        let bytes = read_body(request, state).await?;
        if form && !looks_like_json(&bytes) {
            return Err(ApiError::new(
                ErrorCode::RequestUnsupportedMediaType,
                "this endpoint takes a JSON body",
            ));
        }
        parse_json(&bytes).map(Json)
    }
}

/// A body that may be JSON or `application/x-www-form-urlencoded`; an empty body is
/// `T::default()`.
pub struct JsonOrForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = is_form(request.headers());
        let bytes = read_body(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonOrForm(T::default()));
        }
        if form && !looks_like_json(&bytes) {
            refuse_nul(&bytes, true)?;
            return serde_urlencoded::from_bytes(&bytes).map(JsonOrForm).map_err(|e| {
                ApiError::new(ErrorCode::RequestMalformed, format!("invalid form body: {e}"))
            });
        }
        parse_json(&bytes).map(JsonOrForm)
    }
}

/// The authenticated caller; 401 `auth.required` without an `Authorization` header.
pub struct Auth(pub Principal);

pub(crate) fn credential(parts: &Parts) -> Result<Option<Credential>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| ApiError(CoreError::invalid_token()))?;
    crate::headers::credential(value).map(Some).ok_or_else(|| ApiError(CoreError::invalid_token()))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = credential(parts)?.ok_or_else(|| {
            ApiError::new(ErrorCode::AuthRequired, "this endpoint needs an Authorization header")
        })?;
        Ok(Auth(state.identity.authenticate(&credential).await?))
    }
}

/// The caller if an `Authorization` header was sent (and is valid), else `None`.
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match credential(parts)? {
            Some(credential) => {
                Ok(MaybeAuth(Some(state.identity.authenticate(&credential).await?)))
            }
            None => Ok(MaybeAuth(None)),
        }
    }
}

/// Query parameters that hold a list: repeated, their values are joined with commas
/// (the comma list every one of them also takes). Every other parameter is a scalar,
/// whose last value wins.
const LIST_PARAMETERS: [&str; 5] = ["topictype", "filtertype", "category", "fileKeys", "fileKey"];

/// The query with repeated parameters folded: lists joined, scalars' last value kept,
/// each at the place it first appeared.
fn fold_repeats(query: &str) -> String {
    let mut folded: Vec<(String, String)> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match folded.iter_mut().find(|(k, _)| *k == key) {
            Some((_, kept)) if LIST_PARAMETERS.contains(&key.as_ref()) => {
                if kept.is_empty() {
                    *kept = value.into_owned();
                } else if !value.is_empty() {
                    kept.push(',');
                    kept.push_str(&value);
                }
            }
            Some((_, kept)) => *kept = value.into_owned(),
            None => folded.push((key.into_owned(), value.into_owned())),
        }
    }
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(folded).finish()
}

/// A query string, with Plaza's error shape when it does not parse. Clients repeat
/// parameters: see [`fold_repeats`].
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        refuse_nul(query.as_bytes(), true)?;
        serde_urlencoded::from_str(&fold_repeats(query)).map(Query).map_err(|e| {
            ApiError::new(ErrorCode::RequestMalformed, format!("invalid query string: {e}"))
        })
    }
}

/// Path parameters, with Plaza's error shape when they do not decode.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        refuse_nul(parts.uri.path().as_bytes(), true)?;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::new(
                ErrorCode::RequestMalformed,
                format!("invalid path: {}", rejection.body_text()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_fold_into_lists_or_their_last_value() {
        assert_eq!(
            fold_repeats("filtertype=group&size=5&filtertype=direct&size=7"),
            "filtertype=group%2Cdirect&size=7"
        );
        assert_eq!(fold_repeats("category=&category=idea&category=task"), "category=idea%2Ctask");
        assert_eq!(fold_repeats("search=a%26b&x"), "search=a%26b&x=");
        assert_eq!(fold_repeats(""), "");
    }
}

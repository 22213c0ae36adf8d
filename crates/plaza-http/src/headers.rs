//! The HTTP headers Plaza reads into domain values: `Authorization` (a
//! [`Credential`]) and `Range` (a [`ByteRange`]). They are the transport's to parse;
//! the core only sees what they mean.

use plaza_core::files::ByteRange;
use plaza_core::identity::Credential;

fn unquote(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')).map(str::trim).unwrap_or(text)
}

/// Parses an `Authorization` header value: the scheme is case-insensitive, and the
/// quotes the Spaces docs put around example values are tolerated, around the whole
/// value or around the token.
pub(crate) fn credential(value: &str) -> Option<Credential> {
    let value = unquote(value);
    let (scheme, token) = value.split_once(char::is_whitespace)?;
    let token = unquote(token);
    if token.is_empty() || token.contains(char::is_whitespace) {
        return None;
    }
    let token = token.to_owned();
    match scheme.to_ascii_lowercase().as_str() {
        "jwt" => Some(Credential::Jwt(token)),
        "bearer" => Some(Credential::Bearer(token)),
        "service_app" => Some(Credential::ServiceApp(token)),
        _ => None,
    }
}

/// Parses a single-range `Range` header value; `None` for anything else (a server may
/// then serve the whole file, as RFC 9110 allows).
pub(crate) fn byte_range(header: &str) -> Option<ByteRange> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    match (start.trim(), end.trim()) {
        ("", n) => n.parse().ok().map(ByteRange::Suffix),
        (a, "") => a.parse().ok().map(ByteRange::From),
        (a, b) => {
            let (a, b) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b).then_some(ByteRange::Bounded(a, b))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_each_scheme_case_insensitively_with_quotes() {
        assert_eq!(credential("jwt abc"), Some(Credential::Jwt("abc".into())));
        assert_eq!(credential("JWT abc"), Some(Credential::Jwt("abc".into())));
        assert_eq!(credential("\"jwt abc\""), Some(Credential::Jwt("abc".into())));
        assert_eq!(credential("Bearer \"f746\""), Some(Credential::Bearer("f746".into())));
        assert_eq!(credential("service_app x.y.z"), Some(Credential::ServiceApp("x.y.z".into())));
        assert_eq!(credential("basic abc"), None);
        assert_eq!(credential("jwt"), None);
        assert_eq!(credential("jwt a b"), None);
        assert_eq!(credential(""), None);
    }

    #[test]
    fn ranges_parse_like_rfc_9110() {
        assert_eq!(byte_range("bytes=0-9"), Some(ByteRange::Bounded(0, 9)));
        assert_eq!(byte_range("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(byte_range("bytes=-3"), Some(ByteRange::Suffix(3)));
        assert_eq!(byte_range("bytes=9-1"), None);
        assert_eq!(byte_range("bytes=0-1,4-5"), None);
        assert_eq!(byte_range("items=0-1"), None);
    }

    /// Text biased towards what these parsers look for.
    fn texty() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ -~]{0,80}",
            "(jwt|bearer|service_app|JWT|\"jwt)[ \t\"]{0,3}[A-Za-z0-9._=\" -]{0,60}",
            "bytes=[0-9 ,-]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn authorization_headers_parse_or_are_refused(value in texty()) {
            if let Some(credential) = credential(&value) {
                let token = match credential {
                    Credential::Jwt(t) | Credential::Bearer(t) | Credential::ServiceApp(t) => t,
                };
                prop_assert!(!token.is_empty() && !token.contains(char::is_whitespace));
            }
        }

        #[test]
        fn ranges_stay_inside_the_file(header in texty(), size in 0u64..10_000_000) {
            if let Some((start, end)) = byte_range(&header).and_then(|r| r.resolve(size)) {
                prop_assert!(start < end && end <= size);
            }
        }
    }
}

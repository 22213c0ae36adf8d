//! Property tests over what the core reads from clients before any check has run:
//! JWTs, byte ranges, the `/users/me/spaces` query (its regex search and page tokens
//! included). The header parsers are the transport's (`plaza-http/src/headers.rs`). Each must answer, never panic,
//! and keep its own promises (a range inside the file, a bounded pattern).

use proptest::prelude::*;

use crate::files::ByteRange;
use crate::identity::SigningKeys;
use crate::spaces::PageToken;
use crate::spaces::listing::search_regex;

/// Text biased towards what these parsers look for.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        "(jwt|bearer|service_app|JWT|\"jwt)[ \t\"]{0,3}[A-Za-z0-9._=\" -]{0,60}",
        "bytes=[0-9 ,-]{0,30}",
        "[\\[\\](){}*+?|^$.\\\\a-z0-9]{0,300}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn resolved_ranges_stay_inside_the_file(
        kind in 0u8..3, a in 0u64..20_000_000, b in 0u64..20_000_000, size in 0u64..10_000_000,
    ) {
        let range = match kind {
            0 => ByteRange::Bounded(a.min(b), a.max(b)),
            1 => ByteRange::From(a),
            _ => ByteRange::Suffix(a),
        };
        if let Some((start, end)) = range.resolve(size) {
            prop_assert!(start < end && end <= size);
        }
    }

    #[test]
    fn search_patterns_compile_bounded_or_are_refused(pattern in texty()) {
        match search_regex(&pattern) {
            Ok(regex) => {
                prop_assert!(pattern.chars().count() <= 256);
                // Matching is linear: a long subject finishes.
                let _ = regex.is_match(&"a".repeat(10_000));
            }
            Err(error) => prop_assert_eq!(error.code, crate::ErrorCode::RequestInvalid),
        }
    }

    #[test]
    fn page_tokens_decode_or_are_refused(token in texty()) {
        if let Err(error) = PageToken::decode(&token) {
            prop_assert_eq!(error.code, crate::ErrorCode::RequestInvalid);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn tokens_that_are_not_ours_are_refused(token in texty(), parts in proptest::collection::vec("[A-Za-z0-9_-]{0,40}", 0..5)) {
        let (keys, _) = SigningKeys::generate().unwrap_or_else(|e| panic!("{e}"));
        let joined = parts.join(".");
        for candidate in [token.as_str(), joined.as_str()] {
            let verified = keys.verify::<serde_json::Value>(candidate, "plaza");
            prop_assert!(verified.is_err());
        }
    }
}

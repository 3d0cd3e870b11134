//! CORS for browsers (the sidebar runs in Apps Script's sandbox iframe, whose origin is
//! `https://n-…-script.googleusercontent.com`), following the Fetch standard's CORS protocol
//! (<https://fetch.spec.whatwg.org/#http-cors-protocol>) through tower-http's `CorsLayer`.
//!
//! Only origins on the allow-list get CORS headers; preflights (`OPTIONS` with
//! `Access-Control-Request-Method`) are answered by the layer before authentication. Credentials
//! (cookies) are not allowed — the API authenticates with bearer tokens only — and the allowed
//! request headers are `Authorization`, `Content-Type` and `X-Almanac-Access-Proof`; `Retry-After`
//! is exposed to scripts (the sidebar waits that long after a 503).

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header, request::Parts};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::ACCESS_PROOF_HEADER;

/// How long browsers may cache a preflight answer.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// A CORS layer allowing the origins matched by `patterns` (see [`origin_allowed`]).
pub fn layer(patterns: &[String]) -> CorsLayer {
    let patterns: Vec<String> = patterns.iter().map(|p| p.to_ascii_lowercase()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, _: &Parts| {
                origin
                    .to_str()
                    .is_ok_and(|o| origin_allowed(&patterns, &o.to_ascii_lowercase()))
            },
        ))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(ACCESS_PROOF_HEADER),
        ])
        .expose_headers([header::RETRY_AFTER])
        .allow_credentials(false)
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Whether `origin` (`scheme://host[:port]`, lower case) matches one of `patterns` (lower case):
/// `*` matches every origin; `https://*.example.com` matches `https://a.example.com` and
/// `https://a.b.example.com` but not `https://example.com` nor `https://evil-example.com`; any
/// other pattern must equal the origin.
pub fn origin_allowed(patterns: &[String], origin: &str) -> bool {
    patterns.iter().any(|pattern| {
        if pattern == "*" || pattern == origin {
            return true;
        }
        let Some((scheme, host_pattern)) = pattern.split_once("://") else {
            return false;
        };
        let Some(suffix) = host_pattern.strip_prefix("*.") else {
            return false;
        };
        let Some(host) = origin
            .strip_prefix(scheme)
            .and_then(|o| o.strip_prefix("://"))
        else {
            return false;
        };
        host.strip_suffix(suffix)
            .and_then(|sub| sub.strip_suffix('.'))
            .is_some_and(|sub| {
                !sub.is_empty()
                    && sub.split('.').all(|label| {
                        !label.is_empty()
                            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_patterns_match_subdomains_only_and_exact_patterns_match_exactly() {
        let patterns = vec![
            "https://*.googleusercontent.com".to_owned(),
            "http://localhost:3000".to_owned(),
        ];
        for ok in [
            "https://n-abc123-0lu-script.googleusercontent.com",
            "https://a.b.googleusercontent.com",
            "http://localhost:3000",
        ] {
            assert!(origin_allowed(&patterns, ok), "{ok}");
        }
        for refused in [
            "https://googleusercontent.com",
            "https://evil-googleusercontent.com",
            "https://googleusercontent.com.evil.com",
            "http://x.googleusercontent.com",
            "https://x.googleusercontent.com:8443",
            "https://.googleusercontent.com",
            "http://localhost:3001",
            "null",
        ] {
            assert!(!origin_allowed(&patterns, refused), "{refused}");
        }
        assert!(origin_allowed(
            &["*".to_owned()],
            "https://anything.example"
        ));
    }
}

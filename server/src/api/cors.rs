//! CORS for browsers (the sidebar runs in Apps Script's sandbox iframe, whose origin is
//! `https://n-…-script.googleusercontent.com`), following the Fetch standard's CORS protocol
//! (<https://fetch.spec.whatwg.org/#http-cors-protocol>) through tower-http's `CorsLayer`.
//!
//! Only origins on the allow-list get CORS headers; preflights (`OPTIONS` with
//! `Access-Control-Request-Method`) are answered by the layer before authentication. Credentials
//! (cookies) are not allowed — the API authenticates with bearer tokens only —, the allowed methods
//! are those the API's routes take ([`ALLOWED_METHODS`]: `GET`, `POST`, `PUT` for
//! `PUT /spreadsheets/{id}/budget` and `DELETE` for `DELETE /threads/{thread_id}`), and the allowed request headers are `Authorization`, `Content-Type`, `X-Almanac-Access-Proof` and
//! `Idempotency-Key`; `Retry-After` (the sidebar waits that long after a 503) and
//! `Idempotent-Replayed` are exposed to scripts.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header, request::Parts};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::ACCESS_PROOF_HEADER;

/// The methods the routes under `/api/v1` take; a browser may call each from an allowed origin.
pub const ALLOWED_METHODS: [Method; 4] = [Method::GET, Method::POST, Method::PUT, Method::DELETE];

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
        .allow_methods(ALLOWED_METHODS)
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(ACCESS_PROOF_HEADER),
            HeaderName::from_static(almanac_protocol::IDEMPOTENCY_KEY_HEADER),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static(almanac_protocol::IDEMPOTENT_REPLAYED_HEADER),
        ])
        .allow_credentials(false)
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Whether `origin` (`scheme://host[:port]`, lower case) matches one of `patterns` (lower case):
///
/// - `*` matches every origin;
/// - `https://*.example.com` matches `https://a.example.com` and `https://a.b.example.com` but not
///   `https://example.com` nor `https://evil-example.com`;
/// - a `*` inside the first label, as in the default `https://n-*-script.googleusercontent.com`
///   (`config::DEFAULT_CORS_ORIGINS`), matches one or more letters, digits and `-` there and
///   nothing else: not a dot (no deeper subdomain), not a port;
/// - any other pattern must equal the origin.
pub fn origin_allowed(patterns: &[String], origin: &str) -> bool {
    patterns.iter().any(|pattern| {
        if pattern == "*" || pattern == origin {
            return true;
        }
        let Some((scheme, host_pattern)) = pattern.split_once("://") else {
            return false;
        };
        let Some(host) = origin
            .strip_prefix(scheme)
            .and_then(|o| o.strip_prefix("://"))
        else {
            return false;
        };
        match host_pattern.strip_prefix("*.") {
            Some(suffix) => subdomain_of(host, suffix),
            None => label_wildcard(host_pattern, host),
        }
    })
}

/// `host` is a subdomain (any depth) of `suffix`, each label letters, digits and `-`.
fn subdomain_of(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix)
        .and_then(|sub| sub.strip_suffix('.'))
        .is_some_and(|sub| !sub.is_empty() && sub.split('.').all(hostname_label))
}

/// `host_pattern` has one `*` in its first label, and `host` is the pattern with the `*` replaced
/// by one or more letters, digits and `-` (never a dot or a port).
fn label_wildcard(host_pattern: &str, host: &str) -> bool {
    let Some((label_pattern, rest)) = host_pattern.split_once('.') else {
        return false;
    };
    let Some((prefix, suffix)) = label_pattern.split_once('*') else {
        return false;
    };
    let Some((label, host_rest)) = host.split_once('.') else {
        return false;
    };
    host_rest == rest
        && !rest.contains('*')
        && label.len() > prefix.len() + suffix.len()
        && label
            .strip_prefix(prefix)
            .and_then(|l| l.strip_suffix(suffix))
            .is_some_and(hostname_label)
}

/// One label of a host name: letters, digits and `-`, not empty.
fn hostname_label(label: &str) -> bool {
    !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::put;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_browser_may_put_a_budget_from_an_allowed_origin_and_not_delete() {
        let app = Router::new()
            .route("/budget", put(|| async { StatusCode::NO_CONTENT }))
            .layer(layer(&[crate::config::DEFAULT_CORS_ORIGINS.to_owned()]));
        let preflight = |method: &str| {
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/budget")
                .header(
                    header::ORIGIN,
                    "https://n-abc-0lu-script.googleusercontent.com",
                )
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
                .header(
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "authorization,content-type,x-almanac-access-proof",
                )
                .body(Body::empty())
                .unwrap()
        };
        let resp = app.clone().oneshot(preflight("PUT")).await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let allowed = resp.headers()[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .to_owned();
        let allowed: Vec<&str> = allowed.split(',').map(str::trim).collect();
        for method in ALLOWED_METHODS {
            assert!(allowed.contains(&method.as_str()), "{allowed:?}");
        }
        assert!(!allowed.contains(&"PATCH"), "{allowed:?}");
        assert_eq!(
            resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://n-abc-0lu-script.googleusercontent.com"
        );
    }

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

    #[test]
    fn the_default_allows_apps_script_sidebars_and_no_other_googleusercontent_host() {
        let patterns = vec![crate::config::DEFAULT_CORS_ORIGINS.to_owned()];
        for ok in [
            "https://n-aknwylqugtad7abe6fzh5c47svchxgv7l53qtjy-0lu-script.googleusercontent.com",
            "https://n-4tnwqdvlh2pb3zxxpqsdj6ifyubxbsb3umjvouq-1lu-script.googleusercontent.com",
            "https://n-abc-0lu-script.googleusercontent.com",
        ] {
            assert!(origin_allowed(&patterns, ok), "{ok}");
        }
        for refused in [
            // Other hosts of Google's user content domain: Drive/Docs downloads, images, sites.
            "https://doc-0k-8c-docs.googleusercontent.com",
            "https://lh3.googleusercontent.com",
            "https://sites.googleusercontent.com",
            "https://script.googleusercontent.com",
            "https://evil.n-abc-0lu-script.googleusercontent.com",
            "https://n-abc.evil-script.googleusercontent.com",
            "https://n--script.googleusercontent.com",
            "https://n-abc-0lu-script.googleusercontent.com:8443",
            "https://n-abc-0lu-script.googleusercontent.com.evil.com",
            "http://n-abc-0lu-script.googleusercontent.com",
            "https://x-abc-0lu-script.googleusercontent.com",
            "https://n-abc_0lu-script.googleusercontent.com",
            "null",
        ] {
            assert!(!origin_allowed(&patterns, refused), "{refused}");
        }
    }

    #[tokio::test]
    async fn a_refused_origin_gets_no_cors_headers() {
        let app = Router::new()
            .route("/budget", put(|| async { StatusCode::NO_CONTENT }))
            .layer(layer(&[crate::config::DEFAULT_CORS_ORIGINS.to_owned()]));
        for (origin, allowed) in [
            ("https://n-abc123-0lu-script.googleusercontent.com", true),
            ("https://doc-0k-8c-docs.googleusercontent.com", false),
        ] {
            let preflight = Request::builder()
                .method(Method::OPTIONS)
                .uri("/budget")
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PUT")
                .body(Body::empty())
                .unwrap();
            let resp = app.clone().oneshot(preflight).await.unwrap();
            assert_eq!(
                resp.headers()
                    .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                    .is_some(),
                allowed,
                "{origin}"
            );
        }
    }
}

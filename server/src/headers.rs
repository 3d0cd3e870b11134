//! Security headers on every response of the backend, set by tower-http's `SetResponseHeader`
//! layers: [`secure`] wraps the whole router and gives every answer `X-Content-Type-Options:
//! nosniff`, `Referrer-Policy: no-referrer` and, unless the route set its own, the API's
//! `Content-Security-Policy` ([`API_CSP`]: nothing may load, nothing may frame it) and
//! `Cache-Control: no-store`. Two route groups set their own policy first: the API reference
//! ([`DOCS_CSP`], Swagger UI from the binary) and the sidebar bundle ([`SIDEBAR_CSP`]: a wasm
//! module, framed by Google). The policies follow CSP Level 3
//! (<https://www.w3.org/TR/CSP3/>); `wasm-unsafe-eval` is its keyword for compiling WebAssembly.
//!
//! A leaf: this module imports no other module of the crate.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of API answers (JSON, event streams, errors) and anything without its own: load
/// nothing, be framed by no one, submit no form.
pub const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The policy of `/docs` (Swagger UI, every file from the backend itself): its scripts and styles
/// from the backend (Swagger UI's React sets `style` attributes: `'unsafe-inline'` for styles
/// only), its icons as `data:` images, requests to the backend only (the document and "Try it
/// out"), and never framed.
pub const DOCS_CSP: &str = concat!(
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; ",
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; ",
    "base-uri 'none'; form-action 'self'"
);

/// The policy of `/sidebar/` (the bundle's `index.html`, `boot.js`, the module and its wasm):
/// scripts from the backend only, with `'wasm-unsafe-eval'` to compile the wasm module; styles the
/// sidebar injects (`'unsafe-inline'` for styles only); calls to the backend only; and framed
/// only by the backend itself and Google's pages that hold add-on sidebars: the Sheets editor
/// (`https://docs.google.com`) and Apps Script's sandbox frames (`https://*.googleusercontent.com`,
/// where `Sidebar.html` runs).
pub const SIDEBAR_CSP: &str = concat!(
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; ",
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; ",
    "connect-src 'self'; ",
    "frame-ancestors 'self' https://docs.google.com https://*.googleusercontent.com; ",
    "base-uri 'none'; form-action 'none'"
);

/// Sets `Content-Security-Policy: policy` on the answers of `router`'s routes (a route layer: the
/// fallback of a router it is merged into keeps the API's); [`secure`] adds the API's policy only
/// where none was set.
pub fn with_policy<S>(router: Router<S>, policy: &'static str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.route_layer(SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    ))
}

/// The headers every answer of `router` gets: `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer`, and where the route set none, [`API_CSP`] and
/// `Cache-Control: no-store`.
pub fn secure(router: Router) -> Router {
    let always = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let unless_set = [
        (header::CONTENT_SECURITY_POLICY, API_CSP),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let router = always.into_iter().fold(router, |router, (name, value)| {
        router.layer(overriding(name, value))
    });
    unless_set
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ))
        })
}

fn overriding(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn headers_of(router: Router, path: &str) -> axum::http::HeaderMap {
        router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
            .headers()
            .clone()
    }

    #[tokio::test]
    async fn every_answer_gets_the_headers_and_a_route_keeps_its_own_policy_and_caching() {
        let sidebar = with_policy(
            Router::new().route(
                "/sidebar/x.js",
                get(|| async { ([(header::CACHE_CONTROL, "no-cache")], "js") }),
            ),
            SIDEBAR_CSP,
        );
        let router = secure(
            Router::new()
                .route("/api/v1/health", get(|| async { "{}" }))
                .merge(sidebar),
        );
        let api = headers_of(router.clone(), "/api/v1/health").await;
        assert_eq!(api[header::CONTENT_SECURITY_POLICY], API_CSP);
        assert_eq!(api[header::CACHE_CONTROL], "no-store");
        let missing = headers_of(router.clone(), "/nowhere").await;
        assert_eq!(missing[header::CONTENT_SECURITY_POLICY], API_CSP);
        let bundle = headers_of(router, "/sidebar/x.js").await;
        assert_eq!(bundle[header::CONTENT_SECURITY_POLICY], SIDEBAR_CSP);
        assert_eq!(bundle[header::CACHE_CONTROL], "no-cache");
        for headers in [api, missing, bundle] {
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        }
    }
}

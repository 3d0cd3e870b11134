//! The sidebar's bundle at `/sidebar/`: the files `sidebar/build.sh` writes (`almanac_sidebar.js`,
//! `almanac_sidebar_bg.wasm`, `index.html`, `boot.js` and their precompressed `.gz`), served from
//! a folder (`ALMANAC_SIDEBAR_DIR`, default `sidebar/dist`) with the right content types
//! (`application/wasm`, `text/javascript`), gzip when the browser accepts it,
//! `Cache-Control: no-cache` (the file names carry no hash, so browsers must revalidate) and the
//! bundle's `Content-Security-Policy` (`headers::SIDEBAR_CSP`: wasm, framed by Google). When the
//! bundle was not built, every path answers a 404 that says how to build it.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::services::ServeDir;

/// The file whose presence says that the bundle was built.
pub const BUNDLE_WASM: &str = "almanac_sidebar_bg.wasm";

/// Routes `/sidebar` (redirects) and `/sidebar/…` (the bundle in `dir`).
pub fn router(dir: &Path) -> Router {
    let missing_dir: PathBuf = dir.to_path_buf();
    let not_found = move || {
        let dir = missing_dir.clone();
        async move { not_found(&dir) }
    };
    let files = ServeDir::new(dir)
        .precompressed_gzip()
        .append_index_html_on_directories(true)
        .not_found_service(get(not_found));
    let router = Router::new()
        .route(
            "/sidebar",
            get(|| async { Redirect::permanent("/sidebar/") }),
        )
        .nest_service("/sidebar/", files)
        .route_layer(middleware::from_fn(no_cache));
    crate::headers::with_policy(router, crate::headers::SIDEBAR_CSP)
}

async fn no_cache(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn not_found(dir: &Path) -> Response {
    if dir.join(BUNDLE_WASM).is_file() {
        return (StatusCode::NOT_FOUND, "no such file in the sidebar bundle").into_response();
    }
    let dir = dir.display().to_string();
    let dir = dir.replace('&', "&amp;").replace('<', "&lt;");
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>Sidebar not built</title>\
             <h1>The sidebar bundle is not built</h1>\
             <p>No <code>{BUNDLE_WASM}</code> in <code>{dir}</code>. Build it with \
             <code>bash scripts/install-web-tools.sh &amp;&amp; bash sidebar/build.sh</code> \
             from the repository, or point <code>ALMANAC_SIDEBAR_DIR</code> at a built bundle.</p>"
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use tower::ServiceExt;

    async fn get_path(app: Router, path: &str, gzip: bool) -> Response {
        let mut req = Request::builder().uri(path);
        if gzip {
            req = req.header(header::ACCEPT_ENCODING, "gzip");
        }
        app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    fn built_bundle() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(BUNDLE_WASM), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dir.path().join(format!("{BUNDLE_WASM}.gz")), b"gzipped").unwrap();
        std::fs::write(dir.path().join("almanac_sidebar.js"), b"export default 1;").unwrap();
        std::fs::write(dir.path().join("index.html"), b"<!doctype html>").unwrap();
        dir
    }

    #[tokio::test]
    async fn the_wasm_module_is_served_as_application_wasm_and_gzipped_when_accepted() {
        let dir = built_bundle();
        let plain = get_path(
            router(dir.path()),
            "/sidebar/almanac_sidebar_bg.wasm",
            false,
        )
        .await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(plain.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
        let gz = get_path(router(dir.path()), "/sidebar/almanac_sidebar_bg.wasm", true).await;
        assert_eq!(gz.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        let body = to_bytes(gz.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"gzipped");
    }

    #[tokio::test]
    async fn the_script_and_the_index_page_have_their_content_types() {
        let dir = built_bundle();
        let js = get_path(router(dir.path()), "/sidebar/almanac_sidebar.js", false).await;
        assert!(
            js.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
        let index = get_path(router(dir.path()), "/sidebar/", false).await;
        assert_eq!(index.status(), StatusCode::OK);
        assert!(
            index.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let bare = get_path(router(dir.path()), "/sidebar", false).await;
        assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(bare.headers()[header::LOCATION], "/sidebar/");
    }

    #[tokio::test]
    async fn a_missing_bundle_answers_404_saying_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let resp = get_path(router(dir.path()), "/sidebar/", false).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body = to_bytes(resp.into_body(), 4096).await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("sidebar/build.sh"), "{text}");

        let built = built_bundle();
        let resp = get_path(router(built.path()), "/sidebar/nope.js", false).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let body = to_bytes(resp.into_body(), 4096).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("build.sh"));
    }
}

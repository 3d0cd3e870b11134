//! The API described as OpenAPI 3.1 (<https://spec.openapis.org/oas/v3.1.0>) with utoipa: the
//! handlers' `#[utoipa::path]` annotations and the wire types' `ToSchema` (protocol's `openapi`
//! feature) make up [`ApiDoc`], served at `GET /api/v1/openapi.json`, with human docs at `/docs`: Swagger UI
//! (<https://swagger.io/docs/open-source-tools/swagger-ui/>), whose files the binary carries
//! (utoipa-swagger-ui's `vendored` feature), so the page loads nothing but this server's own
//! addresses.
//!
//! Security schemes: `google_id_token` (HTTP bearer, a Google ID token) on every operation but
//! `/` and `health`, and `access_proof` (header `X-Almanac-Access-Proof`, from
//! `POST /spreadsheets/{id}/access/proof`) on the operations that reach a spreadsheet
//! (`POST /jobs`, the budget calls, a new thread, a chat turn). The optional `Idempotency-Key`
//! header, with its 409 and 422 answers, is added to the operations that take it
//! ([`IdempotencyKeys`]).

use std::sync::Arc;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::Config;

/// The OpenAPI document of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Almanac API",
        description = "Fill Google Sheets rows with AI-written content through the OpenAI Batch API, and ask about a sheet's data (threads, messages and runs, on the Responses API). Every call but `/`, `health` and `openapi.json` carries `Authorization: Bearer <Google ID token>`; creating a job, the budget calls, a new thread and a chat turn also carry `X-Almanac-Access-Proof: <proof>`, got from `POST /spreadsheets/{id}/access/challenge` and `…/access/proof`. Errors are `{\"error\":{\"code\",\"message\"}}`."
    ),
    paths(
        crate::api::handlers::root,
        crate::api::handlers::health,
        crate::api::handlers::models,
        crate::api::handlers::estimate,
        crate::api::handlers::create_job,
        crate::api::handlers::list_jobs,
        crate::api::handlers::get_job,
        crate::api::handlers::job_status,
        crate::api::handlers::job_events,
        crate::api::handlers::cancel_job,
        crate::api::handlers::retry_job,
        crate::api::handlers::access_challenge,
        crate::api::handlers::prove_access,
        crate::api::handlers::get_budget,
        crate::api::handlers::put_budget,
        crate::api::chat::chat,
        crate::api::chat::create_thread,
        crate::api::chat::list_threads,
        crate::api::chat::get_thread,
        crate::api::chat::delete_thread,
        crate::api::chat::list_messages,
        crate::api::chat::create_message,
        crate::api::chat::create_run,
        crate::api::chat::get_run,
        crate::api::chat::cancel_run,
        crate::api::chat::file_content,
    ),
    // Schemas named only by query parameters (utoipa collects those of bodies and answers).
    components(schemas(almanac_protocol::chat::ListOrder)),
    modifiers(&SecuritySchemes, &IdempotencyKeys),
    security(("google_id_token" = [])),
    tags(
        (name = "meta", description = "Health, and the deployment's set-up checks (`health?deep=true`)"),
        (name = "models", description = "Models, prices and estimates"),
        (name = "jobs", description = "Generate jobs: create, follow, cancel, list"),
        (name = "access", description = "Proving that the caller can edit a spreadsheet (and the service account too)"),
        (name = "budget", description = "A spreadsheet's monthly budget"),
        (name = "chat", description = "Ask about the sheet: threads, messages, runs (the seed backend's API on the Responses API)"),
    )
)]
pub struct ApiDoc;

/// Adds the two security schemes to the components.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "google_id_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A Google ID token from ScriptApp.getIdentityToken(), addressed to the backend's OAuth client id",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "access_proof",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Almanac-Access-Proof",
                "An access proof from POST /api/v1/spreadsheets/{spreadsheet_id}/access/proof, for this caller and spreadsheet, valid one hour",
            ))),
        );
    }
}

/// Adds the `Idempotency-Key` header and its 409 and 422 answers to the operations that take it
/// (`idempotency::OPERATIONS`), as draft-ietf-httpapi-idempotency-key-header describes them.
struct IdempotencyKeys;

impl Modify for IdempotencyKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
        for path in crate::api::idempotency::OPERATIONS {
            let Some(operation) = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.post.as_mut())
            else {
                continue;
            };
            let parameter = ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(IDEMPOTENCY_KEY_DESCRIPTION))
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::Type::String)
                        .max_length(Some(257)),
                ))
                .build();
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(parameter);
            for (status, text) in [
                (
                    "409",
                    "`idempotency_key_in_flight`: a request with this `Idempotency-Key` is still being answered; try again after `Retry-After`",
                ),
                (
                    "422",
                    "`idempotency_key_reused`: this `Idempotency-Key` was used by the caller for another request (method, path or body) in the last 24 hours",
                ),
            ] {
                let responses = &mut operation.responses.responses;
                if let Some(RefOr::T(response)) = responses.get_mut(status) {
                    response.description = format!("{}; or {text}", response.description);
                    continue;
                }
                let error_body = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build();
                let response = ResponseBuilder::new()
                    .description(text)
                    .content("application/json", error_body)
                    .build();
                responses.insert(status.to_owned(), RefOr::T(response));
            }
        }
    }
}

/// The `Idempotency-Key` header's description in the document.
const IDEMPOTENCY_KEY_DESCRIPTION: &str = "Optional (draft-ietf-httpapi-idempotency-key-header): a unique value per user action, e.g. a quoted UUID (`\"8e03978e-40d5-43e8-bc93-6894a57f9324\"`), sent again on that action's retries. A repeat from the same user within 24 hours gets the first answer again (status and body, with `Idempotent-Replayed: true`) and runs nothing; answers 5xx, 401, 403 and 429 are not kept, so their retries run again.";

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Where the API reference is: `GET /docs` is its page; Swagger UI's scripts, styles and its
/// `swagger-initializer.js` (the configuration) are `GET /docs/{file}`.
pub const DOCS_PATH: &str = "/docs";

/// The address of the OpenAPI document that the API reference reads (served by [`document`]).
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

/// The page at `/docs`: Swagger UI's own `index.html`, titled for Almanac, every address on this
/// server.
const DOCS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Almanac API</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="/docs/index.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"#;

/// Swagger UI's configuration: [`DOCUMENT_PATH`], and no validator badge (`validatorUrl: "none"`;
/// the badge is an image from swagger.io).
fn swagger_config() -> Arc<Config<'static>> {
    Arc::new(Config::new([DOCUMENT_PATH]).validator_url("none"))
}

/// `GET /docs` and `GET /docs/{file}`: the API reference, Swagger UI from files embedded in the
/// binary at build time (utoipa-swagger-ui's `vendored` feature: the utoipa-swagger-ui-vendored
/// crate's zip, extracted by its build script; `debug-embed` embeds them in debug builds too).
/// The page loads nothing from another host, and its `Content-Security-Policy`
/// (`headers::DOCS_CSP`) says so to the browser. An unknown file is 404.
pub fn docs() -> Router {
    let config = swagger_config();
    let router = Router::new()
        .route(DOCS_PATH, get(|| async { Html(DOCS_PAGE) }))
        .route("/docs/", get(|| async { Redirect::permanent(DOCS_PATH) }))
        .route(
            "/docs/{*file}",
            get(move |Path(file): Path<String>| {
                let config = Arc::clone(&config);
                async move { docs_file(&file, config) }
            }),
        );
    crate::headers::with_policy(router, crate::headers::DOCS_CSP)
}

/// One file of Swagger UI's distribution, with its content type.
fn docs_file(file: &str, config: Arc<Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(found)) => (
            [(header::CONTENT_TYPE, found.content_type)],
            found.bytes.into_owned(),
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, String, String) {
        let resp = docs()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let kind = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = to_bytes(resp.into_body(), 8 << 20).await.unwrap();
        (status, kind, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_api_reference_is_served_from_the_binary_and_reads_our_document() {
        let (status, kind, page) = get("/docs").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(page.contains("<title>Almanac API</title>"), "{page}");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "every address is this server's: {page}"
        );
        for asset in [
            "swagger-ui.css",
            "index.css",
            "favicon-32x32.png",
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
            "swagger-initializer.js",
        ] {
            let path = format!("/docs/{asset}");
            assert!(page.contains(&path), "{path} missing from the page");
            assert_eq!(get(&path).await.0, StatusCode::OK, "{path}");
        }
        assert_eq!(get("/docs/nothing-here.js").await.0, StatusCode::NOT_FOUND);

        let (status, _, init) = get("/docs/swagger-initializer.js").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            init.contains(&format!("\"url\": \"{DOCUMENT_PATH}\"")),
            "{init}"
        );
        assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
        assert!(!init.contains("petstore"), "{init}");

        let (status, kind, bundle) = get("/docs/swagger-ui-bundle.js").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.contains("javascript"), "{kind}");
        assert!(bundle.len() > 100_000, "{} bytes", bundle.len());
        assert_eq!(get("/docs/").await.0, StatusCode::PERMANENT_REDIRECT);
    }

    #[test]
    fn a_browser_may_call_every_operation_of_the_document_through_cors() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut seen = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let method = method.to_ascii_uppercase();
                assert!(
                    crate::api::cors::ALLOWED_METHODS
                        .iter()
                        .any(|m| m.as_str() == method),
                    "{method} {path} is not allowed by CORS"
                );
                seen += 1;
            }
        }
        assert!(seen >= 14, "{seen} operations");
    }

    #[test]
    fn the_seed_backends_routes_are_in_the_document_with_their_stream() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = &doc["paths"];
        for (path, method) in [
            ("/", "get"),
            ("/api/v1/chat", "post"),
            ("/api/v1/threads", "post"),
            ("/api/v1/threads/{thread_id}/messages", "get"),
            ("/api/v1/threads/{thread_id}/messages", "post"),
            ("/api/v1/threads/{thread_id}/runs", "post"),
            ("/api/v1/threads/{thread_id}/runs/{run_id}", "get"),
        ] {
            assert!(paths[path].get(method).is_some(), "{method} {path} missing");
        }
        let chat = &paths["/api/v1/chat"]["post"]["responses"]["200"]["content"];
        assert!(chat.get("text/event-stream").is_some(), "{chat}");
        assert!(chat.get("application/json").is_some(), "{chat}");
        assert!(
            doc["components"]["schemas"]["RunStatus"]["enum"]
                .as_array()
                .unwrap()
                .len()
                == 6
        );
    }

    #[test]
    fn the_model_list_documents_its_prices_date_and_deprecations() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let list = &schemas["ModelList"]["properties"];
        assert!(list["prices_as_of"]["description"].is_string(), "{list}");
        let info = &schemas["ModelInfo"]["properties"];
        for field in ["flex", "deprecated", "replacement"] {
            assert!(info[field]["description"].is_string(), "{field}: {info}");
        }
        assert!(schemas["Estimate"]["properties"]["prices_as_of"].is_object());
    }

    #[test]
    fn the_document_lists_every_route_with_its_security() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/v1/health",
            "/api/v1/models",
            "/api/v1/estimate",
            "/api/v1/jobs",
            "/api/v1/jobs/{id}",
            "/api/v1/jobs/{id}/events",
            "/api/v1/jobs/{id}/cancel",
        ] {
            assert!(paths.contains_key(path), "{path} missing");
        }
        assert_eq!(doc["security"][0]["google_id_token"], serde_json::json!([]));
        assert_eq!(
            doc["paths"]["/api/v1/health"]["get"]["security"],
            serde_json::json!([{}])
        );
        let create = &doc["paths"]["/api/v1/jobs"]["post"];
        assert!(create["security"][0].get("access_proof").is_some());
        for path in crate::api::idempotency::OPERATIONS {
            let operation = &doc["paths"][path]["post"];
            let params = operation["parameters"].as_array().unwrap();
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                "{path}"
            );
            assert!(operation["responses"].get("409").is_some(), "{path}");
            assert!(operation["responses"].get("422").is_some(), "{path}");
        }
        assert!(create["responses"].get("429").is_some());
        for schema in ["Job", "ErrorBody", "CreateJobRequest", "JobStatus"] {
            assert!(
                doc["components"]["schemas"].get(schema).is_some(),
                "{schema} missing"
            );
        }
    }

    #[test]
    fn the_health_operation_documents_the_deep_checks() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let health = &doc["paths"]["/api/v1/health"]["get"];
        let params = health["parameters"].as_array().unwrap();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "deep" && p["in"] == "query"),
            "{health}"
        );
        assert!(health["responses"].get("503").is_some(), "{health}");
        for schema in ["DeepHealth", "HealthCheck", "CheckName", "CheckStatus"] {
            assert!(
                doc["components"]["schemas"].get(schema).is_some(),
                "{schema} missing"
            );
        }
    }

    #[test]
    fn the_chat_answers_document_their_markdown_tree() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for owner in ["ChatResponse", "ThreadMessage"] {
            assert_eq!(
                schemas[owner]["properties"]["markdown"]["items"]["$ref"],
                "#/components/schemas/MarkdownNode",
                "{owner}"
            );
        }
        let kinds: Vec<String> = schemas["MarkdownNode"]["oneOf"]
            .as_array()
            .expect("MarkdownNode is one of its kinds")
            .iter()
            .flat_map(|kind| match kind["enum"].as_array() {
                Some(names) => names
                    .iter()
                    .map(|n| n.as_str().unwrap().to_owned())
                    .collect(),
                None => kind["properties"]
                    .as_object()
                    .expect("an object kind")
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>(),
            })
            .collect();
        for kind in [
            "text",
            "paragraph",
            "table",
            "link",
            "file_link",
            "missing_file",
            "line_break",
        ] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} missing: {kinds:?}");
        }
    }
}

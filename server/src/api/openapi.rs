//! The API described as OpenAPI 3.1 (<https://spec.openapis.org/oas/v3.1.0>) with utoipa: the
//! handlers' `#[utoipa::path]` annotations and the wire types' `ToSchema` (protocol's `openapi`
//! feature) make up [`ApiDoc`], served at `GET /api/v1/openapi.json`, with human docs (Scalar) at
//! `/docs`.
//!
//! Security schemes: `google_id_token` (HTTP bearer, a Google ID token) on every operation but
//! `/` and `health`, and `google_user_token` (header `X-Goog-User-Token`, the caller's Google OAuth
//! access token) on the operations that reach a spreadsheet (`POST /jobs`, the budget, a new
//! thread, a chat turn).

use axum::Json;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_scalar::{Scalar, Servable};

/// The OpenAPI document of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Almanac API",
        description = "Fill Google Sheets rows with AI-written content through the OpenAI Batch API, and ask about a sheet's data (threads, messages and runs, on the Responses API). Every call but `/`, `health` and `openapi.json` carries `Authorization: Bearer <Google ID token>`; creating a job, a thread or a chat turn also carries `X-Goog-User-Token: <Google OAuth access token>`. Errors are `{\"error\":{\"code\",\"message\"}}`."
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
    modifiers(&SecuritySchemes),
    security(("google_id_token" = [])),
    tags(
        (name = "meta", description = "Health"),
        (name = "models", description = "Models, prices and estimates"),
        (name = "jobs", description = "Generate jobs: create, follow, cancel, list"),
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
            "google_user_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Goog-User-Token",
                "The caller's Google OAuth access token from ScriptApp.getOAuthToken(); the backend reads the spreadsheet's metadata with it to prove access",
            ))),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// `GET /docs`: the API reference, rendered by Scalar in the browser from the embedded document.
pub fn docs() -> Router {
    Router::from(Scalar::with_url("/docs", ApiDoc::openapi()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(create["security"][0].get("google_user_token").is_some());
        assert!(create["responses"].get("429").is_some());
        for schema in ["Job", "ErrorBody", "CreateJobRequest", "JobStatus"] {
            assert!(
                doc["components"]["schemas"].get(schema).is_some(),
                "{schema} missing"
            );
        }
    }
}

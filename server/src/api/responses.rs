//! Types that exist only to describe answers in the OpenAPI document: the answers every
//! authenticated operation may give ([`AuthResponses`]), one event of a job's progress stream
//! ([`ProgressEvent`]) and the two answers of `GET /api/v1/health` ([`HealthAnswer`]).

/// One Server-Sent Event of `GET /api/v1/jobs/{id}/events`, as a client's SSE parser sees it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Only its schema is used.
pub struct ProgressEvent {
    /// Always `progress`.
    #[schema(pattern = "^progress$")]
    event: String,
    /// A `JobEvent` as JSON text.
    data: String,
}

/// The answers every operation behind a Google ID token may give besides its own (documented
/// once, listed in each `#[utoipa::path]`).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only its OpenAPI description is used.
pub enum AuthResponses {
    /// No valid Google ID token (`code` says why: missing_token, expired, wrong_audience, …)
    #[response(status = 401)]
    Unauthorized(almanac_protocol::ErrorBody),
    /// Google's signing keys cannot be fetched right now
    #[response(status = 503)]
    KeysUnavailable(almanac_protocol::ErrorBody),
}

/// `GET /api/v1/health`'s 200 answer: `Health` for the plain form, `DeepHealth` with `deep=true`.
///
/// Documented as `anyOf`, not `oneOf`: a `DeepHealth` also has `Health`'s two fields, so it
/// matches both schemas (a validator holds `oneOf` to exactly one).
#[allow(dead_code)] // Only its schema is used.
pub enum HealthAnswer {
    /// Without `deep`: the server is up.
    Plain(almanac_protocol::Health),
    /// With `deep=true`: every set-up check, all passed.
    Deep(almanac_protocol::DeepHealth),
}

impl utoipa::PartialSchema for HealthAnswer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Ref};
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("Health"))
            .item(Ref::from_schema_name("DeepHealth"))
            .description(Some(
                "`Health` without `deep`; `DeepHealth` with `deep=true` (every check passed)",
            ))
            .into()
    }
}

impl utoipa::ToSchema for HealthAnswer {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema as _;
        schemas.push(("Health".into(), almanac_protocol::Health::schema()));
        schemas.push(("DeepHealth".into(), almanac_protocol::DeepHealth::schema()));
        <almanac_protocol::Health as utoipa::ToSchema>::schemas(schemas);
        <almanac_protocol::DeepHealth as utoipa::ToSchema>::schemas(schemas);
    }
}

//! Why a row failed, for programs: [`FailureCode`], written as snake_case text on the wire and in
//! the store (`id_missing`, `http_500`, `batch_expired`, …), with what a retry does with each
//! family. Why a whole job or a request failed is `errors`.

use serde::{Deserialize, Serialize};

/// Why a row failed, for programs (the row's `reason` says it for people). Written as snake_case
/// text on the wire and in the store: `id_missing`, `http_500`, `batch_expired`, …
///
/// Three families, and what a retry of the job does with each ([`FailureCode::is_retryable`]):
/// - the row itself is unusable (`id_missing`, `id_invalid`, `id_duplicated`, `title_missing`,
///   `title_too_long`): a retry leaves it — fix the sheet and create a new job;
/// - its request did not produce an answer (`batch_expired`, `batch_cancelled`, `batch_rejected`,
///   `line_invalid`, `http_<status>`, `refusal`, `truncated`, `content_filter`, `empty_answer`,
///   `invalid_json`, `missing_field`, `invalid_field`, `no_response`, `request_error`,
///   `retries_exhausted`) or it was never sent (`not_sent_cancelled`, `not_sent_over_cap`,
///   `not_sent_refused`): a retry sends it again;
/// - its answer could not be written (`id_not_in_sheet`, `id_duplicated_in_sheet`,
///   `value_too_long`): a retry sends it again and writes where the id is then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum FailureCode {
    /// Column A is empty.
    IdMissing,
    /// Column A is too long or holds a control character.
    IdInvalid,
    /// The id appears on several selected rows.
    IdDuplicated,
    /// Column B is empty.
    TitleMissing,
    /// Column B is longer than allowed.
    TitleTooLong,
    /// The batch expired before this row ran (`batch_expired` in the error file).
    BatchExpired,
    /// The batch was cancelled before this row ran.
    BatchCancelled,
    /// OpenAI rejected the batch in validation because of other rows' lines; this row did not run.
    BatchRejected,
    /// OpenAI rejected this row's own input line in validation.
    LineInvalid,
    /// OpenAI answered this row's request with this HTTP status.
    Http(u16),
    /// The model refused (`message.refusal`).
    Refusal,
    /// The answer was cut off (`finish_reason: length`).
    Truncated,
    /// The answer was withheld by content filtering.
    ContentFilter,
    /// The answer was empty.
    EmptyAnswer,
    /// The answer was not JSON.
    InvalidJson,
    /// The answer's JSON lacks a field of the schema.
    MissingField,
    /// A field of the answer's JSON is not a string.
    InvalidField,
    /// OpenAI returned no result line for this row.
    NoResponse,
    /// The request's line carried another error.
    RequestError,
    /// Realtime: every call of the row failed for a passing reason (429, 5xx, timeout).
    RetriesExhausted,
    /// Never sent: the job was cancelled first.
    NotSentCancelled,
    /// Never sent: it would have passed the job's `max_cost_usd`.
    NotSentOverCap,
    /// Never sent: an earlier call was refused in a way every call would be (bad key, no quota).
    NotSentRefused,
    /// At write time, no row of the sheet (or the input file) has this id.
    IdNotInSheet,
    /// At write time, several rows of the sheet have this id in column A.
    IdDuplicatedInSheet,
    /// A generated value is longer than a cell may hold.
    ValueTooLong,
}

impl FailureCode {
    /// Every code without data, and `Http(500)` standing for the `http_<status>` family.
    pub const EXAMPLES: [FailureCode; 26] = [
        FailureCode::IdMissing,
        FailureCode::IdInvalid,
        FailureCode::IdDuplicated,
        FailureCode::TitleMissing,
        FailureCode::TitleTooLong,
        FailureCode::BatchExpired,
        FailureCode::BatchCancelled,
        FailureCode::BatchRejected,
        FailureCode::LineInvalid,
        FailureCode::Http(500),
        FailureCode::Refusal,
        FailureCode::Truncated,
        FailureCode::ContentFilter,
        FailureCode::EmptyAnswer,
        FailureCode::InvalidJson,
        FailureCode::MissingField,
        FailureCode::InvalidField,
        FailureCode::NoResponse,
        FailureCode::RequestError,
        FailureCode::RetriesExhausted,
        FailureCode::NotSentCancelled,
        FailureCode::NotSentOverCap,
        FailureCode::NotSentRefused,
        FailureCode::IdNotInSheet,
        FailureCode::IdDuplicatedInSheet,
        FailureCode::ValueTooLong,
    ];

    /// The codes a retry of the job leaves alone: the row itself is unusable.
    pub const NOT_RETRYABLE: [FailureCode; 5] = [
        FailureCode::IdMissing,
        FailureCode::IdInvalid,
        FailureCode::IdDuplicated,
        FailureCode::TitleMissing,
        FailureCode::TitleTooLong,
    ];

    /// Whether a retry of the job sends this row again: every code but [`Self::NOT_RETRYABLE`].
    pub fn is_retryable(self) -> bool {
        !Self::NOT_RETRYABLE.contains(&self)
    }

    /// Whether the row was never sent (`not_sent_*`).
    pub fn is_unsent(self) -> bool {
        matches!(
            self,
            FailureCode::NotSentCancelled
                | FailureCode::NotSentOverCap
                | FailureCode::NotSentRefused
        )
    }

    fn name(self) -> &'static str {
        match self {
            FailureCode::IdMissing => "id_missing",
            FailureCode::IdInvalid => "id_invalid",
            FailureCode::IdDuplicated => "id_duplicated",
            FailureCode::TitleMissing => "title_missing",
            FailureCode::TitleTooLong => "title_too_long",
            FailureCode::BatchExpired => "batch_expired",
            FailureCode::BatchCancelled => "batch_cancelled",
            FailureCode::BatchRejected => "batch_rejected",
            FailureCode::LineInvalid => "line_invalid",
            FailureCode::Http(_) => "http",
            FailureCode::Refusal => "refusal",
            FailureCode::Truncated => "truncated",
            FailureCode::ContentFilter => "content_filter",
            FailureCode::EmptyAnswer => "empty_answer",
            FailureCode::InvalidJson => "invalid_json",
            FailureCode::MissingField => "missing_field",
            FailureCode::InvalidField => "invalid_field",
            FailureCode::NoResponse => "no_response",
            FailureCode::RequestError => "request_error",
            FailureCode::RetriesExhausted => "retries_exhausted",
            FailureCode::NotSentCancelled => "not_sent_cancelled",
            FailureCode::NotSentOverCap => "not_sent_over_cap",
            FailureCode::NotSentRefused => "not_sent_refused",
            FailureCode::IdNotInSheet => "id_not_in_sheet",
            FailureCode::IdDuplicatedInSheet => "id_duplicated_in_sheet",
            FailureCode::ValueTooLong => "value_too_long",
        }
    }

    /// Parses the snake_case text (`http_429` for [`FailureCode::Http`]); `None` for anything
    /// else.
    pub fn parse(s: &str) -> Option<FailureCode> {
        if let Some(status) = s.strip_prefix("http_") {
            return status
                .parse::<u16>()
                .ok()
                .filter(|n| (100..=599).contains(n))
                .map(FailureCode::Http);
        }
        Self::EXAMPLES
            .into_iter()
            .filter(|c| !matches!(c, FailureCode::Http(_)))
            .find(|c| c.name() == s)
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureCode::Http(status) => write!(f, "http_{status}"),
            other => f.write_str(other.name()),
        }
    }
}

impl PartialEq<&str> for FailureCode {
    /// Compares with the snake_case text (`FailureCode::Http(429) == "http_429"`).
    fn eq(&self, other: &&str) -> bool {
        FailureCode::parse(other) == Some(*self)
    }
}

impl From<FailureCode> for String {
    fn from(code: FailureCode) -> String {
        code.to_string()
    }
}

impl TryFrom<String> for FailureCode {
    type Error = String;
    fn try_from(s: String) -> Result<FailureCode, String> {
        FailureCode::parse(&s).ok_or_else(|| format!("unknown failure code {s:?}"))
    }
}

impl std::str::FromStr for FailureCode {
    type Err = String;
    fn from_str(s: &str) -> Result<FailureCode, String> {
        FailureCode::try_from(s.to_owned())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for FailureCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<String> = FailureCode::EXAMPLES
            .iter()
            .map(|c| match c {
                FailureCode::Http(_) => "http_<status>".to_owned(),
                other => other.to_string(),
            })
            .collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[a-z_]+$|^http_[1-5][0-9][0-9]$"))
            .description(Some(format!(
                "Why the row failed, for programs: one of {}",
                names.join(", ")
            )))
            .examples(["batch_expired", "http_500"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for FailureCode {}

#[cfg(feature = "sqlx")]
mod failure_code_sql {
    //! `FailureCode` in SQL: a text column holding its snake_case name, for every database whose
    //! `String` is text.

    use super::FailureCode;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::{Database, Decode, Encode, Type};

    impl<DB: Database> Type<DB> for FailureCode
    where
        String: Type<DB>,
    {
        fn type_info() -> DB::TypeInfo {
            <String as Type<DB>>::type_info()
        }

        fn compatible(ty: &DB::TypeInfo) -> bool {
            <String as Type<DB>>::compatible(ty)
        }
    }

    impl<'q, DB: Database> Encode<'q, DB> for FailureCode
    where
        String: Encode<'q, DB>,
    {
        fn encode_by_ref(
            &self,
            buf: &mut <DB as Database>::ArgumentBuffer,
        ) -> Result<IsNull, BoxDynError> {
            self.to_string().encode(buf)
        }
    }

    impl<'r, DB: Database> Decode<'r, DB> for FailureCode
    where
        String: Decode<'r, DB>,
    {
        fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<FailureCode, BoxDynError> {
            let text = <String as Decode<'r, DB>>::decode(value)?;
            Ok(
                FailureCode::parse(&text)
                    .ok_or_else(|| format!("unknown failure code {text:?}"))?,
            )
        }
    }
}

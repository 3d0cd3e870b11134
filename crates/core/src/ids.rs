//! The ids Almanac gives its own records and the ids a provider gives its batches, each its own
//! type so that a job's id cannot be passed where a thread's is expected. They are opaque text:
//! Almanac makes its own ids (a UUIDv7, `thread_…`, `run_…`) and stores every id as `TEXT`; a
//! provider's id (OpenAI's `batch_…`) is kept exactly as the provider sent it.
//!
//! Serialised as their text (`#[serde(transparent)]`), and stored as `TEXT` (with the `sqlx`
//! feature, which only the store turns on).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares an opaque string id with the conversions every id shares.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            /// The id as text (what is stored and sent).
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as owned text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

text_id! {
    /// A job's id: a UUIDv7 in its hyphenated form (`01938a5e-…`), made at creation; the `jobs`
    /// table's key and the `{id}` of `/api/v1/jobs/{id}`.
    JobId
}

text_id! {
    /// A chat thread's id, `thread_` + a UUIDv7 without hyphens; the `chat_threads` table's key and
    /// the `{id}` of `/api/v1/chat/threads/{id}`.
    ThreadId
}

text_id! {
    /// A chat run's id (one answer to one question), `run_` + a UUIDv7 without hyphens; the
    /// `chat_runs` table's key.
    RunId
}

text_id! {
    /// A provider's batch id as the provider sent it (OpenAI's `batch_…`; see
    /// <https://platform.openai.com/docs/api-reference/batch/object>), stored in `batches.batch_id`.
    BatchId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_text_on_the_wire_and_in_display() {
        let id = JobId::from("01938a5e-0000-7000-8000-000000000000");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"01938a5e-0000-7000-8000-000000000000\""
        );
        let back: JobId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, "abc");
        assert_eq!(ThreadId::from("thread_1").to_string(), "thread_1");
        assert_eq!(RunId::from("run_1".to_owned()).into_string(), "run_1");
    }
}

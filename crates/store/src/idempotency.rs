//! Idempotency keys (the `Idempotency-Key` header of
//! [draft-ietf-httpapi-idempotency-key-header](https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/)),
//! kept in the database so that every replica sees the same keys: one row per (caller `sub`,
//! key) holding the request's fingerprint and, once answered, the answer's status, content type
//! and body.
//!
//! [`Store::claim_idempotency_key`] is one `INSERT … ON CONFLICT DO NOTHING`: of two requests
//! with one key, on any replicas, exactly one claims it; the other reads the row and learns
//! whether the first is still in flight, has answered (the answer to send again), or was another
//! request ([`KeyClaim`]). [`Store::answer_idempotency_key`] stores the answer;
//! [`Store::release_idempotency_key`] gives a key up when its request changed nothing (a 5xx or a
//! 429), so that a retry with it runs again. Keys live [`KEY_LIFETIME`]; a key in flight longer
//! than [`IN_FLIGHT_LIMIT`] (its replica died) may be claimed again. These writes are not fenced
//! by a job's lease: they belong to a request, not to a step.

use chrono::{DateTime, Duration, Utc};

use crate::pool::on_pool;
use crate::{Store, StoreResult, timestamp};

/// How long a key is remembered (the draft leaves it to the resource; 24 hours, as is common).
pub const KEY_LIFETIME: Duration = Duration::hours(24);

/// How long a key may stay in flight before it is taken as abandoned (its replica died before
/// answering): longer than any request that waits for its answer (a chat turn's default run
/// timeout is ten minutes).
pub const IN_FLIGHT_LIMIT: Duration = Duration::minutes(15);

/// The stored first answer of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, when it had one.
    pub content_type: Option<String>,
    /// The whole body.
    pub body: Vec<u8>,
}

/// What [`Store::claim_idempotency_key`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is now this request's: run it, then answer or release the key.
    Claimed,
    /// The same request has already been answered: send this again.
    Answered(StoredAnswer),
    /// The same request is still in flight (409 in the draft).
    InFlight,
    /// The key was used for another request (another method, path or body: 422 in the draft).
    OtherRequest,
}

/// One row as read back.
#[derive(sqlx::FromRow)]
struct KeyRow {
    fingerprint: String,
    status: Option<i32>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
}

impl Store {
    /// Claims `key` of `owner` for the request of `fingerprint` at `now` (see [`KeyClaim`]);
    /// forgets keys older than [`KEY_LIFETIME`] first, and a key of `owner` in flight longer than
    /// [`IN_FLIGHT_LIMIT`].
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn claim_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<KeyClaim> {
        let expired = timestamp(now - KEY_LIFETIME);
        let abandoned = timestamp(now - IN_FLIGHT_LIMIT);
        // A claim can race a release: the row it conflicted with may be gone when read; try again.
        for _ in 0..3 {
            on_pool!(self.pool(), p => {
                sqlx::query(
                    "DELETE FROM idempotency_keys WHERE created_at < $1
                        OR (owner = $2 AND key = $3 AND status IS NULL AND created_at < $4)",
                )
                .bind(&expired)
                .bind(owner)
                .bind(key)
                .bind(&abandoned)
                .execute(p)
                .await?;
                let inserted = sqlx::query(
                    "INSERT INTO idempotency_keys (owner, key, fingerprint, created_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (owner, key) DO NOTHING",
                )
                .bind(owner)
                .bind(key)
                .bind(fingerprint)
                .bind(timestamp(now))
                .execute(p)
                .await?;
                if inserted.rows_affected() == 1 {
                    return Ok(KeyClaim::Claimed);
                }
            });
            let row: Option<KeyRow> = on_pool!(self.pool(), p => sqlx::query_as(
                "SELECT fingerprint, status, content_type, body FROM idempotency_keys
                  WHERE owner = $1 AND key = $2",
            )
            .bind(owner)
            .bind(key)
            .fetch_optional(p)
            .await?);
            if let Some(row) = row {
                return Ok(row.claim(fingerprint));
            }
        }
        Ok(KeyClaim::InFlight)
    }

    /// Stores the answer of the request that claimed `key` of `owner`.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn answer_idempotency_key(
        &self,
        owner: &str,
        key: &str,
        answer: &StoredAnswer,
    ) -> StoreResult<()> {
        on_pool!(self.pool(), p => sqlx::query(
            "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5
              WHERE owner = $1 AND key = $2 AND status IS NULL",
        )
        .bind(owner)
        .bind(key)
        .bind(i32::from(answer.status))
        .bind(answer.content_type.as_deref())
        .bind(answer.body.as_slice())
        .execute(p)
        .await
        .map(drop)?);
        Ok(())
    }

    /// Forgets `key` of `owner` while it is still in flight (its request changed nothing), so
    /// that a retry with it runs again.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn release_idempotency_key(&self, owner: &str, key: &str) -> StoreResult<()> {
        on_pool!(self.pool(), p => sqlx::query(
            "DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2 AND status IS NULL",
        )
        .bind(owner)
        .bind(key)
        .execute(p)
        .await
        .map(drop)?);
        Ok(())
    }
}

impl KeyRow {
    fn claim(self, fingerprint: &str) -> KeyClaim {
        if self.fingerprint != fingerprint {
            return KeyClaim::OtherRequest;
        }
        match self.status.and_then(|s| u16::try_from(s).ok()) {
            Some(status) => KeyClaim::Answered(StoredAnswer {
                status,
                content_type: self.content_type,
                body: self.body.unwrap_or_default(),
            }),
            None => KeyClaim::InFlight,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn backends(test: &str) -> Vec<Store> {
        let mut stores = vec![Store::connect("sqlite::memory:").await.unwrap()];
        if let Some(admin) = crate::scratch::test_server(test) {
            let url = crate::scratch::fresh_database(&admin, "store")
                .await
                .unwrap();
            stores.push(Store::connect(&url).await.unwrap());
        }
        stores
    }

    #[tokio::test]
    async fn a_key_is_claimed_once_answered_again_and_forgotten_after_a_day() {
        let test = "a_key_is_claimed_once_answered_again_and_forgotten_after_a_day";
        for store in backends(test).await {
            let now = Utc::now();
            let claim = |owner: &'static str, fp: &'static str, at| {
                let store = store.clone();
                async move {
                    store
                        .claim_idempotency_key(owner, "k", fp, at)
                        .await
                        .unwrap()
                }
            };
            assert_eq!(claim("a", "f1", now).await, KeyClaim::Claimed);
            assert_eq!(claim("a", "f1", now).await, KeyClaim::InFlight);
            assert_eq!(claim("a", "f2", now).await, KeyClaim::OtherRequest);
            assert_eq!(claim("b", "f2", now).await, KeyClaim::Claimed, "per owner");
            let answer = StoredAnswer {
                status: 201,
                content_type: Some("application/json".into()),
                body: b"{}".to_vec(),
            };
            store
                .answer_idempotency_key("a", "k", &answer)
                .await
                .unwrap();
            assert_eq!(claim("a", "f1", now).await, KeyClaim::Answered(answer));
            store.release_idempotency_key("b", "k").await.unwrap();
            assert_eq!(claim("b", "f1", now).await, KeyClaim::Claimed, "released");
            let later = now + KEY_LIFETIME + Duration::seconds(1);
            assert_eq!(claim("a", "f2", later).await, KeyClaim::Claimed, "expired");
            let stale = later + IN_FLIGHT_LIMIT + Duration::seconds(1);
            assert_eq!(
                claim("a", "f2", stale).await,
                KeyClaim::Claimed,
                "abandoned"
            );
        }
    }
}

//! Google's signing keys for ID tokens, fetched from a JSON Web Key Set (RFC 7517,
//! <https://www.rfc-editor.org/rfc/rfc7517>) at a configurable URL — Google's is
//! <https://www.googleapis.com/oauth2/v3/certs> — and cached by key id (`kid`).
//!
//! The cache is filled on first use and replaced as a whole when it is older than the answer's
//! `Cache-Control: max-age` (one hour when the header is missing), or when a token names a `kid` the
//! cache does not hold. Fetches happen at most once per [`JwksCache::min_refresh`] (one minute in
//! production), so a flood of tokens with made-up key ids cannot make the backend hammer Google.
//! Only RSA keys with a `kid` (and no `alg`, or `alg: RS256`) are kept.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use tokio::sync::{Mutex, RwLock};

/// Longest wait for one JWKS fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long fetched keys are used when the answer has no `Cache-Control: max-age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

/// Why no key could be found for a `kid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The JWKS (as last fetched) has no usable key with this id.
    #[error("no signing key with id {0:?} is published")]
    UnknownKid(String),
    /// The JWKS could not be fetched or parsed; the message says why (no secrets in it).
    #[error("the identity provider's signing keys cannot be fetched: {0}")]
    Unavailable(String),
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    expires: Option<Instant>,
}

#[derive(Default)]
struct FetchLog {
    last: Option<Instant>,
    last_failed: Option<String>,
}

/// A cache of the signing keys published at one JWKS URL. Share it behind an `Arc`.
pub struct JwksCache {
    url: String,
    min_refresh: Duration,
    http: reqwest::Client,
    keys: RwLock<Keys>,
    fetches: Mutex<FetchLog>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .field("min_refresh", &self.min_refresh)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache of the keys at `url` that fetches at most once per `min_refresh`. Nothing is fetched
    /// before the first [`key`](Self::key).
    pub fn new(url: impl Into<String>, min_refresh: Duration) -> JwksCache {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .expect("an HTTP client builds once a rustls crypto provider is installed");
        JwksCache {
            url: url.into(),
            min_refresh,
            http,
            keys: RwLock::new(Keys::default()),
            fetches: Mutex::new(FetchLog::default()),
        }
    }

    /// The verification key with id `kid`, from the cache or, when the cache lacks it or is stale
    /// and the last fetch is at least the shortest time between two fetches old, from a new fetch.
    ///
    /// # Errors
    /// [`KeyError::UnknownKid`] when the published set has no such key (or a refresh is not allowed
    /// yet); [`KeyError::Unavailable`] when the set cannot be fetched and no cached key fits.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, KeyError> {
        if let Some(key) = self.cached(kid, false).await {
            return Ok(key);
        }
        let mut log = self.fetches.lock().await;
        // Another request may have refreshed the set while this one waited for the lock.
        if let Some(key) = self.cached(kid, false).await {
            return Ok(key);
        }
        let allowed = log.last.is_none_or(|t| t.elapsed() >= self.min_refresh);
        if !allowed {
            return match (self.cached(kid, true).await, &log.last_failed) {
                (Some(key), _) => Ok(key),
                (None, Some(why)) => Err(KeyError::Unavailable(why.clone())),
                (None, None) => Err(KeyError::UnknownKid(kid.to_owned())),
            };
        }
        log.last = Some(Instant::now());
        match self.fetch().await {
            Ok((by_kid, max_age)) => {
                log.last_failed = None;
                tracing::debug!(keys = by_kid.len(), url = %self.url, "JWKS fetched");
                let found = by_kid.get(kid).cloned();
                *self.keys.write().await = Keys {
                    by_kid,
                    expires: Some(Instant::now() + max_age),
                };
                found.ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))
            }
            Err(why) => {
                tracing::warn!(url = %self.url, error = %why, "JWKS fetch failed");
                log.last_failed = Some(why.clone());
                // Keys past their max-age are still better than none while the provider is down.
                self.cached(kid, true)
                    .await
                    .ok_or(KeyError::Unavailable(why))
            }
        }
    }

    async fn cached(&self, kid: &str, even_stale: bool) -> Option<DecodingKey> {
        let keys = self.keys.read().await;
        let fresh = keys.expires.is_some_and(|e| Instant::now() < e);
        if fresh || even_stale {
            keys.by_kid.get(kid).cloned()
        } else {
            None
        }
    }

    async fn fetch(&self) -> Result<(HashMap<String, DecodingKey>, Duration), String> {
        fetch_keys(&self.http, &self.url).await
    }
}

/// Fetches the set at `url` once, within `timeout`, and counts its usable keys (see
/// [`usable_keys`]): a set-up check that the JWKS is reachable and holds keys.
///
/// # Errors
/// Why not, for people (no secrets in it): unreachable, a non-2xx answer, not a JWKS.
pub async fn count_usable_keys(url: &str, timeout: Duration) -> Result<usize, String> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(fetch_keys(&http, url).await?.0.len())
}

/// The usable keys at `url` and how long they may be used.
async fn fetch_keys(
    http: &reqwest::Client,
    url: &str,
) -> Result<(HashMap<String, DecodingKey>, Duration), String> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url} failed: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("GET {url} answered {status}"));
    }
    let max_age = max_age(resp.headers()).unwrap_or(DEFAULT_MAX_AGE);
    let set: JwkSet = resp
        .json()
        .await
        .map_err(|e| format!("{url} is not a JWKS: {e}"))?;
    Ok((usable_keys(&set), max_age))
}

/// The RS256-capable RSA keys of a set, by `kid`.
pub fn usable_keys(set: &JwkSet) -> HashMap<String, DecodingKey> {
    set.keys
        .iter()
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)))
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, key))
        })
        .collect()
}

/// `max-age` of a `Cache-Control` header, clamped to between one minute and one day.
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let secs = value
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|s| s.trim().parse::<u64>().ok())?;
    Some(Duration::from_secs(secs.clamp(60, 86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control_and_clamped() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(max_age(&headers), None);
        headers.insert(
            reqwest::header::CACHE_CONTROL,
            "public, max-age=19845, must-revalidate, no-transform"
                .parse()
                .unwrap(),
        );
        assert_eq!(max_age(&headers), Some(Duration::from_secs(19845)));
        headers.insert(reqwest::header::CACHE_CONTROL, "max-age=1".parse().unwrap());
        assert_eq!(max_age(&headers), Some(Duration::from_secs(60)));
    }

    #[test]
    fn only_rsa_keys_with_an_id_and_rs256_or_no_alg_are_kept() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "c", "alg": "RS512", "n": "sXch", "e": "AQAB"},
            {"kty": "oct", "kid": "d", "k": "c2VjcmV0"}
        ]}))
        .unwrap();
        let mut kids: Vec<String> = usable_keys(&set).into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["a", "b"]);
    }
}

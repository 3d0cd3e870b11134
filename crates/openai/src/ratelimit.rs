//! Rate-limit headers of OpenAI answers: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
//! and `retry-after(-ms)` (<https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers>),
//! read from every answer by the transport and handed to a [`RateLimitObserver`] (the server's
//! realtime pacer) before the answer is read.

use std::time::Duration;

/// What one answer's rate-limit headers said. Every field is `None` when the header is absent
/// (self-hosted servers usually send none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// HTTP status of the answer.
    pub status: u16,
    /// `x-ratelimit-limit-requests`: requests per minute allowed.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-limit-tokens`: tokens per minute allowed.
    pub limit_tokens: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-requests` (e.g. `1s`, `6m0s`, `20ms`): until the request budget is full.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-reset-tokens`.
    pub reset_tokens: Option<Duration>,
    /// `retry-after-ms` or `retry-after` (seconds).
    pub retry_after: Option<Duration>,
}

impl RateLimitHeaders {
    /// Reads the headers of one answer.
    pub(crate) fn from_headers(
        status: u16,
        headers: &reqwest::header::HeaderMap,
    ) -> RateLimitHeaders {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let number = |name: &str| text(name).and_then(|v| v.trim().parse::<u64>().ok());
        let duration = |name: &str| text(name).and_then(parse_reset);
        RateLimitHeaders {
            status,
            limit_requests: number("x-ratelimit-limit-requests"),
            limit_tokens: number("x-ratelimit-limit-tokens"),
            remaining_requests: number("x-ratelimit-remaining-requests"),
            remaining_tokens: number("x-ratelimit-remaining-tokens"),
            reset_requests: duration("x-ratelimit-reset-requests"),
            reset_tokens: duration("x-ratelimit-reset-tokens"),
            retry_after: retry_after(headers),
        }
    }
}

/// Parses OpenAI's reset durations: a sequence of number+unit pairs with units `h`, `m`, `s`,
/// `ms` (`1s`, `6m0s`, `1h2m3.5s`, `20ms`, `0.5s`). `None` for anything else.
fn parse_reset(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return None;
        };
        total += value * unit;
        rest = &rest[len..];
    }
    total.is_finite().then(|| Duration::from_secs_f64(total))
}

/// Told about every answer's rate-limit headers, before the answer is read.
pub trait RateLimitObserver: Send + Sync {
    /// One answer arrived (any status).
    fn observe(&self, headers: &RateLimitHeaders);
}

/// `retry-after-ms` (milliseconds) or `retry-after` (seconds) as sent by OpenAI; HTTP dates are
/// ignored.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    number("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| number("retry-after").map(Duration::from_secs_f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_durations_in_openai_s_format_parse() {
        assert_eq!(parse_reset("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_reset("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_reset("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(
            parse_reset("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_reset("0.25s"), Some(Duration::from_millis(250)));
        assert_eq!(parse_reset(""), None);
        assert_eq!(parse_reset("soon"), None);
        assert_eq!(parse_reset("5"), None);
    }

    #[test]
    fn headers_are_read_and_missing_ones_stay_none() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-limit-requests", "5000".parse().unwrap());
        h.insert("x-ratelimit-remaining-tokens", "1999".parse().unwrap());
        h.insert("x-ratelimit-reset-tokens", "6m0s".parse().unwrap());
        h.insert("retry-after-ms", "150".parse().unwrap());
        let r = RateLimitHeaders::from_headers(429, &h);
        assert_eq!(r.status, 429);
        assert_eq!(r.limit_requests, Some(5000));
        assert_eq!(r.limit_tokens, None);
        assert_eq!(r.remaining_tokens, Some(1999));
        assert_eq!(r.reset_tokens, Some(Duration::from_secs(360)));
        assert_eq!(r.retry_after, Some(Duration::from_millis(150)));
    }

    #[test]
    fn retry_after_headers_are_read_in_milliseconds_or_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}

//! Rate limits of the emulated Chat Completions endpoint, as OpenAI applies them
//! (<https://platform.openai.com/docs/guides/rate-limits>): requests per minute (RPM) and tokens
//! per minute (TPM), where a request weighs its prompt tokens plus its output cap.
//!
//! Each limit is a token bucket refilled continuously at `limit / 60` per second, holding at most
//! `limit × burst_seconds / 60` (OpenAI enforces limits over windows shorter than a minute). A
//! request that finds either bucket short is refused with 429 (`rate_limit_exceeded`,
//! `retry-after-ms` and `retry-after` saying when it would fit) and consumes nothing. Every answer
//! carries `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`; `reset` is the time until the
//! bucket is full again, written like OpenAI's (`1s`, `6m0s`, `20ms`). A limiter can also stand
//! for an OpenAI-compatible server that enforces limits but sends none of these headers (only
//! `retry-after` on a 429): [`Limiter::headers`].

use std::time::{Duration, Instant};

/// Limits to apply to `POST /v1/chat/completions` (see [`crate::Emulator::set_chat_limits`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ChatLimits {
    /// Requests per minute; `None` = unlimited (no request headers).
    pub requests_per_minute: Option<u64>,
    /// Tokens per minute (prompt tokens + output cap); `None` = unlimited.
    pub tokens_per_minute: Option<u64>,
    /// Bucket size in seconds of refill. Default 1 s: no more than a second's worth at once.
    pub burst_seconds: f64,
    /// Time each successful answer takes. Default 0.
    pub latency: Duration,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits {
            requests_per_minute: None,
            tokens_per_minute: None,
            burst_seconds: 1.0,
            latency: Duration::ZERO,
        }
    }
}

/// What the limiter saw, for tests and benchmarks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatLimitStats {
    /// Requests accepted.
    pub accepted: u64,
    /// Rate-limit tokens of the accepted requests (prompt + output cap).
    pub accepted_tokens: u64,
    /// Requests refused with 429.
    pub throttled: u64,
    /// Seconds from the first to the last accepted request.
    pub span_seconds: f64,
}

#[derive(Debug)]
struct Bucket {
    per_minute: f64,
    capacity: f64,
    level: f64,
}

impl Bucket {
    fn new(per_minute: u64, burst_seconds: f64) -> Bucket {
        let capacity = (per_minute as f64 * burst_seconds / 60.0).max(1.0);
        Bucket {
            per_minute: per_minute as f64,
            capacity,
            level: capacity,
        }
    }

    fn refill(&mut self, elapsed: Duration) {
        self.level =
            (self.level + elapsed.as_secs_f64() * self.per_minute / 60.0).min(self.capacity);
    }

    /// Time until `n` fit.
    fn wait_for(&self, n: f64) -> Duration {
        Duration::from_secs_f64(((n - self.level).max(0.0)) * 60.0 / self.per_minute)
    }

    /// Time until full.
    fn reset(&self) -> Duration {
        self.wait_for(self.capacity)
    }
}

/// The limiter's state, kept in the emulator's world.
#[derive(Debug)]
pub struct Limiter {
    /// The limits in force.
    pub limits: ChatLimits,
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    last: Instant,
    first_accept: Option<Instant>,
    last_accept: Option<Instant>,
    stats: ChatLimitStats,
    /// Whether answers carry the `x-ratelimit-*` headers (default true).
    pub headers: bool,
}

/// The verdict on one request: headers to send, and whether it may run.
#[derive(Debug)]
pub struct Verdict {
    /// `(name, value)` headers.
    pub headers: Vec<(&'static str, String)>,
    /// `None` when accepted; otherwise the 429 message.
    pub refusal: Option<String>,
}

impl Limiter {
    /// A limiter with full buckets.
    pub fn new(limits: ChatLimits) -> Limiter {
        let burst = if limits.burst_seconds > 0.0 {
            limits.burst_seconds
        } else {
            1.0
        };
        Limiter {
            requests: limits.requests_per_minute.map(|n| Bucket::new(n, burst)),
            tokens: limits.tokens_per_minute.map(|n| Bucket::new(n, burst)),
            limits,
            last: Instant::now(),
            first_accept: None,
            last_accept: None,
            stats: ChatLimitStats::default(),
            headers: true,
        }
    }

    /// Counts of what happened so far.
    pub fn stats(&self) -> ChatLimitStats {
        let mut s = self.stats.clone();
        if let (Some(a), Some(b)) = (self.first_accept, self.last_accept) {
            s.span_seconds = (b - a).as_secs_f64();
        }
        s
    }

    /// Admits or refuses a request weighing `tokens` for `model`.
    pub fn admit(&mut self, model: &str, tokens: u64) -> Verdict {
        let now = Instant::now();
        let elapsed = now - self.last;
        self.last = now;
        for b in [&mut self.requests, &mut self.tokens].into_iter().flatten() {
            b.refill(elapsed);
        }
        let short_requests = self.requests.as_ref().filter(|b| b.level < 1.0);
        let short_tokens = self.tokens.as_ref().filter(|b| b.level < tokens as f64);
        let refusal = match (short_requests, short_tokens) {
            (Some(b), _) => {
                let wait = b.wait_for(1.0);
                Some((
                    wait,
                    format!(
                        "[emulated] Rate limit reached for {model} in organization org-emulated on requests per min (RPM): Limit {}, Used {}, Requested 1. Please try again in {}.",
                        b.per_minute,
                        (b.capacity - b.level).round(),
                        format_duration(wait)
                    ),
                ))
            }
            (None, Some(b)) => {
                let wait = b.wait_for(tokens as f64);
                Some((
                    wait,
                    format!(
                        "[emulated] Rate limit reached for {model} in organization org-emulated on tokens per min (TPM): Limit {}, Used {}, Requested {tokens}. Please try again in {}.",
                        b.per_minute,
                        (b.capacity - b.level).round(),
                        format_duration(wait)
                    ),
                ))
            }
            (None, None) => None,
        };
        let mut headers = Vec::new();
        match &refusal {
            Some((wait, _)) => {
                self.stats.throttled += 1;
                headers.push(("retry-after-ms", wait.as_millis().max(1).to_string()));
                headers.push((
                    "retry-after",
                    wait.as_secs_f64().ceil().max(1.0).to_string(),
                ));
            }
            None => self.accept(tokens, now),
        }
        if self.headers {
            self.rate_limit_headers(&mut headers);
        }
        Verdict {
            headers,
            refusal: refusal.map(|(_, m)| m),
        }
    }

    /// Takes an accepted request's room from the buckets and counts it.
    fn accept(&mut self, tokens: u64, now: Instant) {
        if let Some(b) = &mut self.requests {
            b.level -= 1.0;
        }
        if let Some(b) = &mut self.tokens {
            b.level -= tokens as f64;
        }
        self.stats.accepted += 1;
        self.stats.accepted_tokens += tokens;
        self.first_accept.get_or_insert(now);
        self.last_accept = Some(now);
    }

    /// The `x-ratelimit-*` headers of both buckets as they are now.
    fn rate_limit_headers(&self, headers: &mut Vec<(&'static str, String)>) {
        if let Some(b) = &self.requests {
            headers.push(("x-ratelimit-limit-requests", format!("{}", b.per_minute)));
            headers.push((
                "x-ratelimit-remaining-requests",
                format!("{}", b.level.max(0.0).floor()),
            ));
            headers.push(("x-ratelimit-reset-requests", format_duration(b.reset())));
        }
        if let Some(b) = &self.tokens {
            headers.push(("x-ratelimit-limit-tokens", format!("{}", b.per_minute)));
            headers.push((
                "x-ratelimit-remaining-tokens",
                format!("{}", b.level.max(0.0).floor()),
            ));
            headers.push(("x-ratelimit-reset-tokens", format_duration(b.reset())));
        }
    }
}

/// `20ms`, `1.5s`, `6m0s` — OpenAI's spelling of reset durations.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = d.as_secs_f64();
        format!("{}s", (s * 1000.0).round() / 1000.0)
    } else {
        let secs = d.as_secs();
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_past_the_bucket_are_refused_with_a_retry_after() {
        let mut l = Limiter::new(ChatLimits {
            requests_per_minute: Some(60),
            ..ChatLimits::default()
        });
        let first = l.admit("m", 10);
        assert!(first.refusal.is_none());
        let second = l.admit("m", 10);
        assert!(
            second
                .refusal
                .as_deref()
                .unwrap()
                .contains("requests per min (RPM)")
        );
        assert!(second.headers.iter().any(|(k, _)| *k == "retry-after-ms"));
        assert_eq!(l.stats().accepted, 1);
        assert_eq!(l.stats().throttled, 1);
    }

    #[test]
    fn token_weight_counts_against_tpm_and_headers_say_what_is_left() {
        let mut l = Limiter::new(ChatLimits {
            tokens_per_minute: Some(6000),
            ..ChatLimits::default()
        });
        let v = l.admit("m", 60);
        assert!(v.refusal.is_none());
        let remaining = v
            .headers
            .iter()
            .find(|(k, _)| *k == "x-ratelimit-remaining-tokens")
            .unwrap();
        assert_eq!(remaining.1, "40");
        assert!(l.admit("m", 60).refusal.unwrap().contains("TPM"));
    }

    #[test]
    fn durations_are_spelled_like_openai() {
        assert_eq!(format_duration(Duration::from_millis(20)), "20ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(360)), "6m0s");
    }
}

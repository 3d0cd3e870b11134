//! Pacing of realtime calls: as fast as the account allows, no faster.
//!
//! A [`Pacer`] is shared by every call of one realtime job. It learns the account's limits from the
//! answers' `x-ratelimit-limit-{requests,tokens}` headers and paces calls with two `governor` rate
//! limiters (requests per minute, and tokens per minute where a call weighs its input tokens plus
//! its output cap, as OpenAI counts it: <https://platform.openai.com/docs/guides/rate-limits>),
//! both set to [`PacerSettings::target_fraction`] of the limit with a burst of about one second.
//! On top of that it:
//!
//! - pauses every call after a 429 for the answer's `retry-after` (or until the window resets),
//!   and when `x-ratelimit-remaining-*` says the budget is spent (another client may share it);
//! - adapts concurrency additively up / multiplicatively down (AIMD): +1 per success up to
//!   [`PacerSettings::max_concurrency`], halved by a 429;
//! - sends the first call alone until the limits are known. An endpoint that sends no rate-limit
//!   headers (a self-hosted server) is paced by concurrency and 429s alone.
//!
//! With several replicas the limits are the account's, not a replica's: a pacer made with
//! [`Pacer::shared`] takes its requests/tokens buckets from a [`SharedBudget`] (the same two
//! buckets, kept in the database for every replica: `jobs::shared_pace`) instead of its governor
//! limiters, and a 429's pause reaches every replica.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use almanac_store::limits::Bucket;
use futures::future::BoxFuture;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use almanac_openai::ratelimit::{RateLimitHeaders, RateLimitObserver};

/// How a [`Pacer`] behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct PacerSettings {
    /// Fraction of the advertised RPM/TPM the limiters aim at, in (0, 1]. Default 0.97: close to
    /// the limit, with room for clock skew between us and the provider.
    pub target_fraction: f64,
    /// Most calls in flight at once. Default 64.
    pub max_concurrency: usize,
    /// Calls in flight at once when limits are first known. Default 8.
    pub initial_concurrency: usize,
    /// Pause after a 429 that carries no `retry-after`. Default 1 s.
    pub default_pause: Duration,
}

impl Default for PacerSettings {
    fn default() -> Self {
        PacerSettings {
            target_fraction: 0.97,
            max_concurrency: 64,
            initial_concurrency: 8,
            default_pause: Duration::from_secs(1),
        }
    }
}

/// Buckets shared by every replica of one account (see the module documentation).
pub trait SharedBudget: Send + Sync {
    /// Reserves one call in the requests bucket (when its limit is known) and `tokens.1` in the
    /// tokens bucket (idem); resolves to how long to wait before making the call.
    fn reserve(
        &self,
        requests: Option<Bucket>,
        tokens: Option<(Bucket, f64)>,
    ) -> BoxFuture<'_, Duration>;
    /// No call of any replica starts within `wait` from now.
    fn pause(&self, wait: Duration);
}

/// Paces the calls of one realtime job (see the module documentation). Share it in an `Arc`.
pub struct Pacer {
    settings: PacerSettings,
    state: Mutex<State>,
    shared: Option<Arc<dyn SharedBudget>>,
}

struct State {
    /// Limits the limiters were built for, `(rpm, tpm)`.
    limits: (Option<u64>, Option<u64>),
    requests: Option<Arc<DefaultDirectRateLimiter>>,
    tokens: Option<Arc<DefaultDirectRateLimiter>>,
    /// No call starts before this.
    pause_until: Option<Instant>,
    /// Current concurrency (AIMD), fractional so that +1/n steps add up.
    concurrency: f64,
    /// At least one answer has arrived.
    answered: bool,
    /// Tokens (input + cap) of the largest call acquired, for the remaining-tokens check.
    largest_call: u64,
    /// 429s seen.
    throttled: u64,
}

impl Pacer {
    /// A pacer that knows nothing yet.
    pub fn new(settings: PacerSettings) -> Arc<Pacer> {
        Arc::new(Pacer {
            state: Mutex::new(State {
                limits: (None, None),
                requests: None,
                tokens: None,
                pause_until: None,
                concurrency: settings.initial_concurrency.max(1) as f64,
                answered: false,
                largest_call: 0,
                throttled: 0,
            }),
            settings,
            shared: None,
        })
    }

    /// A pacer whose RPM/TPM buckets are `budget`'s, shared with other replicas.
    pub fn shared(settings: PacerSettings, budget: Arc<dyn SharedBudget>) -> Arc<Pacer> {
        let pacer = Pacer::new(settings);
        let mut pacer = Arc::into_inner(pacer).expect("just made");
        pacer.shared = Some(budget);
        Arc::new(pacer)
    }

    /// The shared buckets for a call of `tokens`, from the limits learnt so far: the same
    /// target rate and burst as the in-process limiters.
    fn buckets(&self, tokens: u64) -> (Option<Bucket>, Option<(Bucket, f64)>) {
        let s = self.state.lock().expect("not poisoned");
        let f = self.settings.target_fraction.clamp(0.01, 1.0);
        let bucket = |per_minute: u64, min_burst: u64| {
            let per_second = per_minute as f64 * f / 60.0;
            (per_second > 0.0).then(|| Bucket {
                rate_per_ms: per_second / 1000.0,
                capacity: per_second.ceil().max(min_burst as f64).max(1.0),
            })
        };
        let (rpm, tpm) = s.limits;
        (
            rpm.and_then(|n| bucket(n, 1)),
            tpm.and_then(|n| bucket(n, s.largest_call.max(1)))
                .map(|b| (b, tokens.max(1) as f64)),
        )
    }

    /// Calls that may be in flight now: 1 until the first answer, then the AIMD figure.
    pub fn concurrency(&self) -> usize {
        let s = self.state.lock().expect("not poisoned");
        if s.answered {
            (s.concurrency.floor() as usize).clamp(1, self.settings.max_concurrency.max(1))
        } else {
            1
        }
    }

    /// The limits learnt so far, `(requests per minute, tokens per minute)`.
    pub fn limits(&self) -> (Option<u64>, Option<u64>) {
        self.state.lock().expect("not poisoned").limits
    }

    /// 429 answers seen so far.
    pub fn throttled(&self) -> u64 {
        self.state.lock().expect("not poisoned").throttled
    }

    /// Waits until a call weighing `tokens` (input + output cap) may start: past any pause, then
    /// through the requests and tokens limiters. Cancel-safe (nothing is consumed by a wait that
    /// is dropped before the limiter answers).
    pub async fn acquire(&self, tokens: u64) {
        loop {
            let pause = {
                let mut s = self.state.lock().expect("not poisoned");
                s.largest_call = s.largest_call.max(tokens);
                s.pause_until
                    .and_then(|t| t.checked_duration_since(Instant::now()))
            };
            match pause {
                Some(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                _ => break,
            }
        }
        if let Some(shared) = &self.shared {
            let (requests, tokens) = self.buckets(tokens);
            let wait = shared.reserve(requests, tokens).await;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            return;
        }
        let (requests, token_limiter) = {
            let s = self.state.lock().expect("not poisoned");
            (s.requests.clone(), s.tokens.clone())
        };
        if let Some(limiter) = requests {
            limiter.until_ready().await;
        }
        if let Some(limiter) = token_limiter {
            let n = NonZeroU32::new(tokens.clamp(1, u64::from(u32::MAX)) as u32)
                .unwrap_or(NonZeroU32::MIN);
            // A call larger than the burst cannot ever pass; it goes through unpaced (the
            // provider answers 429 and the call is retried after the pause).
            let _ = limiter.until_n_ready(n).await;
        }
    }

    /// A call succeeded: concurrency grows by one per `concurrency` successes.
    pub fn on_success(&self) {
        let mut s = self.state.lock().expect("not poisoned");
        let max = self.settings.max_concurrency.max(1) as f64;
        s.concurrency = (s.concurrency + 1.0 / s.concurrency.max(1.0)).min(max);
    }

    fn rebuild(&self, s: &mut State, rpm: Option<u64>, tpm: Option<u64>) {
        if s.limits == (rpm, tpm) {
            return;
        }
        let f = self.settings.target_fraction.clamp(0.01, 1.0);
        let limiter = |per_minute: u64, min_burst: u64| {
            let per_second = per_minute as f64 * f / 60.0;
            if per_second <= 0.0 {
                return None;
            }
            let period = Duration::from_secs_f64(1.0 / per_second);
            let burst = (per_second.ceil() as u64)
                .max(min_burst)
                .clamp(1, u64::from(u32::MAX));
            let quota = Quota::with_period(period)?
                .allow_burst(NonZeroU32::new(burst as u32).unwrap_or(NonZeroU32::MIN));
            Some(Arc::new(RateLimiter::direct(quota)))
        };
        s.requests = rpm.and_then(|n| limiter(n, 1));
        s.tokens = tpm.and_then(|n| limiter(n, s.largest_call.max(1)));
        s.limits = (rpm, tpm);
        tracing::info!(
            rpm = rpm.unwrap_or(0),
            tpm = tpm.unwrap_or(0),
            "realtime pacing set from the rate-limit headers"
        );
    }

    fn pause_for(&self, s: &mut State, wait: Duration) {
        let until = Instant::now() + wait.min(Duration::from_secs(60));
        if s.pause_until.is_none_or(|t| t < until) {
            s.pause_until = Some(until);
        }
    }
}

impl RateLimitObserver for Pacer {
    fn observe(&self, h: &RateLimitHeaders) {
        let mut s = self.state.lock().expect("not poisoned");
        if !s.answered {
            s.answered = true;
        }
        if h.limit_requests.is_some() || h.limit_tokens.is_some() {
            self.rebuild(&mut s, h.limit_requests, h.limit_tokens);
        }
        if h.status == 429 {
            s.throttled += 1;
            s.concurrency = (s.concurrency / 2.0).max(1.0);
            let wait = h
                .retry_after
                .or(h.reset_requests.min(h.reset_tokens))
                .unwrap_or(self.settings.default_pause);
            self.pause_for(&mut s, wait);
            if let Some(shared) = &self.shared {
                shared.pause(wait);
            }
            return;
        }
        if h.remaining_requests == Some(0)
            && let Some(reset) = h.reset_requests
        {
            self.pause_for(&mut s, reset);
        }
        if let (Some(remaining), Some(limit)) = (h.remaining_tokens, h.limit_tokens)
            && remaining < s.largest_call
            && limit > 0
        {
            // Wait until the deficit has been replenished, at most until the window resets.
            let deficit = (s.largest_call - remaining) as f64;
            let refill = Duration::from_secs_f64(deficit * 60.0 / limit as f64);
            self.pause_for(&mut s, h.reset_tokens.map_or(refill, |r| r.min(refill)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> RateLimitHeaders {
        RateLimitHeaders {
            status,
            limit_requests: Some(600),
            limit_tokens: Some(600_000),
            remaining_requests: Some(500),
            remaining_tokens: Some(500_000),
            reset_requests: Some(Duration::from_millis(100)),
            reset_tokens: Some(Duration::from_millis(100)),
            retry_after: None,
        }
    }

    #[test]
    fn one_call_at_a_time_until_the_first_answer_then_aimd() {
        let pacer = Pacer::new(PacerSettings::default());
        assert_eq!(pacer.concurrency(), 1);
        pacer.observe(&answer(200));
        assert_eq!(pacer.concurrency(), 8);
        assert_eq!(pacer.limits(), (Some(600), Some(600_000)));
        // +1 per `concurrency` successes: 8 → 9 takes about 8–9 of them.
        for _ in 0..10 {
            pacer.on_success();
        }
        assert_eq!(pacer.concurrency(), 9);
        pacer.observe(&answer(429));
        assert_eq!(pacer.concurrency(), 4);
        assert_eq!(pacer.throttled(), 1);
    }

    #[tokio::test]
    async fn a_429_pauses_every_call_for_its_retry_after() {
        let pacer = Pacer::new(PacerSettings::default());
        pacer.observe(&RateLimitHeaders {
            retry_after: Some(Duration::from_millis(300)),
            limit_requests: None,
            limit_tokens: None,
            ..answer(429)
        });
        let started = Instant::now();
        pacer.acquire(10).await;
        assert!(started.elapsed() >= Duration::from_millis(290));
    }

    #[tokio::test]
    async fn calls_are_spaced_at_the_target_rate_after_the_burst() {
        // 600 RPM at 0.97 → ~9.7/s with a burst of 10: the 30th call waits ~2 s in all.
        let pacer = Pacer::new(PacerSettings::default());
        pacer.observe(&answer(200));
        let started = Instant::now();
        for _ in 0..30 {
            pacer.acquire(1).await;
        }
        let took = started.elapsed().as_secs_f64();
        assert!(
            took > 1.8,
            "30 calls at ~9.7/s with a burst of 10 took {took:.2}s"
        );
    }
}

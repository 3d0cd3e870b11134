//! Pacing of realtime calls: as fast as the account allows, no faster.
//!
//! A [`Pacer`] is shared by every call of the process's realtime runs (the account's limits are
//! shared too). It keeps a mirror of each of the provider's buckets — requests and tokens, where a
//! call weighs its input tokens plus its output cap, as OpenAI counts it
//! (<https://platform.openai.com/docs/guides/rate-limits>) — built from the answers'
//! `x-ratelimit-*` headers with their documented meaning:
//!
//! - `limit-*` is the per-minute rate: the bucket refills at `limit / 60` per second (the mirror
//!   at [`PacerSettings::target_fraction`] of that);
//! - `remaining-*` is what is left now: the mirror never holds more than the latest answer says,
//!   so a call is sent only when the provider has room for it, and after `remaining: 0` the next
//!   call waits for one refill (`60 / limit` seconds), not for the whole reset;
//! - `reset-*` is the time until the bucket is *full*: `remaining + reset × limit / 60` is the
//!   bucket's size, the burst the provider allows — the first answer's `remaining` is spent at
//!   once (a per-second bucket allows a second's worth, an account with a full minute of capacity
//!   a minute's worth), and the refill rate is followed after that.
//!
//! On top of that it pauses every call after a 429 for the answer's `retry-after`, and keeps an
//! AIMD concurrency (+1 per `concurrency` successes up to [`PacerSettings::max_concurrency`],
//! halved by a 429) for endpoints that send no rate-limit headers (a self-hosted server), which are
//! paced by concurrency and 429s alone. The first call goes alone, until the first answer says
//! what the limits are.
//!
//! The mirror is our own small token bucket rather than `governor`'s: a GCRA limiter cannot be
//! told what the provider says is left, and following `remaining` is what keeps the pace at the
//! limit without 429s.
//!
//! With several replicas the limits are the account's, not a replica's: a pacer made with
//! [`Pacer::shared`] also reserves each call in a [`SharedBudget`] (the same two buckets, at the
//! mirrors' rate and burst, kept in the database for every replica: `jobs::realtime::shared_pace`), so N
//! replicas together follow the refill rate once, and a 429's pause reaches every replica. The
//! local mirror still holds a replica back whenever the provider says nothing is left.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use almanac_store::limits::Bucket as SharedBucket;
use futures::future::BoxFuture;
use tokio::time::Instant;

use almanac_openai::ratelimit::{RateLimitHeaders, RateLimitObserver};

/// How a [`Pacer`] behaves (the server's `config` holds it).
pub use crate::config::PacerSettings;

/// The mirror of one of the provider's buckets (see the module documentation).
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// The advertised per-minute limit.
    limit: u64,
    /// Refill of the mirror, per second.
    rate: f64,
    /// The bucket's size (the burst), from `remaining + reset × limit / 60`.
    capacity: f64,
    /// What the mirror holds at `at`.
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: u64, fraction: f64, now: Instant) -> Bucket {
        let rate = limit as f64 / 60.0 * fraction;
        Bucket {
            limit,
            rate,
            capacity: 1.0,
            level: 0.0,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * self.rate).min(self.capacity);
        self.at = now;
    }

    /// A call weighing `n` (at most the whole bucket) may start after this wait.
    fn wait_for(&self, n: f64) -> Duration {
        let n = n.min(self.capacity);
        if self.level >= n || self.rate <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((n - self.level) / self.rate)
        }
    }

    fn take(&mut self, n: f64) {
        self.level = (self.level - n.min(self.capacity)).max(0.0);
    }

    /// An answer said `remaining` is left and the bucket is full again in `reset`.
    fn sync(&mut self, remaining: Option<u64>, reset: Option<Duration>, now: Instant) {
        self.refill(now);
        let Some(remaining) = remaining else {
            return;
        };
        let remaining = remaining as f64;
        if let Some(reset) = reset {
            let size = remaining + reset.as_secs_f64() * self.limit as f64 / 60.0;
            self.capacity = size.clamp(1.0, self.limit.max(1) as f64);
        }
        self.capacity = self.capacity.max(remaining.min(self.limit as f64)).max(1.0);
        self.level = self.level.min(remaining);
    }
}

/// Buckets shared by every replica of one account (see the module documentation).
pub trait SharedBudget: Send + Sync {
    /// Reserves one call in the requests bucket (when its limit is known) and `tokens.1` in the
    /// tokens bucket (idem); resolves to how long to wait before making the call.
    fn reserve(
        &self,
        requests: Option<SharedBucket>,
        tokens: Option<(SharedBucket, f64)>,
    ) -> BoxFuture<'_, Duration>;
    /// No call of any replica starts within `wait` from now.
    fn pause(&self, wait: Duration);
}

/// Paces the calls of the realtime runs (see the module documentation). Share it in an `Arc`.
pub struct Pacer {
    settings: PacerSettings,
    state: Mutex<State>,
    /// The account's buckets shared with other replicas, if any.
    shared: Option<Arc<dyn SharedBudget>>,
}

struct State {
    /// Limits learnt so far, `(rpm, tpm)`.
    limits: (Option<u64>, Option<u64>),
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    /// No call starts before this.
    pause_until: Option<Instant>,
    /// Current AIMD concurrency, fractional so that +1/n steps add up.
    concurrency: f64,
    /// At least one answer has arrived.
    answered: bool,
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
                throttled: 0,
            }),
            settings,
            shared: None,
        })
    }

    /// A pacer that also reserves every call in `budget`, shared with other replicas.
    pub fn shared(settings: PacerSettings, budget: Arc<dyn SharedBudget>) -> Arc<Pacer> {
        let pacer = Pacer::new(settings);
        let mut pacer = Arc::into_inner(pacer).expect("just made");
        pacer.shared = Some(budget);
        Arc::new(pacer)
    }

    /// The shared buckets for a call weighing `weight`, at the mirrors' refill rates and bursts
    /// (none while a limit is unknown).
    fn shared_buckets(&self, weight: f64) -> (Option<SharedBucket>, Option<(SharedBucket, f64)>) {
        let s = self.lock();
        let bucket = |b: &Bucket, n: f64| SharedBucket {
            rate_per_ms: b.rate / 1000.0,
            capacity: b.capacity.max(n),
        };
        (
            s.requests.as_ref().map(|b| bucket(b, 1.0)),
            s.tokens.as_ref().map(|b| (bucket(b, weight), weight)),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("the pacer's state is never left half-changed")
    }

    /// The AIMD concurrency: 1 until the first answer, then from
    /// [`PacerSettings::initial_concurrency`], +1 per that many successes, halved by a 429.
    pub fn concurrency(&self) -> usize {
        let s = self.lock();
        if s.answered {
            (s.concurrency.floor() as usize).clamp(1, self.settings.max_concurrency.max(1))
        } else {
            1
        }
    }

    /// Calls that may be in flight now: 1 until the first answer; once the provider's headers
    /// give its limits, [`PacerSettings::max_concurrency`] (the bucket mirrors pace the calls);
    /// without headers, the AIMD [`Pacer::concurrency`].
    pub fn window(&self) -> usize {
        let paced = {
            let s = self.lock();
            s.requests.is_some() || s.tokens.is_some()
        };
        if paced {
            self.settings.max_concurrency.max(1)
        } else {
            self.concurrency()
        }
    }

    /// The limits learnt so far, `(requests per minute, tokens per minute)`.
    pub fn limits(&self) -> (Option<u64>, Option<u64>) {
        self.lock().limits
    }

    /// 429 answers seen so far.
    pub fn throttled(&self) -> u64 {
        self.lock().throttled
    }

    /// Waits until a call weighing `tokens` (input + output cap) may start — past any pause, and
    /// until both mirrors have room for it — and takes its room. Cancel-safe: nothing is taken
    /// by a wait that is dropped.
    pub async fn acquire(&self, tokens: u64) {
        let weight = tokens.max(1) as f64;
        loop {
            let wait = self.try_take(weight);
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        if let Some(shared) = &self.shared {
            let (requests, tokens) = self.shared_buckets(weight);
            let wait = shared.reserve(requests, tokens).await;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Takes room for a call weighing `weight` from the mirrors and returns zero, or returns how
    /// long to wait (past a pause, until both mirrors have room) and takes nothing.
    fn try_take(&self, weight: f64) -> Duration {
        let mut s = self.lock();
        let now = Instant::now();
        let mut wait = s
            .pause_until
            .and_then(|t| t.checked_duration_since(now))
            .unwrap_or_default();
        if let Some(b) = &mut s.requests {
            b.refill(now);
            wait = wait.max(b.wait_for(1.0));
        }
        if let Some(b) = &mut s.tokens {
            b.refill(now);
            wait = wait.max(b.wait_for(weight));
        }
        if wait.is_zero() {
            if let Some(b) = &mut s.requests {
                b.take(1.0);
            }
            if let Some(b) = &mut s.tokens {
                b.take(weight);
            }
        }
        wait
    }

    /// A call succeeded: the AIMD concurrency grows by one per `concurrency` successes.
    pub fn on_success(&self) {
        let mut s = self.lock();
        let max = self.settings.max_concurrency.max(1) as f64;
        s.concurrency = (s.concurrency + 1.0 / s.concurrency.max(1.0)).min(max);
    }

    /// Builds the mirrors when the advertised limits first come (or change): each starts with
    /// what the answer says is left, as big as the bucket it describes.
    fn learn(&self, s: &mut State, h: &RateLimitHeaders, now: Instant) {
        let limits = (h.limit_requests, h.limit_tokens);
        if s.limits == limits {
            return;
        }
        let f = self.settings.target_fraction.clamp(0.01, 1.0);
        let fresh = |limit: Option<u64>, remaining: Option<u64>| {
            limit.filter(|l| *l > 0).map(|l| {
                let mut b = Bucket::new(l, f, now);
                b.capacity = remaining.map_or(1.0, |r| r as f64).max(1.0);
                b.level = b.capacity;
                b
            })
        };
        s.requests = fresh(h.limit_requests, h.remaining_requests);
        s.tokens = fresh(h.limit_tokens, h.remaining_tokens);
        s.limits = limits;
        tracing::info!(
            rpm = h.limit_requests.unwrap_or(0),
            tpm = h.limit_tokens.unwrap_or(0),
            remaining_requests = h.remaining_requests.unwrap_or(0),
            remaining_tokens = h.remaining_tokens.unwrap_or(0),
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
        let mut s = self.lock();
        let now = Instant::now();
        s.answered = true;
        if h.limit_requests.is_some() || h.limit_tokens.is_some() {
            self.learn(&mut s, h, now);
        }
        if let Some(b) = &mut s.requests {
            b.sync(h.remaining_requests, h.reset_requests, now);
        }
        if let Some(b) = &mut s.tokens {
            b.sync(h.remaining_tokens, h.reset_tokens, now);
        }
        if h.status == 429 {
            s.throttled += 1;
            s.concurrency = (s.concurrency / 2.0).max(1.0);
            let known = s.requests.is_some() || s.tokens.is_some();
            match h.retry_after {
                Some(wait) => {
                    self.pause_for(&mut s, wait);
                    if let Some(shared) = &self.shared {
                        shared.pause(wait);
                    }
                }
                // Without a hint the mirrors (now holding what the answer says is left) pace
                // the next call; with no mirror at all, wait a moment.
                None if !known => self.pause_for(&mut s, self.settings.default_pause),
                None => {}
            }
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

    /// What a per-second bucket of 600 RPM says after its first request: 9 left, full in 0.1 s.
    fn per_second(status: u16) -> RateLimitHeaders {
        RateLimitHeaders {
            remaining_requests: Some(9),
            remaining_tokens: Some(9_999),
            ..answer(status)
        }
    }

    #[tokio::test]
    async fn calls_are_spaced_at_the_target_rate_after_the_burst() {
        // 600 RPM per-second bucket at 0.99 → a burst of 9, then ~9.9/s: the 30th call waits
        // ~2.1 s in all.
        let pacer = Pacer::new(PacerSettings::default());
        pacer.observe(&per_second(200));
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

    /// Calls that pass at once (without waiting) out of `n`, under tokio's paused clock.
    async fn passing_at_once(pacer: &Pacer, n: usize) -> usize {
        let mut at_once = 0;
        for _ in 0..n {
            let start = tokio::time::Instant::now();
            pacer.acquire(1).await;
            if start.elapsed().is_zero() {
                at_once += 1;
            }
        }
        at_once
    }

    #[tokio::test(start_paused = true)]
    async fn the_advertised_remaining_is_the_burst_and_remaining_zero_waits_one_refill() {
        let pacer = Pacer::new(PacerSettings::default());
        // A full minute of capacity: 599 left after the first call.
        pacer.observe(&RateLimitHeaders {
            remaining_requests: Some(599),
            reset_requests: Some(Duration::from_millis(100)),
            limit_tokens: None,
            remaining_tokens: None,
            ..answer(200)
        });
        assert_eq!(pacer.window(), 64, "paced by the mirrors, not by AIMD");
        assert_eq!(passing_at_once(&pacer, 599).await, 599);
        // The bucket says it is empty: the next call waits one refill (60 / 600 s), not the
        // reset (60 s).
        pacer.observe(&RateLimitHeaders {
            remaining_requests: Some(0),
            reset_requests: Some(Duration::from_secs(60)),
            limit_tokens: None,
            remaining_tokens: None,
            ..answer(200)
        });
        let start = tokio::time::Instant::now();
        pacer.acquire(1).await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_millis(110),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_mirror_never_holds_more_than_the_provider_says_is_left() {
        let pacer = Pacer::new(PacerSettings::default());
        pacer.observe(&per_second(200));
        // Another client shares the account: only 3 are left.
        pacer.observe(&RateLimitHeaders {
            remaining_requests: Some(3),
            reset_requests: Some(Duration::from_millis(700)),
            ..per_second(200)
        });
        assert_eq!(passing_at_once(&pacer, 10).await, 3);
        // Tokens: a call weighing more than is left waits for the deficit.
        let pacer = Pacer::new(PacerSettings::default());
        pacer.observe(&RateLimitHeaders {
            remaining_tokens: Some(1_000),
            reset_tokens: Some(Duration::from_secs(1)),
            ..per_second(200)
        });
        let start = tokio::time::Instant::now();
        pacer.acquire(2_000).await;
        let waited = start.elapsed().as_secs_f64();
        // 1,000 tokens short at 10,000 × 0.99 per second.
        assert!((0.09..0.12).contains(&waited), "{waited}");
    }
}

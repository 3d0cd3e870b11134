//! At most one log line per interval for an event any caller can cause at will (a token addressed
//! to another OAuth client: `wrong_audience`), so that nobody can flood the logs: a governor
//! rate limiter (GCRA, one cell per interval, no burst) admits a line, and the events it refuses
//! are counted and reported with the next line admitted.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// One line per this interval at most.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Admits one line per interval and counts the rest.
#[derive(Debug)]
pub struct LogThrottle<C: Clock = DefaultClock> {
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
    suppressed: AtomicU64,
}

impl LogThrottle {
    /// One line per [`LOG_INTERVAL`], on the process's clock.
    pub fn new() -> LogThrottle {
        LogThrottle::with_clock(LOG_INTERVAL, DefaultClock::default())
    }
}

impl Default for LogThrottle {
    fn default() -> Self {
        LogThrottle::new()
    }
}

impl<C: Clock> LogThrottle<C> {
    /// One line per `interval` (at least a nanosecond) on `clock`.
    pub fn with_clock(interval: Duration, clock: C) -> LogThrottle<C> {
        let quota = Quota::with_period(interval.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        LogThrottle {
            limiter: RateLimiter::direct_with_clock(quota, clock),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be written now, `n` being the events left unlogged since the
    /// last line; `None` (the event counted) otherwise.
    pub fn admit(&self) -> Option<u64> {
        if self.limiter.check().is_ok() {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn one_line_per_interval_then_the_count_of_those_left_out() {
        let clock = FakeRelativeClock::default();
        let throttle = LogThrottle::with_clock(Duration::from_secs(60), clock.clone());
        assert_eq!(throttle.admit(), Some(0));
        for _ in 0..5 {
            assert_eq!(throttle.admit(), None);
        }
        clock.advance(Duration::from_secs(59));
        assert_eq!(throttle.admit(), None);
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.admit(), Some(6));
        assert_eq!(throttle.admit(), None);
        clock.advance(Duration::from_secs(600));
        assert_eq!(throttle.admit(), Some(1));
        assert_eq!(throttle.admit(), None, "no burst after a quiet spell");
    }
}

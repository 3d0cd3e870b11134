//! The state of one realtime run, shared by its dispatcher (which sends calls) and its result loop
//! (which stores answers): one value under one lock, changed only through the methods of
//! [`Shared`], which keep the invariants that span its fields (the model is `tokio-rs/mini-redis`'s
//! `db.rs`):
//!
//! - a call is *queued*, *in flight* (claimed by the dispatcher, no answer yet) or *waiting out a
//!   backoff* before it is queued again — never two of these at once, so the run is over exactly
//!   when nothing is in flight and either sending has stopped or nothing is queued or waiting;
//! - `in_flight_usd` is the predicted cost of the calls in flight, so a call is claimed only when
//!   what was spent, plus what is in flight, plus its own prediction stays within the job's cap
//!   (the one cap check, [`check_cap`]); when it would not, sending stops with the reason the rows
//!   left will carry;
//! - once stopped, nothing more is claimed; the first reason to stop is the one kept.

use std::collections::VecDeque;
use std::sync::Mutex;

use almanac_core::cost::check_cap;
use almanac_core::state::{FailureCode, RowFailure};
use serde_json::Value;
use tokio::sync::Notify;

/// One row's call, queued or in flight.
#[derive(Clone, Debug)]
pub struct Call {
    /// The row's position in its job.
    pub seq: i64,
    /// The row's id.
    pub row_id: String,
    /// The Chat Completions request body.
    pub body: Value,
    /// Input tokens + output cap: the weight against the TPM limit.
    pub rate_tokens: u64,
    /// Expected cost of the call, USD (for the cap).
    pub predicted_usd: f64,
    /// Calls made for this row in this run.
    pub attempt: u32,
}

/// What the dispatcher may do next.
#[derive(Debug)]
pub enum Claim {
    /// Send this call (it now counts as in flight).
    Send(Call),
    /// Nothing to send now: wait until the state changes.
    Wait,
    /// Sending has stopped: the dispatcher ends.
    Stopped,
}

/// The fields, behind [`Shared`]'s lock.
#[derive(Debug, Default)]
struct RunState {
    queue: VecDeque<Call>,
    in_flight: usize,
    waiting_backoff: usize,
    spent_usd: f64,
    in_flight_usd: f64,
    cap_usd: Option<f64>,
    stopped: bool,
    stop_reason: Option<RowFailure>,
}

/// A run's state and the wake-up of its dispatcher (see the module documentation).
#[derive(Debug, Default)]
pub struct Shared {
    state: Mutex<RunState>,
    changed: Notify,
}

impl Shared {
    /// A run of `queue`, with `spent_usd` already spent by the job and its cap, if any.
    pub fn new(queue: VecDeque<Call>, spent_usd: f64, cap_usd: Option<f64>) -> Shared {
        Shared {
            state: Mutex::new(RunState {
                queue,
                spent_usd,
                cap_usd,
                ..RunState::default()
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.state
            .lock()
            .expect("a run's state is never left half-changed")
    }

    /// Takes the next call if fewer than `concurrency` are in flight and it fits under the cap;
    /// stops the run (`not_sent_over_cap`) when it would not fit.
    pub fn claim(&self, concurrency: usize) -> Claim {
        let mut s = self.lock();
        if s.stopped {
            return Claim::Stopped;
        }
        if s.in_flight >= concurrency {
            return Claim::Wait;
        }
        let Some(next) = s.queue.front() else {
            return Claim::Wait;
        };
        let committed = s.spent_usd + s.in_flight_usd;
        if let Err(over) = check_cap(s.cap_usd, committed, next.predicted_usd) {
            let reason = format!(
                "not sent: the job's cap of ${:.4} would be passed (${:.4} spent, ${:.4} in flight); create a new job with a higher max_cost_usd to send this row",
                over.cap_usd, s.spent_usd, s.in_flight_usd
            );
            stop_locked(&mut s, RowFailure::new(FailureCode::NotSentOverCap, reason));
            return Claim::Stopped;
        }
        let call = s.queue.pop_front().expect("checked above");
        s.in_flight += 1;
        s.in_flight_usd += call.predicted_usd;
        Claim::Send(call)
    }

    /// Puts back a claimed call that was not sent (sending stopped while it waited for the
    /// pacer).
    pub fn unclaim(&self, call: Call) {
        let mut s = self.lock();
        s.in_flight -= 1;
        s.in_flight_usd = (s.in_flight_usd - call.predicted_usd).max(0.0);
        s.queue.push_front(call);
    }

    /// A call in flight got its answer (or error); `cost_usd` is what its `usage` cost.
    pub fn finish(&self, call: &Call, cost_usd: f64) {
        {
            let mut s = self.lock();
            s.in_flight -= 1;
            s.in_flight_usd = (s.in_flight_usd - call.predicted_usd).max(0.0);
            s.spent_usd += cost_usd;
        }
        self.changed.notify_one();
    }

    /// A call will be sent again after a backoff ([`Shared::requeue`] when it is over).
    pub fn wait_backoff(&self) {
        self.lock().waiting_backoff += 1;
    }

    /// A call's backoff is over: it is queued again.
    pub fn requeue(&self, call: Call) {
        {
            let mut s = self.lock();
            s.waiting_backoff -= 1;
            s.queue.push_back(call);
        }
        self.changed.notify_one();
    }

    /// Stops sending, for `why` (the first reason given is kept for the rows left).
    pub fn stop(&self, why: RowFailure) {
        stop_locked(&mut self.lock(), why);
        self.changed.notify_one();
    }

    /// Stops sending without a reason (the run is over).
    pub fn close(&self) {
        self.lock().stopped = true;
        self.changed.notify_one();
    }

    /// True once sending has stopped.
    pub fn stopped(&self) -> bool {
        self.lock().stopped
    }

    /// True when the run is over: nothing in flight, and sending stopped or nothing is queued or
    /// waiting out a backoff (rows waiting for a retry when sending stops stay pending and fail
    /// with the stop's reason).
    pub fn is_over(&self) -> bool {
        let s = self.lock();
        s.in_flight == 0 && (s.stopped || (s.queue.is_empty() && s.waiting_backoff == 0))
    }

    /// Why sending stopped early, if it did.
    pub fn stop_reason(&self) -> Option<RowFailure> {
        self.lock().stop_reason.clone()
    }

    /// Resolves after the next change ([`Shared::finish`], [`Shared::requeue`], a stop); a
    /// change made since the last wait counts.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

fn stop_locked(s: &mut RunState, why: RowFailure) {
    if s.stop_reason.is_none() {
        s.stop_reason = Some(why);
    }
    s.stopped = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seq: i64, usd: f64) -> Call {
        Call {
            seq,
            row_id: seq.to_string(),
            body: Value::Null,
            rate_tokens: 1,
            predicted_usd: usd,
            attempt: 0,
        }
    }

    #[test]
    fn calls_are_claimed_within_the_concurrency_and_the_run_ends_when_all_are_answered() {
        let shared = Shared::new(VecDeque::from([call(0, 0.1), call(1, 0.1)]), 0.0, None);
        let Claim::Send(first) = shared.claim(1) else {
            panic!("the first call is sent")
        };
        assert!(
            matches!(shared.claim(1), Claim::Wait),
            "one in flight at most"
        );
        shared.finish(&first, 0.1);
        let Claim::Send(second) = shared.claim(1) else {
            panic!("then the second")
        };
        assert!(!shared.is_over(), "one is still in flight");
        shared.finish(&second, 0.1);
        assert!(shared.is_over());
    }

    #[test]
    fn a_call_that_would_pass_the_cap_stops_the_run_with_the_reason_for_the_rows_left() {
        let shared = Shared::new(VecDeque::from([call(0, 0.4), call(1, 0.4)]), 0.3, Some(1.0));
        assert!(matches!(shared.claim(8), Claim::Send(_)));
        assert!(
            matches!(shared.claim(8), Claim::Stopped),
            "0.3 + 0.4 + 0.4 > 1.0"
        );
        assert_eq!(
            shared.stop_reason().map(|r| r.code),
            Some(FailureCode::NotSentOverCap)
        );
        shared.stop(RowFailure::new(FailureCode::NotSentCancelled, "later"));
        assert_eq!(
            shared.stop_reason().map(|r| r.code),
            Some(FailureCode::NotSentOverCap),
            "the first reason is kept"
        );
    }

    #[test]
    fn a_row_waiting_out_a_backoff_keeps_the_run_going_until_it_is_queued_and_answered() {
        let shared = Shared::new(VecDeque::from([call(0, 0.0)]), 0.0, None);
        let Claim::Send(c) = shared.claim(1) else {
            panic!()
        };
        shared.wait_backoff();
        shared.finish(&c, 0.0);
        assert!(!shared.is_over(), "the row will be sent again");
        shared.requeue(c);
        assert!(matches!(shared.claim(1), Claim::Send(_)));
    }
}

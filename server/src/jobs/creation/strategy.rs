//! Batch, realtime, or let Almanac choose: the mode of a new job.
//!
//! The seeds weigh per task whether a result is needed now or can wait a day for half the price
//! (`batch_strategy`: `always_batch`, `user_choice`, `never_batch`, `max_wait_time`). The server's
//! [`BatchStrategy`] decides what a person may ask for; with `user_choice` a person asks for
//! `batch`, `realtime` or `auto`, and [`choose`] settles `auto`:
//!
//! - realtime when the job is small (at most `auto_realtime_max_rows` rows to send): the
//!   saving is cents and the wait would be minutes;
//! - realtime when the batch wait expected for this job ([`almanac_core::cost::waits`]) is longer
//!   than the wait the person accepts (`max_wait_seconds`, default the server's `max_wait_time`);
//! - batch otherwise: half the price.

use std::time::Duration;

use almanac_protocol::{Estimate, Mode};

use crate::jobs::settings::{BatchStrategy, CostSettings};

/// The mode chosen for a job, and why (for the log and the person).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// `Batch` or `Realtime`, never `Auto`.
    pub mode: Mode,
    /// Why, in words.
    pub reason: String,
}

/// Settles the mode of a job asking for `requested`, whose estimate is `estimate`.
///
/// # Errors
/// A message saying which modes this server allows, when the server's strategy forbids the one
/// asked for (`always_batch` refuses `realtime`, `never_batch` refuses `batch`).
pub fn choose(
    settings: &CostSettings,
    requested: Mode,
    estimate: &Estimate,
    max_wait: Option<Duration>,
) -> Result<Choice, String> {
    let choice = |mode, reason: &str| Choice {
        mode,
        reason: reason.to_owned(),
    };
    match (settings.strategy, requested) {
        (BatchStrategy::AlwaysBatch, Mode::Realtime) => Err(
            "this server sends every job through the Batch API (ALMANAC_BATCH_STRATEGY=always_batch): ask for mode \"batch\" or \"auto\"".into(),
        ),
        (BatchStrategy::NeverBatch, Mode::Batch) => Err(
            "this server sends every job as realtime calls (ALMANAC_BATCH_STRATEGY=never_batch): ask for mode \"realtime\" or \"auto\"".into(),
        ),
        (BatchStrategy::AlwaysBatch, _) => Ok(choice(Mode::Batch, "the server always uses the Batch API")),
        (BatchStrategy::NeverBatch, _) => Ok(choice(Mode::Realtime, "the server never uses the Batch API")),
        (BatchStrategy::UserChoice, Mode::Batch) => Ok(choice(Mode::Batch, "asked for batch")),
        (BatchStrategy::UserChoice, Mode::Realtime) => Ok(choice(Mode::Realtime, "asked for realtime")),
        (BatchStrategy::UserChoice, Mode::Auto) => {
            let wait = max_wait.unwrap_or(settings.max_wait);
            if estimate.rows <= settings.auto_realtime_max_rows {
                Ok(Choice {
                    mode: Mode::Realtime,
                    reason: format!(
                        "a small job ({} rows, at most {}): realtime saves the wait for ${:.4} more",
                        estimate.rows,
                        settings.auto_realtime_max_rows,
                        estimate.realtime.total_usd - estimate.batch.total_usd
                    ),
                })
            } else if Duration::from_secs(estimate.batch_wait_seconds) > wait {
                Ok(Choice {
                    mode: Mode::Realtime,
                    reason: format!(
                        "the batch would take about {} s, longer than the {} s you accept",
                        estimate.batch_wait_seconds,
                        wait.as_secs()
                    ),
                })
            } else {
                Ok(Choice {
                    mode: Mode::Batch,
                    reason: format!(
                        "the batch should finish within {} s, inside the {} s you accept, at half the price",
                        estimate.batch_wait_seconds,
                        wait.as_secs()
                    ),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::catalog::Catalog;
    use almanac_openai::tokens::estimate_titles;

    fn estimate(rows: usize) -> Estimate {
        let spec = Catalog::builtin().default_spec();
        estimate_titles(spec, std::iter::repeat_n("Moon landing", rows))
    }

    #[test]
    fn auto_takes_realtime_for_a_small_job() {
        let c = choose(&CostSettings::default(), Mode::Auto, &estimate(5), None).unwrap();
        assert_eq!(c.mode, Mode::Realtime, "{}", c.reason);
    }

    #[test]
    fn auto_takes_batch_for_a_large_job_that_may_wait() {
        let e = estimate(500);
        let c = choose(&CostSettings::default(), Mode::Auto, &e, None).unwrap();
        assert_eq!(c.mode, Mode::Batch, "{}", c.reason);
    }

    #[test]
    fn auto_takes_realtime_when_the_batch_wait_is_longer_than_accepted() {
        let e = estimate(500);
        let wait = Duration::from_secs(e.batch_wait_seconds - 1);
        let c = choose(&CostSettings::default(), Mode::Auto, &e, Some(wait)).unwrap();
        assert_eq!(c.mode, Mode::Realtime, "{}", c.reason);
    }

    #[test]
    fn server_strategies_force_or_refuse_modes() {
        let e = estimate(500);
        let always = CostSettings {
            strategy: BatchStrategy::AlwaysBatch,
            ..CostSettings::default()
        };
        assert!(choose(&always, Mode::Realtime, &e, None).is_err());
        assert_eq!(
            choose(&always, Mode::Auto, &estimate(1), None)
                .unwrap()
                .mode,
            Mode::Batch
        );
        let never = CostSettings {
            strategy: BatchStrategy::NeverBatch,
            ..CostSettings::default()
        };
        assert!(choose(&never, Mode::Batch, &e, None).is_err());
        assert_eq!(
            choose(&never, Mode::Auto, &e, None).unwrap().mode,
            Mode::Realtime
        );
    }
}

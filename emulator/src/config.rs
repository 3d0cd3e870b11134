//! Timing knobs of the emulator: [`EmulatorConfig`] (the batch ticker, fixed at start) and
//! [`ResponsesConfig`] (background and streamed responses, changeable while running). Plain data:
//! this module uses no other module of the crate.

use std::time::Duration;

/// Timing of the emulated batch service.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// How long one batch step takes (validating→in_progress, each slice of rows, finalizing).
    /// Default 50 ms. Values under 1 ms are treated as 1 ms.
    pub step: Duration,
    /// Rows completed per step while in_progress. Default: 64.
    pub rows_per_step: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            step: Duration::from_millis(50),
            rows_per_step: 64,
        }
    }
}

/// Timing of background and streamed responses (see [`crate::Emulator::set_responses_config`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponsesConfig {
    /// Ticks a background response stays `queued`. Default 1.
    pub queued_steps: u32,
    /// Ticks a background response stays `in_progress` before it ends. Default 2.
    pub in_progress_steps: u32,
    /// Pause before every streamed event. Default 0.
    pub event_delay: Duration,
    /// Extra pause before the first delta event of a stream (`response.output_text.delta`, or
    /// `….function_call_arguments.delta` / `….code_interpreter_call_code.delta` when the model
    /// calls a tool first) — the time-to-first-token knob. Default 0.
    pub first_token_delay: Duration,
}

impl Default for ResponsesConfig {
    fn default() -> Self {
        ResponsesConfig {
            queued_steps: 1,
            in_progress_steps: 2,
            event_delay: Duration::ZERO,
            first_token_delay: Duration::ZERO,
        }
    }
}

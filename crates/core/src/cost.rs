//! Cost rules: what requests cost at a model's prices, what a job is expected to cost before it is
//! sent, and the one check of a spending cap.
//!
//! Everything here is arithmetic over token counts and catalogue prices; counting the tokens of a
//! request body is the job of `almanac-openai` (it knows the wire format), and deciding what a job
//! may spend is the job of the server's `jobs` layer, which calls [`check_cap`] everywhere a cap
//! applies (a new job, a retry, a later batch, the next realtime call, a spreadsheet's month).
//!
//! Prices: <https://platform.openai.com/docs/pricing>; batch discount:
//! <https://platform.openai.com/docs/guides/batch>; caching:
//! <https://platform.openai.com/docs/guides/prompt-caching>; rate limits:
//! <https://platform.openai.com/docs/guides/rate-limits>.

use almanac_protocol::{Cost, Estimate, Mode, RowEstimate, TokenUsage};

use crate::catalog::ModelSpec;

/// Realtime requests the wait estimate assumes are in flight at once. A conservative figure:
/// realtime mode itself runs as fast as the account's rate limits allow (the server's pacer),
/// which the estimate cannot know before the first answer.
pub const REALTIME_CONCURRENCY: u64 = 8;

/// Prompt caching applies only when the shared prefix of a request is at least this long, in tokens
/// (<https://platform.openai.com/docs/guides/prompt-caching>).
pub const MIN_CACHEABLE_PREFIX_TOKENS: u64 = 1024;

/// Cache hits grow in steps of this many tokens beyond [`MIN_CACHEABLE_PREFIX_TOKENS`].
pub const CACHE_INCREMENT_TOKENS: u64 = 128;

/// What one code interpreter container costs, USD: OpenAI's published price of the
/// `code_interpreter` tool of the Responses API, per container created (1 GB, the default memory
/// limit; <https://platform.openai.com/docs/pricing#built-in-tools>, 2025). A chat turn is charged
/// it for every container its responses opened that the thread had not used before.
pub const CODE_INTERPRETER_CONTAINER_USD: f64 = 0.03;

/// The longest wait the Batch API allows (`completion_window: "24h"`), in seconds.
const BATCH_WINDOW_SECONDS: u64 = 24 * 60 * 60;

/// Of a request whose shared prefix is `prefix` tokens, how many a cache hit covers: 0 below
/// [`MIN_CACHEABLE_PREFIX_TOKENS`], else the prefix rounded down to [`CACHE_INCREMENT_TOKENS`].
pub fn cacheable_tokens(prefix: u64) -> u64 {
    if prefix < MIN_CACHEABLE_PREFIX_TOKENS {
        0
    } else {
        prefix - prefix % CACHE_INCREMENT_TOKENS
    }
}

/// The expected output tokens per request, and where the figure comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputPrediction {
    /// Output tokens (reasoning included) expected per request.
    pub tokens_per_row: u64,
    /// `"history"` or `"catalogue"` (see [`predict_output`]).
    pub source: &'static str,
}

/// Predicts output tokens per request: the average `completion_tokens` per row of finished jobs
/// with the same model and prompt template when there is one (`history`, from the store), else the
/// catalogue's `typical_output_tokens + typical_reasoning_tokens`; either way at most the
/// schema's limit for one answer, the request's `max_output_tokens` (an answer cannot be longer).
pub fn predict_output(spec: &ModelSpec, history_per_row: Option<f64>) -> OutputPrediction {
    let cap = u64::from(spec.max_output_tokens);
    match history_per_row.filter(|n| n.is_finite() && *n > 0.0) {
        Some(avg) => OutputPrediction {
            tokens_per_row: (avg.round() as u64).clamp(1, cap),
            source: "history",
        },
        None => OutputPrediction {
            tokens_per_row: (u64::from(spec.typical_output_tokens)
                + u64::from(spec.typical_reasoning_tokens))
            .min(cap),
            source: "catalogue",
        },
    }
}

/// Tokens charged against a tokens-per-minute rate limit by one request: its input tokens plus its
/// output cap (`max_tokens` / `max_completion_tokens`), as OpenAI counts them before the request
/// runs (<https://platform.openai.com/docs/guides/rate-limits>).
pub fn rate_limit_tokens(spec: &ModelSpec, input_tokens: u64) -> u64 {
    input_tokens + u64::from(spec.max_output_tokens)
}

/// One request as counted for an estimate: the row's id (`custom_id`) and the input tokens of its
/// exact request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountedRequest<'a> {
    /// The row's id.
    pub id: &'a str,
    /// Input tokens of the request body, with the model's tokenizer and chat framing.
    pub input_tokens: u64,
}

/// What generating one request per row would cost and how long it would take, from the input
/// tokens of each request (counted on the exact bodies by `almanac-openai`) and the tokens of the
/// part every request shares (`shared_prefix_tokens`: system message and schema).
///
/// - `cached_input_tokens`: prompt caching covers a shared prefix only when it is at least
///   [`MIN_CACHEABLE_PREFIX_TOKENS`] (1024) tokens long, in steps of [`CACHE_INCREMENT_TOKENS`];
///   for every request but the first, its cacheable part is priced at `cached_input_per_1m`.
///   Today's prompt is well under 1024 tokens, so this is **0** and the estimate does not pretend
///   otherwise. Caching is best effort even when it applies, so a non-zero figure is an upper
///   bound of the saving.
/// - `output_tokens`: `prediction.tokens_per_row` per row (see [`predict_output`]).
/// - `batch` / `realtime`: input at `input_per_1m` (cached part at `cached_input_per_1m`), output
///   at `output_per_1m`; batch is realtime × `batch_price_factor`. USD, unrounded. `per_row` has
///   each row's share (the cache saving goes to rows after the first).
/// - `batch_wait_seconds` / `realtime_wait_seconds`: see [`waits`].
pub fn estimate(
    spec: &ModelSpec,
    requests: &[CountedRequest<'_>],
    shared_prefix_tokens: u64,
    prediction: OutputPrediction,
) -> Estimate {
    let mut tally = EstimateTally::new(shared_prefix_tokens, prediction);
    let per_row = requests
        .iter()
        .map(|request| tally.add_row(spec, request))
        .collect();
    Estimate {
        per_row,
        ..tally.finish(spec)
    }
}

/// The sums of an [`estimate`], gathered one request at a time: for a stream of rows too long to
/// hold, [`EstimateTally::finish`] gives the same estimate without its `per_row` figures.
#[derive(Clone, Debug)]
pub struct EstimateTally {
    cacheable: u64,
    prediction: OutputPrediction,
    rows: u64,
    spent: TokenUsage,
}

impl EstimateTally {
    /// No request yet; `shared_prefix_tokens` and `prediction` as for [`estimate`].
    pub fn new(shared_prefix_tokens: u64, prediction: OutputPrediction) -> EstimateTally {
        EstimateTally {
            cacheable: cacheable_tokens(shared_prefix_tokens),
            prediction,
            rows: 0,
            spent: TokenUsage::default(),
        }
    }

    /// Adds one request of `input_tokens`; returns its expected usage (cached input for every
    /// request but the first, the predicted output).
    pub fn add(&mut self, input_tokens: u64) -> TokenUsage {
        let cached = if self.rows == 0 {
            0
        } else {
            self.cacheable.min(input_tokens)
        };
        let usage = TokenUsage {
            input_tokens,
            cached_input_tokens: cached,
            output_tokens: self.prediction.tokens_per_row,
            reasoning_tokens: 0,
        };
        self.rows += 1;
        self.spent.input_tokens += usage.input_tokens;
        self.spent.cached_input_tokens += usage.cached_input_tokens;
        self.spent.output_tokens += usage.output_tokens;
        usage
    }

    /// [`EstimateTally::add`] of one request, and its own figures priced at `spec` (what
    /// [`estimate`] lists in `per_row`).
    pub fn add_row(&mut self, spec: &ModelSpec, request: &CountedRequest<'_>) -> RowEstimate {
        let usage = self.add(request.input_tokens);
        let realtime_usd = usage_cost(spec, Mode::Realtime, &usage);
        RowEstimate {
            id: request.id.to_owned(),
            input_tokens: request.input_tokens,
            output_tokens: usage.output_tokens,
            batch_usd: realtime_usd * spec.batch_price_factor,
            realtime_usd,
        }
    }

    /// The estimate of the requests added, priced at `spec`, with no `per_row` figures.
    pub fn finish(&self, spec: &ModelSpec) -> Estimate {
        let (input_usd, output_usd) = input_output_usd(spec, &self.spent);
        let (batch_wait_seconds, realtime_wait_seconds) = waits(spec, self.rows);
        Estimate {
            model: spec.id.clone(),
            rows: self.rows,
            input_tokens: self.spent.input_tokens,
            cached_input_tokens: self.spent.cached_input_tokens,
            output_tokens: self.spent.output_tokens,
            batch: cost(
                input_usd * spec.batch_price_factor,
                output_usd * spec.batch_price_factor,
            ),
            realtime: cost(input_usd, output_usd),
            batch_wait_seconds,
            realtime_wait_seconds,
            output_tokens_source: self.prediction.source.to_owned(),
            prices_as_of: spec.prices_as_of.clone(),
            per_row: Vec::new(),
        }
    }
}

/// `(batch_wait_seconds, realtime_wait_seconds)` of `rows` requests: a batch takes
/// `typical_batch_minutes + batch_minutes_per_1000_rows × rows / 1000`, at most 24 h; realtime
/// takes `typical_request_seconds` per request with [`REALTIME_CONCURRENCY`] requests in flight.
/// Both 0 for no rows.
pub fn waits(spec: &ModelSpec, rows: u64) -> (u64, u64) {
    if rows == 0 {
        return (0, 0);
    }
    let batch_minutes =
        spec.typical_batch_minutes + spec.batch_minutes_per_1000_rows * rows as f64 / 1000.0;
    let rounds = rows.div_ceil(REALTIME_CONCURRENCY);
    (
        ((batch_minutes * 60.0).round() as u64).min(BATCH_WINDOW_SECONDS),
        (rounds as f64 * spec.typical_request_seconds).round() as u64,
    )
}

/// `(input, output)` cost of `usage` at realtime prices, USD: uncached input at `input_per_1m`,
/// cached input at `cached_input_per_1m`, output (reasoning included) at `output_per_1m`.
fn input_output_usd(spec: &ModelSpec, usage: &TokenUsage) -> (f64, f64) {
    let per_token = |usd_per_1m: f64| usd_per_1m / 1_000_000.0;
    let cached = usage.cached_input_tokens.min(usage.input_tokens);
    (
        (usage.input_tokens - cached) as f64 * per_token(spec.input_per_1m)
            + cached as f64 * per_token(spec.cached_input_per_1m),
        usage.output_tokens as f64 * per_token(spec.output_per_1m),
    )
}

/// What `usage` costs at this model's prices in this mode, USD: uncached input at `input_per_1m`,
/// cached input at `cached_input_per_1m`, output (reasoning included) at `output_per_1m`, times
/// `batch_price_factor` in batch mode.
pub fn usage_cost(spec: &ModelSpec, mode: Mode, usage: &TokenUsage) -> f64 {
    let (input, output) = input_output_usd(spec, usage);
    match mode {
        Mode::Batch => (input + output) * spec.batch_price_factor,
        Mode::Realtime | Mode::Auto => input + output,
    }
}

/// What a chat turn costs, USD: its responses' `usage` at realtime prices (the Responses API has no
/// batch discount here) plus [`CODE_INTERPRETER_CONTAINER_USD`] per new container.
pub fn chat_turn_cost(spec: &ModelSpec, usage: &TokenUsage, new_containers: u64) -> f64 {
    usage_cost(spec, Mode::Realtime, usage) + new_containers as f64 * CODE_INTERPRETER_CONTAINER_USD
}

/// The total of an estimate in `mode` (batch or realtime; `auto` reads as realtime, the dearer).
pub fn estimate_total(estimate: &Estimate, mode: Mode) -> f64 {
    match mode {
        Mode::Batch => estimate.batch.total_usd,
        Mode::Realtime | Mode::Auto => estimate.realtime.total_usd,
    }
}

/// `total × part / whole`: the share of an estimate made for `whole` rows that `part` rows take
/// (0 when `whole` is 0). USD in, USD out.
pub fn pro_rata(total_usd: f64, part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        total_usd * part as f64 / whole as f64
    }
}

/// A cap that spending more would pass: the figures, USD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CapExceeded {
    /// The cap.
    pub cap_usd: f64,
    /// Spent (or committed) so far.
    pub spent_usd: f64,
    /// What the next step would add.
    pub more_usd: f64,
}

impl CapExceeded {
    /// `spent_usd + more_usd`: what the total would have been.
    pub fn total_usd(&self) -> f64 {
        self.spent_usd + self.more_usd
    }

    /// `cap_usd − spent_usd`: what was left before the step.
    pub fn remaining_usd(&self) -> f64 {
        self.cap_usd - self.spent_usd
    }
}

/// The one check of a spending cap: spending `more_usd` on top of `spent_usd` is allowed when no
/// cap is set or `spent + more ≤ cap` (reaching the cap exactly is allowed). Every cap of Almanac
/// goes through here: a job's `max_cost_usd` at creation, on retry, before a later batch and before
/// each realtime call, and a spreadsheet's monthly budget.
///
/// # Errors
/// [`CapExceeded`] with the figures when the cap would be passed.
pub fn check_cap(cap_usd: Option<f64>, spent_usd: f64, more_usd: f64) -> Result<(), CapExceeded> {
    match cap_usd {
        Some(cap_usd) if spent_usd + more_usd > cap_usd => Err(CapExceeded {
            cap_usd,
            spent_usd,
            more_usd,
        }),
        _ => Ok(()),
    }
}

fn cost(input_usd: f64, output_usd: f64) -> Cost {
    Cost {
        input_usd,
        output_usd,
        total_usd: input_usd + output_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn requests(n: usize, tokens: u64) -> Vec<CountedRequest<'static>> {
        (0..n)
            .map(|_| CountedRequest {
                id: "r",
                input_tokens: tokens,
            })
            .collect()
    }

    #[test]
    fn cached_tokens_need_a_1024_token_prefix_and_come_in_128_token_steps() {
        assert_eq!(cacheable_tokens(0), 0);
        assert_eq!(cacheable_tokens(1023), 0);
        assert_eq!(cacheable_tokens(1024), 1024);
        assert_eq!(cacheable_tokens(1151), 1024);
        assert_eq!(cacheable_tokens(1152), 1152);
        assert_eq!(cacheable_tokens(5000), 4992);
    }

    #[test]
    fn a_long_shared_prefix_is_priced_as_cached_for_every_request_but_the_first() {
        let spec = Catalog::builtin().resolve("gpt-4.1-2025-04-14").unwrap();
        let prediction = predict_output(spec, None);
        let e = estimate(spec, &requests(3, 2000), 1500, prediction);
        assert_eq!(e.cached_input_tokens, 2 * 1408);
        assert!(e.per_row[1].realtime_usd < e.per_row[0].realtime_usd);
        let plain = estimate(spec, &requests(3, 2000), 900, prediction);
        assert_eq!(plain.cached_input_tokens, 0);
        assert!(e.realtime.total_usd < plain.realtime.total_usd);
    }

    #[test]
    fn the_cap_check_allows_reaching_the_cap_and_refuses_passing_it() {
        assert_eq!(check_cap(None, 100.0, 100.0), Ok(()));
        assert_eq!(check_cap(Some(1.0), 0.4, 0.6), Ok(()));
        let over = check_cap(Some(1.0), 0.5, 0.6).unwrap_err();
        assert!((over.total_usd() - 1.1).abs() < 1e-12);
        assert!((over.remaining_usd() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_pro_rata_share_of_nothing_is_nothing() {
        assert_eq!(pro_rata(10.0, 5, 0), 0.0);
        assert_eq!(pro_rata(10.0, 5, 10), 5.0);
    }
}

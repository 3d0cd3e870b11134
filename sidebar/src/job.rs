//! One job in the sidebar: live progress while it runs, the outcome when it ends, Cancel and
//! Retry failed rows. Progress comes from the SSE stream `GET /jobs/{id}/events`, read with `fetch`
//! (the token in its header, never in the URL); when the stream drops the card reconnects, and
//! after [`MAX_STREAM_DROPS`] drops it polls `GET /jobs/{id}` instead. Closing the sidebar only stops watching: the job goes on in the backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use almanac_protocol::{Job, JobEvent, JobRow, JobStatus, RequestCounts, RowCounts, RowState};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Api, ApiError};
use crate::format;
use crate::i18n::{t, tf};
use crate::js;

/// Stream drops tolerated before the card falls back to polling.
pub const MAX_STREAM_DROPS: u32 = 3;
/// Milliseconds between two polls once the stream is given up.
pub const POLL_MS: i32 = 3000;

/// How the card learns about changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// The event stream is open.
    Live,
    /// The stream dropped; reconnecting (the number of drops so far).
    Reconnecting(u32),
    /// The stream is given up; polling.
    Polling,
    /// The job has ended; nothing to watch.
    Ended,
}

impl Link {
    fn describe(self) -> String {
        match self {
            Link::Live => t("link-live"),
            Link::Reconnecting(n) => tf("link-reconnecting", &[("n", n.into())]),
            Link::Polling => tf("link-polling", &[("s", (POLL_MS / 1000).into())]),
            Link::Ended => String::new(),
        }
    }
}

/// Copies an event's status and counts onto the job.
fn apply(job: &mut Job, event: JobEvent) {
    job.status = event.status;
    job.status_text = event.status_text;
    job.request_counts = event.request_counts;
    job.row_counts = event.row_counts;
}

/// Whether the job in `current` still runs (`false` too once the card is gone).
fn still_running(current: RwSignal<Job>) -> bool {
    current.try_with_untracked(|j| !j.status.is_terminal()) == Some(true)
}

/// Loads `GET /jobs/{id}`, rows included, onto the card; a failed call leaves the card as it was.
async fn reload(api: &Api, id: &str, current: RwSignal<Job>) {
    if let Ok(job) = api.job(id).await {
        current.try_set(job);
    }
}

/// Follows the job in `current` until it ends (or the card goes away), then loads its rows: the
/// event stream while it holds (reconnecting after `500 ms × drops`), then after
/// [`MAX_STREAM_DROPS`] drops `GET /jobs/{id}` every [`POLL_MS`].
async fn follow(api: Api, current: RwSignal<Job>, link: RwSignal<Link>, alive: Arc<AtomicBool>) {
    let Some(id) = current.try_with_untracked(|j| j.id.clone()) else {
        return;
    };
    let live = || alive.load(Ordering::Relaxed);
    let running = || still_running(current);
    let mut drops = 0;
    while live() && running() {
        if drops >= MAX_STREAM_DROPS {
            link.try_set(Link::Polling);
            js::sleep(POLL_MS).await;
            reload(&api, &id, current).await;
            continue;
        }
        if !read_stream(&api, &id, current, link, &mut drops, &alive).await {
            return;
        }
        if live() && running() {
            js::sleep(500 * drops as i32).await;
        }
    }
    if live() {
        reload(&api, &id, current).await;
        link.try_set(Link::Ended);
    }
}

/// Applies one connection's `progress` events to the card until the job ends or the stream drops
/// or is refused (one more in `drops`); the stream is closed on return. `false` when the card
/// went away meanwhile.
async fn read_stream(
    api: &Api,
    id: &str,
    current: RwSignal<Job>,
    link: RwSignal<Link>,
    drops: &mut u32,
    alive: &AtomicBool,
) -> bool {
    let mut gone = false;
    let read = api
        .job_events(id, |event| {
            if !alive.load(Ordering::Relaxed) {
                gone = true;
                return false;
            }
            if event.event == "progress"
                && let Ok(event) = serde_json::from_str::<JobEvent>(&event.data)
            {
                link.try_set(Link::Live);
                current.try_update(|job| apply(job, event));
            }
            still_running(current)
        })
        .await;
    if gone {
        return false;
    }
    if read.is_err() || still_running(current) {
        *drops += 1;
        link.try_set(Link::Reconnecting(*drops));
    }
    true
}

/// What a card shows, as signals: the job as last seen, how the card learns about it, and the
/// clock of the elapsed time. `Copy`, so that every view closure can hold it; its methods read
/// the job tracked, for use in those closures.
#[derive(Clone, Copy)]
struct CardState {
    /// The job as last seen.
    current: RwSignal<Job>,
    /// How the card learns about changes.
    link: RwSignal<Link>,
    /// Now, in milliseconds since the epoch, updated every second.
    now: RwSignal<f64>,
}

impl CardState {
    fn status(self) -> JobStatus {
        self.current.with(|j| j.status)
    }

    fn running(self) -> bool {
        !self.status().is_terminal()
    }

    fn counts(self) -> RequestCounts {
        self.current.with(|j| j.request_counts)
    }

    fn rows(self) -> RowCounts {
        self.current.with(|j| j.row_counts)
    }

    /// The progress bar's total: the requests, or the rows waiting before any request exists.
    fn bar_total(self) -> u64 {
        let c = self.counts();
        if c.total > 0 {
            c.total
        } else {
            self.rows().pending
        }
    }

    /// Time since submission (until the last change once the job has ended).
    fn elapsed(self) -> Option<String> {
        self.current.with(|j| {
            let start = js::parse_time_ms(&j.created_at)?;
            let end = if j.status.is_terminal() {
                js::parse_time_ms(&j.updated_at)?
            } else {
                self.now.get()
            };
            Some(format::duration(((end - start) / 1000.0).max(0.0) as u64))
        })
    }
}

/// Runs [`follow`] for a card, at the start and again when a retry sets the job running.
#[derive(Clone)]
struct Follower {
    api: Api,
    card: CardState,
    /// Cleared when the card goes away: [`follow`] then stops.
    alive: Arc<AtomicBool>,
}

impl Follower {
    fn start(&self) {
        let card = self.card;
        spawn_local(follow(
            self.api.clone(),
            card.current,
            card.link,
            self.alive.clone(),
        ));
    }
}

/// Sets up a card for `job`: its state, the one-second clock (stopped with the card), and
/// [`follow`] when the job runs, or has ended but its rows are not loaded yet.
fn watch(job: Job, api: &Api) -> Follower {
    let needs_rows = job.status.is_terminal() && job.rows.is_empty() && job.row_counts.total > 0;
    let terminal_at_start = job.status.is_terminal();
    let card = CardState {
        current: RwSignal::new(job),
        link: RwSignal::new(if terminal_at_start {
            Link::Ended
        } else {
            Link::Live
        }),
        now: RwSignal::new(js::now_ms()),
    };
    let alive = Arc::new(AtomicBool::new(true));

    let now = card.now;
    let ticker =
        set_interval_with_handle(move || now.set(js::now_ms()), Duration::from_secs(1)).ok();
    {
        let alive = alive.clone();
        on_cleanup(move || {
            alive.store(false, Ordering::Relaxed);
            if let Some(ticker) = ticker {
                ticker.clear();
            }
        });
    }
    let follower = Follower {
        api: api.clone(),
        card,
        alive,
    };
    if !terminal_at_start || needs_rows {
        follower.start();
    }
    follower
}

/// Cancel or Retry failed rows: a call answered by the job as it then is.
type JobAction = Action<(), Result<Job, ApiError>>;

/// `POST /jobs/{id}/cancel`; the job it answers replaces the card's unless the job has ended
/// meanwhile.
fn cancel_action(api: &Api, id: &str, current: RwSignal<Job>) -> JobAction {
    let (api, id) = (api.clone(), id.to_owned());
    let cancel = Action::new_local(move |_: &()| {
        let (api, id) = (api.clone(), id.clone());
        async move { api.cancel(&id).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(job)) = cancel.value().get() {
            current.update(|c| {
                if !c.status.is_terminal() {
                    *c = job;
                }
            });
        }
    });
    cancel
}

/// `POST /jobs/{id}/retry`; the job it answers replaces the card's and, when it runs again, is
/// followed again.
fn retry_action(api: &Api, id: &str, follower: Follower) -> JobAction {
    let (api, id) = (api.clone(), id.to_owned());
    let retry = Action::new_local(move |_: &()| {
        let (api, id) = (api.clone(), id.clone());
        async move { api.retry(&id).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(job)) = retry.value().get() {
            let follow = !job.status.is_terminal();
            follower.card.current.set(job);
            if follow {
                follower.card.link.set(Link::Live);
                follower.start();
            }
        }
    });
    retry
}

/// A job: its heading, its status in words, a progress bar while it runs, what it costs and how
/// long it takes, the outcome and the failed rows when it ends, Cancel and Retry failed rows.
#[component]
pub fn JobCard(job: Job) -> impl IntoView {
    let api = expect_context::<Api>();
    let id = job.id.clone();
    let follower = watch(job, &api);
    let card = follower.card;
    let cancel = cancel_action(&api, &id, card.current);
    let retry = retry_action(&api, &id, follower);
    let heading = card.current.with_untracked(|j| {
        tf(
            "job-heading",
            &[
                ("rows", format::rows(j.row_counts.total).into()),
                ("model", j.model.clone().into()),
                ("mode", format::mode(j.mode).into()),
                ("time", js::local_time(&j.created_at).into()),
            ],
        )
    });
    view! {
        <article class="job" data-job-id=id data-status=move || card.status().as_str()>
            <h3>{heading}</h3>
            <JobLive card/>
            <JobProgress card/>
            <JobCost card/>
            <JobElapsed card/>
            <JobError card/>
            <FailedRows card retry/>
            <CancelButton card cancel/>
            <ActionError cancel retry/>
        </article>
    }
}

/// The part screen readers follow (`aria-live`): the status in words, then the request counts
/// while the job runs or the rows written, skipped and failed once it has ended.
#[component]
fn JobLive(card: CardState) -> impl IntoView {
    view! {
        <div class="live" aria-live="polite">
            <p class="status"><strong>{move || format::status(card.status())}</strong></p>
            <Show when=move || card.running()>
                <p class="counts">
                    {move || {
                        let c = card.counts();
                        tf("job-counts", &[
                            ("completed", format::thousands(c.completed).into()),
                            ("failed", format::thousands(c.failed).into()),
                            ("total", format::thousands(card.bar_total()).into()),
                        ])
                    }}
                </p>
            </Show>
            <Show when=move || !card.running()>
                <p class="outcome">
                    {move || {
                        let r = card.rows();
                        tf("job-outcome", &[
                            ("done", format::thousands(r.done).into()),
                            ("skipped", format::thousands(r.skipped).into()),
                            ("failed", format::thousands(r.failed).into()),
                        ])
                    }}
                </p>
            </Show>
        </div>
    }
}

/// The progress bar of the requests done, while the job runs.
#[component]
fn JobProgress(card: CardState) -> impl IntoView {
    view! {
        <Show when=move || card.running()>
            <progress
                max=move || card.bar_total().max(1)
                value=move || (card.bar_total() > 0).then(|| card.counts().completed + card.counts().failed)
                aria-label=t("job-progress-label")
            ></progress>
        </Show>
    }
}

/// The cost line ([`format::cost_line`]) with the job's mode, when the job has figures.
#[component]
fn JobCost(card: CardState) -> impl IntoView {
    move || {
        card.current.with(|j| format::cost_line(&j.cost)).map(|line| {
            view! {
                <p class="cost" data-mode=move || card.current.with(|j| j.mode.as_str())>{line}</p>
            }
        })
    }
}

/// How long ago the job was submitted and how the card follows it, or how long it took.
#[component]
fn JobElapsed(card: CardState) -> impl IntoView {
    view! {
        <p class="muted elapsed">
            {move || {
                let time = card.elapsed().unwrap_or_default();
                if card.running() {
                    tf("job-submitted", &[("time", time.into()), ("link", card.link.get().describe().into())])
                } else {
                    tf("job-took", &[("time", time.into())])
                }
            }}
        </p>
    }
}

/// The job's own error, as an alert.
#[component]
fn JobError(card: CardState) -> impl IntoView {
    move || {
        card.current
            .with(|j| j.error.as_ref().map(|e| e.message.clone()))
            .map(|m| view! { <p class="error" role="alert">{m}</p> })
    }
}

/// Once the job has ended with failed rows: the list of them, one [`FailedRow`] each, and Retry
/// failed rows.
#[component]
fn FailedRows(card: CardState, retry: JobAction) -> impl IntoView {
    let failed_rows = move || {
        card.current.with(|j| {
            j.rows
                .iter()
                .filter(|r| r.state == RowState::Failed)
                .map(|row| view! { <FailedRow row=row.clone()/> })
                .collect_view()
        })
    };
    view! {
        <Show when=move || { !card.running() && card.rows().failed > 0 }>
            <ul class="failed-rows" aria-label=t("failed-rows-label")>{failed_rows}</ul>
            <RetryButton retry/>
        </Show>
    }
}

/// One failed row: `Row 7 (07-01): <reason>`. The one place a failed row is rendered, so that
/// what else a row says about its failure goes here.
#[component]
fn FailedRow(row: JobRow) -> impl IntoView {
    let text = tf(
        "failed-row",
        &[
            ("row", row.row_number.into()),
            ("id", row.id.into()),
            (
                "reason",
                row.reason
                    .unwrap_or_else(|| t("failed-row-no-reason"))
                    .into(),
            ),
        ],
    );
    view! { <li>{text}</li> }
}

/// Retry failed rows (`Retrying…` while the call is under way).
#[component]
fn RetryButton(retry: JobAction) -> impl IntoView {
    view! {
        <button
            type="button"
            class="primary"
            disabled=move || retry.pending().get()
            on:click=move |_| { retry.dispatch(()); }
        >
            {move || if retry.pending().get() { t("retrying") } else { t("retry-button") }}
        </button>
    }
}

/// Cancel, while the job runs and is not being cancelled already.
#[component]
fn CancelButton(card: CardState, cancel: JobAction) -> impl IntoView {
    view! {
        <Show when=move || card.running() && card.status() != JobStatus::Cancelling>
            <button
                type="button"
                class="secondary"
                disabled=move || cancel.pending().get()
                on:click=move |_| { cancel.dispatch(()); }
            >
                {t("cancel-button")}
            </button>
        </Show>
    }
}

/// Why Cancel or Retry failed rows did not go through, as an alert.
#[component]
fn ActionError(cancel: JobAction, retry: JobAction) -> impl IntoView {
    move || {
        let cancel_err = cancel.value().get().and_then(Result::err);
        let retry_err = retry.value().get().and_then(Result::err);
        cancel_err
            .or(retry_err)
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    }
}

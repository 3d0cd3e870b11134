//! One job in the sidebar: live progress while it runs, the outcome when it ends, Cancel and
//! Retry failed rows. Progress comes from the SSE stream `GET /jobs/{id}/events`; when the stream
//! drops the card reconnects, and after [`MAX_STREAM_DROPS`] drops it polls `GET /jobs/{id}`
//! instead. Closing the sidebar only stops watching: the job goes on in the backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use almanac_protocol::{Job, JobEvent, JobStatus, RowState};
use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::Api;
use crate::format;
use crate::js::{self, EventStream, StreamMessage};

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
            Link::Live => "live".into(),
            Link::Reconnecting(n) => format!("connection lost, reconnecting (try {n})"),
            Link::Polling => format!("checking every {} s", POLL_MS / 1000),
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

/// Follows the job in `current` until it ends (or the card goes away), then loads its rows.
async fn follow(api: Api, current: RwSignal<Job>, link: RwSignal<Link>, alive: Arc<AtomicBool>) {
    let Some(id) = current.try_with_untracked(|j| j.id.clone()) else {
        return;
    };
    let live = || alive.load(Ordering::Relaxed);
    let running = || current.try_with_untracked(|j| !j.status.is_terminal()) == Some(true);
    let mut drops = 0;
    while live() && running() {
        if drops >= MAX_STREAM_DROPS {
            link.try_set(Link::Polling);
            js::sleep(POLL_MS).await;
            if let Ok(job) = api.job(&id).await {
                current.try_set(job);
            }
            continue;
        }
        match EventStream::open(&api.events_url(&id)) {
            Ok(mut stream) => {
                while let Some(message) = stream.receiver.next().await {
                    if !live() {
                        return;
                    }
                    match message {
                        StreamMessage::Progress(data) => {
                            if let Ok(event) = serde_json::from_str::<JobEvent>(&data) {
                                link.try_set(Link::Live);
                                current.try_update(|job| apply(job, event));
                            }
                            if !running() {
                                break;
                            }
                        }
                        StreamMessage::Error => {
                            drops += 1;
                            link.try_set(Link::Reconnecting(drops));
                            break;
                        }
                    }
                }
            }
            Err(_) => drops += 1,
        }
        if live() && running() {
            js::sleep(500 * drops as i32).await;
        }
    }
    if live() {
        if let Ok(job) = api.job(&id).await {
            current.try_set(job);
        }
        link.try_set(Link::Ended);
    }
}

/// A job: its status in words, a progress bar while it runs, the outcome when it ends.
#[component]
pub fn JobCard(job: Job) -> impl IntoView {
    let api = expect_context::<Api>();
    let needs_rows = job.status.is_terminal() && job.rows.is_empty() && job.row_counts.total > 0;
    let terminal_at_start = job.status.is_terminal();
    let id = job.id.clone();
    let current = RwSignal::new(job);
    let link = RwSignal::new(if terminal_at_start {
        Link::Ended
    } else {
        Link::Live
    });
    let now = RwSignal::new(js::now_ms());
    let alive = Arc::new(AtomicBool::new(true));

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
    let start_following = {
        let (api, alive) = (api.clone(), alive.clone());
        move || spawn_local(follow(api.clone(), current, link, alive.clone()))
    };
    if !terminal_at_start || needs_rows {
        start_following();
    }

    let cancel = {
        let (api, id) = (api.clone(), id.clone());
        Action::new_local(move |_: &()| {
            let (api, id) = (api.clone(), id.clone());
            async move { api.cancel(&id).await }
        })
    };
    Effect::new(move |_| {
        if let Some(Ok(job)) = cancel.value().get() {
            current.update(|c| {
                if !c.status.is_terminal() {
                    *c = job;
                }
            });
        }
    });
    let retry = {
        let (api, id) = (api.clone(), id.clone());
        Action::new_local(move |_: &()| {
            let (api, id) = (api.clone(), id.clone());
            async move { api.retry(&id).await }
        })
    };
    {
        let start_following = start_following.clone();
        Effect::new(move |_| {
            if let Some(Ok(job)) = retry.value().get() {
                let follow = !job.status.is_terminal();
                current.set(job);
                if follow {
                    link.set(Link::Live);
                    start_following();
                }
            }
        });
    }

    let status = move || current.with(|j| j.status);
    let running = move || !status().is_terminal();
    let counts = move || current.with(|j| j.request_counts);
    let rows = move || current.with(|j| j.row_counts);
    let bar_total = move || {
        let c = counts();
        if c.total > 0 { c.total } else { rows().pending }
    };
    let elapsed = move || {
        current.with(|j| {
            let start = js::parse_time_ms(&j.created_at)?;
            let end = if j.status.is_terminal() {
                js::parse_time_ms(&j.updated_at)?
            } else {
                now.get()
            };
            Some(format::duration(((end - start) / 1000.0).max(0.0) as u64))
        })
    };
    let heading = current.with_untracked(|j| {
        format!(
            "{} · {} · {} · {}",
            format::rows(j.row_counts.total),
            j.model,
            j.mode.as_str(),
            js::local_time(&j.created_at)
        )
    });
    let failed_rows = move || {
        current.with(|j| {
            j.rows
                .iter()
                .filter(|r| r.state == RowState::Failed)
                .map(|r| {
                    let text = format!(
                        "Row {} ({}): {}",
                        r.row_number,
                        r.id,
                        r.reason.as_deref().unwrap_or("failed")
                    );
                    view! { <li>{text}</li> }
                })
                .collect_view()
        })
    };
    let api_error = move || {
        let cancel_err = cancel.value().get().and_then(Result::err);
        let retry_err = retry.value().get().and_then(Result::err);
        cancel_err
            .or(retry_err)
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };

    view! {
        <article class="job" data-job-id=id.clone() data-status=move || status().as_str()>
            <h3>{heading}</h3>
            <div class="live" aria-live="polite">
                <p class="status"><strong>{move || current.with(|j| j.status_text.clone())}</strong></p>
                <Show when=running>
                    <p class="counts">
                        {move || {
                            let c = counts();
                            format!("{} completed · {} failed · {} total", c.completed, c.failed, bar_total())
                        }}
                    </p>
                </Show>
                <Show when=move || !running()>
                    <p class="outcome">
                        {move || {
                            let r = rows();
                            format!("{} written · {} skipped · {} failed", r.done, r.skipped, r.failed)
                        }}
                    </p>
                </Show>
            </div>
            <Show when=running>
                <progress
                    max=move || bar_total().max(1)
                    value=move || (bar_total() > 0).then(|| counts().completed + counts().failed)
                    aria-label="Requests done"
                ></progress>
            </Show>
            {move || current.with(|j| format::cost_line(&j.cost)).map(|line| view! {
                <p class="cost" data-mode=move || current.with(|j| j.mode.as_str())>{line}</p>
            })}
            <p class="muted elapsed">
                {move || {
                    let time = elapsed().unwrap_or_default();
                    if running() {
                        format!("Submitted {time} ago · {}", link.get().describe())
                    } else {
                        format!("Took {time}")
                    }
                }}
            </p>
            {move || current.with(|j| j.error.as_ref().map(|e| e.message.clone())).map(|m| view! {
                <p class="error" role="alert">{m}</p>
            })}
            <Show when=move || { !running() && rows().failed > 0 }>
                <ul class="failed-rows" aria-label="Failed rows">{failed_rows}</ul>
                <button
                    type="button"
                    class="primary"
                    disabled=move || retry.pending().get()
                    on:click=move |_| { retry.dispatch(()); }
                >
                    {move || if retry.pending().get() { "Retrying…" } else { "Retry failed rows" }}
                </button>
            </Show>
            <Show when=move || running() && status() != JobStatus::Cancelling>
                <button
                    type="button"
                    class="secondary"
                    disabled=move || cancel.pending().get()
                    on:click=move |_| { cancel.dispatch(()); }
                >
                    "Cancel"
                </button>
            </Show>
            {api_error}
        </article>
    }
}

//! The sidebar's screens: reading the selection, what it means, the model and the estimate,
//! Generate, and this spreadsheet's jobs. Each component is small and takes what it shows as
//! props; the API client comes from context.

use almanac_protocol::{CreateJobRequest, EstimateRequest, Job, Mode, SelectionContext};
use leptos::prelude::*;

use crate::api::{Api, ApiError};
use crate::format;
use crate::job::JobCard;
use crate::js;
use crate::summary::{SelectionSummary, describe_rows};

/// The whole sidebar: reads the selection, then shows the [`Panel`] for it.
#[component]
pub fn App() -> impl IntoView {
    let context = LocalResource::new(|| async { js::selection_context().await.map_err(ApiError) });
    view! {
        <main class="almanac">
            <header class="top">
                <h1>"Almanac"</h1>
                <button type="button" class="secondary" on:click=move |_| context.refetch()>
                    "Refresh selection"
                </button>
            </header>
            <ErrorBoundary fallback=|errors| view! { <ErrorList errors/> }>
                <Suspense fallback=|| view! { <p class="muted" role="status">"Reading your selection…"</p> }>
                    {move || Suspend::new(async move {
                        context.await.map(|ctx| view! { <Panel ctx/> })
                    })}
                </Suspense>
            </ErrorBoundary>
        </main>
    }
}

/// Errors caught by an `ErrorBoundary`, as an alert.
#[component]
fn ErrorList(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            {move || {
                errors
                    .get()
                    .into_iter()
                    .map(|(_, e)| view! { <p>{e.to_string()}</p> })
                    .collect_view()
            }}
        </div>
    }
}

/// Everything below the title once the selection is known.
#[component]
fn Panel(ctx: SelectionContext) -> impl IntoView {
    let api = Api::new(&ctx);
    provide_context(api.clone());
    let summary = SelectionSummary::of(&ctx.rows);
    let model = RwSignal::new(None::<String>);
    let mode = RwSignal::new(Mode::Batch);
    let jobs = RwSignal::new(Vec::<Job>::new());

    let listed = {
        let api = api.clone();
        let spreadsheet_id = ctx.spreadsheet_id.clone();
        LocalResource::new(move || {
            let api = api.clone();
            let spreadsheet_id = spreadsheet_id.clone();
            async move { api.list_jobs(&spreadsheet_id).await }
        })
    };
    Effect::new(move |_| {
        if let Some(Ok(list)) = listed.get() {
            jobs.update(|shown| {
                for job in list.jobs {
                    if !shown.iter().any(|j| j.id == job.id) {
                        shown.push(job);
                    }
                }
            });
        }
    });

    let create = {
        let api = api.clone();
        Action::new_local(move |req: &CreateJobRequest| {
            let api = api.clone();
            let req = req.clone();
            async move { api.create_job(&req).await }
        })
    };
    Effect::new(move |_| {
        if let Some(Ok(job)) = create.value().get() {
            jobs.update(|shown| {
                if !shown.iter().any(|j| j.id == job.id) {
                    shown.insert(0, job);
                }
            });
        }
    });
    let generate = {
        let spans = summary.spans.clone();
        let (spreadsheet_id, sheet_id) = (ctx.spreadsheet_id.clone(), ctx.sheet_id);
        move |_| {
            let Some(model) = model.get_untracked() else {
                return;
            };
            create.dispatch(CreateJobRequest {
                spreadsheet_id: spreadsheet_id.clone(),
                sheet_id,
                rows: spans.clone(),
                model,
                mode: mode.get_untracked(),
                overwrite: false,
            });
        }
    };
    let can_generate = summary.can_generate();
    let to_generate = summary.to_generate.clone();

    view! {
        <p class="muted sheet">
            {format!("Sheet “{}”", ctx.sheet_title)}
            {(!ctx.user_email.is_empty()).then(|| format!(" · {}", ctx.user_email))}
        </p>
        <SelectionView summary/>
        <Show when=move || can_generate>
            <ModelPicker model/>
            <EstimateView model mode rows=to_generate.clone()/>
        </Show>
        <div class="actions">
            <button
                type="button"
                class="primary"
                disabled=move || !can_generate || model.get().is_none() || create.pending().get()
                on:click=generate.clone()
            >
                {move || if create.pending().get() { "Starting…" } else { "Generate" }}
            </button>
        </div>
        {move || {
            create
                .value()
                .get()
                .and_then(Result::err)
                .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
        }}
        <section class="jobs" aria-labelledby="jobs-title">
            <h2 id="jobs-title">"Jobs on this spreadsheet"</h2>
            {move || match listed.get() {
                None => Some(view! { <p class="muted">"Loading jobs…"</p> }.into_any()),
                Some(Err(e)) => Some(
                    view! { <p class="error" role="alert">{format!("Could not list the jobs: {e}")}</p> }
                        .into_any(),
                ),
                Some(Ok(_)) if jobs.with(Vec::is_empty) => {
                    Some(view! { <p class="muted">"No jobs yet."</p> }.into_any())
                }
                Some(Ok(_)) => None,
            }}
            <For each=move || jobs.get() key=|job| job.id.clone() let:job>
                <JobCard job/>
            </For>
        </section>
    }
}

/// What the selection means: N selected, M skipped, K to generate, and why rows are left out.
#[component]
fn SelectionView(summary: SelectionSummary) -> impl IntoView {
    if summary.is_empty() {
        return view! {
            <section class="selection" aria-label="Selection">
                <p class="notice" role="status">
                    "No rows are selected. Select the rows to fill (click the row numbers), then press Refresh selection."
                </p>
            </section>
        }
        .into_any();
    }
    let skipped = summary.filled;
    view! {
        <section class="selection" aria-label="Selection">
            <dl class="counts">
                <div><dt>"Selected"</dt><dd data-count="selected">{summary.selected}</dd></div>
                <div><dt>"Already filled"</dt><dd data-count="filled">{skipped}</dd></div>
                <div><dt>"To generate"</dt><dd data-count="to-generate">{summary.to_generate.len()}</dd></div>
            </dl>
            {(skipped > 0).then(|| view! {
                <p class="muted">{format!("{} with C–F filled will be skipped.", format::rows(skipped as u64))}</p>
            })}
            {summary.has_header.then(|| view! {
                <p class="notice">"The header row is selected; it is left out."</p>
            })}
            {(!summary.missing.is_empty()).then(|| view! {
                <p class="notice">
                    {format!(
                        "{} without an id (A) or a title (B) will not be generated: {}.",
                        if summary.missing.len() == 1 { "Row" } else { "Rows" },
                        describe_rows(&summary.missing),
                    )}
                </p>
            })}
            {(!summary.can_generate()).then(|| view! {
                <p class="notice" role="status">"Nothing to generate in this selection."</p>
            })}
        </section>
    }
    .into_any()
}

/// The model picker, filled from `GET /models`; selects the default model.
#[component]
fn ModelPicker(model: RwSignal<Option<String>>) -> impl IntoView {
    let api = expect_context::<Api>();
    let models = LocalResource::new(move || {
        let api = api.clone();
        async move { api.models().await }
    });
    view! {
        <div class="field">
            <label for="almanac-model">"Model"</label>
            <Suspense fallback=|| view! { <select id="almanac-model" disabled=true><option>"Loading…"</option></select> }>
                {move || Suspend::new(async move {
                    match models.await {
                        Ok(list) => {
                            if model.get_untracked().is_none() {
                                model.set(Some(list.default_model.clone()));
                            }
                            view! {
                                <select
                                    id="almanac-model"
                                    on:change=move |ev| model.set(Some(event_target_value(&ev)))
                                    prop:value=move || model.get().unwrap_or_default()
                                >
                                    {list
                                        .models
                                        .into_iter()
                                        .map(|m| {
                                            let selected = Some(&m.id) == model.get_untracked().as_ref();
                                            view! { <option value=m.id.clone() selected=selected>{m.id.clone()}</option> }
                                        })
                                        .collect_view()}
                                </select>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{format!("Could not list the models: {e}")}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// One choosable mode in the cost table: a radio button named after the mode.
#[component]
fn ModeChoice(mode: RwSignal<Mode>, value: Mode, label: &'static str) -> impl IntoView {
    view! {
        <label>
            <input
                type="radio"
                name="almanac-mode"
                value=value.as_str()
                prop:checked=move || mode.get() == value
                on:change=move |_| mode.set(value)
            />
            {label}
        </label>
    }
}

/// Tokens and cost of the rows to generate, batch beside realtime, and the expected wait; the
/// person picks the mode here (batch, realtime, or auto: Almanac chooses).
#[component]
fn EstimateView(
    model: RwSignal<Option<String>>,
    mode: RwSignal<Mode>,
    rows: Vec<almanac_protocol::EstimateRow>,
) -> impl IntoView {
    let api = expect_context::<Api>();
    let estimate = LocalResource::new(move || {
        let api = api.clone();
        let rows = rows.clone();
        let model = model.get();
        async move {
            match model {
                Some(model) => api
                    .estimate(&EstimateRequest { model, rows })
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }
    });
    view! {
        <section class="estimate" aria-label="Estimate" aria-live="polite">
            <Suspense fallback=|| view! { <p class="muted">"Estimating…"</p> }>
                {move || Suspend::new(async move {
                    match estimate.await {
                        Ok(Some(e)) => {
                            let saved = e.realtime.total_usd - e.batch.total_usd;
                            view! {
                                <p class="tokens">
                                    {format!(
                                        "{}: {} input + ~{} output tokens{}",
                                        format::rows(e.rows),
                                        format::thousands(e.input_tokens),
                                        format::thousands(e.output_tokens),
                                        if e.output_tokens_source == "history" { " (from past jobs)" } else { "" },
                                    )}
                                </p>
                                <table class="costs">
                                    <thead><tr><th scope="col">"Mode"</th><th scope="col">"Cost"</th><th scope="col">"Wait"</th></tr></thead>
                                    <tbody>
                                        <tr class="batch">
                                            <th scope="row"><ModeChoice mode value=Mode::Batch label="Batch"/></th>
                                            <td data-cost="batch">{format::usd(e.batch.total_usd)}</td>
                                            <td>{format!("~{}", format::duration(e.batch_wait_seconds))}</td>
                                        </tr>
                                        <tr>
                                            <th scope="row"><ModeChoice mode value=Mode::Realtime label="Realtime"/></th>
                                            <td data-cost="realtime">{format::usd(e.realtime.total_usd)}</td>
                                            <td>{format!("~{}", format::duration(e.realtime_wait_seconds))}</td>
                                        </tr>
                                        <tr>
                                            <th scope="row"><ModeChoice mode value=Mode::Auto label="Auto"/></th>
                                            <td colspan="2" class="muted">"Realtime if small or urgent, else batch"</td>
                                        </tr>
                                    </tbody>
                                </table>
                                <p class="muted per-row">{format!(
                                    "Per row: {} batch · {} realtime",
                                    format::usd(e.batch.total_usd / e.rows.max(1) as f64),
                                    format::usd(e.realtime.total_usd / e.rows.max(1) as f64),
                                )}</p>
                                <p class="muted">{format!("Batch mode saves {} (results within 24 h at most).", format::usd(saved))}</p>
                            }
                            .into_any()
                        }
                        Ok(None) => view! { <p class="muted">"Pick a model to see the cost."</p> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("No estimate: {e}")}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

//! The sidebar's screens: reading the selection, then two tabs — Generate (what the selection
//! means, the model and the estimate, Generate, and this spreadsheet's jobs) and Chat (asking
//! about the sheet, [`crate::chat`]). Each component is small and takes what it shows as props;
//! the API client comes from context.

use almanac_protocol::{
    CreateJobRequest, Estimate, EstimateRequest, EstimateRow, Job, JobList, Mode, ModelList,
    RowSpan, SelectionContext,
};
use leptos::prelude::*;

use crate::api::{Access, Api, ApiError};
use crate::chat::{ChatPanel, ChatTarget};
use crate::format;
use crate::job::JobCard;
use crate::js;
use crate::summary::{SelectionSummary, describe_rows};

/// The sidebar's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Generate,
    Chat,
}

/// The whole sidebar: reads the selection, then shows the [`Panel`] for it (the tab chosen stays
/// chosen when the selection is read again).
#[component]
pub fn App() -> impl IntoView {
    let context = LocalResource::new(|| async { js::selection_context().await.map_err(ApiError) });
    let tab = RwSignal::new(Tab::Generate);
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
                        context.await.map(|ctx| view! { <Panel ctx tab/> })
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

/// Everything below the title once the selection is known: the sheet, the [`AccessStep`] (both
/// tabs need access proven), the [`Tabs`], and the two panels (the inactive one hidden, so that
/// each keeps its state). Provides the API client as context.
#[component]
fn Panel(ctx: SelectionContext, tab: RwSignal<Tab>) -> impl IntoView {
    let api = Api::new(&ctx);
    provide_context(api.clone());
    let access = access_resource(&api);
    let proven = Signal::derive(move || matches!(access.get(), Some(Access::Proven)));
    let chat = ChatTarget {
        spreadsheet_id: ctx.spreadsheet_id.clone(),
        sheet_id: ctx.sheet_id,
        spans: SelectionSummary::of(&ctx.rows).spans,
    };
    view! {
        <SheetLine sheet_title=ctx.sheet_title.clone() user_email=ctx.user_email.clone()/>
        <AccessStep access/>
        <Tabs tab/>
        <div id="almanac-panel-generate" role="tabpanel" aria-labelledby="almanac-tab-generate" hidden=move || tab.get() != Tab::Generate>
            <GeneratePanel ctx proven/>
        </div>
        <div id="almanac-panel-chat" role="tabpanel" aria-labelledby="almanac-tab-chat" hidden=move || tab.get() != Tab::Chat>
            <ChatPanel target=chat proven/>
        </div>
    }
}

/// The tab list: Generate and Chat (arrow keys move between them, as the ARIA tabs pattern says).
#[component]
fn Tabs(tab: RwSignal<Tab>) -> impl IntoView {
    let choice = move |value: Tab, id: &'static str, panel: &'static str, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                id=id
                aria-controls=panel
                aria-selected=move || (tab.get() == value).to_string()
                tabindex=move || if tab.get() == value { "0" } else { "-1" }
                on:click=move |_| tab.set(value)
                on:keydown=move |ev| {
                    if matches!(ev.key().as_str(), "ArrowLeft" | "ArrowRight") {
                        tab.update(|t| *t = if *t == Tab::Generate { Tab::Chat } else { Tab::Generate });
                    }
                }
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label="Almanac">
            {choice(Tab::Generate, "almanac-tab-generate", "almanac-panel-generate", "Generate")}
            {choice(Tab::Chat, "almanac-tab-chat", "almanac-panel-chat", "Chat")}
        </div>
    }
}

/// The Generate tab: the [`SelectionView`], model and estimate, Generate (once `proven`), and
/// the [`JobsSection`].
#[component]
fn GeneratePanel(ctx: SelectionContext, proven: Signal<bool>) -> impl IntoView {
    let api = expect_context::<Api>();
    let summary = SelectionSummary::of(&ctx.rows);
    let model = RwSignal::new(None::<String>);
    let mode = RwSignal::new(Mode::Batch);
    let jobs = RwSignal::new(Vec::<Job>::new());
    let listed = list_jobs(&api, &ctx.spreadsheet_id, jobs);
    let create = create_job(&api, jobs);
    let target = Target {
        spreadsheet_id: ctx.spreadsheet_id.clone(),
        sheet_id: ctx.sheet_id,
        spans: summary.spans.clone(),
    };
    let can_generate = summary.can_generate();
    let to_generate = summary.to_generate.clone();

    view! {
        <SelectionView summary/>
        <Show when=move || can_generate>
            <ModelPicker model/>
            <EstimateView model mode rows=to_generate.clone()/>
        </Show>
        <GenerateButton create model mode can_generate proven target/>
        <CreateError create/>
        <JobsSection listed jobs/>
    }
}

/// Where the access proof stands (proved when the panel opens, again on "Check again").
type AccessState = LocalResource<Access>;

/// Proves access once the panel opens (and again when refetched).
fn access_resource(api: &Api) -> AccessState {
    let api = api.clone();
    LocalResource::new(move || {
        let api = api.clone();
        async move { api.prove_access().await }
    })
}

/// The set-up step before the first Generate or Chat: checking access, then — when the spreadsheet is not
/// shared with Almanac's service account — the email to share it with, a button that shares it
/// (when the script's owner configured that address) and "Check again"; a person who cannot edit
/// the spreadsheet is told to ask for edit access. Nothing once access is proven.
#[component]
fn AccessStep(access: AccessState) -> impl IntoView {
    let sharing = Action::new_local(move |_: &()| async move {
        let shared = js::share_with_service_account().await;
        if shared.is_ok() {
            access.refetch();
        }
        shared
    });
    move || {
        match access.get() {
        None => Some(view! { <p class="muted" role="status">"Checking that Almanac can work on this spreadsheet…"</p> }.into_any()),
        Some(Access::Proven) => None,
        Some(Access::CannotEdit(message)) => Some(view! {
            <section class="setup error" role="alert" aria-label="Access">
                <p>"You can only view this spreadsheet, so Almanac cannot fill it for you. Ask its owner for edit access, then reopen the sidebar."</p>
                <p class="muted">{message}</p>
            </section>
        }.into_any()),
        Some(Access::NotShared { email, can_share }) => Some(view! {
            <section class="setup notice" role="status" aria-label="Share with Almanac">
                <h2>"One step before the first Generate or Chat"</h2>
                <p>"Share this spreadsheet with Almanac's service account as Editor, so that it can write the results:"</p>
                <p><code class="service-account" data-email=email.clone()>{email.clone()}</code></p>
                {can_share.then(|| view! {
                    <button type="button" class="primary" disabled=move || sharing.pending().get()
                        on:click=move |_| { sharing.dispatch(()); }>"Share with Almanac"</button>
                })}
                <p class="muted">"Or: Share (top right) ▸ add the address above ▸ Editor ▸ Send."</p>
                <button type="button" class="secondary" on:click=move |_| access.refetch()>"Check again"</button>
                {move || sharing.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </section>
        }.into_any()),
        Some(Access::Failed(message)) => Some(view! {
            <section class="setup error" role="alert" aria-label="Access">
                <p>{format!("Almanac could not check its access to this spreadsheet: {message}")}</p>
                <button type="button" class="secondary" on:click=move |_| access.refetch()>"Check again"</button>
            </section>
        }.into_any()),
    }
    }
}

/// The answer of `GET /jobs?spreadsheet_id=`.
type ListedJobs = LocalResource<Result<JobList, ApiError>>;

/// `POST /jobs` with the request it is dispatched with.
type CreateAction = Action<CreateJobRequest, Result<Job, ApiError>>;

/// Lists the spreadsheet's jobs once and adds those not shown yet to `jobs`, after any started
/// here meanwhile.
fn list_jobs(api: &Api, spreadsheet_id: &str, jobs: RwSignal<Vec<Job>>) -> ListedJobs {
    let (api, spreadsheet_id) = (api.clone(), spreadsheet_id.to_owned());
    let listed = LocalResource::new(move || {
        let api = api.clone();
        let spreadsheet_id = spreadsheet_id.clone();
        async move { api.list_jobs(&spreadsheet_id).await }
    });
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
    listed
}

/// `POST /jobs` as an action; the job it starts goes first in `jobs`.
fn create_job(api: &Api, jobs: RwSignal<Vec<Job>>) -> CreateAction {
    let api = api.clone();
    let create = Action::new_local(move |req: &CreateJobRequest| {
        let api = api.clone();
        let req = req.clone();
        async move { api.create_job(&req).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(job)) = create.value().get() {
            jobs.update(|shown| {
                if !shown.iter().any(|j| j.id == job.id) {
                    shown.insert(0, job);
                }
            });
        }
    });
    create
}

/// Where a new job writes: the spreadsheet, the sheet and the selected rows.
#[derive(Clone, Debug)]
struct Target {
    spreadsheet_id: String,
    sheet_id: i32,
    spans: Vec<RowSpan>,
}

impl Target {
    /// The `POST /jobs` body for these rows with `model` and `mode`, overwriting nothing.
    fn request(&self, model: String, mode: Mode) -> CreateJobRequest {
        CreateJobRequest {
            spreadsheet_id: self.spreadsheet_id.clone(),
            sheet_id: self.sheet_id,
            rows: self.spans.clone(),
            model,
            mode,
            overwrite: false,
        }
    }
}

/// The sheet's name and, when known, the person's address.
#[component]
fn SheetLine(sheet_title: String, user_email: String) -> impl IntoView {
    view! {
        <p class="muted sheet">
            {format!("Sheet “{sheet_title}”")}
            {(!user_email.is_empty()).then(|| format!(" · {user_email}"))}
        </p>
    }
}

/// Generate: starts a job on `target` with the chosen model and mode. Disabled until access is
/// proven, and while there is nothing to generate, no model or a job is starting.
#[component]
fn GenerateButton(
    create: CreateAction,
    model: RwSignal<Option<String>>,
    mode: RwSignal<Mode>,
    can_generate: bool,
    proven: Signal<bool>,
    target: Target,
) -> impl IntoView {
    let generate = move |_| {
        let Some(model) = model.get_untracked() else {
            return;
        };
        create.dispatch(target.request(model, mode.get_untracked()));
    };
    view! {
        <div class="actions">
            <button
                type="button"
                class="primary"
                disabled=move || !can_generate || !proven.get() || model.get().is_none() || create.pending().get()
                on:click=generate
            >
                {move || if create.pending().get() { "Starting…" } else { "Generate" }}
            </button>
        </div>
    }
}

/// Why the last Generate did not start a job, as an alert.
#[component]
fn CreateError(create: CreateAction) -> impl IntoView {
    move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    }
}

/// This spreadsheet's jobs, newest first, one [`JobCard`] each.
#[component]
fn JobsSection(listed: ListedJobs, jobs: RwSignal<Vec<Job>>) -> impl IntoView {
    view! {
        <section class="jobs" aria-labelledby="jobs-title">
            <h2 id="jobs-title">"Jobs on this spreadsheet"</h2>
            <JobsNotice listed jobs/>
            <For each=move || jobs.get() key=|job| job.id.clone() let:job>
                <JobCard job/>
            </For>
        </section>
    }
}

/// While the list loads, when it fails, or when there is no job: a line saying so.
#[component]
fn JobsNotice(listed: ListedJobs, jobs: RwSignal<Vec<Job>>) -> impl IntoView {
    move || match listed.get() {
        None => Some(view! { <p class="muted">"Loading jobs…"</p> }.into_any()),
        Some(Err(e)) => Some(
            view! { <p class="error" role="alert">{format!("Could not list the jobs: {e}")}</p> }
                .into_any(),
        ),
        Some(Ok(_)) if jobs.with(Vec::is_empty) => {
            Some(view! { <p class="muted">"No jobs yet."</p> }.into_any())
        }
        Some(Ok(_)) => None,
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
                        Ok(list) => view! { <ModelSelect list model/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("Could not list the models: {e}")}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The `<select>` of the listed models, bound to `model`, which starts as the list's default.
#[component]
fn ModelSelect(list: ModelList, model: RwSignal<Option<String>>) -> impl IntoView {
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
    rows: Vec<EstimateRow>,
) -> impl IntoView {
    let estimate = estimate_resource(expect_context::<Api>(), model, rows);
    view! {
        <section class="estimate" aria-label="Estimate" aria-live="polite">
            <Suspense fallback=|| view! { <p class="muted">"Estimating…"</p> }>
                {move || Suspend::new(async move {
                    match estimate.await {
                        Ok(Some(estimate)) => view! { <EstimateDetails estimate mode/> }.into_any(),
                        Ok(None) => view! { <p class="muted">"Pick a model to see the cost."</p> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("No estimate: {e}")}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// `POST /estimate` of `rows` with the chosen model, again whenever the model changes; `None`
/// while no model is chosen.
fn estimate_resource(
    api: Api,
    model: RwSignal<Option<String>>,
    rows: Vec<EstimateRow>,
) -> LocalResource<Result<Option<Estimate>, ApiError>> {
    LocalResource::new(move || {
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
    })
}

/// An estimate: the tokens, the [`CostTable`], the cost per row and what batch mode saves.
#[component]
fn EstimateDetails(estimate: Estimate, mode: RwSignal<Mode>) -> impl IntoView {
    let e = &estimate;
    let tokens = format!(
        "{}: {} input + ~{} output tokens{}",
        format::rows(e.rows),
        format::thousands(e.input_tokens),
        format::thousands(e.output_tokens),
        if e.output_tokens_source == "history" {
            " (from past jobs)"
        } else {
            ""
        },
    );
    let per_row = format!(
        "Per row: {} batch · {} realtime",
        format::usd(e.batch.total_usd / e.rows.max(1) as f64),
        format::usd(e.realtime.total_usd / e.rows.max(1) as f64),
    );
    let saved = e.realtime.total_usd - e.batch.total_usd;
    let saves = format!(
        "Batch mode saves {} (results within 24 h at most).",
        format::usd(saved)
    );
    view! {
        <p class="tokens">{tokens}</p>
        <CostTable estimate mode/>
        <p class="muted per-row">{per_row}</p>
        <p class="muted">{saves}</p>
    }
}

/// Cost and wait of each mode, with the radio button that chooses it.
#[component]
fn CostTable(estimate: Estimate, mode: RwSignal<Mode>) -> impl IntoView {
    let e = estimate;
    view! {
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
    }
}

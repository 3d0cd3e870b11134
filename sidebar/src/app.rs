//! The sidebar's screens: reading the selection, then two tabs — Generate (what the selection
//! means, the model and the estimate, Generate, and this spreadsheet's jobs) and Chat (asking
//! about the sheet, [`crate::chat`]). Each component is small and takes what it shows as props;
//! the API client comes from context.

use almanac_protocol::{
    CreateJobRequest, Estimate, EstimateRequest, EstimateRow, Job, JobList, Mode, ModelList,
    RowSpan, SelectionContext,
};
use leptos::prelude::*;

use crate::access::{AccessStep, access_resource};
use crate::api::{Access, Api, ApiError};
use crate::chat::{ChatPanel, ChatTarget};
use crate::format;
use crate::i18n::{Lang, set_lang, t, tf};
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
/// chosen when the selection is read again). Speaks the language of the Google account's locale
/// (the selection context's), and the browser's until that is known.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(Lang::of_locale(js::browser_language().as_deref()));
    set_lang(lang.get_untracked());
    js::set_document_lang(lang.get_untracked().tag());
    let context = LocalResource::new(move || async move {
        let ctx = js::selection_context().await.map_err(ApiError)?;
        let chosen = Lang::of_locale(ctx.locale.as_deref());
        set_lang(chosen);
        js::set_document_lang(chosen.tag());
        lang.try_set(chosen);
        Ok::<_, ApiError>(ctx)
    });
    let tab = RwSignal::new(Tab::Generate);
    // Texts outside the panel follow the language once the context has set it.
    let say = move |id: &'static str| move || lang.with(|_| t(id));
    view! {
        <main class="almanac">
            <header class="top">
                <h1>{say("app-title")}</h1>
                <button type="button" class="secondary" on:click=move |_| context.refetch()>
                    {say("refresh-selection")}
                </button>
            </header>
            <ErrorBoundary fallback=|errors| view! { <ErrorList errors/> }>
                <Suspense fallback=move || view! { <p class="muted" role="status">{say("reading-selection")}</p> }>
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
    let choice = move |value: Tab, id: &'static str, panel: &'static str, label: String| {
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
                        js::focus_by_id(if tab.get_untracked() == Tab::Generate { "almanac-tab-generate" } else { "almanac-tab-chat" });
                    }
                }
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label=t("tabs-label")>
            {choice(Tab::Generate, "almanac-tab-generate", "almanac-panel-generate", t("tab-generate"))}
            {choice(Tab::Chat, "almanac-tab-chat", "almanac-panel-chat", t("tab-chat"))}
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
            {if user_email.is_empty() {
                tf("sheet-line", &[("title", sheet_title.into())])
            } else {
                tf("sheet-line-email", &[("title", sheet_title.into()), ("email", user_email.into())])
            }}
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
                {move || if create.pending().get() { t("generate-starting") } else { t("generate-button") }}
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
            <h2 id="jobs-title">{t("jobs-title")}</h2>
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
    move || {
        match listed.get() {
        None => Some(view! { <p class="muted">{t("jobs-loading")}</p> }.into_any()),
        Some(Err(e)) => Some(
            view! { <p class="error" role="alert">{tf("jobs-list-failed", &[("error", e.to_string().into())])}</p> }
                .into_any(),
        ),
        Some(Ok(_)) if jobs.with(Vec::is_empty) => {
            Some(view! { <p class="muted">{t("jobs-none")}</p> }.into_any())
        }
        Some(Ok(_)) => None,
    }
    }
}

/// What the selection means: N selected, M skipped, K to generate, and why rows are left out.
#[component]
fn SelectionView(summary: SelectionSummary) -> impl IntoView {
    if summary.is_empty() {
        return view! {
            <section class="selection" aria-label=t("selection-label")>
                <p class="notice" role="status">{t("selection-empty")}</p>
            </section>
        }
        .into_any();
    }
    let skipped = summary.filled;
    view! {
        <section class="selection" aria-label=t("selection-label")>
            <dl class="counts">
                <div><dt>{t("count-selected")}</dt><dd data-count="selected">{summary.selected}</dd></div>
                <div><dt>{t("count-filled")}</dt><dd data-count="filled">{skipped}</dd></div>
                <div><dt>{t("count-to-generate")}</dt><dd data-count="to-generate">{summary.to_generate.len()}</dd></div>
            </dl>
            {(skipped > 0).then(|| view! {
                <p class="muted">{tf("selection-skipped", &[("rows", format::rows(skipped as u64).into())])}</p>
            })}
            {summary.has_header.then(|| view! {
                <p class="notice">{t("selection-header")}</p>
            })}
            {(!summary.missing.is_empty()).then(|| view! {
                <p class="notice">
                    {tf("selection-missing", &[
                        ("count", summary.missing.len().into()),
                        ("rows", describe_rows(&summary.missing).into()),
                    ])}
                </p>
            })}
            {(!summary.can_generate()).then(|| view! {
                <p class="notice" role="status">{t("selection-nothing")}</p>
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
            <label for="almanac-model">{t("model-label")}</label>
            <Suspense fallback=|| view! { <select id="almanac-model" disabled=true><option>{t("model-loading")}</option></select> }>
                {move || Suspend::new(async move {
                    match models.await {
                        Ok(list) => view! { <ModelSelect list model/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{tf("models-failed", &[("error", e.to_string().into())])}</p> }.into_any(),
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
fn ModeChoice(mode: RwSignal<Mode>, value: Mode) -> impl IntoView {
    view! {
        <label>
            <input
                type="radio"
                name="almanac-mode"
                value=value.as_str()
                prop:checked=move || mode.get() == value
                on:change=move |_| mode.set(value)
            />
            {format::mode(value)}
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
        <section class="estimate" aria-label=t("estimate-label") aria-live="polite">
            <Suspense fallback=|| view! { <p class="muted">{t("estimating")}</p> }>
                {move || Suspend::new(async move {
                    match estimate.await {
                        Ok(Some(estimate)) => view! { <EstimateDetails estimate mode/> }.into_any(),
                        Ok(None) => view! { <p class="muted">{t("estimate-pick-model")}</p> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{tf("estimate-failed", &[("error", e.to_string().into())])}</p> }.into_any(),
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
    let tokens = tf(
        if e.output_tokens_source == "history" {
            "estimate-tokens-history"
        } else {
            "estimate-tokens"
        },
        &[
            ("rows", format::rows(e.rows).into()),
            ("input", format::thousands(e.input_tokens).into()),
            ("output", format::thousands(e.output_tokens).into()),
        ],
    );
    let per_row = tf(
        "estimate-per-row",
        &[
            (
                "batch",
                format::usd(e.batch.total_usd / e.rows.max(1) as f64).into(),
            ),
            (
                "realtime",
                format::usd(e.realtime.total_usd / e.rows.max(1) as f64).into(),
            ),
        ],
    );
    let saved = e.realtime.total_usd - e.batch.total_usd;
    let saves = tf("estimate-saves", &[("amount", format::usd(saved).into())]);
    let as_of = (!e.prices_as_of.is_empty()).then(|| {
        tf(
            "estimate-prices-as-of",
            &[("date", e.prices_as_of.clone().into())],
        )
    });
    view! {
        <p class="tokens">{tokens}</p>
        <CostTable estimate mode/>
        <p class="muted per-row">{per_row}</p>
        <p class="muted">{saves}</p>
        {as_of.map(|text| view! { <p class="muted prices-as-of">{text}</p> })}
    }
}

/// Cost and wait of each mode, with the radio button that chooses it.
#[component]
fn CostTable(estimate: Estimate, mode: RwSignal<Mode>) -> impl IntoView {
    let e = estimate;
    view! {
        <table class="costs">
            <thead><tr><th scope="col">{t("costs-mode")}</th><th scope="col">{t("costs-cost")}</th><th scope="col">{t("costs-wait")}</th></tr></thead>
            <tbody>
                <tr class="batch">
                    <th scope="row"><ModeChoice mode value=Mode::Batch/></th>
                    <td data-cost="batch">{format::usd(e.batch.total_usd)}</td>
                    <td>{format::about(e.batch_wait_seconds)}</td>
                </tr>
                <tr>
                    <th scope="row"><ModeChoice mode value=Mode::Realtime/></th>
                    <td data-cost="realtime">{format::usd(e.realtime.total_usd)}</td>
                    <td>{format::about(e.realtime_wait_seconds)}</td>
                </tr>
                <tr>
                    <th scope="row"><ModeChoice mode value=Mode::Auto/></th>
                    <td colspan="2" class="muted">{t("mode-auto-note")}</td>
                </tr>
            </tbody>
        </table>
    }
}

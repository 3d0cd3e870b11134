//! The Chat tab: ask about the sheet and watch the answer being written (`POST /chat` streamed as
//! Server-Sent Events through `fetch`, with the identity token and the access proof), see the code
//! interpreter's charts inline (fetched with the same headers, shown from an object URL), keep the
//! conversation per spreadsheet across reloads (its thread id in `localStorage`), and start a new
//! one. Asking waits until access is proven (the set-up step above the tabs). An answer is shown
//! as plain text while it is written, then, once stored, as DOM nodes built by
//! [`crate::markdown`] from the Markdown tree the backend parsed (raw HTML already text); its
//! links to the code interpreter's files (`sandbox:/mnt/data/…`, cited as container files) point
//! at the backend's file route and download with the API's headers. Small components over one
//! [`ChatState`].

use almanac_protocol::chat::{
    ChatRequest, ChatResponse, MessageContent, Role, RunStarted, TextDelta, ThreadMessage,
    ToolKind, ToolUse,
};
use almanac_protocol::{ErrorDetail, MarkdownNode, RowSpan};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::Api;
use crate::format;
use crate::i18n::{t, tf};
use crate::js;
use crate::markdown;
use crate::sse::SseEvent;

/// One message as the conversation shows it.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    /// The message's id (or a local one until the answer is stored).
    key: String,
    /// Who wrote it.
    role: Role,
    /// Its text.
    text: String,
    /// The thread it belongs to (for its charts' URLs).
    thread_id: String,
    /// Charts it cites (file ids).
    images: Vec<String>,
    /// Of an answer: its text as the backend's Markdown tree.
    markdown: Vec<MarkdownNode>,
    /// `1,234 tokens · $0.0012`, for the assistant's messages.
    cost: Option<String>,
}

/// `N tokens · $x` of an answer.
fn cost_text(usage: &almanac_protocol::TokenUsage, usd: f64) -> String {
    let tokens = usage.input_tokens + usage.output_tokens;
    tf(
        "chat-cost",
        &[
            ("tokens", format::thousands(tokens).into()),
            ("cost", format::usd(usd).into()),
        ],
    )
}

impl Line {
    /// A stored message.
    fn of_message(m: &ThreadMessage) -> Line {
        let mut text = String::new();
        let mut images = Vec::new();
        for part in &m.content {
            match part {
                MessageContent::Text { text: t } => text.push_str(&t.value),
                MessageContent::ImageFile { image_file } => images.push(image_file.file_id.clone()),
            }
        }
        let cost = match (&m.usage, m.cost_usd) {
            (Some(usage), Some(usd)) => Some(cost_text(usage, usd)),
            _ => None,
        };
        Line {
            key: m.id.clone(),
            role: m.role,
            text,
            thread_id: m.thread_id.clone(),
            images,
            markdown: m.markdown.clone(),
            cost,
        }
    }

    /// The answer a stream ended with.
    fn of_answer(a: &ChatResponse) -> Line {
        Line {
            key: a.message_id.clone(),
            role: Role::Assistant,
            text: a.message.clone(),
            thread_id: a.thread_id.clone(),
            images: a
                .files
                .iter()
                .filter(|f| f.mime_type.starts_with("image/"))
                .map(|f| f.file_id.clone())
                .collect(),
            markdown: a.markdown.clone(),
            cost: Some(cost_text(&a.usage, a.cost_usd)),
        }
    }
}

/// The question being answered and what has been written of the answer so far.
#[derive(Clone, Debug, Default, PartialEq)]
struct Pending {
    question: String,
    answer: String,
    tool: Option<ToolKind>,
}

/// The Chat tab's state. `Copy`, so that every closure can hold it.
#[derive(Clone, Copy)]
struct ChatState {
    /// The conversation (`thread_…`), once there is one.
    thread: RwSignal<Option<String>>,
    /// Its messages, oldest first.
    lines: RwSignal<Vec<Line>>,
    /// The answer being written.
    pending: RwSignal<Option<Pending>>,
    /// Why the last question got no answer, or why the conversation could not be loaded.
    error: RwSignal<Option<String>>,
    /// The question being typed.
    draft: RwSignal<String>,
    /// Give the code interpreter only the selected rows.
    selected_only: RwSignal<bool>,
}

impl ChatState {
    fn busy(self) -> bool {
        self.pending.with(Option::is_some)
    }
}

/// Where questions go: the spreadsheet, the sheet, the selected rows, and the `localStorage` key
/// of the spreadsheet's conversation.
#[derive(Clone, Debug)]
pub struct ChatTarget {
    /// The spreadsheet.
    pub spreadsheet_id: String,
    /// The sheet (`sheetId`).
    pub sheet_id: i32,
    /// The selected rows (for "Only the selected rows").
    pub spans: Vec<RowSpan>,
}

impl ChatTarget {
    fn storage_key(&self) -> String {
        format!("almanac.chat.thread.{}", self.spreadsheet_id)
    }
}

/// The Chat tab: the conversation, the error if any, and the question form (Ask enabled once
/// `proven`). Loads the spreadsheet's conversation from the previous visit.
#[component]
pub fn ChatPanel(target: ChatTarget, proven: Signal<bool>) -> impl IntoView {
    let state = ChatState {
        thread: RwSignal::new(js::stored(&target.storage_key())),
        lines: RwSignal::new(Vec::new()),
        pending: RwSignal::new(None),
        error: RwSignal::new(None),
        draft: RwSignal::new(String::new()),
        selected_only: RwSignal::new(false),
    };
    load_history(expect_context::<Api>(), state, target.storage_key());
    view! {
        <section class="chat" aria-label=t("chat-region")>
            <ChatBar state key=target.storage_key()/>
            <ChatLog state/>
            <ChatError state/>
            <ChatForm state target proven/>
        </section>
    }
}

/// Loads the stored conversation's messages; a conversation that is gone is forgotten.
fn load_history(api: Api, state: ChatState, key: String) {
    let Some(thread) = state.thread.get_untracked() else {
        return;
    };
    spawn_local(async move {
        match api.chat_messages(&thread).await {
            Ok(Some(list)) => {
                state
                    .lines
                    .try_set(list.data.iter().map(Line::of_message).collect());
            }
            Ok(None) => {
                js::store(&key, None);
                state.thread.try_set(None);
            }
            Err(e) => {
                state.error.try_set(Some(tf(
                    "chat-load-failed",
                    &[("error", e.to_string().into())],
                )));
            }
        }
    });
}

/// "New conversation": forgets the current one (it stays on the server).
#[component]
fn ChatBar(state: ChatState, key: String) -> impl IntoView {
    let restart = move |_| {
        js::store(&key, None);
        state.thread.set(None);
        state.lines.set(Vec::new());
        state.error.set(None);
    };
    view! {
        <div class="chat-bar">
            <button
                type="button"
                class="secondary"
                disabled=move || state.busy() || state.thread.with(Option::is_none)
                on:click=restart
            >
                {t("chat-new")}
            </button>
        </div>
    }
}

/// The conversation, followed by screen readers (`role="log"`): each message, then the answer
/// being written.
#[component]
fn ChatLog(state: ChatState) -> impl IntoView {
    view! {
        <div class="chat-log" role="log" aria-label=t("chat-log") aria-busy=move || state.busy().to_string()>
            <Show when=move || state.lines.with(Vec::is_empty) && !state.busy()>
                <p class="muted">{t("chat-empty")}</p>
            </Show>
            <For each=move || state.lines.get() key=|line| line.key.clone() let:line>
                <MessageView line/>
            </For>
            <PendingView state/>
        </div>
    }
}

/// One message: who wrote it, its text, its charts and, for an answer, what it cost.
#[component]
fn MessageView(line: Line) -> impl IntoView {
    let (class, who) = match line.role {
        Role::User => ("message user", t("chat-you")),
        Role::Assistant => ("message assistant", t("chat-almanac")),
    };
    let thread = line.thread_id.clone();
    let text = match line.role {
        Role::User => view! { <p class="text">{line.text}</p> }.into_any(),
        Role::Assistant => view! {
            <Answer markdown=line.markdown thread_id=thread.clone()/>
        }
        .into_any(),
    };
    let label = who.clone();
    view! {
        <article class=class aria-label=label>
            <p class="who">{who}</p>
            {text}
            {line
                .images
                .into_iter()
                .map(|file_id| view! { <ChartImage thread_id=thread.clone() file_id/> })
                .collect_view()}
            {line.cost.map(|c| view! { <p class="muted cost">{c}</p> })}
        </article>
    }
}

/// An answer's Markdown (the backend's tree), as DOM nodes built by [`js::append_markdown`] from
/// [`markdown::render`]'s elements once the element is mounted. A link to one of the answer's
/// files points at the backend's file route; a click downloads the file with the API's headers.
#[component]
fn Answer(markdown: Vec<MarkdownNode>, thread_id: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let host = NodeRef::<leptos::html::Div>::new();
    let failed = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let Some(div) = host.get() else {
            return;
        };
        let nodes = markdown::render(&markdown, &|file_id| api.file_route(&thread_id, file_id));
        let (api, thread_id) = (api.clone(), thread_id.clone());
        let on_file: std::rc::Rc<dyn Fn(String, String)> =
            std::rc::Rc::new(move |file_id: String, filename: String| {
                let (api, thread_id) = (api.clone(), thread_id.clone());
                spawn_local(async move {
                    match api.file_url(&thread_id, &file_id).await {
                        Ok(url) => {
                            js::save_object_url(&url, &filename);
                            js::sleep(60_000).await;
                            js::revoke_object_url(&url);
                        }
                        Err(e) => {
                            failed.try_set(Some(tf("file-failed", &[("error", e.0.into())])));
                        }
                    }
                });
            });
        div.set_text_content(None);
        js::append_markdown(&div, &nodes, &on_file);
    });
    view! {
        <div class="text markdown" node_ref=host></div>
        {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}

/// A chart made by the code interpreter, fetched with the API's headers and shown from an object URL
/// (freed when the image goes away).
#[component]
fn ChartImage(thread_id: String, file_id: String) -> impl IntoView {
    let api = expect_context::<Api>();
    let src = RwSignal::new(None::<Result<String, String>>);
    spawn_local(async move {
        let url = api.file_url(&thread_id, &file_id).await.map_err(|e| e.0);
        if src.try_set(Some(url.clone())).is_some()
            && let Ok(url) = url
        {
            js::revoke_object_url(&url);
        }
    });
    on_cleanup(move || {
        if let Some(Some(Ok(url))) = src.try_get_untracked() {
            js::revoke_object_url(&url);
        }
    });
    move || match src.get() {
        None => view! { <p class="muted">{t("chart-loading")}</p> }.into_any(),
        Some(Ok(url)) => view! {
            <img class="chart" src=url alt=t("chart-alt")/>
        }
        .into_any(),
        Some(Err(e)) => {
            view! { <p class="error">{tf("chart-failed", &[("error", e.into())])}</p> }.into_any()
        }
    }
}

/// The question being answered and the answer as it is written, with what the model is doing.
#[component]
fn PendingView(state: ChatState) -> impl IntoView {
    move || {
        state.pending.get().map(|p| {
            let doing = t(match p.tool {
                Some(ToolKind::SheetLookup) => "chat-doing-lookup",
                Some(ToolKind::CodeInterpreter) => "chat-doing-code",
                None => "chat-doing-writing",
            });
            view! {
                <article class="message user" aria-label=t("chat-you")><p class="who">{t("chat-you")}</p><p class="text">{p.question}</p></article>
                <article class="message assistant pending" aria-label=t("chat-answering-label")>
                    <p class="who">{t("chat-almanac")}</p>
                    <p class="text" aria-live="polite">{p.answer}</p>
                    <p class="muted" role="status">{doing}</p>
                </article>
            }
        })
    }
}

/// Why the last question got no answer, as an alert.
#[component]
fn ChatError(state: ChatState) -> impl IntoView {
    move || {
        state
            .error
            .get()
            .map(|e| view! { <p class="error" role="alert">{e}</p> })
    }
}

/// The question, "Only the selected rows" when rows are selected, and Ask (disabled, with a note
/// saying why, until access is `proven`).
#[component]
fn ChatForm(state: ChatState, target: ChatTarget, proven: Signal<bool>) -> impl IntoView {
    let api = expect_context::<Api>();
    let has_selection = !target.spans.is_empty();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let question = state.draft.get_untracked().trim().to_owned();
        if !question.is_empty() && !state.busy() && proven.get_untracked() {
            spawn_local(ask(api.clone(), state, target.clone(), question));
        }
    };
    view! {
        <form class="chat-form" on:submit=submit>
            <label for="almanac-chat-input">{t("chat-ask-label")}</label>
            <textarea
                id="almanac-chat-input"
                rows="3"
                prop:value=move || state.draft.get()
                on:input=move |ev| state.draft.set(event_target_value(&ev))
            ></textarea>
            <Show when=move || has_selection>
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || state.selected_only.get()
                        on:change=move |ev| state.selected_only.set(event_target_checked(&ev))
                    />
                    {t("chat-selected-only")}
                </label>
            </Show>
            <Show when=move || !proven.get()>
                <p class="notice" role="status">{t("chat-wait-access")}</p>
            </Show>
            <button
                type="submit"
                class="primary"
                disabled=move || !proven.get() || state.busy() || state.draft.with(|d| d.trim().is_empty())
            >
                {move || if state.busy() { t("chat-answering") } else { t("chat-ask") }}
            </button>
        </form>
    }
}

/// Asks `question` and follows the answer's events until the answer is stored or the turn fails.
async fn ask(api: Api, state: ChatState, target: ChatTarget, question: String) {
    state.error.set(None);
    state.draft.set(String::new());
    state.pending.set(Some(Pending {
        question: question.clone(),
        ..Pending::default()
    }));
    let req = ChatRequest {
        message: question.clone(),
        thread_id: state.thread.get_untracked(),
        stream: true,
        spreadsheet_id: Some(target.spreadsheet_id.clone()),
        sheet_id: Some(target.sheet_id),
        rows: match state.selected_only.get_untracked() {
            true => target.spans.clone(),
            false => Vec::new(),
        },
    };
    let key = target.storage_key();
    let mut ended = false;
    let outcome = api
        .chat(&req, |event| {
            ended |= on_event(state, &key, &question, &event)
        })
        .await;
    match outcome {
        Err(e) => fail(state, &question, e.0),
        Ok(()) if !ended => fail(state, &question, t("chat-broke-off")),
        Ok(()) => {}
    }
}

/// Applies one event of the answer's stream; true when it ended the turn.
fn on_event(state: ChatState, key: &str, question: &str, event: &SseEvent) -> bool {
    match event.event.as_str() {
        "run" => {
            if let Ok(run) = serde_json::from_str::<RunStarted>(&event.data) {
                js::store(key, Some(&run.thread_id));
                state.thread.try_set(Some(run.thread_id));
            }
            false
        }
        "delta" => {
            if let Ok(delta) = serde_json::from_str::<TextDelta>(&event.data) {
                state.pending.try_update(|p| {
                    p.iter_mut().for_each(|p| {
                        p.answer.push_str(&delta.text);
                        p.tool = None;
                    });
                });
            }
            false
        }
        "tool" => {
            if let Ok(tool) = serde_json::from_str::<ToolUse>(&event.data) {
                state
                    .pending
                    .try_update(|p| p.iter_mut().for_each(|p| p.tool = Some(tool.tool)));
            }
            false
        }
        "done" => {
            match serde_json::from_str::<ChatResponse>(&event.data) {
                Ok(answer) => answered(state, question, &answer),
                Err(e) => fail(
                    state,
                    question,
                    tf(
                        "error-unexpected-answer",
                        &[("error", e.to_string().into())],
                    ),
                ),
            }
            true
        }
        "error" => {
            let error = serde_json::from_str::<ErrorDetail>(&event.data);
            fail(
                state,
                question,
                error.map_or_else(|e| e.to_string(), |e| e.message),
            );
            true
        }
        _ => false,
    }
}

/// The question and its answer join the conversation.
fn answered(state: ChatState, question: &str, answer: &ChatResponse) {
    let asked = Line {
        key: format!("{}-question", answer.run_id),
        role: Role::User,
        text: question.to_owned(),
        thread_id: answer.thread_id.clone(),
        images: Vec::new(),
        markdown: Vec::new(),
        cost: None,
    };
    state
        .lines
        .try_update(|lines| lines.extend([asked, Line::of_answer(answer)]));
    state.pending.try_set(None);
}

/// The turn failed: say why, and give the question back to ask again.
fn fail(state: ChatState, question: &str, message: String) {
    state.error.try_set(Some(message));
    if state.draft.with_untracked(String::is_empty) {
        state.draft.try_set(question.to_owned());
    }
    state.pending.try_set(None);
}

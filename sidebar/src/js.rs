//! The browser, typed: `google.script.run` (the Apps Script bridge, or the dev page's stand-in:
//! the selection, the access proof's metadata, sharing with the service account), `fetch` (whole,
//! streamed, or as an object URL), `localStorage`, timers and dates. Everything
//! that touches `wasm-bindgen` lives here so that the components only see Rust values and
//! `Result<_, String>`.

use almanac_protocol::SelectionContext;

use crate::i18n::{lang, tf};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    /// `google.script.run`, or a runner returned by one of its `with…Handler` methods.
    type ScriptRun;

    #[wasm_bindgen(method, js_name = withSuccessHandler)]
    fn with_success_handler(this: &ScriptRun, handler: &Function) -> ScriptRun;

    #[wasm_bindgen(method, js_name = withFailureHandler)]
    fn with_failure_handler(this: &ScriptRun, handler: &Function) -> ScriptRun;

    /// The server-side Apps Script function `getSelectionContext()` of `appsscript/Code.gs`.
    #[wasm_bindgen(method, js_name = getSelectionContext)]
    fn get_selection_context(this: &ScriptRun);

    /// `writeAccessProof(key, nonce)` of `appsscript/Code.gs`.
    #[wasm_bindgen(method, js_name = writeAccessProof)]
    fn write_access_proof(this: &ScriptRun, key: &str, nonce: &str);

    /// `shareWithServiceAccount()` of `appsscript/Code.gs`.
    #[wasm_bindgen(method, js_name = shareWithServiceAccount)]
    fn share_with_service_account(this: &ScriptRun);
}

/// The message of a thrown JS value (an `Error`'s `message`, or the value as text).
pub fn js_message(value: &JsValue) -> String {
    Reflect::get(value, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

fn script_run() -> Result<ScriptRun, String> {
    let missing = || {
        "google.script.run is not available: open the sidebar from the sheet's Almanac menu"
            .to_string()
    };
    let mut value: JsValue = js_sys::global().into();
    for key in ["google", "script", "run"] {
        value = Reflect::get(&value, &key.into()).map_err(|_| missing())?;
        if value.is_undefined() || value.is_null() {
            return Err(missing());
        }
    }
    Ok(value.unchecked_into())
}

/// Calls `google.script.run.withSuccessHandler(..).withFailureHandler(..).getSelectionContext()`
/// and reads its answer (an object or a JSON string of [`SelectionContext`]).
pub async fn selection_context() -> Result<SelectionContext, String> {
    let run = script_run()?;
    let promise = Promise::new(&mut |resolve, reject| {
        run.with_success_handler(&resolve)
            .with_failure_handler(&reject)
            .get_selection_context();
    });
    let value = JsFuture::from(promise)
        .await
        .map_err(|e| tf("error-read-selection", &[("error", js_message(&e).into())]))?;
    let text = match value.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(&value)
            .map(String::from)
            .map_err(|e| js_message(&e))?,
    };
    serde_json::from_str(&text).map_err(|e| {
        tf(
            "error-unexpected-selection",
            &[("error", e.to_string().into())],
        )
    })
}

/// Runs a server-side Apps Script function through `google.script.run` (`call` names it on the
/// runner) and waits for its answer.
async fn run_script(call: impl Fn(&ScriptRun)) -> Result<JsValue, String> {
    let run = script_run()?;
    let promise = Promise::new(&mut |resolve, reject| {
        call(
            &run.with_success_handler(&resolve)
                .with_failure_handler(&reject),
        );
    });
    JsFuture::from(promise).await.map_err(|e| js_message(&e))
}

/// `google.script.run.writeAccessProof(key, nonce)`: Apps Script writes the backend's nonce as
/// developer metadata (it fails for a viewer, with Apps Script's message).
pub async fn write_access_proof(key: &str, nonce: &str) -> Result<(), String> {
    run_script(|run| run.write_access_proof(key, nonce))
        .await
        .map(|_| ())
}

/// `google.script.run.shareWithServiceAccount()`: shares the spreadsheet with the service account
/// the script's owner configured.
pub async fn share_with_service_account() -> Result<(), String> {
    run_script(|run| run.share_with_service_account())
        .await
        .map(|_| ())
}

/// An HTTP response: status, body text and `Retry-After` (seconds) when sent.
pub struct Fetched {
    /// The HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
    /// `Retry-After` in whole seconds, when the answer has one.
    pub retry_after: Option<u32>,
}

/// `fetch(url, {method, headers, body})`; `Err` only when no response came (network, CORS).
pub async fn fetch(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Fetched, String> {
    whole(&request(method, url, headers, body).await?).await
}

/// Sends a request (a JSON `body` gets `Content-Type: application/json`) and waits for the
/// response's head.
async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Response, String> {
    let init = RequestInit::new();
    init.set_method(method);
    let h = web_sys::Headers::new().map_err(|e| js_message(&e))?;
    for (name, value) in headers {
        h.set(name, value).map_err(|e| js_message(&e))?;
    }
    if let Some(body) = body {
        h.set("Content-Type", "application/json")
            .map_err(|e| js_message(&e))?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&h);
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| tf("error-unreachable", &[("error", js_message(&e).into())]))?;
    Ok(resp.unchecked_into())
}

/// A response read whole: its status, body and `Retry-After`.
async fn whole(resp: &Response) -> Result<Fetched, String> {
    let retry_after = resp
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse().ok());
    Ok(Fetched {
        status: resp.status(),
        body: text(resp).await?,
        retry_after,
    })
}

/// The whole body of a response, as text.
async fn text(resp: &Response) -> Result<String, String> {
    let text = JsFuture::from(resp.text().map_err(|e| js_message(&e))?)
        .await
        .map_err(|e| js_message(&e))?;
    Ok(text.as_string().unwrap_or_default())
}

/// How a streamed request ended.
pub enum Streamed {
    /// A 2xx answer whose body was handed over chunk by chunk.
    Read,
    /// Any other answer, read whole (status, body, `Retry-After`).
    Refused(Fetched),
}

/// `fetch` whose 2xx body is read as it arrives (a `ReadableStream`), each chunk of bytes handed
/// to `on_chunk` at once; when `on_chunk` answers `false` the body is cancelled (the request
/// ends). `Err` when no response came or the body broke off.
pub async fn fetch_stream(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    mut on_chunk: impl FnMut(&[u8]) -> bool,
) -> Result<Streamed, String> {
    let resp = request(method, url, headers, body).await?;
    if !(200..300).contains(&resp.status()) {
        return Ok(Streamed::Refused(whole(&resp).await?));
    }
    let Some(stream) = resp.body() else {
        return Ok(Streamed::Read);
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let broke = |e: JsValue| tf("error-broke-off", &[("error", js_message(&e).into())]);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(broke)?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool());
        if done != Some(false) {
            return Ok(Streamed::Read);
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(broke)?;
        if !on_chunk(&js_sys::Uint8Array::new(&value).to_vec()) {
            let _ = reader.cancel();
            return Ok(Streamed::Read);
        }
    }
}

/// Fetches a file and returns an object URL for it (`blob:…`), so that an `<img>` can show bytes
/// fetched with headers; revoke it with [`revoke_object_url`].
pub async fn fetch_object_url(url: &str, headers: &[(&str, &str)]) -> Result<String, String> {
    let resp = request("GET", url, headers, None).await?;
    if !(200..300).contains(&resp.status()) {
        return Err(tf("error-http", &[("status", resp.status().into())]));
    }
    let blob = JsFuture::from(resp.blob().map_err(|e| js_message(&e))?)
        .await
        .map_err(|e| js_message(&e))?;
    web_sys::Url::create_object_url_with_blob(&blob.unchecked_into()).map_err(|e| js_message(&e))
}

/// Frees an object URL made by [`fetch_object_url`].
pub fn revoke_object_url(url: &str) {
    let _ = web_sys::Url::revoke_object_url(url);
}

/// The value `localStorage` keeps under `key`; `None` when there is none or storage is blocked
/// (a sandboxed frame may refuse it).
pub fn stored(key: &str) -> Option<String> {
    let storage = web_sys::window()?.local_storage().ok()??;
    storage.get_item(key).ok()?
}

/// Keeps `value` under `key` in `localStorage` (`None` removes it); does nothing when storage is
/// blocked.
pub fn store(key: &str, value: Option<&str>) {
    let Some(Ok(Some(storage))) = web_sys::window().map(|w| w.local_storage()) else {
        return;
    };
    let _ = match value {
        Some(value) => storage.set_item(key, value),
        None => storage.remove_item(key),
    };
}

/// A random UUID (`crypto.randomUUID()`), for an `Idempotency-Key`; the time and
/// `Math.random()` where the browser has no `crypto` (it always has in the add-on's HTTPS frame).
pub fn random_uuid() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| {
            let random = (js_sys::Math::random() * 1e16) as u64;
            format!("{:x}-{random:x}", now_ms() as u64)
        })
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Milliseconds since the Unix epoch of an RFC 3339 time; `None` when it does not parse.
pub fn parse_time_ms(rfc3339: &str) -> Option<f64> {
    let ms = js_sys::Date::parse(rfc3339);
    ms.is_finite().then_some(ms)
}

/// The time of day of an RFC 3339 time in the sidebar's language, by the browser's `Intl`
/// (`02:05 PM`, `오후 02:05`).
pub fn local_time(rfc3339: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(rfc3339));
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = Reflect::set(&options, &"minute".into(), &"2-digit".into());
    date.to_locale_time_string_with_options(lang().tag(), &options)
        .into()
}

/// The browser's language (`navigator.language`, `ko-KR`), the sidebar's until the selection
/// context tells the Google account's.
pub fn browser_language() -> Option<String> {
    web_sys::window().and_then(|w| w.navigator().language())
}

/// Sets `<html lang>`, so that screen readers read the page in its language.
pub fn set_document_lang(tag: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", tag);
    }
}

/// Moves the keyboard focus to the element with `id` (the ARIA tabs pattern moves it with the
/// arrow keys).
pub fn focus_by_id(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Saves an object URL's file under `filename` (a click on a temporary `<a download>`), as a
/// person's click on a link of an answer asks.
pub fn save_object_url(url: &str, filename: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(a) = document.create_element("a")
        && let Ok(a) = a.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = a.set_attribute("href", url);
        let _ = a.set_attribute("download", filename);
        a.click();
    }
}

/// Adds the sidebar's CSS to the document's `<head>` (once).
pub fn install_css(css: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("almanac-css").is_some() {
        return;
    }
    if let (Ok(style), Some(head)) = (document.create_element("style"), document.head()) {
        style.set_id("almanac-css");
        style.set_text_content(Some(css));
        let _ = head.append_child(&style);
    }
}

/// Appends `nodes` ([`crate::markdown`]'s tree of an answer) to `parent` as DOM nodes, one
/// `createElement`/`createTextNode` at a time (text is never parsed as HTML). A click on a link
/// to a file of the code interpreter (`data-file-id`) calls `on_file(file_id, filename)` instead
/// of following the link (its route needs the API's headers).
pub fn append_markdown(
    parent: &web_sys::Element,
    nodes: &[crate::markdown::Node],
    on_file: &std::rc::Rc<dyn Fn(String, String)>,
) {
    use crate::markdown::Node;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    for node in nodes {
        match node {
            Node::Text(text) => {
                let _ = parent.append_child(&document.create_text_node(text));
            }
            Node::Element(el) => {
                let Ok(child) = document.create_element(el.name) else {
                    continue;
                };
                for (name, value) in &el.attrs {
                    let _ = child.set_attribute(name, value);
                }
                if let Some(file_id) = el.attr("data-file-id") {
                    let (file_id, filename) = (
                        file_id.to_owned(),
                        el.attr("download").unwrap_or_default().to_owned(),
                    );
                    let on_file = on_file.clone();
                    let click =
                        Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                            ev.prevent_default();
                            on_file(file_id.clone(), filename.clone());
                        });
                    let _ = child
                        .add_event_listener_with_callback("click", click.as_ref().unchecked_ref());
                    // The link lives as long as the answer; the listener with it.
                    click.forget();
                }
                append_markdown(&child, &el.children, on_file);
                let _ = parent.append_child(&child);
            }
        }
    }
}

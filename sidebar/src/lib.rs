//! The Almanac sidebar: a Leptos app rendered in the browser (client-side rendering), built to
//! wasm32 by `sidebar/build.sh` and served by the backend at `/sidebar/`. Apps Script shows it
//! beside the sheet; it reads the selection through `google.script.run.getSelectionContext()`
//! and talks to the backend's `/api/v1` with `fetch` (streamed for chat answers and job
//! events, so that the token goes in a header, never in a URL).
//!
//! - [`summary`], [`format`], [`i18n`], [`markdown`] and [`sse`]: pure logic (what the selection
//!   means, how numbers read, the messages in English and Korean, the backend's Markdown tree of
//!   an answer as elements, Server-Sent Events parsed from bytes), compiled and tested on every
//!   target.
//! - `js` (browser bindings), `api` (the HTTP client), `app` (the screens and tabs), `job` (one
//!   job's live card) and `chat` (the Chat tab): wasm32 only, so that host builds of the
//!   workspace stay cheap.

pub mod format;
pub mod i18n;
pub mod markdown;
pub mod sse;
pub mod summary;

#[cfg(target_arch = "wasm32")]
mod access;
#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod chat;
#[cfg(target_arch = "wasm32")]
mod job;
#[cfg(target_arch = "wasm32")]
mod js;

/// The sidebar's stylesheet, injected into the page by [`start`] so that the bundle is whole.
pub const CSS: &str = include_str!("../style.css");

/// Entry point, run when the module is instantiated: adds the CSS and mounts the app into
/// `#almanac` (or the body).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    use wasm_bindgen::JsCast;
    js::install_css(CSS);
    let host = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("almanac"))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    match host {
        Some(host) => leptos::mount::mount_to(host, app::App).forget(),
        None => leptos::mount::mount_to_body(app::App),
    }
}

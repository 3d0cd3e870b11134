//! "Ask about the sheet": conversations over a sheet's data on OpenAI's Conversations and
//! Responses APIs — the Assistants-API system of the seed documents (upload a CSV, create a
//! thread, add a message, run the assistant with the code interpreter, poll the run, stream the
//! answer), made real on their successors. A **thread** (one spreadsheet, one user) is a
//! conversation (`conv_…`), a **message** an item, a **run** one or more background responses
//! (`resp_…`), polled or streamed; the assistant reads the sheet through the code interpreter (the
//! sheet as a CSV file) and two function tools answered by the backend with the service account
//! (rows by id, titles by text), never outside that spreadsheet. Each run's `usage` and containers
//! are stored and counted in the spreadsheet's monthly budget (`spreadsheet::budget`, shared with
//! jobs). Chat imports nothing from `jobs`: what it shares with them is `crate::spreadsheet`.
//!
//! ```text
//! service ──▶ turn (prepare) ──▶ sheet, tools, spreadsheet::{access, budget}
//!         ──▶ runner ──▶ drive (responses loop) ──▶ tools ──▶ sheet
//!                    ──▶ finish (store the end) ──▶ view
//! everything ──▶ context (shared handles, ids), live (runs of this process), settings, errors
//! ```
//!
//! - [`service`]: [`ChatService`], every operation the API offers;
//! - [`turn`]: preparing a turn (limits, access, the sheet, its CSV, the conversation, the
//!   budget, the run stored `queued`);
//! - [`runner`]: the task a turn runs in; [`drive`]: its responses, polled or streamed, and the
//!   function calls between them; [`finish`]: its end stored in one transaction;
//! - [`sheet`]: the sheet read, as CSV and as rows; [`tools`]: the function tools;
//! - [`view`]: what is shown (the seed's shapes), answers' Markdown parsed by [`markdown`];
//!   [`context`], [`live`], [`settings`], [`errors`].
//!
//! Only `almanac-openai` knows OpenAI's wire format; this module speaks its typed values.

pub(crate) mod context;
pub(crate) mod drive;
pub(crate) mod errors;
pub(crate) mod finish;
pub(crate) mod live;
pub(crate) mod markdown;
pub(crate) mod runner;
pub(crate) mod service;
pub mod settings;
pub(crate) mod sheet;
pub mod tools;
pub(crate) mod turn;
pub(crate) mod view;

pub use errors::ChatError;
pub use service::ChatService;
pub use settings::{ChatSettings, DefaultSheet};

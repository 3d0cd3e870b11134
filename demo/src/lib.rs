//! `almanac demo`: the whole main job on a sample sheet against local stand-ins for OpenAI and
//! Google, for a newcomer's first minute and for the browser test. This crate (`almanac-demo`) is
//! the only non-test code that uses `almanac-emulator`; the server's binary links it only when
//! built with its default `demo` feature, so a deployment (`--no-default-features`) carries no
//! stand-in.
//!
//! The crate does not know the server: the server's `cli` starts a [`Demo`] (the emulator with
//! the sheet loaded and the demo user's tokens), builds its own configuration from
//! [`Demo::backend`], starts the backend, and then either hands its URL to [`run_job`]
//! (which drives one job over the public HTTP API exactly as the sidebar would and prints the
//! filled sheet) or to [`Demo::print_serving`] (`--serve`: keep it running for people and the
//! browser test, with the [`dev`] pages mounted).
//!
//! - [`session`]: one demo's world ([`Demo`], [`DemoArgs`], [`Backend`]).
//! - [`dev`]: `/dev/sheet` (the emulated sheet beside the real sidebar) and `/dev/api/…`.
//! - [`drive`]: the job over HTTP (models, estimate, create, follow the event stream, report).
//! - [`client`]: an HTTP client that sends the sidebar's two tokens.

pub mod client;
pub mod dev;
pub mod drive;
pub mod session;

pub use client::{Prover, authorized_client};
pub use drive::run_job;
pub use session::{
    Backend, DEMO_OPENAI_KEY, DEMO_SHEET_ID, DEMO_SHEET_TITLE, DEMO_SPREADSHEET_ID,
    DEMO_USER_EMAIL, DEMO_USER_SUB, Demo, DemoArgs,
};

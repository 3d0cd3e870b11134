//! `almanac-openai` against the emulator (`almanac_emulator`), one test binary: the real
//! async-openai code paths upload a JSONL file, create, list, poll and cancel batches, download
//! and parse the output and error files (`client`), run chat turns on the Conversations and
//! Responses APIs (`responses`), and time out, retry or refuse to replay as
//! the transport promises (`timeouts`).

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

mod client;
mod responses;
mod timeouts;

/// The process's rustls crypto provider (ring), as the server installs it at start-up.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

//! `almanac-sheets` against the emulator, one test binary: the real google-sheets4 and yup-oauth2
//! code paths (service-account JWT → `/token` → Bearer calls) over plain http on 127.0.0.1.

// A test is a scenario that reads best whole: the 80-line rule is for non-test code.
#![allow(clippy::too_many_lines)]

mod client;

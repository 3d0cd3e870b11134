//! `almanac-sheets` against the emulator, one test binary: the real google-sheets4 and yup-oauth2
//! code paths (service-account JWT → `/token` → Bearer calls) over plain http on 127.0.0.1.

mod client;

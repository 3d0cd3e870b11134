//! OpenAI's Conversations and Responses APIs, as Almanac's chat uses them: a thread is a
//! conversation (`POST /v1/conversations`), a run is one or more responses in it
//! (`POST /v1/responses` with `conversation`, `background: true`, polled with
//! `GET /v1/responses/{id}` or streamed with `stream: true`), the sheet's rows are a file
//! (`POST /v1/files`, purpose `user_data`) given to the `code_interpreter` tool, and the charts it
//! makes are read from its container (`GET /v1/containers/{id}/files/{file_id}/content`).
//! References: <https://platform.openai.com/docs/api-reference/conversations>,
//! <https://platform.openai.com/docs/api-reference/responses>,
//! <https://platform.openai.com/docs/api-reference/responses-streaming>,
//! <https://platform.openai.com/docs/guides/tools-code-interpreter>; the published schemas are in
//! `fixtures/reference/openai-responses/`.
//!
//! - [`request`]: the request body ([`request::ResponseRequest`]: input items, function tools,
//!   the code interpreter's files) and its input-token estimate;
//! - [`outcome`]: a `response` object read into typed values ([`outcome::ResponseOutcome`]:
//!   status, text, file citations, function calls, containers, `usage`);
//! - [`events`]: one streamed event read into a [`events::StreamEvent`];
//! - [`client`]: [`client::ResponsesClient`], the calls, through the crate's transport.

pub mod client;
pub mod events;
pub mod outcome;
pub mod request;

//! The OpenAI side of the emulator, everything under `/v1`, by API:
//!
//! | file | what it is |
//! |---|---|
//! | `routes` | the `/v1` router (a bearer token on every route, OpenAI's 404 for unknown routes) and the Files, Batches and Chat Completions routes; merges the routers of `conversations`, `responses`, `containers` and `model_list` |
//! | `files` | a stored file of the Files API (`file-…`): uploaded batch inputs, batches' output and error files |
//! | `batch` | a batch (`batch_…`) and how it moves a tick at a time: its requests run, its output and error files written, expiry and cancel |
//! | `body_checks` | a `POST /v1/batches` body's parameters and `metadata` checked, and the error answers of the routes |
//! | `batch_input` | the checks of a batch's input JSONL while it is `validating`, each bad line a `BatchError` |
//! | `overlap` | calls for one job from two API keys in flight at once (a replicas test's check) |
//! | `generate` | the emulated Chat Completions model: a `chat.completion` that follows the request's JSON schema, deterministically |
//! | `tokens` | token counts with tiktoken-rs, so that `usage` agrees with a real tokenizer |
//! | `ratelimit` | RPM/TPM token buckets of Chat Completions and Responses, `x-ratelimit-*` and `retry-after` |
//! | `wire` | OpenAI's error shape, validation messages, `metadata`, ids and cursor paging, shared by the Conversations, Responses and Containers routes |
//! | `items` | input items checked and turned into stored items, the unit of context of conversations and responses |
//! | `conversation`, `conversations` | a stored conversation (`conv_…`); the Conversations API's routes |
//! | `request`, `tools` | a `POST /v1/responses` body checked into a `CreateRequest`; its `tools` and `tool_choice` |
//! | `model_list` | `GET /v1/models`, and the check that refuses an API key the emulator was told does not exist (401 `invalid_api_key`) |
//! | `model`, `schema` | the emulated Responses model's rules (message, function call or analysis); function tools' JSON schemas and the arguments written for them |
//! | `response`, `responses` | a stored response (`resp_…`) and the object it shows; the Responses API's routes |
//! | `lifecycle` | how a response ends (sync, background, streamed), the ticker's step of background responses |
//! | `stream` | the server-sent events of a streamed response |
//! | `container`, `containers` | a code interpreter container (`cntr_…`) and its files; the Containers API's routes |
//! | `interpreter`, `analysis`, `chart` | the emulated code interpreter: the canned events-per-decade analysis of an uploaded CSV and its PNG bar chart |
//! | `control` | the [`Emulator`](crate::Emulator) methods a test uses on this side |

pub mod analysis;
pub mod batch;
pub mod batch_input;
pub mod body_checks;
pub mod chart;
pub mod container;
pub mod containers;
pub mod control;
pub mod conversation;
pub mod conversations;
pub mod files;
pub mod generate;
pub mod interpreter;
pub mod items;
pub mod lifecycle;
pub mod model;
pub mod model_list;
pub mod overlap;
pub mod ratelimit;
pub mod request;
pub mod response;
pub mod responses;
pub mod routes;
pub mod schema;
pub mod stream;
pub mod tokens;
pub mod tools;
pub mod wire;

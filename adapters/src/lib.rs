//! Alfred's edge: everything that speaks to the outside world over HTTP.
//!
//! Layout:
//! * [`whatsapp`] — the WhatsApp Cloud API webhook (inbound) and Graph API client (outbound);
//! * [`slack`] — the Slack Events API and slash commands (inbound) and Web API client (outbound);
//! * [`health`] — `/healthz`, `/readyz`, `/metrics` and the request-counting middleware;
//! * [`admin`] — the operators' API on its own listener: the supervision tree, restarts;
//!   [`admin_guard`] slows down addresses that send wrong keys; [`admin_auth`] holds the keys
//!   and their roles (admin, read-only); [`admin_streams`] shows the streams' health and pauses
//!   and resumes them;
//! * [`admin_page`] — the operators' web page on the same listener, `/admin/`;
//! * [`allowlist`] — the hosts outbound requests may reach, checked before each request;
//! * [`imap`] — the work inbox's IMAP client (implicit TLS, fetch new mail by UID);
//! * [`llm`] — LLM clients with tool calling (Ollama, OpenAI-compatible) for plain language;
//! * [`voice`] — voice notes: the Graph API's media download and an OpenAI-compatible
//!   transcription.
//!
//! Adapters turn platform wire formats into the typed envelopes of `alfred_actors::messages`
//! and back. They must not know about skills, the orchestrator or the store: inbound, they only
//! publish to the bus; outbound, they only implement `ChannelClient`.

pub mod admin;
pub mod admin_auth;
pub mod admin_guard;
pub mod admin_page;
pub mod admin_streams;
pub mod allowlist;
pub mod health;
pub mod imap;
pub mod llm;
mod outbound_http;
mod signed_request;
pub mod slack;
pub mod voice;
pub mod whatsapp;

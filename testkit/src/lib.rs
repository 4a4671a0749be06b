//! Test support shared by the workspace's test suites and the benchmark.
//!
//! * [`graph`] — a fake WhatsApp Graph API that speaks the real wire format;
//! * [`llm`] — a fake LLM speaking Ollama's and OpenAI's tool-calling wire formats;
//! * [`whatsapp`] — realistic webhook payloads and their `X-Hub-Signature-256`;
//! * [`slack`] — a fake Slack Web API (`chat.postMessage`, response URLs) and signed Slack
//!   requests;
//! * [`dovecot`] — private Dovecot IMAP servers over TLS (a test CA), with APPEND to deliver mail;
//! * [`db`] — a fresh Postgres database per test;
//! * [`redis`] — a Redis key prefix per test, and private `redis-server`s for tests that stop one;
//! * [`postgres`] — private Postgres clusters for tests that stop one.
//!
//! Servers come from `ALFRED_TEST_DATABASE_URL` and `ALFRED_TEST_REDIS_URL`, defaulting to the
//! local ones on their standard ports. Not used by production code.
#![allow(clippy::unwrap_used, clippy::expect_used)]
pub mod db;
pub mod dovecot;
pub mod graph;
pub mod llm;
pub mod postgres;
pub mod redis;
pub mod slack;
pub mod whatsapp;

/// A port nobody listens on right now (the OS picks it). Another process may take it before
/// the caller binds it: servers started on it retry on a new port when it is taken.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("cannot bind a free port");
    listener
        .local_addr()
        .expect("bound socket has an address")
        .port()
}

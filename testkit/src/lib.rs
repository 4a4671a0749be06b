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

//! Test support shared by the workspace's test suites and the benchmark.
//!
//! * [`buses`] — both bus implementations for contract tests ([`for_both_buses!`]), and a
//!   recording bus that can be told to fail;
//! * [`graph`] — a fake WhatsApp Graph API that speaks the real wire format;
//! * [`llm`] — a fake LLM speaking Ollama's and OpenAI's tool-calling wire formats;
//! * [`transcribe`] — a fake speech-to-text server speaking OpenAI's `/audio/transcriptions`;
//! * [`whatsapp`] — realistic webhook payloads and their `X-Hub-Signature-256`;
//! * [`slack`] — a fake Slack Web API (`chat.postMessage`, response URLs) and signed Slack
//!   requests;
//! * [`slack_socket`] — the fake Slack's Socket Mode: `apps.connections.open`, WebSockets that
//!   take envelopes from the test and record acknowledgements;
//! * [`dovecot`] — private Dovecot IMAP servers over TLS (a test CA), with APPEND to deliver mail;
//! * [`db`] — a fresh Postgres database per test;
//! * [`stores`] — [`for_both_stores!`], one scenario as a test on each store backend, the store
//!   a skill's effects see ([`stores::TestStore`]), and databases with the real migrations;
//! * [`request`] — skill requests as the orchestrator builds them;
//! * [`redis`] — a Redis key prefix per test, and private `redis-server`s for tests that stop one;
//! * [`redis_cluster`] — a private three-master Redis Cluster on loopback ports;
//! * [`redis_tls`] — private TLS-only `redis-server`s with a test CA (and client certificates);
//! * [`postgres`] — private Postgres clusters for tests that stop one;
//! * [`fault_proxy`] — a TCP proxy that adds latency and cuts connections (Alfred ↔ Redis or
//!   Postgres), for the chaos suite;
//! * [`fake_server`] — the start-up the fake HTTP servers share, and [`fake_server::poll_until`].
//!
//! [`free_port`] finds a free port; [`eventually`] waits for an effect with a deadline.
//!
//! Servers come from `ALFRED_TEST_DATABASE_URL` and `ALFRED_TEST_REDIS_URL`, defaulting to the
//! local ones on their standard ports. Not used by production code.
// Test support: a failed set-up should fail the test at once with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod buses;
pub mod certs;
pub mod db;
pub mod dovecot;
pub mod fake_server;
pub mod fault_proxy;
pub mod graph;
pub mod llm;
pub mod pgbouncer;
pub mod plans;
pub mod postgres;
pub mod redis;
pub mod redis_cluster;
pub mod redis_tls;
pub mod request;
pub mod slack;
pub mod slack_socket;
pub mod stores;
pub mod transcribe;
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

/// Polls `check` every 25 ms until it returns `Some`, and returns that value; panics with
/// "timed out waiting for {what}" when it still returns `None` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[tokio::test]
    async fn eventually_returns_the_first_some() {
        let mut calls = 0;
        let value = super::eventually("the third call", Duration::from_secs(10), || {
            calls += 1;
            let now = calls;
            async move { (now >= 3).then_some(now * 10) }
        })
        .await;
        assert_eq!(value, 30);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out waiting for nothing")]
    async fn eventually_panics_after_the_deadline() {
        super::eventually("nothing", Duration::from_millis(50), || async {
            None::<()>
        })
        .await;
    }
}

//! Abuse of the admin API and of the clock: wrong keys are slowed down per client address (an
//! operator on another address still gets in), and the binary refuses `CLOCK=manual` on durable
//! stores. (The one WARN line per refusal is checked on the real binary's logs, in the telemetry
//! suite.)
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};

use alfred_adapters::admin_guard::{FAILURES_ALLOWED, WINDOW};

use crate::helpers::*;

/// A client whose connections come from `address` (any of 127.0.0.0/8 is the loopback).
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .unwrap()
}

#[actix_rt::test]
async fn wrong_keys_from_one_address_are_slowed_down_and_another_address_still_gets_in() {
    let app = EphemeralApp::spawn(&[]).await;
    let actors = format!("{}/admin/actors", app.admin);
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let operator = client_from(Ipv4Addr::new(127, 0, 0, 2));
    // The right length, the wrong key.
    let wrong = "x".repeat(ADMIN_KEY.len());

    let mut statuses = Vec::new();
    for _ in 0..FAILURES_ALLOWED {
        let response = attacker
            .get(&actors)
            .bearer_auth(&wrong)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    let slowed = attacker
        .get(&actors)
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();
    let slowed_with_the_key = attacker
        .get(&actors)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let other_address = operator
        .get(&actors)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();

    assert_eq!(statuses, vec![401; FAILURES_ALLOWED as usize]);
    assert_eq!(slowed.status(), 429);
    let retry_after: u64 = slowed.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=WINDOW.as_secs()).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_eq!(
        slowed_with_the_key.status(),
        429,
        "while slowed, even the right key does not tell a guess apart"
    );
    assert_eq!(
        other_address.status(),
        200,
        "another address is not locked out"
    );
}

#[actix_rt::test]
async fn a_right_key_forgets_earlier_failures_of_its_address() {
    let app = EphemeralApp::spawn(&[]).await;
    let actors = format!("{}/admin/actors", app.admin);
    let wrong = "x".repeat(ADMIN_KEY.len());

    for _ in 1..FAILURES_ALLOWED {
        let response = app
            .http
            .get(&actors)
            .bearer_auth(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let right = app
        .http
        .get(&actors)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let typo = app
        .http
        .get(&actors)
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();

    assert_eq!(right.status(), 200);
    assert_eq!(
        typo.status(),
        401,
        "the allowance starts again after the right key"
    );
}

#[actix_rt::test]
async fn the_binary_refuses_a_manual_clock_with_durable_stores_and_names_the_variables() {
    let backends = Backends::new().await;
    let env = backends.env(&[("CLOCK", "manual".to_owned())]);

    let output = Command::new(env!("CARGO_BIN_EXE_alfred"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .arg("serve")
        .stdin(Stdio::null())
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CLOCK"), "{stderr}");
    assert!(stderr.contains("REDIS_URL and DATABASE_URL"), "{stderr}");
    backends.db.drop().await;
}

//! `alfred healthcheck`, the real binary, as a container's HEALTHCHECK runs it: 0 when the
//! Alfred on this machine answers `/healthz`, 1 with the reason when nothing answers.

use std::process::Output;

use crate::helpers::TestApp;

/// Runs `alfred healthcheck` with only `HTTP_ADDR` set (as the image does).
async fn healthcheck(http_addr: &str) -> Output {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_alfred"))
        .env_clear()
        .env("HTTP_ADDR", http_addr)
        .args(["healthcheck", "--timeout", "5"])
        .output()
        .await;
    match output {
        Ok(output) => output,
        Err(error) => panic!("alfred healthcheck did not run: {error}"),
    }
}

#[actix_rt::test]
async fn healthcheck_succeeds_against_a_running_alfred_even_on_all_interfaces() {
    let app = TestApp::spawn().await;
    let port = app.base.rsplit(':').next().unwrap_or_default().to_owned();

    let on_loopback = healthcheck(&format!("127.0.0.1:{port}")).await;
    // HTTP_ADDR=0.0.0.0:PORT (the image's) means "ask this machine's loopback".
    let on_all_interfaces = healthcheck(&format!("0.0.0.0:{port}")).await;

    assert!(on_loopback.status.success(), "{on_loopback:?}");
    assert!(on_all_interfaces.status.success(), "{on_all_interfaces:?}");
}

#[actix_rt::test]
async fn healthcheck_fails_and_says_why_when_nothing_answers() {
    let port = alfred_testkit::free_port();

    let output = healthcheck(&format!("127.0.0.1:{port}")).await;

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unhealthy: nothing answers at"), "{stderr}");
}

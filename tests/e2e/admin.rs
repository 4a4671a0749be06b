//! The admin API: bearer key, the live tree, restarts by name.

use crate::helpers::*;

#[actix_rt::test]
async fn the_admin_api_refuses_requests_without_the_key() {
    let app = TestApp::spawn().await;

    let missing = app
        .http
        .get(format!("{}/admin/actors", app.admin))
        .send()
        .await
        .unwrap();
    let wrong = app
        .http
        .get(format!("{}/admin/actors", app.admin))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    // The key with a character more, and with its last one missing.
    let longer = app
        .http
        .get(format!("{}/admin/actors", app.admin))
        .bearer_auth(format!("{ADMIN_KEY}x"))
        .send()
        .await
        .unwrap();
    let shorter = app
        .http
        .get(format!("{}/admin/actors", app.admin))
        .bearer_auth(&ADMIN_KEY[..ADMIN_KEY.len() - 1])
        .send()
        .await
        .unwrap();
    let restart = app
        .http
        .post(format!("{}/admin/actors/orchestrator/restart", app.admin))
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), 401);
    assert_eq!(wrong.status(), 401);
    assert_eq!(longer.status(), 401);
    assert_eq!(shorter.status(), 401);
    assert_eq!(restart.status(), 401);
}

#[actix_rt::test]
async fn an_operator_restart_by_name_restarts_the_actor_and_raises_its_restart_count() {
    let app = TestApp::spawn().await;
    let before = app
        .actor("orchestrator")
        .await
        .expect("orchestrator is in the tree");
    let restarts_before = before["restarts"].as_u64().unwrap();

    let response = app
        .http
        .post(format!("{}/admin/actors/orchestrator/restart", app.admin))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();

    assert!(response.status().is_success(), "{}", response.status());
    let after = eventually("the restart to show in the tree", || async {
        let actor = app.actor("orchestrator").await?;
        (actor["restarts"].as_u64()? > restarts_before && actor["state"] == "running")
            .then_some(actor)
    })
    .await;
    assert!(after["incarnation"].as_u64().unwrap() > before["incarnation"].as_u64().unwrap());
    // The restarted orchestrator still answers.
    let body = alfred_testkit::whatsapp::text_message(
        PHONE_ID,
        "15550008888",
        "Ola",
        "wamid.AFTER",
        "add tea",
    );
    app.post_signed(&body).await;
    app.backends.graph.wait_for_requests(1, DEADLINE).await;
}

#[actix_rt::test]
async fn restarting_an_unknown_actor_is_404() {
    let app = TestApp::spawn().await;

    let response = app
        .http
        .post(format!("{}/admin/actors/no-such-actor/restart", app.admin))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
}

#[actix_rt::test]
async fn the_inbox_status_is_not_found_without_a_work_inbox() {
    let app = TestApp::spawn().await;
    let response = app.admin_get("/admin/inbox").await;
    assert_eq!(response.status(), 404);
}

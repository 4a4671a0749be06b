//! The admin page over HTTP: login, sessions, CSRF, the read-only role (page and bearer API).
//! The same in a real browser: `browser.rs`.

// Helpers of tests: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::*;

/// The read-only key of every Alfred in this file.
pub const READONLY_KEY: &str = "test-readonly-key-0123";

pub async fn spawn() -> TestApp {
    TestApp::spawn_with(
        &[("ADMIN_READONLY_KEY", READONLY_KEY.to_owned())],
        Vec::new(),
    )
    .await
}

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `name=value` of cookie `name` among a response's `Set-Cookie` headers, and the whole
/// header.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| {
            let pair = value.split(';').next().unwrap().to_owned();
            (pair, value.to_owned())
        })
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Posts the login form with `key`; the response to the post.
async fn log_in(app: &TestApp, http: &reqwest::Client, key: &str) -> reqwest::Response {
    let form = http
        .get(format!("{}/admin/login", app.admin))
        .send()
        .await
        .unwrap();
    let (login_cookie, _) = set_cookie(&form, "alfred_admin_login").expect("a login cookie");
    let token = csrf_in(&form.text().await.unwrap());
    http.post(format!("{}/admin/login", app.admin))
        .header("cookie", login_cookie)
        .form(&[("key", key), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap()
}

/// A session cookie (`alfred_admin=…`) for `key`.
pub async fn session(app: &TestApp, http: &reqwest::Client, key: &str) -> String {
    let response = log_in(app, http, key).await;
    assert_eq!(response.status(), 303);
    set_cookie(&response, "alfred_admin")
        .expect("a session cookie")
        .0
}

pub async fn get_page(
    app: &TestApp,
    http: &reqwest::Client,
    cookie: &str,
    path: &str,
) -> reqwest::Response {
    http.get(format!("{}{path}", app.admin))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[actix_rt::test]
async fn the_read_only_key_reads_the_bearer_api_and_is_refused_every_change() {
    let app = spawn().await;

    let tree = app
        .http
        .get(format!("{}/admin/actors", app.admin))
        .bearer_auth(READONLY_KEY)
        .send()
        .await
        .unwrap();
    let restart = app
        .http
        .post(format!("{}/admin/actors/skill/grocery/restart", app.admin))
        .bearer_auth(READONLY_KEY)
        .send()
        .await
        .unwrap();
    let clock = app
        .http
        .post(format!("{}/admin/clock", app.admin))
        .bearer_auth(READONLY_KEY)
        .json(&serde_json::json!({ "advance_secs": 60 }))
        .send()
        .await
        .unwrap();

    assert_eq!(tree.status(), 200);
    assert_eq!(restart.status(), 403);
    assert_eq!(clock.status(), 403);
    assert_eq!(app.actor("skill/grocery").await.unwrap()["incarnation"], 1);
}

#[actix_rt::test]
async fn logging_in_sets_a_strict_http_only_expiring_cookie_for_the_admin_paths() {
    let app = spawn().await;
    let http = client();

    let response = log_in(&app, &http, ADMIN_KEY).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/admin/");
    let (_, header) = set_cookie(&response, "alfred_admin").expect("a session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=28800",
    ] {
        assert!(header.contains(attribute), "{attribute} missing: {header}");
    }
    assert!(!header.contains(ADMIN_KEY), "the key is in the cookie");
}

#[actix_rt::test]
async fn a_page_needs_a_session_and_comes_with_a_strict_content_security_policy() {
    let app = spawn().await;
    let http = client();

    let anonymous = get_page(&app, &http, "", "/admin/").await;
    let forged = get_page(
        &app,
        &http,
        "alfred_admin=admin.99999999999.00.00",
        "/admin/",
    )
    .await;
    let cookie = session(&app, &http, ADMIN_KEY).await;
    let page = get_page(&app, &http, &cookie, "/admin/").await;

    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/admin/login");
    assert_eq!(forged.status(), 303);
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("data-actor=\"skill/grocery\""), "{html}");
    assert!(html.contains("aria-label=\"Restart skill/grocery\""));
}

#[actix_rt::test]
async fn a_post_without_the_sessions_csrf_token_changes_nothing() {
    let app = spawn().await;
    let http = client();
    let cookie = session(&app, &http, ADMIN_KEY).await;
    let other = session(&app, &http, ADMIN_KEY).await;
    let other_token = csrf_in(
        &get_page(&app, &http, &other, "/admin/")
            .await
            .text()
            .await
            .unwrap(),
    );

    let without = http
        .post(format!("{}/admin/page/actors", app.admin))
        .header("cookie", &cookie)
        .form(&[("actor", "skill/grocery"), ("action", "restart")])
        .send()
        .await
        .unwrap();
    let with_another_sessions = http
        .post(format!("{}/admin/page/actors", app.admin))
        .header("cookie", &cookie)
        .form(&[
            ("actor", "skill/grocery"),
            ("action", "restart"),
            ("csrf", other_token.as_str()),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(without.status(), 403);
    assert_eq!(with_another_sessions.status(), 403);
    assert_eq!(app.actor("skill/grocery").await.unwrap()["incarnation"], 1);
}

#[actix_rt::test]
async fn the_admin_restarts_an_actor_from_the_page_and_the_read_only_role_cannot() {
    let app = spawn().await;
    let http = client();
    let reader = session(&app, &http, READONLY_KEY).await;
    let reader_page = get_page(&app, &http, &reader, "/admin/")
        .await
        .text()
        .await
        .unwrap();
    let reader_token = csrf_in(&reader_page);
    let admin = session(&app, &http, ADMIN_KEY).await;
    let admin_token = csrf_in(
        &get_page(&app, &http, &admin, "/admin/")
            .await
            .text()
            .await
            .unwrap(),
    );
    let restart = |cookie: String, token: String| {
        http.post(format!("{}/admin/page/actors", app.admin))
            .header("cookie", cookie)
            .form(&[
                ("actor", "skill/grocery"),
                ("action", "restart"),
                ("csrf", token.as_str()),
            ])
            .send()
    };

    let refused = restart(reader.clone(), reader_token).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(app.actor("skill/grocery").await.unwrap()["incarnation"], 1);
    let done = restart(admin, admin_token).await.unwrap();

    assert!(
        !reader_page.contains("Restart skill/grocery"),
        "the read-only page has buttons"
    );
    assert_eq!(done.status(), 303);
    eventually("skill/grocery to be restarted", || async {
        let actor = app.actor("skill/grocery").await?;
        (actor["incarnation"] == 2 && actor["state"] == "running").then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn wrong_keys_at_the_login_form_slow_the_address_down_like_the_bearer_api() {
    let app = spawn().await;
    let http = client();

    for _ in 0..10 {
        let wrong = log_in(&app, &http, "not-the-key-at-all").await;
        assert_eq!(wrong.status(), 401);
    }
    let blocked = log_in(&app, &http, ADMIN_KEY).await;
    let bearer = app.admin_get("/admin/actors").await;

    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    assert!(set_cookie(&blocked, "alfred_admin").is_none());
    assert_eq!(bearer.status(), 429);
}

#[actix_rt::test]
async fn a_login_without_the_forms_token_is_refused_even_with_the_right_key() {
    let app = spawn().await;

    let response = client()
        .post(format!("{}/admin/login", app.admin))
        .form(&[("key", ADMIN_KEY), ("csrf", "guessed")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
    assert!(set_cookie(&response, "alfred_admin").is_none());
}

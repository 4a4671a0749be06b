//! The admin page's Streams and Dead letters pages over HTTP: pause and resume, replay and
//! discard (one, and in bulk after the confirmation step) work through the page for the admin
//! role; every form needs the session's CSRF token; the read-only role sees the pages without
//! buttons and is refused every change; a dead letter is shown without its secrets.
//! The same in a real browser: `browser.rs`.

// Helpers of tests: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::whatsapp;
use serde_json::Value;

use crate::admin_page::{client, csrf_in, get_page, session, spawn, READONLY_KEY};
use crate::dead_letters::{ids, refused_reply};
use crate::dead_letters_listing::{seed_slack_dead_letters, SECRETS};
use crate::helpers::*;

/// A logged-in operator of the page: their cookie and their session's CSRF token.
struct Operator {
    cookie: String,
    csrf: String,
}

impl Operator {
    async fn log_in(app: &TestApp, http: &reqwest::Client, key: &str) -> Operator {
        let cookie = session(app, http, key).await;
        let page = text(get_page(app, http, &cookie, "/admin/page/streams").await).await;
        Operator {
            cookie,
            csrf: csrf_in(&page),
        }
    }

    /// GETs a page; its status and HTML.
    async fn get(&self, app: &TestApp, http: &reqwest::Client, path: &str) -> (u16, String) {
        let response = get_page(app, http, &self.cookie, path).await;
        (response.status().as_u16(), text(response).await)
    }

    /// Posts a form with the session's token (unless `csrf` is false); the response.
    async fn post(
        &self,
        app: &TestApp,
        http: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
        csrf: bool,
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if csrf {
            form.push(("csrf", &self.csrf));
        }
        http.post(format!("{}{path}", app.admin))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Whether `stream` is paused, by the JSON API.
async fn paused(app: &TestApp, stream: &str) -> bool {
    let (_, streams) = app.admin_json("/admin/streams").await;
    streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|shown| shown["stream"] == stream)
        .unwrap()["paused"]
        == Value::Bool(true)
}

#[actix_rt::test]
async fn the_admin_pauses_ingest_from_the_page_sees_the_backlog_and_resumes_it() {
    let app = spawn().await;
    let http = client();
    let reader = Operator::log_in(&app, &http, READONLY_KEY).await;
    let admin = Operator::log_in(&app, &http, ADMIN_KEY).await;
    let pause = [("stream", "ingest"), ("action", "pause")];

    let (status, seen) = reader.get(&app, &http, "/admin/page/streams").await;
    assert_eq!(status, 200);
    assert!(seen.contains("data-stream=\"ingest\"") && seen.contains("data-stream=\"outbox\""));
    assert!(
        !seen.contains("Pause ingest"),
        "the read-only page has buttons"
    );
    let refused = reader
        .post(&app, &http, "/admin/page/streams", &pause, true)
        .await;
    let forged = admin
        .post(&app, &http, "/admin/page/streams", &pause, false)
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(forged.status(), 403);
    assert!(!paused(&app, "ingest").await);

    let (_, page) = admin.get(&app, &http, "/admin/page/streams").await;
    assert!(page.contains("aria-label=\"Pause ingest\""), "{page}");
    let done = admin
        .post(&app, &http, "/admin/page/streams", &pause, true)
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        location(&done),
        "/admin/page/streams?done=pause&stream=ingest"
    );
    assert!(paused(&app, "ingest").await);
    // The readers honour a pause within about a second: the message is sent once they all
    // hold off (the single stream's and, partitions being on, each partition's), which the
    // page shows as "N holding off" beside its N readers.
    app.owns_every_partition().await;
    eventually("the ingest readers to hold off", || async {
        let (_, page) = admin.get(&app, &http, "/admin/page/streams").await;
        let readers = 1 + alfred_config::defaults::INGEST_PARTITIONS;
        page.contains(&format!(
            "{readers}<br><span class=\"kind\">{readers} holding off"
        ))
        .then_some(())
    })
    .await;
    let body = whatsapp::text_message(PHONE_ID, "15550004242", "Kim", "wamid.PAUSED", "add jam");
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let page = eventually("the backlog to show on the streams page", || async {
        let (_, page) = admin.get(&app, &http, "/admin/page/streams").await;
        page.contains("class=\"num lag\">1<").then_some(page)
    })
    .await;
    assert!(page.contains("aria-label=\"Resume ingest\""), "{page}");
    assert!(page.contains(">paused<"), "{page}");
    assert!(
        app.backends.graph.requests().is_empty(),
        "a paused ingest answers nothing"
    );

    let resumed = admin
        .post(
            &app,
            &http,
            "/admin/page/streams",
            &[("stream", "ingest"), ("action", "resume")],
            true,
        )
        .await;
    assert_eq!(resumed.status(), 303);
    assert!(!paused(&app, "ingest").await);
    let sent = eventually("the held message to be answered", || async {
        let delivered = app.backends.graph.delivered();
        (!delivered.is_empty()).then_some(delivered)
    })
    .await;
    assert_eq!(sent[0].body["context"]["message_id"], "wamid.PAUSED");
}

#[actix_rt::test]
async fn the_dead_letters_page_filters_shows_an_entry_without_secrets_and_refuses_changes_without_the_admin_role(
) {
    let app = spawn().await;
    let http = client();
    let [first, _, third] = seed_slack_dead_letters(&app.backends).await;
    let reader = Operator::log_in(&app, &http, READONLY_KEY).await;
    let admin = Operator::log_in(&app, &http, ADMIN_KEY).await;

    let (status, list) = reader.get(&app, &http, "/admin/page/dead-letters").await;
    assert_eq!(status, 200);
    for id in ids(&app.admin_json("/admin/dead-letters?stream=ingest").await.1) {
        assert!(
            list.contains(&format!("data-entry=\"{id}\"")),
            "{id}: {list}"
        );
    }
    let (_, detail) = reader
        .get(
            &app,
            &http,
            &format!("/admin/page/dead-letters/ingest/{third}"),
        )
        .await;
    for page in [&list, &detail] {
        for secret in SECRETS {
            assert!(!page.contains(secret), "{secret} shown: {page}");
        }
        assert!(!page.contains("aria-label=\"Discard"), "read-only buttons");
    }
    assert!(detail.contains("[redacted]"), "{detail}");
    assert!(!list.contains("Replay all matching"));

    let (_, filtered) = admin
        .get(
            &app,
            &http,
            "/admin/page/dead-letters?stream=ingest&reason=skill+failed",
        )
        .await;
    assert!(filtered.contains(&format!("data-entry=\"{first}\"")));
    assert!(!filtered.contains(&format!("data-entry=\"{third}\"")));
    assert!(filtered.contains("aria-label=\"Replay 1764000000000-0\""));
    assert!(filtered.contains("Replay all matching"));
    let (bad, why) = admin
        .get(
            &app,
            &http,
            "/admin/page/dead-letters?stream=ingest&since=yesterday",
        )
        .await;
    assert_eq!(bad, 400);
    assert!(why.contains("since must be an RFC 3339 time"), "{why}");

    let one = format!("/admin/page/dead-letters/ingest/{first}");
    let bulk = "/admin/page/dead-letters/bulk";
    let everything = [
        ("stream", "ingest"),
        ("since", "1970-01-01T00:00:00Z"),
        ("action", "discard"),
    ];
    let (confirm, _) = reader
        .get(
            &app,
            &http,
            &format!("{bulk}?stream=ingest&since=1970-01-01T00:00:00Z&action=discard"),
        )
        .await;
    assert_eq!(confirm, 403);
    for (who, csrf) in [(&reader, true), (&admin, false)] {
        let single = who
            .post(&app, &http, &one, &[("action", "discard")], csrf)
            .await;
        let many = who.post(&app, &http, bulk, &everything, csrf).await;
        assert_eq!(single.status(), 403);
        assert_eq!(many.status(), 403);
    }
    let unfiltered = admin
        .post(
            &app,
            &http,
            bulk,
            &[("stream", "ingest"), ("action", "discard")],
            true,
        )
        .await;
    assert_eq!(unfiltered.status(), 400, "an empty filter takes nothing");
    let (_, left) = app.admin_json("/admin/dead-letters?stream=ingest").await;
    assert_eq!(ids(&left).len(), 3, "nothing changed: {left}");
}

#[actix_rt::test]
async fn the_admin_replays_a_refused_reply_from_the_page_once_and_discards_in_bulk_after_confirming(
) {
    let app = spawn().await;
    let http = client();
    let admin = Operator::log_in(&app, &http, ADMIN_KEY).await;
    let dead = refused_reply(&app, "wamid.PAGE1", "jam").await;
    let id = dead["id"].as_str().unwrap();

    let (_, list) = admin
        .get(&app, &http, "/admin/page/dead-letters?stream=outbox")
        .await;
    assert!(list.contains("131026"), "{list}");
    assert!(
        list.contains(&format!("aria-label=\"Replay {id}\"")),
        "{list}"
    );
    let path = format!("/admin/page/dead-letters/outbox/{id}");
    let replay = admin
        .post(
            &app,
            &http,
            &path,
            &[("action", "replay"), ("reason", "131026")],
            true,
        )
        .await;
    assert_eq!(replay.status(), 303);
    let back = location(&replay);
    assert_eq!(
        back,
        format!("/admin/page/dead-letters?stream=outbox&reason=131026&done=replayed&entry={id}")
    );
    let (_, after) = admin.get(&app, &http, &back).await;
    assert!(after.contains("put back on the outbox stream"), "{after}");
    let delivered = eventually("the replayed reply to be delivered", || async {
        let delivered = app.backends.graph.delivered();
        (!delivered.is_empty()).then_some(delivered)
    })
    .await;
    assert_eq!(delivered[0].body["context"]["message_id"], "wamid.PAGE1");
    let again = admin
        .post(&app, &http, &path, &[("action", "replay")], true)
        .await;
    assert!(location(&again).contains("done=already_replayed"));
    app.quiescent().await;
    assert_eq!(app.backends.graph.delivered().len(), 1, "sent once");

    refused_reply(&app, "wamid.PAGE2", "figs").await;
    refused_reply(&app, "wamid.PAGE3", "kale").await;
    eventually("two dead letters", || async {
        let (_, page) = app.admin_json("/admin/dead-letters?stream=outbox").await;
        (ids(&page).len() == 2).then_some(())
    })
    .await;
    let (status, confirm) = admin
        .get(
            &app,
            &http,
            "/admin/page/dead-letters/bulk?stream=outbox&reason=131026&action=discard",
        )
        .await;
    assert_eq!(status, 200);
    assert!(confirm.contains("Discard <strong>2</strong>"), "{confirm}");
    let (_, still) = app.admin_json("/admin/dead-letters?stream=outbox").await;
    assert_eq!(ids(&still).len(), 2, "confirming changes nothing");
    let done = admin
        .post(
            &app,
            &http,
            "/admin/page/dead-letters/bulk",
            &[
                ("stream", "outbox"),
                ("reason", "131026"),
                ("action", "discard"),
            ],
            true,
        )
        .await;
    assert_eq!(done.status(), 200);
    let result = text(done).await;
    assert!(result.contains("2 outbox dead letters matched"), "{result}");
    assert!(result.contains("discarded 2"), "{result}");
    let (_, empty) = app.admin_json("/admin/dead-letters?stream=outbox").await;
    assert!(ids(&empty).is_empty(), "{empty}");
    let (_, audit) = app.admin_json("/admin/dead-letters/audit").await;
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|record| record["actor"].as_str().unwrap().starts_with("admin-page")),
        "{audit:?}"
    );
    assert_eq!(
        app.backends.graph.delivered().len(),
        1,
        "a discard sends nothing"
    );
}

//! What users write cannot make Alfred ping a Slack channel: a reply echoing `<!channel>`,
//! `<!here>`, `<@U…>`, `&`, `<`, `>` arrives escaped at Slack; and a signed request kept as a
//! dead letter has lost Slack's `token` and its `response_url`.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use alfred_actors::skill::{
    ReplyOnly, Skill, SkillEntry, SkillError, SkillOutcome, SkillRequest, SkillRoute,
};
use alfred_testkit::slack::{app_mention, event_id, sign, FakeSlack, SlashCommand};
use futures::future::BoxFuture;

use crate::helpers::{eventually, TestApp};

const SIGNING_SECRET: &str = "test-slack-signing-secret";
const TEAM: &str = "T0TEAM001";
const BOT: &str = "U0ALFRED1";
const ANNA: &str = "U0ANNA001";
const CHANNEL: &str = "C0GENERAL";

/// A skill that repeats what it was told, as a list item or an error message would.
struct EchoRoute;

impl SkillRoute for EchoRoute {
    fn name(&self) -> &'static str {
        "test-echo"
    }
    fn help(&self) -> Vec<&'static str> {
        vec!["echo TEXT"]
    }
    fn understands(&self, text: &str) -> bool {
        text.starts_with("echo ")
    }
}

struct Echo;

impl Skill for Echo {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let text = format!("*Noted*: {}", request.text.trim_start_matches("echo "));
        Box::pin(async move {
            Ok(SkillOutcome {
                effect: Box::new(ReplyOnly(vec![text])),
            })
        })
    }
}

/// A Biz Alfred on Slack (pointed at `slack`) with the echo skill.
async fn biz_app(slack: &FakeSlack) -> TestApp {
    let echo = SkillEntry {
        route: Arc::new(EchoRoute),
        access: alfred_actors::access::Access::Everyone,
        factory: Arc::new(|| Box::new(Echo) as Box<dyn Skill>),
    };
    let blank = String::new;
    TestApp::spawn_with(
        &[
            ("INSTANCE", "biz".into()),
            ("SLACK_BOT_TOKEN", "xoxb-test-bot-token".into()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.into()),
            ("SLACK_API_URL", slack.api_url()),
            ("META_TOKEN", blank()),
            ("PHONE_ID", blank()),
            ("VERIFY_TOKEN", blank()),
            ("APP_SECRET", blank()),
            ("GRAPH_API_URL", blank()),
            ("GRAPH_API_VERSION", blank()),
        ],
        vec![echo],
    )
    .await
}

async fn post_slack(app: &TestApp, endpoint: &str, content_type: &str, body: &str) -> u16 {
    let timestamp = alfred_testkit::slack::now();
    app.http
        .post(format!("{}/slack/{endpoint}", app.base))
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header(
            "x-slack-signature",
            sign(SIGNING_SECRET, timestamp, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_rt::test]
async fn a_user_text_with_channel_pings_echoed_back_arrives_escaped_at_slack() {
    let slack = FakeSlack::start().await;
    let app = biz_app(&slack).await;
    let text = "echo <!channel> <!here> <@U0BOSS001> fish & chips > 3";
    let body = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, text);

    assert_eq!(
        post_slack(&app, "events", "application/json", &body).await,
        200
    );
    let reply = eventually("the echo at Slack", || async {
        slack
            .requests()
            .into_iter()
            .find(|r| r.channel() == Some(CHANNEL))
    })
    .await;

    assert_eq!(
        reply.text(),
        Some("*Noted*: &lt;!channel&gt; &lt;!here&gt; &lt;@U0BOSS001&gt; fish &amp; chips &gt; 3"),
        "Alfred's own *bold* kept, the user's markup escaped"
    );
    app.quiescent().await;
}

#[actix_rt::test]
async fn a_dead_lettered_slash_command_keeps_neither_token_nor_response_url() {
    let slack = FakeSlack::start().await;
    let app = biz_app(&slack).await;
    let command = SlashCommand::alfred(TEAM, CHANNEL, "inbox", &slack.response_url());
    // Without its trigger id Alfred cannot read the command: it is dead-lettered.
    let form: Vec<String> = command
        .form()
        .split('&')
        .filter(|pair| !pair.starts_with("trigger_id="))
        .map(str::to_owned)
        .collect();
    let form = form.join("&");
    assert!(form.contains("token=") && form.contains("response_url="));

    let status = post_slack(&app, "commands", "application/x-www-form-urlencoded", &form).await;

    assert_eq!(status, 200);
    let entries = eventually("the dead letter", || async {
        let entries = app.backends.stream_entries("alfred-ingest:dead").await;
        (!entries.is_empty()).then_some(entries)
    })
    .await;
    let stored = format!("{entries:?}");
    assert!(
        stored.contains("team_id=T0TEAM001"),
        "the rest is kept: {stored}"
    );
    assert!(!stored.contains("token="), "{stored}");
    assert!(!stored.contains("xyzz0WbapA4vBCDEFasx0q6G"), "{stored}");
    assert!(
        !stored.contains("response"),
        "neither the field nor its URL: {stored}"
    );
}

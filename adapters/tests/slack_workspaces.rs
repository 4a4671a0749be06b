//! Only the allowed workspaces are answered: a request signed for the app but from another
//! workspace, or an event by a person of another workspace in a shared channel (Slack
//! Connect), is answered 200 with nothing stored or said, and counted; before `auth.test` has
//! named the bot's own workspace, requests get 503 so that Slack delivers them again.

mod slack_support;

use std::sync::Arc;

use actix_web::http::StatusCode;
use alfred_actors::clock::SystemClock;
use alfred_adapters::slack::Workspaces;
use alfred_testkit::slack::{app_mention, event_id, SlashCommand};
use serde_json::Value;

use slack_support::*;

const OTHER_TEAM: &str = "T0OTHER01";
const OUTSIDER: &str = "U0OUTSIDE";

#[actix_web::test]
async fn an_event_from_another_workspace_is_answered_200_stored_nowhere_and_counted() {
    let harness = harness();
    let body = app_mention(
        OTHER_TEAM,
        &event_id(),
        BOT,
        CHANNEL,
        OUTSIDER,
        "deals over 1000",
    );

    let (status, answer) = post_event(&harness, &body).await;

    assert_eq!(status, StatusCode::OK, "Slack must not retry it");
    assert_eq!(answer, "");
    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
    assert_eq!(harness.refused("other_workspace"), 1);
}

#[actix_web::test]
async fn an_external_user_in_a_shared_channel_is_refused_at_the_edge() {
    let harness = harness();
    let mut event: Value = serde_json::from_str(&app_mention(
        TEAM,
        &event_id(),
        BOT,
        CHANNEL,
        OUTSIDER,
        "deals over 1000",
    ))
    .unwrap();
    event["event"]["user_team"] = OTHER_TEAM.into();
    event["event"]["user_profile"] = serde_json::json!({ "team": OTHER_TEAM });

    let (status, _) = post_event(&harness, &event.to_string()).await;

    assert_eq!(status, StatusCode::OK);
    assert!(harness.bus.entries(INGEST).is_empty());
    assert_eq!(harness.refused("external_user"), 1);
}

#[actix_web::test]
async fn a_person_of_our_own_workspace_is_stored_as_before() {
    let harness = harness();
    let mut event: Value = serde_json::from_str(&mention("ping")).unwrap();
    event["event"]["user_team"] = TEAM.into();

    let (status, _) = post_event(&harness, &event.to_string()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(harness.envelopes().len(), 1);
    assert_eq!(harness.refused("external_user"), 0);
}

#[actix_web::test]
async fn a_slash_command_from_another_workspace_gets_an_empty_200_not_even_pong() {
    let harness = harness();
    let command = SlashCommand::alfred(OTHER_TEAM, CHANNEL, "ping", "https://hooks.slack.com/x");

    let (status, answer) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, Value::Null, "an empty body posts nothing");
    assert!(harness.bus.entries(INGEST).is_empty());
    assert_eq!(harness.refused("other_workspace"), 1);
}

#[actix_web::test]
async fn until_auth_test_names_the_workspace_events_get_503_and_then_are_stored() {
    let (workspaces, learner) = Workspaces::learned();
    let harness = harness_serving(SECRET, Arc::new(SystemClock), workspaces);

    let (before, _) = post_event(&harness, &mention("ping")).await;
    learner.learn(TEAM.to_owned());
    let (after, _) = post_event(&harness, &mention("ping")).await;

    assert_eq!(
        before,
        StatusCode::SERVICE_UNAVAILABLE,
        "Slack delivers it again"
    );
    assert_eq!(after, StatusCode::OK);
    assert_eq!(harness.envelopes().len(), 1);
}

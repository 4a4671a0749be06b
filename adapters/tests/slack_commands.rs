//! Slash commands over HTTP: `ping` and `help` answered at once without the bus, other
//! subcommands acknowledged and stored with their response URL.

mod slack_support;

use actix_web::http::StatusCode;
use alfred_actors::messages::InboundKind;
use alfred_adapters::slack::Visibility;
use alfred_testkit::slack::SlashCommand;
use serde_json::json;

use slack_support::*;

#[actix_web::test]
async fn alfred_ping_is_answered_pong_in_the_response_without_touching_the_bus() {
    let harness = harness();
    let command = SlashCommand::alfred(
        TEAM,
        CHANNEL,
        "ping",
        "https://hooks.slack.com/commands/T/1/x",
    );

    let (status, answer) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({ "response_type": "ephemeral", "text": "pong" })
    );
    assert!(harness.bus.is_empty());
}

#[actix_web::test]
async fn alfred_help_lists_the_commands() {
    let harness = harness();
    let command = SlashCommand::alfred(
        TEAM,
        CHANNEL,
        "help",
        "https://hooks.slack.com/commands/T/1/x",
    );

    let (status, answer) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response_type"], "ephemeral");
    let text = answer["text"].as_str().unwrap();
    for line in ["/alfred ping", "/alfred help", "/alfred inbox"] {
        assert!(text.contains(line), "{text}");
    }
    assert!(harness.bus.entries(INGEST).is_empty());
}

#[actix_web::test]
async fn another_subcommand_is_acknowledged_at_once_and_stored_with_its_response_url() {
    let harness = harness();
    let url = "https://hooks.slack.com/commands/T0TEAM001/397700885554/96rGlfmibIGlgcZRskXaIFfN";
    let command = SlashCommand::alfred(TEAM, CHANNEL, "summarise my inbox", url);

    let (status, answer) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({ "response_type": "ephemeral", "text": "On it…" })
    );
    let envelopes = harness.envelopes();
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    let message_id = format!("{TEAM}:{}", command.trigger_id);
    assert_eq!(envelope.message_id, message_id);
    // The answer is the caller's alone: without its response URL (after a restart) it goes
    // to their direct messages, never to the channel.
    assert_eq!(envelope.conversation, command.user_id);
    assert!(envelope.private);
    assert_eq!(envelope.sender.id, command.user_id);
    assert_eq!(
        envelope.kind,
        InboundKind::Text {
            body: "summarise my inbox".into()
        }
    );
    let target = harness.response_urls.get(&message_id).unwrap();
    assert_eq!(target.url, url);
    assert_eq!(target.visibility, Visibility::Ephemeral);
}

#[actix_web::test]
async fn public_asks_for_an_answer_everyone_in_the_channel_sees() {
    let harness = harness();
    let url = "https://hooks.slack.com/commands/T0TEAM001/397700885555/96rGlfmibIGlgcZRskXaIFfN";
    let ping = SlashCommand::alfred(TEAM, CHANNEL, "public ping", url);
    let (status, answer) = post_command(&harness, &ping.form()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({ "response_type": "in_channel", "text": "pong" })
    );

    let command = SlashCommand::alfred(TEAM, CHANNEL, "PUBLIC  deals closing this week", url);
    let (status, answer) = post_command(&harness, &command.form()).await;
    assert_eq!(status, StatusCode::OK);
    // The acknowledgement stays the caller's own; the answer is what is shown to all.
    assert_eq!(answer["response_type"], "ephemeral");
    let envelopes = harness.envelopes();
    assert_eq!(
        envelopes[0].kind,
        InboundKind::Text {
            body: "deals closing this week".into()
        }
    );
    let message_id = format!("{TEAM}:{}", command.trigger_id);
    let target = harness.response_urls.get(&message_id).unwrap();
    assert_eq!(target.visibility, Visibility::InChannel);
    assert_eq!(envelopes[0].conversation, CHANNEL);
    assert!(!envelopes[0].private);

    // `public` alone is not an empty public request: it is passed on as typed.
    let alone = SlashCommand::alfred(TEAM, CHANNEL, "public", url);
    post_command(&harness, &alone.form()).await;
    let envelopes = harness.envelopes();
    assert_eq!(
        envelopes[1].kind,
        InboundKind::Text {
            body: "public".into()
        }
    );
}

#[actix_web::test]
async fn a_response_url_off_slacks_hosts_is_not_kept() {
    let harness = harness();
    let command = SlashCommand::alfred(TEAM, CHANNEL, "inbox", "https://evil.example/collect");

    let (status, _) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(harness.envelopes().len(), 1);
    let message_id = format!("{TEAM}:{}", command.trigger_id);
    assert_eq!(harness.response_urls.get(&message_id), None);
}

#[actix_web::test]
async fn slacks_ssl_check_is_answered_200_and_stores_nothing() {
    let harness = harness();
    let post = Post {
        timestamp: None,
        signature: None,
        ..Post::signed(
            &harness,
            "/slack/commands",
            "ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G",
        )
    };

    let (status, _) = send(&harness, post).await;

    assert_eq!(status, StatusCode::OK);
    assert!(harness.bus.is_empty());
}

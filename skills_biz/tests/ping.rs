//! The `ping` skill answers exactly "ping" with "pong" and changes nothing.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform, Sender};
use alfred_actors::skill::SkillRequest;
use alfred_actors::store::{MemTx, Tx};
use alfred_skills_biz::ping;

fn request(text: &str) -> SkillRequest {
    let sender = Sender {
        id: "U123".to_owned(),
        name: Some("Robin".to_owned()),
    };
    SkillRequest {
        household: "slack:T1".to_owned(),
        job: None,
        timezone: chrono_tz::Tz::UTC,
        sender: sender.clone(),
        text: text.to_owned(),
        now: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        envelope: InboundEnvelope {
            platform: Platform::Slack,
            message_id: "T1:Ev1".to_owned(),
            account: "T1".to_owned(),
            conversation: "C1".to_owned(),
            is_group: false,
            private: true,
            thread: None,
            sender,
            timestamp: 1_700_000_000,
            kind: InboundKind::Text {
                body: text.to_owned(),
            },
            traceparent: None,
        },
    }
}

#[test]
fn the_route_understands_exactly_ping() {
    let route = ping::route();
    assert_eq!(route.name(), "ping");
    for text in ["ping", "PING", "  Ping  "] {
        assert!(route.understands(text), "{text:?}");
    }
    for text in ["", "pong", "ping me", "pinging", "ping?", "hello"] {
        assert!(!route.understands(text), "{text:?}");
    }
    assert!(!route.help().is_empty());
}

#[tokio::test]
async fn ping_is_answered_with_pong_and_no_state_change() {
    let outcome = ping::skill().handle(request("ping")).await.unwrap();
    let mut mem = MemTx::default();

    let replies = outcome.effect.apply(&mut Tx::Mem(&mut mem)).await.unwrap();

    assert_eq!(replies, [alfred_actors::skill::Reply::text("pong")]);
    assert!(mem.into_slots().is_empty());
}

#[test]
fn the_biz_catalogue_routes_ping_first_then_the_crm_then_the_inbox() {
    let names: Vec<&str> = alfred_skills_biz::skills(&Default::default())
        .iter()
        .map(|entry| entry.name())
        .collect();
    assert_eq!(names, ["ping", "crm", "inbox"]);
}

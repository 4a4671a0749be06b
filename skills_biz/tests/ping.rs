//! The `ping` skill answers exactly "ping" with "pong" and changes nothing.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::Platform;
use alfred_actors::skill::SkillRequest;
use alfred_actors::store::{MemTx, Tx};
use alfred_skills_biz::ping;
use alfred_testkit::request::skill_request;

fn request(text: &str) -> SkillRequest {
    skill_request(text)
        .household("slack:T1")
        .on(Platform::Slack, "T1")
        .from("U123", Some("Robin"))
        .conversation("C1")
        .message_id("T1:Ev1")
        .at(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap())
        .build()
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
